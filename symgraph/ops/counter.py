"""Random bits as an elementwise function of a counter: SplitMix64 at any position.

A counter-based generator computes number ``i`` of a stream directly from ``i``, so a draw is
an ordinary elementwise op and fuses with what uses it: a dropout mask, compared with its
threshold and multiplied into the input, is one compiled loop with the ``[fast]`` back end,
which reads the input once and writes the result once, no mask in memory.

The generator is SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
generators", OOPSLA 2014; Java's ``SplittableRandom``; passes TestU01's BigCrush): output
``j`` of the stream seeded with ``key`` is ``mix64(key + j * GAMMA)`` (the Weyl sequence,
GAMMA odd, then Stafford's variant-13 finaliser), and each 64-bit output gives two 32-bit
numbers, low half first. :func:`counter_bits` ``(s, i)`` is 32-bit number ``i`` of the
stream whose Weyl state before its first output is ``s - GAMMA``: the low (``i`` even) or high
(``i`` odd) half of ``mix64(s + (i >> 1) * GAMMA)``.

:class:`FlatIndex` gives ``i`` for every element of a shape (its C-order position); its
arrays are cached read-only per shape, and the compiled loops of the numba back end use their
own loop counter instead of reading them (:attr:`FlatIndex.flat_index`).
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from typing import List, Tuple

import numpy as np

from symgraph.graph import Apply
from symgraph.op import Op
from symgraph.ops import scalar as S
from symgraph.ops.elemwise import Elemwise
from symgraph.ops.scratch import ThreadScratch
from symgraph.ops.shape import as_shape_vector, shape_entries
from symgraph.ops.variable import TensorVariable
from symgraph.types import TensorType

GAMMA = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB
_U64 = np.uint64
_LITTLE = sys.byteorder == "little"

#: flat-index arrays kept per shape, at most this many elements in all (they are read-only)
CACHE_ELEMENTS = 1 << 23


def mix64(z: np.ndarray, work: np.ndarray = None) -> np.ndarray:
    """SplitMix64's finaliser of the uint64 array ``z``, in place; returns ``z``. ``work`` is
    a uint64 array of ``z``'s shape to use as scratch (default: a new one)."""
    t = np.empty_like(z) if work is None else work
    for shift, mult in ((30, M1), (27, M2), (31, None)):
        np.right_shift(z, _U64(shift), out=t)
        np.bitwise_xor(z, t, out=z)
        if mult is not None:
            np.multiply(z, _U64(mult), out=z)
    return z


#: the scratch of :func:`mix64` kept per thread, at most this many elements
SCRATCH_ELEMENTS = 1 << 20
_scratch = ThreadScratch(SCRATCH_ELEMENTS)


def _work(n: int) -> np.ndarray:
    """A uint64 scratch array of ``n`` elements: this thread's kept one when it is small
    enough (a draw into a planned buffer then allocates nothing), else a new one."""
    return _scratch.get("mix64", n, np.uint64)


class _Index:
    """A cached flat index and, made when first asked for, its Weyl increments."""

    __slots__ = ("index", "weyl")

    def __init__(self, index: np.ndarray):
        self.index, self.weyl = index, None


_cache: "OrderedDict[tuple, _Index]" = OrderedDict()
_lock = threading.Lock()


def flat_index(shape: Tuple[int, ...]) -> np.ndarray:
    """The read-only uint64 array of ``shape`` holding each element's C-order position
    (cached: the oldest arrays leave once they hold more than :data:`CACHE_ELEMENTS`)."""
    shape = tuple(int(d) for d in shape)
    hit = _cache.get(shape)  # one dict lookup: the cache is only locked to change it
    if hit is not None:
        return hit.index
    n = int(np.prod(shape, dtype=np.int64))
    index = np.arange(n, dtype=np.uint64).reshape(shape)
    index.flags.writeable = False
    if n <= CACHE_ELEMENTS:
        with _lock:
            if shape in _cache:
                return _cache[shape].index
            _cache[shape] = _Index(index)
            total = sum(e.index.size for e in _cache.values())
            while total > CACHE_ELEMENTS and len(_cache) > 1:
                _, old = _cache.popitem(last=False)
                total -= old.index.size
    return index


def _weyl_of(index: np.ndarray):
    """``arange(ceil(n / 2)) * GAMMA`` when ``index`` is a cached flat index, else None."""
    hit = _cache.get(index.shape)
    if hit is None or hit.index is not index:
        return None
    if hit.weyl is None:  # two threads may both make it: the same values
        weyl = np.arange((index.size + 1) // 2, dtype=np.uint64)
        np.multiply(weyl, _U64(GAMMA), out=weyl)
        weyl.flags.writeable = False
        hit.weyl = weyl
    return hit.weyl


def counter_bits(s, i, out: np.ndarray = None) -> np.ndarray:
    """32-bit number ``i`` (uint64 array) of the SplitMix64 stream at Weyl state ``s`` (uint64
    scalar or array): the low (even ``i``) or high (odd ``i``) half of
    ``mix64(s + (i >> 1) * GAMMA)``, as uint32; written into ``out`` (a uint32 array of the
    broadcast shape or one it broadcasts to) when given, which is returned.

    A cached :func:`flat_index` with a scalar ``s`` takes the short way: one 64-bit output per
    two elements, split in halves (half the arithmetic of the general way, same numbers). With
    an ``out`` of the same shape, C-contiguous and of even size, on a little-endian machine,
    the 64-bit outputs are computed in ``out`` itself, seen as uint64 pairs (low half first),
    and nothing is allocated."""
    s = np.asarray(s, dtype=np.uint64)
    i = np.asarray(i)
    weyl = _weyl_of(i) if s.ndim == 0 and i.dtype == np.uint64 else None
    if weyl is not None:
        if out is not None and _LITTLE and out.dtype == np.uint32 and out.shape == i.shape \
                and i.size % 2 == 0 and out.flags.c_contiguous:
            z = out.reshape(-1).view(np.uint64)
            mix64(np.add(weyl, s, out=z), _work(z.size))
            return out
        z = mix64(np.add(weyl, s))
        halves = z.astype("<u8", copy=False).view("<u4")  # low half first on any machine
        result = halves[:i.size].astype(np.uint32, copy=False).reshape(i.shape)
    else:
        # arrays of at least one dimension: ufunc loops wrap around silently, as the
        # generator needs; NumPy scalar arithmetic would warn (or raise) on the overflow
        shape = np.broadcast_shapes(s.shape, i.shape)
        s, i = np.atleast_1d(s), np.atleast_1d(i.astype(np.uint64, copy=False))
        z = np.right_shift(i, _U64(1))
        np.multiply(z, _U64(GAMMA), out=z)
        z = mix64(np.add(z, s))
        half = np.left_shift(np.bitwise_and(i, _U64(1)), _U64(5))
        result = np.bitwise_and(np.right_shift(z, half), _U64(0xFFFFFFFF)).astype(np.uint32)
        result = result.reshape(shape)
    if out is None:
        return result
    np.copyto(out, result, casting="unsafe")
    return out


class CounterBits(S.ScalarOp):
    """The scalar op of :func:`counter_bits`: ``(s: uint64, i: uint64) -> uint32``, no
    gradient (an integer path). Compiled loops compute it in four statements of 64-bit
    integer arithmetic."""

    helpers = {"_counter_bits": counter_bits}

    def __init__(self):
        super().__init__("counter_bits", 2, None, "int", "", impl=counter_bits,
                         expr="_counter_bits({0}, {1})")

    def emit_into(self, names: List[str], out: str) -> str:
        return f"_counter_bits({names[0]}, {names[1]}, out={out})"

    def out_dtype(self, dtypes: List[str]) -> str:
        if list(dtypes) != ["uint64", "uint64"]:
            raise TypeError(f"counter_bits takes a uint64 Weyl state and uint64 positions, "
                            f"got {dtypes}")
        return "uint32"

    def kernel_lines(self, names: List[str], prefix: str) -> Tuple[List[str], str]:
        s, i = names
        z = f"{prefix}z"
        return _output_lines(z, s, f"({i} >> np.uint64(1))"), \
            (f"np.uint32(({z} >> (({i} & np.uint64(1)) << np.uint64(5))) "
             f"& np.uint64(0xffffffff))")

    #: elements 2j and 2j + 1 are the two halves of 64-bit output j
    pair_position = 1

    def pair_lines(self, names: List[str], pair: str, prefix: str
                   ) -> Tuple[List[str], Tuple[str, str]]:
        z = f"{prefix}z"
        return _output_lines(z, names[0], pair), \
            (f"np.uint32({z} & np.uint64(0xffffffff))", f"np.uint32({z} >> np.uint64(32))")

    def kernel_expr(self, names: List[str]) -> str:
        raise NotImplementedError("counter_bits takes several statements: kernel_lines")

    def __reduce__(self):
        return (_scalar, ())


def _output_lines(z: str, s: str, j: str) -> List[str]:
    """Loop statements leaving in ``z`` the 64-bit output ``j`` of the stream at Weyl state
    ``s`` (uint64 expressions)."""
    return [f"{z} = {s} + {j} * np.uint64({GAMMA:#x})",
            f"{z} = ({z} ^ ({z} >> np.uint64(30))) * np.uint64({M1:#x})",
            f"{z} = ({z} ^ ({z} >> np.uint64(27))) * np.uint64({M2:#x})",
            f"{z} = {z} ^ ({z} >> np.uint64(31))"]


COUNTER_BITS = CounterBits()


def _scalar() -> CounterBits:
    return COUNTER_BITS


#: ``counter_bits(s, i)`` on tensors (NumPy broadcasting)
counter_bits_op = Elemwise(COUNTER_BITS)


class FlatIndex(Op):
    """``flat_index(shape)``: uint64 positions ``0 .. n - 1`` of the elements of ``shape`` in
    C order, the counters of a draw. Its arrays are cached read-only (never written: the
    linker plans no buffer for it); a compiled loop over contiguous operands of this shape uses
    its own counter instead of reading one (``flat_index``). No gradient."""

    props = ()
    #: read by the back ends: the output holds each element's flat position
    flat_index = True
    #: the cached array, not a constant copy of it: the back ends recognise the former
    foldable = False

    def make_node(self, size) -> Apply:
        vec, static = as_shape_vector(size, "flat_index")
        return Apply(self, [vec], [TensorVariable(TensorType("uint64", tuple(static)))])

    def perform(self, size):
        return flat_index(tuple(size.tolist()))

    def infer_shape(self, node, shapes):
        return [tuple(shape_entries(node.inputs[0]))]

    def grad(self, inputs, outputs, output_grads):
        return [None]


__all__ = ["counter_bits", "counter_bits_op", "flat_index", "mix64", "CounterBits",
           "FlatIndex", "GAMMA"]
