"""What the tests of the products that skip zeros (``test_sparse_dot.py``, numba's loops over
the nonzeros; ``test_zero_slices.py``, the NumPy back end's products without zero slices)
share: the left operand in each layout, and the dense product's value within rounding."""
import numpy as np


def left_layout(a, layout):
    """``a`` in the layout of the case: C order, a transposed view (the weight gradient's
    ``x.T``), or every other column of a wider array."""
    if layout == "T":
        return np.ascontiguousarray(a.T).T
    if layout == "strided":
        wide = np.zeros((a.shape[0], 2 * a.shape[1]), a.dtype)
        wide[:, ::2] = a
        return wide[:, ::2]
    return np.ascontiguousarray(a)


def assert_product_close(got, a, b, c=None, alpha=1.0):
    """``got`` equals ``c + alpha * a @ b`` within the bound of a sum of ``kk`` terms
    (``kk`` units of roundoff times the sum of their magnitudes), against float64."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = alpha * (a64 @ b64)
    scale = abs(alpha) * (np.abs(a64) @ np.abs(b64))
    if c is not None:
        want += c
        scale += np.abs(c)
    eps = np.finfo(got.dtype).eps
    bound = (a.shape[1] + 2) * eps * scale + np.finfo(got.dtype).tiny
    err = np.abs(got.astype(np.float64) - want)
    assert (err <= bound).all(), f"largest error {err.max()} against bound {bound.max()}"
