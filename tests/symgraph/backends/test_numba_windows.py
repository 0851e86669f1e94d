"""The numba back end's compiled max pooling (symgraph/backends/numba_windows.py) gives exactly
what the NumPy code of the pooling ops gives (ties, nan, integers, remainder rows, any window
size, any leading rank), directly and inside compiled functions; other geometries fall back
to the NumPy code."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.compile.mode import FAST_RUN
from symgraph.ops.pool import Pool2d, Pool2dGrad, pool_2d

pytest.importorskip("numba")
from symgraph.backends.numba_windows import NUMBA_LOOPS, tile_source  # noqa: E402

NUMBA = FAST_RUN.__class__("NUMBA-test", backend="numba")
NUMPY = FAST_RUN.__class__("NUMPY-test", backend="numpy")

TILES = [((2, 2), (3, 4, 8, 6)), ((3, 2), (2, 9, 8)), ((2, 3), (7, 9)), ((1, 1), (2, 2, 3, 3)),
         ((2, 2), (2, 3, 7, 9))]  # the last: a remainder row and column


def _values(shape, dtype, rng, ties):
    if ties:  # few distinct values: tied maxima in most windows
        return rng.integers(-2, 3, shape).astype(dtype)
    return (rng.standard_normal(shape) * 3).astype(dtype)


@pytest.mark.parametrize("ws,shape", TILES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("ties", [False, True])
def test_loops_equal_the_numpy_code(rng, ws, shape, dtype, ties):
    x = _values(shape, dtype, rng, ties)
    op = Pool2d(ws, ws, (0, 0), True, "max")
    z = op.perform(x)
    out = np.empty_like(z)
    assert NUMBA_LOOPS.max_pool(x, z.shape, lambda: out, ws, ws, (0, 0)) is out
    np.testing.assert_array_equal(out, z)
    assert out.dtype == z.dtype
    if dtype == "int32":
        return
    gz = rng.standard_normal(z.shape).astype(dtype)
    gop = Pool2dGrad(ws, ws, (0, 0), True, "max")
    gx = np.empty_like(x)
    got = NUMBA_LOOPS.max_pool_grad(x, gz, z, lambda: gx, ws, ws, (0, 0))
    want = gop.perform(x, gz, z)
    covered = x.shape[-2:] == (z.shape[-2] * ws[0], z.shape[-1] * ws[1])
    assert (got is gx) == covered  # a remainder to zero is left to the NumPy code
    if covered:
        np.testing.assert_array_equal(gx, want)
        assert np.signbit(gx).tolist() == np.signbit(want).tolist()  # -0.0 where gz < 0


def test_nan_maxima_and_other_geometries_fall_back(rng):
    x = rng.standard_normal((2, 4, 4))
    x[0, 1, 1] = np.nan
    z = Pool2d((2, 2), (2, 2), (0, 0), True, "max").perform(x)
    out = np.empty_like(z)
    assert NUMBA_LOOPS.max_pool(x, z.shape, lambda: out, (2, 2), (2, 2), (0, 0)) is out
    np.testing.assert_array_equal(out, z)  # nan wins the forward in both
    assert NUMBA_LOOPS.max_pool_grad(x, np.ones_like(z), z, lambda: np.empty_like(x), (2, 2),
                                     (2, 2), (0, 0)) is None
    for ws, st, pad in (((3, 3), (2, 2), (0, 0)), ((2, 2), (2, 2), (1, 1)),
                        ((2, 2), (3, 3), (0, 0))):
        assert NUMBA_LOOPS.max_pool(x, (2, 2, 2), lambda: np.empty((2, 2, 2)), ws, st, pad) is None


@pytest.mark.parametrize("ws,stride,pad", [((2, 2), None, (0, 0)), ((3, 3), (2, 2), (1, 1)),
                                            ((2, 3), None, (0, 0))])
def test_compiled_functions_agree_across_back_ends(rng, ws, stride, pad):
    """A max-pooling layer and its gradient (the gradient op reading the pooled maxima)
    compiled with the numba back end equal the NumPy back end's, bit for bit."""
    x = T.tensor("float32", (None,) * 4, "x")
    out = pool_2d(x, ws, ignore_border=True, stride=stride, pad=pad)
    gx = T.grad((T.tanh(out) * out).sum(), x)
    xv = _values((3, 2, 12, 12), "float32", rng, ties=True)
    # neither is an output itself, so both live in planned buffers and run the loops
    results = [out + 1, gx * 3]
    fast = symgraph.function([x], results, mode=NUMBA)
    slow = symgraph.function([x], results, mode=NUMPY)
    assert "_max_pool_into(" in fast.source and "_max_pool_grad_into(" in fast.source
    for a, b in zip(fast(xv), slow(xv)):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_generated_source_unrolls_the_window():
    src = tile_source(2, 3)
    assert "def max_pool(x, out):" in src and "def max_pool_grad(x, gz, z, gx, zero):" in src
    assert " and " not in src and " or " not in src.split("max_pool_grad")[1]  # branch-free
    assert src.count("== m") == 5  # every entry but the last compares with the maximum
