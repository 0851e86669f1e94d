"""Shared variables: storage, borrow semantics, validation, use in compiled functions."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T


@pytest.mark.parametrize("value, dtype, ndim", [
    (0.5, "float64", 0),
    (3, "int64", 0),
    (np.float32(1.5), "float32", 0),
    (np.int32(7), "int32", 0),
    (True, "bool", 0),
    ([1.0, 2.0], "float64", 1),
    (np.zeros((2, 3), dtype=np.float32), "float32", 2),
    (np.zeros((2, 1, 3, 4), dtype=np.int16), "int16", 4),
    (np.zeros((1, 1, 1, 1, 2)), "float64", 5),
])
def test_any_value_and_rank(value, dtype, ndim):
    s = symgraph.shared(value, "s")
    assert s.dtype == dtype and s.ndim == ndim
    assert s.type.shape == (None,) * ndim  # every dim unknown: set_value may change it
    got = s.get_value()
    assert isinstance(got, np.ndarray) and got.dtype == dtype
    np.testing.assert_array_equal(got, np.asarray(value))


def test_scalar_shared_in_function():
    lr = symgraph.shared(np.float32(0.1), "lr")
    n = symgraph.shared(0, "n")
    x = T.fvector("x")
    f = symgraph.function([x], x * lr, updates=[(n, n + 1), (lr, lr * 0.5)])
    out = f(np.ones(2, dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.1, 0.1], rtol=1e-6)
    f(np.ones(2, dtype=np.float32))
    assert int(n.get_value()) == 2 and n.get_value().dtype == np.int64
    np.testing.assert_allclose(lr.get_value(), 0.025, rtol=1e-6)
    assert lr.get_value().dtype == np.float32


def test_constructor_copies_unless_borrowed():
    v = np.zeros(3)
    s = symgraph.shared(v)
    v[0] = 1.0
    assert s.get_value()[0] == 0.0
    b = symgraph.shared(v, borrow=True)
    v[1] = 2.0
    assert b.get_value()[1] == 2.0


def test_get_value_borrow():
    s = symgraph.shared(np.zeros(3))
    copy = s.get_value()
    copy[0] = 5.0
    assert s.get_value()[0] == 0.0
    inner = s.get_value(borrow=True)
    inner[0] = 5.0
    assert s.get_value()[0] == 5.0


def test_set_value_borrow():
    s = symgraph.shared(np.zeros(3))
    v = np.ones(3)
    s.set_value(v)
    v[0] = 9.0
    assert s.get_value()[0] == 1.0
    s.set_value(v, borrow=True)
    v[1] = 7.0
    assert s.get_value()[1] == 7.0


def test_set_value_validation():
    s = symgraph.shared(np.zeros((2, 2)), "W")
    s.set_value(np.ones((5, 3)))  # the shape may change
    assert s.get_value().shape == (5, 3)
    with pytest.raises(TypeError, match="shared variable W.*2-d"):
        s.set_value(np.ones(3))
    f32 = symgraph.shared(np.zeros(2, dtype=np.float32), "f")
    with pytest.raises(TypeError, match="float64.*float32"):
        f32.set_value(np.ones(2))
    f32.set_value([0.5, 1.5])  # Python floats: accepted
    assert f32.get_value().dtype == np.float32
    f32.set_value(np.ones(2, dtype=np.int8))  # safe cast
    assert f32.get_value().dtype == np.float32
    i = symgraph.shared(np.int32(0), "i")
    with pytest.raises(TypeError, match="does not fit"):
        i.set_value(0.5)
    np.testing.assert_array_equal(s.get_value().shape, (5, 3))  # failed sets change nothing


def test_allow_downcast_and_strict():
    d = symgraph.shared(np.zeros(2, dtype=np.float32), allow_downcast=True)
    d.set_value(np.ones(2))
    assert d.get_value().dtype == np.float32
    s = symgraph.shared(np.zeros(2), strict=True)
    with pytest.raises(TypeError, match="strict"):
        s.set_value([1.0, 2.0])
    s.set_value(np.ones(2))


def test_broadcastable_and_static_shape():
    b = symgraph.shared(np.zeros((1, 3)), broadcastable=(True, False))
    assert b.type.shape == (1, None)
    with pytest.raises(ValueError, match="dimension 0 must have length 1"):
        b.set_value(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="broadcastable"):
        symgraph.shared(np.zeros(3), broadcastable=(True, False))
    s = symgraph.shared(np.zeros((2, 3)), shape=(2, 3))
    assert s.type.shape == (2, 3)


def test_set_value_seen_by_compiled_function(rng):
    W = symgraph.shared(np.zeros((2, 2)), "W")
    x = T.vector("x")
    f = symgraph.function([x], T.dot(W, x))
    new = rng.standard_normal((3, 2))
    W.set_value(new)  # a new shape too
    np.testing.assert_allclose(f(np.ones(2)), new.sum(axis=1))


def test_function_updates_never_write_into_unborrowed_arrays():
    # the storage may be updated in place, but only storage the shared variable owns: arrays
    # given or taken without borrow=True are never written (with borrow=True they may be)
    v = np.zeros(2)
    s = symgraph.shared(v)
    taken = s.get_value()
    f = symgraph.function([], [], updates=[(s, s + 1)])
    f()
    s.set_value(v)
    f()
    np.testing.assert_array_equal(s.get_value(), [1.0, 1.0])
    np.testing.assert_array_equal(v, [0.0, 0.0])
    np.testing.assert_array_equal(taken, [0.0, 0.0])


def test_symbolic_value_rejected():
    with pytest.raises(TypeError, match="takes a value"):
        symgraph.shared(T.vector("x"))


def test_shared_variable_identity_and_name():
    a = symgraph.shared(np.zeros(2), "a")
    b = symgraph.shared(np.zeros(2), "a")
    assert a is not b and a != b and repr(a) == "a"
    assert isinstance(a, symgraph.SharedVariable)
    assert a.value.shape == (2,)


def test_zero():
    s = symgraph.shared(np.ones((2, 2)))
    s.zero()
    np.testing.assert_array_equal(s.get_value(), np.zeros((2, 2)))
