"""Each optimizer's trajectory on linear regression matches the NumPy equations (60 steps)."""
import numpy as np
import pytest

import optimizers
import symgraph
import symgraph.tensor as T
from optim_reference import STEP, linreg_grads, preprocess

N_STEPS = 60
TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-11)}


def _problem(rng, dtype):
    X = rng.standard_normal((20, 3)).astype(dtype)
    y = (X @ rng.standard_normal((3, 2)) + 0.1 * rng.standard_normal((20, 2))).astype(dtype)
    W0 = (0.5 * rng.standard_normal((3, 2))).astype(dtype)
    b0 = (0.1 * rng.standard_normal(2)).astype(dtype)
    return X, y, W0, b0


def _symbolic_run(opt, X, y, W0, b0, n_steps=N_STEPS):
    W = symgraph.shared(W0, name="W")
    b = symgraph.shared(b0, name="b")
    x_in = T.matrix("x", dtype=X.dtype)
    y_in = T.matrix("y", dtype=X.dtype)
    cost = T.mean(T.sqr(T.dot(x_in, W) + b - y_in))
    step = symgraph.function([x_in, y_in], cost, updates=opt.updates(cost, [W, b]))
    traj = []
    for _ in range(n_steps):
        step(X, y)
        traj.append((W.get_value(), b.get_value()))
    return traj


def _numpy_run(name, X, y, W0, b0, hyper, pre=None, n_steps=N_STEPS):
    params = [W0.copy(), b0.copy()]
    states = [{}, {}]
    traj = []
    for t in range(1, n_steps + 1):
        grads = list(linreg_grads(X, y, *params))
        if pre:
            grads = preprocess(grads, params, **pre)
        tt = X.dtype.type(t)
        for i, g in enumerate(grads):
            params[i], states[i] = STEP[name](params[i], g, states[i], tt, **hyper)
            assert params[i].dtype == X.dtype, "reference left the dtype"
        traj.append([p.copy() for p in params])
    return traj


def _compare(got, want, dtype):
    assert len(got) == len(want)
    for k, ((W, b), (W_ref, b_ref)) in enumerate(zip(got, want)):
        assert W.dtype == dtype and b.dtype == dtype
        np.testing.assert_allclose(W, W_ref, err_msg=f"W at step {k + 1}", **TOL[dtype])
        np.testing.assert_allclose(b, b_ref, err_msg=f"b at step {k + 1}", **TOL[dtype])


# larger learning rates than the defaults for some, so 60 steps travel far enough to matter
HYPER = {"sgd": {"lr": 0.05}, "momentum": {"lr": 0.02, "momentum": 0.8},
         "nesterov": {"lr": 0.02, "momentum": 0.8}, "adagrad": {"lr": 0.1},
         "rmsprop": {"lr": 0.01}, "adadelta": {}, "adam": {"lr": 0.01},
         "adamw": {"lr": 0.01, "weight_decay": 0.1}, "adamax": {"lr": 0.01},
         "nadam": {"lr": 0.01}}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(STEP))
def test_trajectory_matches_numpy(name, dtype, rng):
    X, y, W0, b0 = _problem(rng, dtype)
    got = _symbolic_run(optimizers.get(name, **HYPER[name]), X, y, W0, b0)
    want = _numpy_run(name, X, y, W0, b0, HYPER[name])
    _compare(got, want, dtype)
    # the run went somewhere: the comparison is not of two unchanged arrays
    assert np.abs(got[-1][0] - W0).max() > 1e-3


@pytest.mark.parametrize("name", sorted(STEP))
def test_defaults_trajectory(name, rng):
    """The defaults in the signature are the defaults of the equations (the reference's)."""
    X, y, W0, b0 = _problem(rng, "float64")
    got = _symbolic_run(optimizers.get(name), X, y, W0, b0)
    want = _numpy_run(name, X, y, W0, b0, {})
    _compare(got, want, "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("pre", [{"weight_decay": 0.05}, {"clip_value": 0.3},
                                 {"clip_norm": 0.5}, {"clip_norm": 1e6},
                                 {"clip_value": 0.5, "clip_norm": 0.4, "weight_decay": 0.01}])
@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "rmsprop"])
def test_preprocessing_matches_numpy(name, pre, dtype, rng):
    X, y, W0, b0 = _problem(rng, dtype)
    got = _symbolic_run(optimizers.get(name, **HYPER[name], **pre), X, y, W0, b0)
    want = _numpy_run(name, X, y, W0, b0, HYPER[name], pre=pre)
    _compare(got, want, dtype)


def test_clip_norm_actually_clips(rng):
    """With a tiny clip_norm every SGD step has length exactly lr·clip_norm."""
    X, y, W0, b0 = _problem(rng, "float64")
    traj = _symbolic_run(optimizers.SGD(lr=1.0, clip_norm=1e-3), X, y, W0, b0, n_steps=3)
    prev = (W0, b0)
    for W, b in traj:
        step = np.sqrt(np.sum((W - prev[0]) ** 2) + np.sum((b - prev[1]) ** 2))
        np.testing.assert_allclose(step, 1e-3, rtol=1e-9)
        prev = (W, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_shared_learning_rate_schedule(dtype, rng):
    """A shared (float64) learning rate can be changed between steps without upcasting."""
    X, y, W0, b0 = _problem(rng, dtype)
    lr = symgraph.shared(np.float64(0.01), name="lr")
    opt = optimizers.Momentum(lr=lr, momentum=0.5)
    W = symgraph.shared(W0, name="W")
    b = symgraph.shared(b0, name="b")
    x_in, y_in = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    cost = T.mean(T.sqr(T.dot(x_in, W) + b - y_in))
    updates = opt.updates(cost, [W, b])
    assert all(v.dtype == k.dtype for k, v in updates.items())
    step = symgraph.function([x_in, y_in], cost, updates=updates)
    params, states = [W0.copy(), b0.copy()], [{}, {}]
    for t in range(1, 31):
        rate = 0.01 / t
        lr.set_value(np.float64(rate))
        step(X, y)
        grads = linreg_grads(X, y, *params)
        for i, g in enumerate(grads):
            params[i], states[i] = STEP["momentum"](params[i], g, states[i], t, lr=rate,
                                                    momentum=0.5)
    np.testing.assert_allclose(W.get_value(), params[0], **TOL[dtype])
    np.testing.assert_allclose(b.get_value(), params[1], **TOL[dtype])


def test_symbolic_hyperparameter_input(rng):
    """A hyper-parameter may be a symbolic scalar input of the compiled function."""
    X, y, W0, b0 = _problem(rng, "float64")
    lr = T.scalar("lr")
    W = symgraph.shared(W0, name="W")
    x_in, y_in = T.matrix("x"), T.matrix("y")
    cost = T.mean(T.sqr(T.dot(x_in, W) + b0 - y_in))
    step = symgraph.function([x_in, y_in, lr], cost,
                             updates=optimizers.SGD(lr=lr).updates(cost, [W]))
    step(X, y, 0.0)
    np.testing.assert_array_equal(W.get_value(), W0)
    step(X, y, 0.1)
    gW, _ = linreg_grads(X, y, W0, b0)
    np.testing.assert_allclose(W.get_value(), W0 - 0.1 * gW, rtol=1e-12)
