"""Matrix products that skip the zeros of their left operand (the numba back end's loops).

A network's first layer multiplies its input by a weight matrix, forward (``x @ W``) and for
the weight gradient (``x.T @ g``). MNIST's pixels are four-fifths zeros, and dropout or masking
noise adds more, so a dense product spends most of its multiplications on zeros. When the
left operand ``a`` of a float product is mostly zeros, this module computes ``a @ b`` as a sum
over its nonzero entries only: each row of ``a`` is compacted into (column, value) pairs, and
the row of the result is a sum of the rows of ``b`` those pairs name, :data:`UNROLL` at a
time, each read once with unit stride (a loop LLVM vectorises).

The result is the dense product's up to rounding: its terms are the same, summed in another
order, without the ``0 * b[k, j]`` terms. Those add nothing unless ``b`` holds an inf or a
nan (``0 * inf`` is nan), so an operand ``b`` that is not finite everywhere goes to the dense
product; the sign of an exact zero may differ (a sum of no terms is ``+0``).

The loops are Python over raw pointers, compiled by numba once and kept as object code
(:mod:`symgraph.backends.native`): a warm kernel cache runs them without starting numba. Each
call chooses: small products, operands the loops do not take, and left operands with more
than :data:`DENSITY` nonzeros per entry (counted exactly while compacting, after a sample has
refused the clearly dense ones) use BLAS. Measured on the study's first layer (batch 100,
784 x 500, float32, 17 % nonzeros, one core): ``python -m benchmarks.sparse_products``, whose
figures are in benchmarks/README.md.
"""
from __future__ import annotations

import functools
from typing import Callable, Optional, Tuple

import numpy as np

from symgraph.backends import native
from symgraph.ops.scratch import ThreadScratch

#: the largest fraction of nonzero entries of the left operand for which the sparse loops run
DENSITY = 0.25
#: products of fewer multiply-adds than this stay dense (the calls cost a few microseconds)
MIN_WORK = 1 << 22
#: ... and so do products with fewer columns than this (a short row is a short loop)
MIN_COLUMNS = 256
#: a first estimate of the density reads every (m // SAMPLE_ROWS)-th row of ``a`` at every
#: (kk // SAMPLE_COLUMNS)-th column, and refuses ``a`` when more than SAMPLE_DENSITY of those
#: entries are nonzero: an operand clearly dense (a ReLU layer's output, about half zeros) is
#: refused without a compaction. The decision on every other operand is the compaction's
#: exact count against DENSITY, so it does not depend on which entries the sample reads
#: (measured on MNIST minibatches of 100 with dropout: a sample at 0.263 for a density of
#: 0.176)
SAMPLE_ROWS, SAMPLE_COLUMNS = 8, 32
SAMPLE_DENSITY = 0.4
#: nonzeros of a row of ``a`` summed per pass over the accumulated row
UNROLL = 6

_EXPONENT = {np.dtype(np.float32): ("uint32", 0x7F800000),
             np.dtype(np.float64): ("uint64", 0x7FF0000000000000)}


def compact_source() -> str:
    """``compact(a, ptr, idx, val, m, kk, sa0, sa1, limit, cap)``: the nonzeros of the ``m``
    x ``kk`` matrix at ``a`` (strides ``sa0``, ``sa1`` in elements), row by row, as CSR
    arrays: row ``i``'s columns ``idx[ptr[i]:ptr[i + 1]]`` and values ``val[...]``. Stops
    with ``ptr[m] = -1`` once more than ``limit`` were found, or before a row that could
    store past ``cap`` entries of ``idx`` and ``val``. Branch-free: every entry is stored, and
    the count moves on past the nonzero ones."""
    return "\n".join([
        "def compact(a, ptr, idx, val, m, kk, sa0, sa1, limit, cap):",
        "    cnt = 0",
        "    for i in range(m):",
        "        if cnt > limit or cnt + kk > cap:",
        "            ptr[m] = -1",
        "            return",
        "        ptr[i] = cnt",
        "        base = i * sa0",
        "        for k in range(kk):",
        "            v = a[base + k * sa1]",
        "            idx[cnt] = k",
        "            val[cnt] = v",
        "            cnt += v != 0",
        "    ptr[m] = cnt if cnt <= limit else -1",
        ""])


def finite_source(bits: str, mask: int) -> str:
    """``finite(bits, res, kk, n, sb)``: ``res[0]`` nonzero when the ``kk`` x ``n`` matrix at
    ``bits`` (its entries seen as integers of type ``bits``, row stride ``sb``) holds an inf or
    a nan: an entry whose exponent field (``& mask``) is all ones. An integer OR over the
    entries, which LLVM vectorises (26-35 us for 392,000 float32, against 285 us for a loop
    it did not)."""
    return "\n".join([
        "def finite(bits, res, kk, n, sb):",
        f"    mask = np.{bits}({mask})",
        f"    bad = np.{bits}(0)",
        "    for k in range(kk):",
        "        base = k * sb",
        "        for j in range(n):",
        f"            bad |= np.{bits}((bits[base + j] & mask) == mask)",
        "    res[0] = bad",
        ""])


def multiply_source(unroll: int = UNROLL) -> str:
    """``multiply(c, b, ptr, idx, val, s, alpha, m, n, sb, sc, acc)``: for each row ``i`` of
    the CSR arrays, ``s`` = the sum over its entries of ``val * b[idx, :]`` (``unroll``
    entries per pass), then row ``i`` of ``c`` (row stride ``sc``) = ``s`` (``acc`` 0) or
    ``c + alpha * s`` (``acc`` 1, BLAS ``?gemm`` with ``beta = 1``)."""
    ks = range(unroll)
    terms = " + ".join(f"v{u} * b[o{u} + j]" for u in ks)
    return "\n".join([
        "def multiply(c, b, ptr, idx, val, s, alpha, m, n, sb, sc, acc):",
        "    for i in range(m):",
        "        for j in range(n):",
        "            s[j] = 0",
        "        q = ptr[i]",
        "        end = ptr[i + 1]",
        f"        while q + {unroll} <= end:",
        *[f"            o{u} = idx[q + {u}] * sb" for u in ks],
        *[f"            v{u} = val[q + {u}]" for u in ks],
        "            for j in range(n):",
        f"                s[j] += {terms}",
        f"            q += {unroll}",
        "        while q < end:",
        "            o0 = idx[q] * sb",
        "            v0 = val[q]",
        "            for j in range(n):",
        "                s[j] += v0 * b[o0 + j]",
        "            q += 1",
        "        base = i * sc",
        "        if acc:",
        "            for j in range(n):",
        "                c[base + j] += alpha * s[j]",
        "        else:",
        "            for j in range(n):",
        "                c[base + j] = s[j]",
        ""])


def describe() -> str:
    """When the products go over the nonzeros of their left operand (for records)."""
    return (f"left operands with at most {DENSITY:.0%} nonzeros, products of at least "
            f"{MIN_WORK} multiply-adds and {MIN_COLUMNS} columns, float32/float64")


def _module(body: str) -> str:
    return "\n".join(["import math", "import numpy as np", "", "", body])


@functools.lru_cache(maxsize=None)
def _loops(dtype: str) -> Optional[Tuple[Callable, Callable, Callable]]:
    """The three native loops for float ``dtype`` (compiled once per process, or loaded from
    the kernel cache), or None where they cannot run natively (no numba or llvmlite)."""
    from symgraph.backends.numba_loops import cache_dir, numba_available
    if not numba_available():
        return None
    bits, mask = _EXPONENT[np.dtype(dtype)]
    n = ("n",)
    compact = native.loop(_module(compact_source()), "compact",
                          [("p", dtype), ("p", "int64"), ("p", "int32"), ("p", dtype),
                           n, n, n, n, n, n], cache_dir())
    finite = native.loop(_module(finite_source(bits, mask)), "finite",
                         [("p", bits), ("p", bits), n, n, n], cache_dir())
    multiply = native.loop(_module(multiply_source()), "multiply",
                           [("p", dtype), ("p", dtype), ("p", "int64"), ("p", "int32"),
                            ("p", dtype), ("p", dtype), ("s", dtype), n, n, n, n, n],
                           cache_dir())
    if compact is None or finite is None or multiply is None:
        return None
    return compact, finite, multiply


#: scratch arrays of at most this many elements are kept between calls (per thread and name);
#: larger ones (a whole test set in one product) are made for the call and freed after it
KEEP_ELEMENTS = 1 << 21
_work = ThreadScratch(KEEP_ELEMENTS)


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _takes(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
    """Operands the loops take: float matrices of one dtype, ``b`` and ``c`` with contiguous
    rows (``c``'s apart), ``c`` writeable and apart from ``a`` and ``b``, a product large and
    wide enough, and a sample of ``a`` sparse enough. A dense operand is refused in about
    four microseconds (the sample's count is one of them)."""
    dtype = a.dtype
    if a.ndim != 2 or b.ndim != 2 or c.ndim != 2 or dtype not in _EXPONENT or \
            b.dtype != dtype or c.dtype != dtype:
        return False
    m, kk = a.shape
    n = b.shape[1]
    if n < MIN_COLUMNS or m * kk * n < MIN_WORK or b.shape[0] != kk or c.shape != (m, n):
        return False
    size = dtype.itemsize
    sa0, sa1 = a.strides
    sb0, sb1 = b.strides
    sc0, sc1 = c.strides
    if sb1 != size or sc1 != size or sc0 < n * size or sa0 < 0 or sa1 < 0 or sb0 < 0 or \
            (sa0 | sa1 | sb0 | sc0) % size or not c.flags.writeable:
        return False
    # a first estimate from about 300 entries spread over ``a`` (one microsecond): a clearly
    # dense operand goes to BLAS before any compaction
    sample = a[::max(1, m // SAMPLE_ROWS), ::max(1, kk // SAMPLE_COLUMNS)]
    if np.count_nonzero(sample) > SAMPLE_DENSITY * sample.size:
        return False
    return not (np.may_share_memory(c, a) or np.may_share_memory(c, b))


def _bound(a: np.ndarray, b: np.ndarray, c: np.ndarray, alpha: float, acc: int, keep: bool
           ) -> Optional[functools.partial]:
    """Compact ``a`` and check ``b`` now, and return the multiply loop with every argument
    bound: a call without arguments writing ``a @ b`` into ``c`` (``acc`` 0) or adding
    ``alpha * a @ b`` to it (``acc`` 1). None when the product should be dense (operands the
    loops do not take, ``a`` too dense, ``b`` not finite, no native loops). ``keep``: the
    CSR arrays are this thread's kept scratch (the caller runs the call before anything else
    uses them) rather than new arrays, which the returned call holds (``.keep``)."""
    if not _takes(a, b, c):
        return None
    loops = _loops(a.dtype.name)
    if loops is None:
        return None
    compact, finite, multiply = loops
    m, kk = a.shape
    n = b.shape[1]
    size = a.itemsize
    # the compaction stops at the first row that starts past the limit: it stores at most
    # limit + kk - 1 pairs
    limit = int(DENSITY * m * kk)
    pairs = min(limit + kk, m * kk)
    if keep:
        ptr = _work.get("ptr", m + 1, np.int64)
        idx = _work.get("idx", pairs, np.int32)
        val = _work.get("val", pairs, a.dtype)
        s = _work.get(f"s{size}", n, a.dtype)
    else:
        ptr, idx, val = np.empty(m + 1, np.int64), np.empty(pairs, np.int32), \
            np.empty(pairs, a.dtype)
        s = np.empty(n, a.dtype)
    compact(_address(a), _address(ptr), _address(idx), _address(val), m, kk,
            a.strides[0] // size, a.strides[1] // size, limit, pairs)
    if ptr[m] < 0:
        return None
    res = _work.get("res", 1, np.dtype(_EXPONENT[a.dtype][0]))
    finite(_address(b), _address(res), kk, n, b.strides[0] // size)
    if res[0]:
        return None
    call = functools.partial(multiply, _address(c), _address(b), _address(ptr), _address(idx),
                             _address(val), _address(s), alpha, m, n, b.strides[0] // size,
                             c.strides[0] // size, acc)
    call.keep = (ptr, idx, val, s, b)  # alive until the call
    return call


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Optional[np.ndarray]:
    """``a @ b`` into ``out`` over the nonzeros of ``a``; None (``out`` untouched) when the
    dense product should compute it."""
    call = _bound(a, b, out, 0.0, 0, keep=True)
    if call is None:
        return None
    call()
    return out


def accumulate_late(c: np.ndarray, alpha, a: np.ndarray, b: np.ndarray
                    ) -> Optional[Callable[[], int]]:
    """A callable without arguments that adds ``alpha * a @ b`` (over the nonzeros of ``a``)
    into ``c`` in place: one call of native code, which cannot fail, so a commit may run it
    among its assignments. ``a`` is compacted and ``b`` checked now (``a`` and ``b`` must not
    change before the call); None when the dense product should compute it."""
    return _bound(a, b, c, float(alpha), 1, keep=False)
