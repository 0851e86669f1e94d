"""repeat and tile: static shapes, symbolic repeats, errors and gradients (first and second
order) beyond what the op table covers."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops.tiling import Repeat
from symgraph.testing import check_emit, check_grad, check_infer


def test_repeat_static_shapes_and_errors():
    x = T.tensor("float64", (2, 3))
    assert T.repeat(x, 2, axis=1).type.shape == (2, 6)
    assert T.repeat(x, [1, 0, 4], axis=1).type.shape == (2, 5)
    assert T.repeat(x, 3).type.shape == (18,)
    assert T.repeat(x, T.lscalar(), axis=0).type.shape == (None, 3)
    with pytest.raises(ValueError, match="3 repeats for an axis of length 2"):
        T.repeat(x, [1, 2, 3], axis=0)
    with pytest.raises(TypeError, match="repeats must be an integer"):
        T.repeat(x, T.vector(), axis=0)
    with pytest.raises(ValueError, match="non-negative"):
        T.repeat(x, -1, axis=0)


def test_repeat_symbolic_repeats_and_gradients(rng):
    x, r = T.matrix("x"), T.lvector("r")
    out = T.repeat(x, r, axis=0)
    g = T.grad((out * out).sum(), x)
    xv = rng.standard_normal((3, 2))
    rv = np.array([2, 0, 3])
    got, gx = symgraph.function([x, r], [out, g])(xv, rv)
    np.testing.assert_array_equal(got, np.repeat(xv, rv, axis=0))
    np.testing.assert_allclose(gx, 2 * xv * rv[:, None])
    check_infer(lambda a, b: T.repeat(a, b, axis=0), [xv, rv])
    check_infer(lambda a, b: T.repeat(a, b, axis=1), [xv, np.int64(3)])
    check_emit(Repeat(0), [xv, rv])
    # second derivative: the adjoint (RepeatSum) differentiates back into Repeat
    check_grad(lambda v: T.grad((T.repeat(v, [1, 2, 0], axis=0) ** 3).sum(), v), [xv], rng)


def test_tile(rng):
    x = T.matrix("x")
    xv = rng.standard_normal((2, 3))
    for reps in ((2, 2), (3,), (2, 1, 2), (1, 1)):
        np.testing.assert_array_equal(symgraph.function([x], T.tile(x, reps))(xv),
                                      np.tile(xv, reps))
    assert T.tile(T.tensor("float64", (2, 3)), (2, 2)).type.shape == (4, 6)
    check_grad(lambda v: T.tile(v, (2, 3)), [xv], rng)


def test_tile_with_symbolic_reps(rng):
    x, n = T.matrix("x"), T.lscalar("n")
    xv = rng.standard_normal((2, 3))
    f = symgraph.function([x, n], [T.tile(x, (n, 2)), T.tile(x, T.stack([n, n]))])
    a, b = f(xv, 3)
    np.testing.assert_array_equal(a, np.tile(xv, (3, 2)))
    np.testing.assert_array_equal(b, np.tile(xv, (3, 3)))
    with pytest.raises(TypeError, match="tile: expected an integer scalar"):
        T.tile(x, (T.scalar(), 2))


def test_repeat_checks_the_static_length_of_symbolic_repeats():
    x = T.tensor("float64", (2, 3))
    with pytest.raises(ValueError, match="Repeat.*4 repeats for an axis of length 3"):
        T.repeat(x, T.lvector(shape=(4,)), axis=1)
    assert T.repeat(x, T.lvector(shape=(3,)), axis=1).type.shape == (2, None)
