"""arange, zeros/ones, eye and identity_like: static types, dtypes, build-time errors and the
gradient of arange."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops.construct import ARange
from symgraph.testing import check_emit, check_infer


@pytest.mark.parametrize("args", [(5,), (2, 9), (2, 9, 3), (9, 2, -2), (0.5, 3.0, 0.7),
                                  (3, 1), (1.0, -2.0, -0.4)])
def test_arange_constant_bounds_have_static_length(args):
    out = T.arange(*args)
    want = np.arange(*args)
    assert out.type.shape == want.shape
    np.testing.assert_allclose(out.eval(), want)


def test_arange_symbolic_bounds_and_dtypes():
    n = T.iscalar("n")
    assert T.arange(n).dtype == "int32"
    assert T.arange(5).dtype == "int64"
    assert T.arange(T.fscalar()).dtype == "float32"
    assert T.arange(0.5, 2).dtype == symgraph.config.floatX
    assert T.arange(n, dtype="float64").dtype == "float64"
    start, stop, step = T.lscalar(), T.lscalar(), T.lscalar()
    f = symgraph.function([start, stop, step], T.arange(start, stop, step))
    for a, b, c in ((0, 7, 2), (7, 0, -3), (5, 5, 1), (4, 1, 1)):
        np.testing.assert_array_equal(f(a, b, c), np.arange(a, b, c))
    check_infer(lambda a, b, c: T.arange(a, b, c), [np.int64(7), np.int64(0), np.int64(-3)])
    check_infer(lambda a, b, c: T.arange(a, b, c), [np.float64(0.1), np.float64(2.0),
                                                    np.float64(0.3)])


def test_arange_errors():
    with pytest.raises(ValueError, match="step must not be zero"):
        T.arange(0, 5, 0)
    with pytest.raises(TypeError, match="must be a scalar"):
        T.arange(T.vector())
    with pytest.raises(TypeError, match="arange: bounds must be numbers"):
        T.arange("3")


def test_arange_gradient_of_start_and_step(rng):
    s, st = T.scalar("s"), T.scalar("st")
    out = T.arange(s, 3.0, st)
    gs, gst = T.grad((out ** 2).sum(), [s, st])
    f = symgraph.function([s, st], [gs, gst])
    sv, stv = 0.25, 0.5
    vals = np.arange(sv, 3.0, stv)
    got = f(sv, stv)
    np.testing.assert_allclose(got[0], 2 * vals.sum())
    np.testing.assert_allclose(got[1], 2 * (vals * np.arange(len(vals))).sum())


def test_zeros_ones_shapes_and_dtypes():
    n = T.lscalar("n")
    f = symgraph.function([n], [T.zeros((n, 2)), T.ones(n, dtype="int32"), T.zeros(())])
    z, o, s = f(3)
    assert z.shape == (3, 2) and z.dtype == np.float64 and not z.any()
    assert o.dtype == np.int32 and o.tolist() == [1, 1, 1]
    assert s.shape == () and s == 0
    assert T.zeros((2, 3)).type.shape == (2, 3)
    with symgraph.config.change_flags(floatX="float32"):
        assert T.ones(4).dtype == "float32"
        assert T.zeros(4, dtype="floatX").dtype == "float32"
    x = T.matrix("x")
    np.testing.assert_array_equal(symgraph.function([x], T.ones(x.shape))(np.zeros((2, 5))),
                                  np.ones((2, 5)))


def test_eye_and_identity_like():
    n = T.lscalar("n")
    f = symgraph.function([n], [T.eye(n), T.eye(n, 2, -1, dtype="int32")])
    a, b = f(3)
    np.testing.assert_array_equal(a, np.eye(3))
    np.testing.assert_array_equal(b, np.eye(3, 2, -1, dtype="int32"))
    assert b.dtype == np.int32
    assert T.eye(3, 4).type.shape == (3, 4)
    with pytest.raises(TypeError, match="eye: expected an integer scalar"):
        T.eye(T.scalar())
    with pytest.raises(TypeError, match="identity_like: expected a matrix"):
        T.identity_like(T.vector())


def test_arange_emit_matches_perform():
    check_emit(ARange("float32"), [np.float32(0.5), np.float32(3.0), np.float32(0.25)])
    check_emit(ARange("int64"), [np.int64(9), np.int64(2), np.int64(-2)])
