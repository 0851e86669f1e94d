"""The convnet speed benchmark: its torch peer trains the same network (first loss and
parameters after one Adam step equal symgraph's), its FLOP count, its node profile and its
table."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from benchmarks import conv_speed
from benchmarks.conv_peers import load_spec, save_spec, torch_step
from benchmarks.node_profile import by_kind, profile_nodes


def test_step_flops_of_the_deep_convnet():
    """Multiply-adds counted by hand: six 3x3 convolutions on 28, 28, 14, 16 (padding 2),
    8, 8 pixels, then fc 1024-50 and 50-10; the first layer has no input gradient."""
    model = conv_speed.make_model("deep")
    x, y = conv_speed.make_data(batch=100)
    spec = conv_speed.spec_of(model, "deep", x, y)
    convs = [(1, 16, 28), (16, 16, 28), (16, 32, 14), (32, 32, 16), (32, 64, 8), (64, 64, 8)]
    fwd = sum(100 * c * o * 9 * s * s for c, o, s in convs) + 100 * (1024 * 50 + 50 * 10)
    first = 100 * 1 * 16 * 9 * 28 * 28
    flops = conv_speed.step_flops(spec)
    assert flops["forward"] == flops["weights"] == 2 * fwd
    assert flops["inputs"] == 2 * (fwd - first)
    assert flops["total"] == pytest.approx(5.24e9, rel=0.01)  # the 5.26 GFLOP


def test_torch_peer_trains_the_same_simple_convnet(tmp_path):
    pytest.importorskip("torch")
    model = conv_speed.make_model("simple")
    x, y = conv_speed.make_data(batch=8)
    spec = conv_speed.spec_of(model, "simple", x, y)
    path = str(tmp_path / "spec.npz")
    save_spec(path, spec)
    spec = load_spec(path)  # what the worker process reads
    step, version = torch_step(spec, threads=1)
    assert version.startswith("2.")
    f, model2, _ = conv_speed.build_step("simple", "numpy")
    loss_s = float(f(x, y))
    loss_t = float(step())
    np.testing.assert_allclose(loss_t, loss_s, rtol=1e-5)
    # after one Adam step both moved the first filters the same way
    np.testing.assert_allclose(model2.params[0].get_value(),
                               _torch_params(step)[0], rtol=1e-4, atol=1e-6)


def _torch_params(step):
    """The torch network's parameters in symgraph's layouts (via the step's closure)."""
    net = next(c.cell_contents for c in step.__closure__
               if type(c.cell_contents).__name__ == "Sequential")
    out = []
    for m in net:
        if hasattr(m, "weight"):
            w = m.weight.detach().numpy()
            out += [w if w.ndim == 4 else w.T, m.bias.detach().numpy()]
    return out


def test_node_profile_groups_the_nodes_of_a_conv_layer(rng):
    X, W = T.tensor("float32", (None,) * 4, "x"), T.tensor("float32", (None,) * 4, "w")
    B = T.tensor("float32", (None,), "b")
    z = T.nnet.conv2d(X, W, border_mode="half", filter_shape=(3, 2, 3, 3))
    from symgraph.tensor.signal.pool import pool_2d
    # the layer's bias and rectifier fold into the convolution (one Conv2dBias node)
    cost = T.sum(pool_2d(T.maximum(z + B.dimshuffle("x", 0, "x", "x"), 0), (2, 2),
                         ignore_border=True))
    f = symgraph.function([X, W, B], [cost] + T.grad(cost, [X, W, B]))
    args = (rng.standard_normal((4, 2, 8, 8)).astype("float32"),
            rng.standard_normal((3, 2, 3, 3)).astype("float32"),
            rng.standard_normal(3).astype("float32"))
    nodes = profile_nodes(f, args, calls=2)
    kinds = by_kind(nodes)
    assert "ReLU mask / bias add (elementwise)" in kinds  # the backward's mask
    for kind in ("conv forward (with bias and ReLU where fused)", "conv grad wrt inputs",
                 "conv grad wrt filters", "pool forward", "pool grad"):
        assert kinds[kind][1] == 1, kind  # one node each
    assert all(t >= 0 for t, _ in kinds.values())


def test_table_renders_every_row():
    res = {"config": {"nets": ["simple"], "batch": 100, "load_average_start": (1.0,),
                      "load_average_end": (1.0,)},
           "gemm_rate": 1e11,
           "simple": {"flops": {"total": 4e8}, "gemm_limit": 4e-3, "torch_version": "2.13.0",
                      "symgraph_numpy": {"wall": 0.02, "cpu": 0.015, "cpu_min": 0.014},
                      "torch": {"wall": 0.025, "cpu": 0.02, "cpu_min": 0.019},
                      "memory": {"symgraph_numpy": {"step_peak": 2**20, "buffer_bytes": 2**20},
                                 "torch": {"step_peak": 2 * 2**20}}}}
    text = conv_speed.table(res)
    assert "| symgraph numpy backend | 20.0 ms | 15.0 / 14.0 ms | 0.80x / 0.75x / 0.74x |" \
        in text
    assert "| torch 2.13.0 eager |" in text and "GEMM-rate limit" in text
    assert "| torch | 2.0 | — |" in text


def test_unknown_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        conv_speed.main(["--nets", "resnet"])
    assert "--nets" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        conv_speed.main(["--peers", "jax"])
    assert "only 'torch'" in capsys.readouterr().err


def test_torch_profile_groups_the_ops():
    pytest.importorskip("torch")
    from benchmarks.conv_peers import torch_profile
    model = conv_speed.make_model("simple")
    x, y = conv_speed.make_data(batch=4)
    step, _ = torch_step(conv_speed.spec_of(model, "simple", x, y), threads=1)
    kinds = torch_profile(step, calls=1)
    for kind in ("conv forward", "conv gradients (inputs and filters)", "pool forward",
                 "pool grad", "ReLU and its mask"):
        assert kinds.get(kind, 0) > 0, kind
