"""Specialization: cheaper ops for the machine, same values."""
import numpy as np
import pytest

import symgraph.tensor as T

from rewrite_helpers import assert_same, op_counts


def _pos(rng, *shape, dtype="float64"):
    return (np.abs(rng.standard_normal(shape)) + 0.5).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pow_two_is_sqr(rng, dtype):
    x = T.tensor(dtype, (None, None), "x")
    out = x ** 2
    f = assert_same([x], out, [_pos(rng, 2, 3, dtype=dtype)], rtol=1e-6)
    counts = op_counts(f)
    assert counts["sqr"] == 1 and "pow" not in counts
    assert f(_pos(rng, 2, 3, dtype=dtype)).dtype == np.dtype(dtype)


def test_pow_two_of_integers(rng):
    i = T.ivector("i")
    f = assert_same([i], i ** 2, [np.arange(-3, 3, dtype="int32")])
    assert op_counts(f)["sqr"] == 1
    assert f(np.arange(3, dtype="int32")).dtype == np.int32


def test_pow_half_is_sqrt(rng):
    x = T.matrix("x")
    f = assert_same([x], x ** 0.5, [_pos(rng, 2, 3)])
    counts = op_counts(f)
    assert counts["sqrt"] == 1 and "pow" not in counts


def test_pow_one_is_identity(rng):
    x = T.matrix("x")
    f = assert_same([x], T.exp(x) ** 1, [_pos(rng, 2, 3)])
    assert "pow" not in op_counts(f)


def test_pow_minus_one_is_reciprocal(rng):
    x = T.matrix("x")
    f = assert_same([x], x ** -1, [_pos(rng, 2, 3)])
    counts = op_counts(f)
    assert counts["true_div"] == 1 and "pow" not in counts


def test_pow_with_broadcasting_exponent_kept(rng):
    x = T.vector("x")
    out = x ** np.full((2, 1), 2.0)  # the exponent enlarges x to (2, n)
    f = assert_same([x], out, [_pos(rng, 3)])
    assert f(_pos(rng, 3)).shape == (2, 3)


def test_pow_non_uniform_exponent_kept(rng):
    x = T.vector("x")
    f = assert_same([x], x ** np.array([2.0, 0.5]), [_pos(rng, 2)])
    assert op_counts(f)["pow"] == 1


def test_mul_self_is_sqr(rng):
    x = T.matrix("x")
    e = T.exp(x)
    f = assert_same([x], e * e, [_pos(rng, 2, 3)])
    counts = op_counts(f)
    assert counts["sqr"] == 1 and "mul" not in counts


@pytest.mark.parametrize("kind", ["sum", "max", "prod"])
def test_reduce_over_broadcast_dim_is_dimshuffle(rng, kind):
    x = T.tensor("float64", (None, 1, None), "x")
    out = getattr(x, kind)(axis=1)
    f = assert_same([x], out, [_pos(rng, 2, 1, 3)])
    counts = op_counts(f)
    assert "Reduce" not in counts and counts["DimShuffle"] == 1


def test_reduce_over_broadcast_dim_keepdims(rng):
    x = T.tensor("float64", (None, 1), "x")
    f = assert_same([x], T.exp(x).sum(axis=1, keepdims=True), [_pos(rng, 3, 1)])
    assert "Reduce" not in op_counts(f)


def test_sum_of_int8_over_broadcast_dim_keeps_dtype(rng):
    x = T.tensor("int8", (None, 1), "x")
    out = x.sum(axis=1)
    f = assert_same([x], out, [np.arange(3, dtype="int8").reshape(3, 1)])
    assert f(np.ones((3, 1), dtype="int8")).dtype == np.dtype(out.dtype)


def test_dot_of_transposes_uses_views(rng):
    a, b = T.matrix("a"), T.matrix("b")
    out = T.dot(a.T, b.T)
    av, bv = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    f = assert_same([a, b], out, [av, bv])
    assert "copy" not in f.source and "ascontiguousarray" not in f.source
    assert ".transpose((1, 0))" in f.source  # a strided view, handed to BLAS as is
    np.testing.assert_allclose(f(av, bv), av.T @ bv.T, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_pow_three(rng, dtype):
    x = T.tensor(dtype, (None,), "x")
    xv = (rng.standard_normal(6) * 3).astype(dtype)
    f = assert_same([x], x ** 3, [xv], rtol=1e-6)
    counts = op_counts(f)
    assert "pow" not in counts and counts["sqr"] == 1 and counts["mul"] == 1
    assert f(xv).dtype == np.dtype(dtype)


@pytest.mark.parametrize("target", ["make_vector", "shape"])
def test_sum_to_shape_takes_scalar_dims(rng, target):
    """The run-time sum-to-shape of a gradient compares ``g.shape`` with a tuple of scalar dims
    instead of building a shape vector; the values (summed or passed through) are unchanged."""
    from symgraph.ops.shape import MakeVector, sum_to_shape
    x, y = T.matrix("x"), T.matrix("y")
    # x may be (1, n) while y is (m, n): the sum is needed then
    shp = MakeVector("int64")(x.shape[0], x.shape[1]) if target == "make_vector" else x.shape
    g = sum_to_shape(T.exp(y) * x, shp)
    for xs in ((1, 3), (2, 3)):
        f = assert_same([x, y], g, [_pos(rng, *xs), _pos(rng, 2, 3)])
        counts = op_counts(f)
        assert counts["SumToDims"] == 1 and "SumToShape" not in counts
        assert "MakeVector" not in counts and "Shape" not in counts
        assert f(_pos(rng, *xs), _pos(rng, 2, 3)).shape == xs


def test_sum_to_dims_refuses_a_wrong_shape():
    from symgraph.ops.shape import SumToDims
    x = T.matrix("x")
    with pytest.raises(TypeError, match="SumToDims: expected 2 integer scalar dims"):
        SumToDims((None, None))(x, x.shape[0])
    with pytest.raises(TypeError, match="SumToDims"):
        SumToDims((None,))(x, T.scalar("s"))
    f = __import__("symgraph").function([x], SumToDims((None, None))(x, 2, 3))
    with pytest.raises(ValueError, match=r"cannot be summed to shape \(2, 3\)"):
        f(np.ones((4, 5)))
