"""Stability rewrites of the nnet losses: the graphs they produce, equal values where the naive
graph is finite, and finite losses and gradients at saturated logits."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops import nnet as N
from symgraph.ops import softmax_xent as SX

from rewrite_helpers import NO_FUSE, assert_same, op_counts

special = pytest.importorskip("scipy.special")

SATURATED = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])


def _finite(*arrays):
    return all(np.all(np.isfinite(np.asarray(a))) for a in arrays)


def test_log_softmax_rule(rng):
    x = T.matrix("x")
    f = assert_same([x], T.log(N.softmax(x)), [rng.normal(size=(4, 5))])
    counts = op_counts(f)
    assert counts["LogSoftmax"] == 1 and "Softmax" not in counts and "log" not in counts
    out = symgraph.function([x], T.log(N.softmax(x)))(SATURATED)
    np.testing.assert_allclose(out, special.log_softmax(SATURATED, axis=1))


def test_log_softmax_rule_other_axis(rng):
    x = T.tensor3("x")
    f = assert_same([x], T.log(N.softmax(x, axis=1)), [rng.normal(size=(2, 3, 4))])
    (node,) = [n for n in f.fgraph.apply_nodes if isinstance(n.op, N.LogSoftmax)]
    assert node.op.axis == 1


def test_log_softmax_gradient_rule(rng):
    x, t = T.matrix("x"), T.matrix("t")
    cost = -(t * T.log(N.softmax(x))).sum()
    g = symgraph.grad(cost, x)
    xv, tv = rng.normal(size=(4, 3)), np.eye(3)[rng.integers(0, 3, 4)]
    f = assert_same([x, t], [cost, g], [xv, tv])
    counts = op_counts(f)
    assert "SoftmaxGrad" not in counts and "log" not in counts
    np.testing.assert_allclose(f(xv, tv)[1], special.softmax(xv, axis=1) * tv.sum(1)[:, None]
                               - tv, atol=1e-12)
    loss, grad = symgraph.function([x, t], [cost, g])(SATURATED, np.eye(3)[[1, 0]])
    assert _finite(loss, grad)
    np.testing.assert_allclose(loss, -special.log_softmax(SATURATED, 1)[[0, 1], [1, 0]].sum())


def test_crossentropy_softmax_rule(rng):
    x, y = T.matrix("x"), T.lvector("y")
    loss = N.categorical_crossentropy(N.softmax(x), y)
    xv, yv = rng.normal(size=(5, 4)), rng.integers(0, 4, 5)
    f = assert_same([x, y], loss, [xv, yv])
    counts = op_counts(f)
    assert counts["SoftmaxCrossentropyWithLogits"] == 1
    assert "Softmax" not in counts and "CrossentropyCategorical1Hot" not in counts
    np.testing.assert_allclose(f(xv, yv), -special.log_softmax(xv, 1)[np.arange(5), yv])


def test_crossentropy_softmax_gradient_rule(rng):
    x, y = T.matrix("x"), T.lvector("y")
    cost = N.categorical_crossentropy(N.softmax(x), y).mean()
    g = symgraph.grad(cost, x)
    xv, yv = rng.normal(size=(5, 4)), rng.integers(0, 4, 5)
    f = assert_same([x, y], [cost, g], [xv, yv])
    counts = op_counts(f)
    assert "SoftmaxGrad" not in counts and "CrossentropyCategorical1HotGrad" not in counts
    # one pass over the logits: the gradient reads the fused node's softmax, no one-hot matrix
    assert counts["SoftmaxCrossentropyWithLogits"] == 1 and "Softmax" not in counts
    assert counts["SoftmaxCrossentropyDx"] == 1 and "OneHot" not in counts
    np.testing.assert_allclose(f(xv, yv)[1], (special.softmax(xv, 1) - np.eye(4)[yv]) / 5,
                               atol=1e-12)


def test_fused_crossentropy_second_output_and_its_gradient(rng):
    x, y = T.matrix("x"), T.lvector("y")
    loss, sm = SX.crossentropy_softmax_1hot(x, y)
    xv, yv = rng.normal(size=(5, 4)), rng.integers(0, 4, 5)
    w = rng.normal(size=(5, 4))
    cost = loss.sum() + (sm * w).sum()  # both outputs feed the cost
    g = symgraph.grad(cost, x)
    f = assert_same([x, y], [loss, sm, g], [xv, yv])
    p = special.softmax(xv, 1)
    np.testing.assert_allclose(f(xv, yv)[1], p, rtol=1e-12)
    jac_sm = p * (w - (w * p).sum(1, keepdims=True))
    np.testing.assert_allclose(f(xv, yv)[2], p - np.eye(4)[yv] + jac_sm, atol=1e-12)
    T.verify_grad(lambda z: SX.crossentropy_softmax_1hot(z, yv)[0], [xv], rng=rng)
    T.verify_grad(lambda z: symgraph.grad(SX.softmax_cross_entropy_with_logits(z, yv).sum(), z),
                  [xv], rng=rng)


def test_bce_sigmoid_rule(rng):
    x, t = T.matrix("x"), T.matrix("t")
    loss = N.binary_crossentropy(N.sigmoid(x), t)
    xv, tv = rng.normal(size=(4, 3)), rng.uniform(size=(4, 3))
    f = assert_same([x, t], loss, [xv, tv])
    counts = op_counts(f)
    assert "binary_crossentropy" not in counts and counts["softplus"] == 1
    out = symgraph.function([x, t], loss)(SATURATED, np.full((2, 3), 0.25))
    sp = np.logaddexp(0, SATURATED)
    np.testing.assert_allclose(out, sp - 0.25 * SATURATED)


def test_bce_sigmoid_gradient_rule(rng):
    x, t = T.matrix("x"), T.matrix("t")
    cost = N.binary_crossentropy(N.sigmoid(x), t).mean()
    g = symgraph.grad(cost, x)
    xv, tv = rng.normal(size=(4, 3)), rng.uniform(size=(4, 3))
    f = assert_same([x, t], [cost, g], [xv, tv])
    assert "binary_crossentropy_grad" not in op_counts(f)
    np.testing.assert_allclose(f(xv, tv)[1], (special.expit(xv) - tv) / 12, atol=1e-12)


def test_bce_broadcast_target_gradient(rng):
    x, t = T.matrix("x"), T.vector("t")
    cost = N.binary_crossentropy(N.sigmoid(x), t).sum()
    g = symgraph.grad(cost, [x, t])
    xv, tv = rng.normal(size=(4, 3)), rng.uniform(size=3)
    assert_same([x, t], [cost] + g, [xv, tv])
    got = symgraph.function([x, t], g[0])(SATURATED, np.array([0.0, 1.0, 0.5]))
    assert _finite(got)


def test_bce_without_sigmoid_untouched(rng):
    o, t = T.matrix("o"), T.matrix("t")
    f = assert_same([o, t], N.binary_crossentropy(o, t),
                    [rng.uniform(0.1, 0.9, (3, 2)), rng.uniform(size=(3, 2))])
    assert op_counts(f)["binary_crossentropy"] == 1


def _softmax_classifier():
    x, y = T.matrix("x"), T.lvector("y")
    W = symgraph.shared(np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]]), name="W")
    b = symgraph.shared(np.zeros(3), name="b")
    p = N.softmax(T.dot(x, W) + b)
    cost = N.categorical_crossentropy(p, y).mean()
    return [x, y], cost, [W, b]


def test_acceptance_softmax_classifier_saturated():
    inputs, cost, params = _softmax_classifier()
    grads = symgraph.grad(cost, params)
    f = symgraph.function(inputs, [cost] + grads)
    xv = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    yv = np.array([1, 0, 0])  # two confidently wrong rows, one confidently right
    loss, gW, gb = f(xv, yv)
    assert _finite(loss, gW, gb)
    np.testing.assert_allclose(loss, 4000.0 / 3)
    np.testing.assert_allclose(gb, (np.eye(3)[[0, 1, 0]] - np.eye(3)[yv]).mean(0), atol=1e-12)
    # with FAST_COMPILE (no rewrites) the same graph overflows: the rewrite is what saves it
    with np.errstate(all="ignore"):
        naive = symgraph.function(inputs, [cost] + grads, mode="FAST_COMPILE")(xv, yv)
    assert not _finite(*naive)


def test_acceptance_sigmoid_bce_saturated():
    x, t = T.matrix("x"), T.matrix("t")
    w = symgraph.shared(np.array([1000.0, -1000.0]), name="w")
    cost = N.binary_crossentropy(N.sigmoid(x * w), t).mean()
    gw = symgraph.grad(cost, w)
    f = symgraph.function([x, t], [cost, gw])
    xv = np.ones((2, 2))
    tv = np.array([[0.0, 1.0], [1.0, 0.0]])
    loss, g = f(xv, tv)
    assert _finite(loss, g)
    np.testing.assert_allclose(loss, 500.0)  # two rows wrong by 1000 each, two right
    np.testing.assert_allclose(g, [0.25, -0.25])
    with np.errstate(all="ignore"):
        naive = symgraph.function([x, t], [cost, gw], mode="FAST_COMPILE")(xv, tv)
    assert not _finite(*naive)


def test_training_step_stays_finite():
    inputs, cost, params = _softmax_classifier()
    grads = symgraph.grad(cost, params)
    step = symgraph.function(inputs, cost,
                             updates=[(p, p - 0.1 * g) for p, g in zip(params, grads)])
    xv, yv = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1, 0])
    losses = [float(step(xv, yv)) for _ in range(3)]
    assert _finite(losses, *[p.get_value() for p in params])
    assert losses[-1] < losses[0]


def test_float32_rewrites_keep_dtype(rng):
    x, y = T.fmatrix("x"), T.lvector("y")
    cost = N.categorical_crossentropy(N.softmax(x), y).mean()
    g = symgraph.grad(cost, x)
    xv = rng.normal(size=(3, 4)).astype("float32")
    f = assert_same([x, y], [cost, g], [xv, rng.integers(0, 4, 3)], mode=NO_FUSE, rtol=1e-5,
                    atol=1e-6)
    assert all(np.asarray(v).dtype == np.float32 for v in f(xv, np.array([0, 1, 2])))


def test_theano_tutorial_indexing_pattern_saturated():
    """-mean(log(softmax(x))[arange(n), y]) (the logistic-regression tutorial's loss): the log
    becomes log_softmax and its gradient the closed form, so saturated logits stay finite."""
    x, y = T.matrix("x"), T.lvector("y")
    W = symgraph.shared(np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]]), name="W")
    p = T.nnet.softmax(T.dot(x, W))
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    g = symgraph.grad(cost, W)
    f = symgraph.function([x, y], [cost, g], mode=NO_FUSE)
    counts = op_counts(f)
    assert "SoftmaxGrad" not in counts and "log" not in counts
    xv, yv = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.array([1, 0, 0])
    dz = (np.eye(3)[[0, 1, 0]] - np.eye(3)[yv]) / 3
    for fn in (f, symgraph.function([x, y], [cost, g])):  # and the default mode
        loss, gW = fn(xv, yv)
        assert _finite(loss, gW)
        np.testing.assert_allclose(loss, 4000.0 / 3)
        np.testing.assert_allclose(gW, xv.T @ dz, atol=1e-12)


def test_pickled_function_keeps_nnet_scalar_ops(rng):
    import pickle
    o, t = T.matrix("o"), T.matrix("t")
    f = symgraph.function([o, t], N.binary_crossentropy(o, t))
    g = pickle.loads(pickle.dumps(f))
    ov, tv = rng.uniform(0.1, 0.9, (2, 3)), rng.uniform(size=(2, 3))
    np.testing.assert_allclose(g(ov, tv), f(ov, tv))


def test_bce_gradient_when_sigmoid_has_other_clients(rng):
    x, t = T.matrix("x"), T.matrix("t")
    s = N.sigmoid(x)
    cost = N.binary_crossentropy(s, t).mean() + (s ** 2).sum()
    g = symgraph.grad(cost, x)
    xv, tv = rng.normal(size=(3, 2)), rng.uniform(size=(3, 2))
    f = assert_same([x, t], [cost, g], [xv, tv])
    assert "binary_crossentropy_grad" not in op_counts(f)
    sv = special.expit(xv)
    np.testing.assert_allclose(f(xv, tv)[1], (sv - tv) / 6 + 2 * sv * sv * (1 - sv),
                               atol=1e-12)
    got = symgraph.function([x, t], g)(SATURATED[:, :2], np.full((2, 2), 0.5))
    assert _finite(got)


def test_softmax_gradient_when_softmax_has_other_clients(rng):
    x, y = T.matrix("x"), T.lvector("y")
    p = N.softmax(x)
    cost = N.categorical_crossentropy(p, y).sum() + (p[:, 0] * 3.0).sum()
    g = symgraph.grad(cost, x)
    xv, yv = rng.normal(size=(4, 3)), rng.integers(0, 3, 4)
    f = assert_same([x, y], [cost, g], [xv, yv])
    assert "CrossentropyCategorical1HotGrad" not in op_counts(f)
    sm = special.softmax(xv, 1)
    extra = 3.0 * sm[:, :1] * (np.eye(3)[0] - sm)
    np.testing.assert_allclose(f(xv, yv)[1], sm - np.eye(3)[yv] + extra, atol=1e-12)
    got = symgraph.function([x, y], g)(SATURATED, np.array([1, 0]))
    assert _finite(got)
