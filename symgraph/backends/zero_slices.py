"""Matrix products that leave out the all-zero columns or rows of their left operand (the
NumPy back end).

A network's first layer multiplies its input by a weight matrix, forward (``x @ W``) and for
the weight gradient (``x.T @ g``). Some pixels are zero in every image of a minibatch (on
MNIST, about a third of the 784 columns of a batch of 100: the digits' borders), and their
terms are zeros the dense product computes anyway. This module takes those slices out
before BLAS runs:

* a column ``k`` of ``a`` that is all zeros adds nothing to ``a @ b``: the product is
  ``a[:, nz] @ b[nz]`` over the other columns ``nz`` (the forward product);
* a row of ``a`` that is all zeros gives a row of zeros: the other rows are ``a[nz] @ b``
  (the weight gradient, whose left operand is the transposed input).

The result is the dense product's up to rounding: the same nonzero terms, summed by BLAS over
a shorter inner dimension. The left-out terms are ``0 * b[k, j]``, which add nothing unless
``b`` holds an inf or a nan (``0 * inf`` is nan): an operand ``b`` for which a cheap sum is
not finite goes to the dense product (a sum that overflows sends a finite ``b`` there too,
which is only slower). The sign of an exact zero may differ, as with the numba back end's
loops over the nonzero entries (:mod:`symgraph.backends.sparse_dot`), which go further and
skip every zero entry.

Each call decides. Small products and operands of other kinds go to BLAS at once. A sample of
``a``'s rows (or columns) refuses an operand whose slices cannot be a quarter zeros (a ReLU
layer's output) in a few microseconds; otherwise the exact count decides against
:data:`ZERO_FRACTION`. Measured on the study's first layer (an ad-hoc script over 32 MNIST
minibatches, one core, everything included): ``x @ W`` 358 -> 324 us and ``x.T @ g`` 337 ->
321 us with OpenBLAS's AVX-512 kernels, 649 -> 518 and 639 -> 522 us with its AVX2 kernels.
``python -m benchmarks.study_step`` times the whole step.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.ops.scratch import ThreadScratch

#: products of fewer multiply-adds than this stay dense (a decision costs microseconds)
MIN_WORK = 1 << 22
#: the fraction of all-zero slices below which the product stays dense (the gathers and the
#: checks cost about a sixth of the study's products, so fewer zeros would not pay)
ZERO_FRACTION = 0.25
#: slices of the sample: every (size // SAMPLE)-th row (column) of ``a`` (a ReLU layer's
#: output, half zeros, shows a column zero in all eight sampled rows once in 256)
SAMPLE = 8
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


#: the compacted rows of a product, kept per thread up to this many elements (larger ones,
#: a whole test set's, are made for the call)
KEEP_ELEMENTS = 1 << 21
_scratch = ThreadScratch(KEEP_ELEMENTS)


def _takes(a, b, out) -> bool:
    if a.ndim != 2 or b.ndim != 2 or out.ndim != 2 or a.dtype not in _FLOATS or \
            b.dtype != a.dtype or out.dtype != a.dtype:
        return False
    m, kk = a.shape
    n = b.shape[1]
    return m * kk * n >= MIN_WORK and b.shape[0] == kk and out.shape == (m, n) and \
        out.flags.writeable


def _apart(a, b, out) -> bool:
    return not (np.may_share_memory(out, a) or np.may_share_memory(out, b))


def _zero_share(a: np.ndarray, axis: int) -> float:
    """An upper bound on the fraction of ``a``'s slices along ``axis`` (0: columns, 1: rows)
    that are all zeros, from a sample of the other axis."""
    step = max(1, a.shape[axis] // SAMPLE)
    sample = a[::step] if axis == 0 else a[:, ::step]
    return 1.0 - np.count_nonzero(sample.any(axis=axis)) / a.shape[1 - axis]


def _finite_sum(x: np.ndarray) -> bool:
    with np.errstate(invalid="ignore", over="ignore"):  # the very cases it looks for
        return bool(np.isfinite(np.add.reduce(x, axis=None)))


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Optional[np.ndarray]:
    """``a @ b`` into ``out`` without the all-zero columns or rows of ``a``; None (``out``
    untouched) when the dense product should compute it."""
    if not _takes(a, b, out):
        return None
    if _zero_share(a, 0) >= ZERO_FRACTION:
        if not _apart(a, b, out):
            return None
        keep = a.any(axis=0)
        nz = np.flatnonzero(keep)
        if nz.size > (1.0 - ZERO_FRACTION) * a.shape[1]:
            return None
        # the left-out rows of b must be finite: one product with their indicator (the other
        # rows enter it times 0, so a non-finite b anywhere refuses, which is only slower)
        with np.errstate(invalid="ignore", over="ignore"):
            left_out = np.dot((~keep).astype(b.dtype), b)
        if not _finite_sum(left_out):
            return None
        np.matmul(a[:, nz], b[nz], out=out)
        return out
    if _zero_share(a, 1) < ZERO_FRACTION or not _apart(a, b, out):
        return None
    keep = a.any(axis=1)
    nz = np.flatnonzero(keep)
    if nz.size > (1.0 - ZERO_FRACTION) * a.shape[0] or not _finite_sum(b):
        return None
    n = b.shape[1]
    part = _scratch.get("part", nz.size * n, out.dtype).reshape(nz.size, n)
    np.matmul(a[nz], b, out=part)
    out[~keep] = 0
    out[nz] = part
    return out
