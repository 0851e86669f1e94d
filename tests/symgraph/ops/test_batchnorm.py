"""Batch normalization against a NumPy reference, with finite-difference gradients."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops.batchnorm import (batch_normalization, batch_normalization_test,
                                    batch_normalization_train)


def _ref_train(x, gamma, beta, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    invstd = 1 / np.sqrt(var + eps)
    return (x - mean) * invstd * gamma + beta, mean, invstd, var


@pytest.mark.parametrize("axes,shape,pshape", [
    ("per-activation", (8, 5), (1, 5)),
    ("per-activation", (8, 5), (5,)),
    ("spatial", (4, 3, 5, 2), (1, 3, 1, 1)),
    ("spatial", (4, 3, 5, 2), (3,)),
    ((0, 1), (6, 4, 3), (1, 1, 3)),
])
def test_train_matches_reference(axes, shape, pshape, rng):
    x = rng.normal(2.0, 3.0, size=shape)
    gamma = rng.uniform(0.5, 1.5, size=pshape)
    beta = rng.normal(size=pshape)
    X = T.tensor("float64", (None,) * len(shape), name="x")
    G = T.tensor("float64", (None,) * len(pshape), name="g")
    B = T.tensor("float64", (None,) * len(pshape), name="b")
    out, mean, invstd = batch_normalization_train(X, G, B, axes=axes, epsilon=1e-3)
    got = symgraph.function([X, G, B], [out, mean, invstd])(x, gamma, beta)
    ax = {"per-activation": (0,), "spatial": (0, 2, 3)}.get(axes, axes)
    full = tuple(1 if i in ax else s for i, s in enumerate(shape))
    ref_out, ref_mean, ref_invstd, _ = _ref_train(x, gamma.reshape(full), beta.reshape(full),
                                                  ax, 1e-3)
    np.testing.assert_allclose(got[0], ref_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], ref_mean.reshape(pshape), rtol=1e-12)
    np.testing.assert_allclose(got[2], ref_invstd.reshape(pshape), rtol=1e-10)
    # normalized output: zero mean, unit variance per feature when gamma=1, beta=0
    z = symgraph.function([X, G, B], out)(x, np.ones(pshape), np.zeros(pshape))
    np.testing.assert_allclose(z.mean(axis=ax), 0, atol=1e-10)
    np.testing.assert_allclose(z.var(axis=ax), 1, rtol=2e-3)


def test_train_gradient(rng):
    x = rng.normal(size=(6, 4))
    gamma = rng.uniform(0.5, 1.5, size=(4,))
    beta = rng.normal(size=(4,))
    T.verify_grad(lambda a, g, b: batch_normalization_train(a, g, b, epsilon=1e-3)[0],
                  [x, gamma, beta], rng=rng)
    x4 = rng.normal(size=(3, 2, 3, 3))
    g4 = rng.uniform(0.5, 1.5, size=(1, 2, 1, 1))
    T.verify_grad(lambda a, g: batch_normalization_train(a, g, g * 0.5, axes="spatial")[0],
                  [x4, g4], rng=rng)


def test_train_gradient_closed_form(rng):
    x = rng.normal(size=(7, 3))
    gamma = rng.uniform(0.5, 1.5, size=3)
    gout = rng.normal(size=(7, 3))
    X, G, GO = T.matrix("x"), T.vector("g"), T.matrix("go")
    out = batch_normalization_train(X, G, T.zeros_like(G), epsilon=1e-5)[0]
    gx = symgraph.grad((out * GO).sum(), X)
    got = symgraph.function([X, G, GO], gx)(x, gamma, gout)
    mean, var = x.mean(0), x.var(0)
    invstd = 1 / np.sqrt(var + 1e-5)
    xhat = (x - mean) * invstd
    ref = gamma * invstd * (gout - gout.mean(0) - xhat * (gout * xhat).mean(0))
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-10)


def test_running_averages_through_updates(rng):
    rm = symgraph.shared(np.zeros(4), name="running_mean")
    rv = symgraph.shared(np.ones(4), name="running_var")
    X = T.matrix("x")
    gamma, beta = symgraph.shared(np.ones(4)), symgraph.shared(np.zeros(4))
    out, mean, invstd, new_rm, new_rv = batch_normalization_train(
        X, gamma, beta, running_average_factor=0.25, running_mean=rm, running_var=rv)
    f = symgraph.function([X], out, updates=[(rm, new_rm), (rv, new_rv)])
    x1, x2 = rng.normal(1.0, 2.0, size=(10, 4)), rng.normal(-1.0, 0.5, size=(10, 4))
    f(x1)
    exp_rm = 0.75 * 0 + 0.25 * x1.mean(0)
    exp_rv = 0.75 * 1 + 0.25 * x1.var(0, ddof=1)
    np.testing.assert_allclose(rm.get_value(), exp_rm, rtol=1e-12)
    np.testing.assert_allclose(rv.get_value(), exp_rv, rtol=1e-12)
    f(x2)
    np.testing.assert_allclose(rm.get_value(), 0.75 * exp_rm + 0.25 * x2.mean(0), rtol=1e-12)
    np.testing.assert_allclose(rv.get_value(), 0.75 * exp_rv + 0.25 * x2.var(0, ddof=1),
                               rtol=1e-12)
    # test mode with the running statistics
    y = batch_normalization_test(X, gamma, beta, rm, rv, epsilon=1e-4)
    xt = rng.normal(size=(3, 4))
    got = symgraph.function([X], y)(xt)
    np.testing.assert_allclose(got, (xt - rm.get_value()) / np.sqrt(rv.get_value() + 1e-4),
                               rtol=1e-12)


def test_running_averages_keepdims_and_float32(rng):
    rm = symgraph.shared(np.zeros((1, 3, 1, 1), dtype="float32"),
                         broadcastable=(True, False, True, True))
    rv = symgraph.shared(np.ones((1, 3, 1, 1), dtype="float32"),
                         broadcastable=(True, False, True, True))
    X = T.ftensor4("x")
    g = symgraph.shared(np.ones((1, 3, 1, 1), dtype="float32"),
                        broadcastable=(True, False, True, True))
    res = batch_normalization_train(X, g, g * 0, "spatial", 1e-4, 0.5, rm, rv)
    assert all(r.dtype == "float32" for r in res)
    f = symgraph.function([X], res[0], updates=[(rm, res[3]), (rv, res[4])])
    x = rng.normal(size=(2, 3, 4, 4)).astype("float32")
    f(x)
    np.testing.assert_allclose(rm.get_value().ravel(), 0.5 * x.mean(axis=(0, 2, 3)),
                               rtol=1e-5)
    np.testing.assert_allclose(rv.get_value().ravel(),
                               0.5 + 0.5 * x.var(axis=(0, 2, 3), ddof=1), rtol=1e-5)


def test_test_mode_gradient_and_elementwise_form(rng):
    x = rng.normal(size=(5, 3))
    g, b = rng.uniform(0.5, 1.5, 3), rng.normal(size=3)
    mu, var = rng.normal(size=3), rng.uniform(0.5, 2, 3)
    T.verify_grad(lambda a, gg, bb: batch_normalization_test(a, gg, bb, mu, var),
                  [x, g, b], rng=rng)
    X = T.matrix("x")
    out = batch_normalization(X, g, b, mu, np.sqrt(var))
    np.testing.assert_allclose(symgraph.function([X], out)(x), (x - mu) * g / np.sqrt(var) + b)


def test_theano_namespace_and_errors():
    from symgraph.tensor.nnet import bn
    assert bn.batch_normalization_train is batch_normalization_train
    assert T.nnet.batch_normalization_test is batch_normalization_test
    with pytest.raises(TypeError, match="gamma"):
        batch_normalization_train(T.tensor4(), T.matrix(), T.vector(), axes="spatial")
    with pytest.raises(ValueError, match="axes"):
        batch_normalization_train(T.matrix(), T.vector(), T.vector(), axes="per-batch")
    with pytest.raises(ValueError, match="running_var"):
        batch_normalization_train(T.matrix(), T.vector(), T.vector(),
                                  running_mean=symgraph.shared(np.zeros(3)))
