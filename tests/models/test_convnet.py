"""Tests of the conv nets: forward against a NumPy reference, learning on tiny images."""
import numpy as np
import pytest

import symgraph
import optimizers
from models.training import fit

pytest.importorskip("symgraph.tensor.signal.pool")
from models.convnet import DeepConvNet, SimpleConvNet  # noqa: E402


def _corr(x, w, pad):
    """Cross-correlation, NCHW x (n, c, h, w) with filters (o, c, k, k), zero padding."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w.shape[-1]
    oh, ow = x.shape[2] - k + 1, x.shape[3] - k + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = np.einsum("nchw,ochw->no", x[:, :, i:i + k, j:j + k], w)
    return out


def _pool(x):
    n, c, h, w = x.shape
    return x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max((3, 5))


def test_simple_convnet_forward_matches_numpy(rng):
    net = SimpleConvNet((1, 10, 10), n_filters=3, filter_size=3, hidden=7, n_classes=4, seed=0)
    x = net.input_variable()
    f = symgraph.function([x], net.forward(x))
    xv = rng.uniform(size=(2, 1, 10, 10))
    W, b, W1, b1, W2, b2 = (p.get_value() for p in net.params)
    h = _pool(np.maximum(_corr(xv, W, 0) + b[None, :, None, None], 0)).reshape(2, -1)
    want = np.maximum(h @ W1 + b1, 0) @ W2 + b2
    np.testing.assert_allclose(f(xv), want, rtol=1e-9, atol=1e-12)


def test_deep_convnet_shapes_and_dropout(rng):
    net = DeepConvNet(seed=0)
    assert [p.get_value().shape for p in net.params[-4:]] == [(1024, 50), (50,), (50, 10), (10,)]
    assert net.params[0].get_value().std() == pytest.approx(np.sqrt(2 / 9), rel=0.15)
    x = net.input_variable()
    f_test = symgraph.function([x], net.forward(x, train=False))
    f_train = symgraph.function([x], net.forward(x, train=True))
    xv = rng.uniform(size=(3, 1, 28, 28))
    assert f_test(xv).shape == (3, 10)
    np.testing.assert_array_equal(f_test(xv), f_test(xv))
    assert (f_train(xv) == 0).mean() > 0.2  # the output dropout acts while training


def test_convnet_learns_bars(rng):
    """Vertical vs horizontal bars on 8x8 images, given flat to fit."""
    def draw(n):
        y = rng.integers(0, 2, n).astype("int32")
        x = rng.uniform(0, 0.2, (n, 8, 8))
        pos = rng.integers(1, 7, n)
        for i in range(n):
            if y[i]:
                x[i, :, pos[i]] = 1
            else:
                x[i, pos[i], :] = 1
        return x.reshape(n, 64), y
    net = SimpleConvNet((1, 8, 8), n_filters=4, filter_size=3, hidden=8, n_classes=2, seed=0)
    hist = fit(net, optimizers.Adam(lr=0.01), (draw(300), draw(100)), epochs=6, batch_size=30,
               evaluate_initial=True)
    assert hist[-1]["test_loss"] < 0.5 * hist[0]["test_loss"]
    assert hist[-1]["test_accuracy"] > 0.9  # chance is 1/2


def test_deep_convnet_evaluates_in_float16(rng):
    """The trained-network experiment of ch. 8: the same weights cast to float16, the whole
    graph in float16, give the float32 network's predictions up to float16 rounding."""
    net32 = DeepConvNet(seed=0, dtype="float32")
    net16 = DeepConvNet(seed=0, dtype="float16")
    net16.set_values(net32.get_values(), cast=True)
    xv = rng.uniform(size=(4, 1, 28, 28))
    outs = []
    for net in (net32, net16):
        x = net.input_variable()
        f = symgraph.function([x], net.forward(x, train=False))
        assert {v.dtype for n in f.fgraph.apply_nodes for v in n.outputs
                if v.ndim > 0 and v.dtype.startswith("float")} == {net.dtype}
        outs.append(f(xv.astype(net.dtype)))
    assert outs[1].dtype == np.float16
    scale = np.abs(outs[0]).max()
    np.testing.assert_allclose(outs[1].astype(np.float32), outs[0], atol=0.01 * scale)
