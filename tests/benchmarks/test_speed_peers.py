"""The peers of the speed benchmark run the same model and optimizers as a NumPy reference.

Each present peer (torch, jax; pytensor when importable here, or in the interpreter named by
``SYMGRAPH_PEER_PYTHON``) is checked on a small MLP of the benchmark's shape (two ReLU hidden
layers, softmax cross-entropy) built from ``benchmarks.speed.init_params``/``make_data``: its
first loss and its parameters after one SGD step and after one Adam step equal a float64 NumPy
reference, and a few more steps decrease the loss.
"""
import os
import sys

import numpy as np
import pytest

from benchmarks.speed import init_params, make_data
from benchmarks.speed_peers import (BUILDERS, Problem, load_problems, peer_in_subprocess,
                                    save_problems, thread_env)

SIZES = (30, 24, 16, 5)
BATCH = 12


def reference_grads(params, x, y):
    """Float64 loss and gradients of the MLP (ReLU hidden layers, mean softmax CE)."""
    ps = [p.astype(np.float64) for p in params]
    n = len(ps) // 2
    hs = [x.astype(np.float64)]
    for i in range(n):
        z = hs[-1] @ ps[2 * i] + ps[2 * i + 1]
        hs.append(np.maximum(z, 0) if i < n - 1 else z)
    z = hs[-1] - hs[-1].max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    loss = -logp[rows, y].mean()
    g = np.exp(logp)
    g[rows, y] -= 1
    g /= len(y)
    grads = [None] * len(ps)
    for i in reversed(range(n)):
        grads[2 * i], grads[2 * i + 1] = hs[i].T @ g, g.sum(axis=0)
        if i:
            g = (g @ ps[2 * i].T) * (hs[i] > 0)
    return loss, grads


def reference_step(params, x, y, opt):
    """Parameters after one step of SGD (lr 0.01) or Adam (torch's defaults, t = 1)."""
    loss, grads = reference_grads(params, x, y)
    if opt == "sgd":
        return loss, [p - 0.01 * g for p, g in zip(params, grads)]
    b1, b2, eps = 0.9, 0.999, 1e-8
    new = []
    for p, g in zip(params, grads):
        m_hat, v_hat = (1 - b1) * g / (1 - b1), (1 - b2) * g * g / (1 - b2)
        new.append(p - 1e-3 * m_hat / (np.sqrt(v_hat) + eps))
    return loss, new


@pytest.fixture
def problems(rng):
    seed = int(rng.integers(0, 2**31))
    x, y = make_data(SIZES, BATCH, seed)
    return {opt: Problem(init_params(SIZES, seed), x, y, opt) for opt in ("sgd", "adam")}


def check_first_steps(problems, first_loss, params_after):
    for key, prob in problems.items():
        loss, expected = reference_step(prob.params, prob.x, prob.y, prob.opt)
        np.testing.assert_allclose(first_loss[key], loss, rtol=1e-5, err_msg=key)
        got = params_after(key)
        assert [p.dtype for p in got] == [np.float32] * len(expected)
        for i, (p0, p1, ref) in enumerate(zip(prob.params, got, expected)):
            # the step itself, not only the (barely moved) parameters, to float32 precision
            step, ref_step = p1.astype(np.float64) - p0, ref - p0
            scale = np.abs(ref_step).max()
            assert scale > 0
            np.testing.assert_allclose(step, ref_step, atol=2e-3 * scale,
                                       err_msg=f"{key} param {i}")
            np.testing.assert_allclose(p1, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("peer", ["torch", "jax", "pytensor"])
def test_peer_matches_numpy_and_learns(peer, problems):
    pytest.importorskip(peer)
    built = BUILDERS[peer](problems, threads=1)
    assert set(built.steps) == {"sgd", "adam"}
    check_first_steps(problems, built.first_loss, lambda k: built.params[k]())
    if peer != "torch":
        assert all(t > 0 for t in built.compile_seconds.values())
    for key, step in built.steps.items():
        losses = [float(step()) for _ in range(6)]
        assert losses[-1] < built.first_loss[key], (key, built.first_loss[key], losses)
        assert all(np.isfinite(losses))


def test_problems_round_trip(tmp_path, problems):
    path = str(tmp_path / "p.npz")
    save_problems(path, problems)
    back = load_problems(path)
    assert list(back) == list(problems)
    for key, prob in problems.items():
        assert back[key].opt == prob.opt
        np.testing.assert_array_equal(back[key].x, prob.x)
        np.testing.assert_array_equal(back[key].y, prob.y)
        for a, b in zip(back[key].params, prob.params):
            np.testing.assert_array_equal(a, b)


def test_thread_env_holds_xla_to_one_thread(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    env = thread_env(1)
    assert env["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=false"
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert thread_env(None) == {}


def _subprocess_peers():
    """(peer, python) pairs to run in a worker process: jax here, pytensor where it is."""
    out = [pytest.param("jax", sys.executable, id="jax-here")]
    other = os.environ.get("SYMGRAPH_PEER_PYTHON")
    out.append(pytest.param("pytensor", other, id="pytensor-peer-python",
                            marks=pytest.mark.skipif(not other,
                                                     reason="SYMGRAPH_PEER_PYTHON not set")))
    return out


@pytest.mark.parametrize("peer,python", _subprocess_peers())
def test_worker_process_runs_the_same_step(peer, python, problems, tmp_path):
    if python == sys.executable:
        pytest.importorskip(peer)
    out = str(tmp_path / "first.npz")
    res = peer_in_subprocess(peer, problems, repeat=1, threads=1, python=python,
                             first_step=out)
    assert res is not None, f"{peer} is not importable by {python}"
    assert res["sgd_compile"] > 0 and res["adam_compile"] > 0
    with np.load(out) as data:
        first_loss = {k: float(data[f"{k}/loss"]) for k in problems}
        after = {k: [data[f"{k}/p{i}"] for i in range(len(problems[k].params))]
                 for k in problems}
    check_first_steps(problems, first_loss, after.__getitem__)


def test_worker_times_every_problem(problems):
    pytest.importorskip("jax")
    tiny = dict(problems, tiny=problems["sgd"])
    res = peer_in_subprocess("jax", tiny, repeat=2, threads=1, tiny_per_round=2,
                             cold_keys=("adam",))
    assert set(res) >= {"version", "sgd", "adam", "tiny", "sgd_compile", "tiny_compile",
                        "adam_compile", "adam_compile_in_sequence"}
    assert res["adam_compile"] > 0 and res["adam_compile_in_sequence"] > 0
    assert all(res[k] > 0 for k in ("sgd", "adam", "tiny"))


def test_table_has_one_row_per_peer():
    from benchmarks.speed import table
    res = {"gemm_only": 0.010, "numpy_sgd": 0.012, "numpy_tiny": 2e-4,
           "numpy_sgd_peak_bytes": 2**20,
           "torch": {"version": "2.13.0", "sgd": 0.011, "adam": 0.015, "tiny": 3e-4},
           "jax": {"version": "0.10", "sgd_compile": 0.5, "adam_compile": 0.75, "sgd": 0.009,
                   "adam": 0.02, "tiny": 2.5e-4},
           "pytensor": None}
    rows = table(res).splitlines()
    jax_row = next(r for r in rows if r.startswith("| jax 0.10 jit"))
    assert "| 0.500 s / 0.750 s | 9.00 ms (0.90x) | 20.00 ms (2.00x) | 250 us |" in jax_row
    torch_row = next(r for r in rows if r.startswith("| torch 2.13.0 eager"))
    assert "| — | 11.00 ms (1.10x) |" in torch_row
    assert not any(r.startswith("| pytensor") for r in rows)
    assert any("not importable" in r and "pytensor" in r for r in rows)


def test_speed_rejects_an_unknown_peer(capsys):
    from benchmarks.speed import main
    assert main(["--peers", "torch,tensorflow"]) == 2
    assert "tensorflow" in capsys.readouterr().err
