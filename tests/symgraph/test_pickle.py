"""Pickling and copying: shared variables, graphs holding them, compiled functions."""
import copy
import pickle

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import In
from symgraph.types import TensorType


def _roundtrip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


@pytest.mark.parametrize("value", [np.float32(3.5), 7, np.arange(6.0).reshape(2, 3),
                                   np.zeros((1, 2, 1, 2), dtype=np.int16)])
def test_shared_variable_roundtrip(value):
    s = symgraph.shared(value, "s")
    t = _roundtrip(s)
    assert t is not s and t.name == "s" and t.type == s.type
    np.testing.assert_array_equal(t.get_value(), s.get_value())
    assert t.get_value().dtype == s.get_value().dtype
    t.set_value(t.get_value() * 0 + 1)  # independent storage
    np.testing.assert_array_equal(s.get_value(), np.asarray(value))


def test_shared_default_update_survives_pickle():
    s = symgraph.shared(np.float64(0.0), "s")
    s.default_update = s + 1
    t = _roundtrip(s)
    symgraph.function([], t * 1)()
    assert float(t.get_value()) == 1.0 and float(s.get_value()) == 0.0


def test_graph_with_shared_variables_roundtrip(rng):
    W = symgraph.shared(rng.standard_normal((2, 3)), "W")
    b = symgraph.shared(np.zeros(3), "b")
    x = T.matrix("x")
    y = T.sigmoid(T.dot(x, W) + b)
    cost = (y ** 2).mean()
    grads = T.grad(cost, [W, b])
    W2, b2, x2, cost2, grads2 = _roundtrip((W, b, x, cost, grads))
    xv = rng.standard_normal((4, 2))
    ref = symgraph.function([x], [cost] + grads)(xv)
    got = symgraph.function([x2], [cost2] + grads2)(xv)
    for r, g in zip(ref, got):
        np.testing.assert_allclose(g, r, rtol=1e-12)
    # the loaded graph reads the loaded storage, not the original
    f = symgraph.function([x2], [], updates=[(W2, W2 - 0.1 * grads2[0])])
    f(xv)
    np.testing.assert_allclose(W2.get_value(), W.get_value() - 0.1 * ref[1], rtol=1e-12)
    assert not np.allclose(W2.get_value(), W.get_value())


def test_one_shared_variable_stays_one_after_pickle():
    W = symgraph.shared(np.ones(2), "W")
    a, b = _roundtrip((W, W * 2))
    assert b.owner.inputs[0] is a


def test_types_ops_and_constants_roundtrip():
    t = TensorType("float32", (None, 1))
    assert _roundtrip(t) == t
    c = T.constant(np.arange(3.0))
    np.testing.assert_array_equal(_roundtrip(c).data, np.arange(3.0))
    x = T.matrix("x")
    for expr in (T.exp(x), x.dimshuffle(1, "x", 0), x.sum(axis=0), T.cast(x, "float32"),
                 x.reshape((-1,)), T.dot(x, x), x.max(axis=1)):
        e2 = _roundtrip(expr)
        assert e2.owner.op == expr.owner.op and hash(e2.owner.op) == hash(expr.owner.op)
        assert e2.type == expr.type


def test_pickled_function_runs_with_its_state(rng):
    W = symgraph.shared(np.ones(2), "W")
    x = T.vector("x")
    k = T.scalar("k")
    f = symgraph.function([x, In(k, value=3.0, name="k")], (W * x).sum() * k,
                          updates=[(W, W * 2)])
    f2, W2 = _roundtrip((f, W))
    assert float(f2(np.ones(2))) == 6.0
    np.testing.assert_array_equal(W2.get_value(), [2.0, 2.0])  # f2 updates the loaded W
    np.testing.assert_array_equal(W.get_value(), [1.0, 1.0])
    assert float(f2(np.ones(2), k=1.0)) == 4.0
    assert f2.source.count("def ") == 1


def test_pickled_function_with_givens_and_jacobian(rng):
    data = symgraph.shared(rng.standard_normal((4, 2)), "data")
    i = T.lscalar("i")
    x = T.matrix("x")
    f = symgraph.function([i], (x ** 2).sum(), givens={x: data[i * 2:(i + 1) * 2]})
    g = _roundtrip(f)
    for k in range(2):
        assert np.isclose(g(k), f(k))
    v = T.vector("v")
    jac = symgraph.function([v], T.jacobian(T.exp(v), v))
    vv = rng.standard_normal(3)
    np.testing.assert_allclose(_roundtrip(jac)(vv), np.diag(np.exp(vv)), rtol=1e-12)


def test_deepcopy_function_and_graph(rng):
    W = symgraph.shared(rng.standard_normal(3), "W")
    x = T.vector("x")
    f = symgraph.function([x], (W * x).sum(), updates=[(W, W + x)], mode="FAST_COMPILE")
    g = copy.deepcopy(f)
    xv = rng.standard_normal(3)
    before = W.get_value()
    assert np.isclose(g(xv), (before * xv).sum())
    np.testing.assert_array_equal(W.get_value(), before)  # the copy owns its storage
    assert g.mode.name == "FAST_COMPILE"
    expr = copy.deepcopy(W * x)
    assert expr.owner.inputs[0] is not W and expr.owner.inputs[1] is not x
    np.testing.assert_array_equal(expr.owner.inputs[0].get_value(), W.get_value())
