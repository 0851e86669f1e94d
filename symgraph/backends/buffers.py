"""Run-time helpers the generated code and the kernels call: broadcast shapes and the buffers
a compiled function reuses across calls."""
from __future__ import annotations

import bisect
import heapq

import numpy as np

from symgraph.ops.extremum import extremum


def bshape(*arrays) -> tuple:
    """Broadcast shape of ``arrays`` (a fast path when every shape is equal or a suffix)."""
    s = arrays[0].shape
    n = len(s)
    for a in arrays[1:]:
        t = a.shape
        if t != s and (len(t) > n or t != s[n - len(t):]):
            s = _broadcast2(s, t)
            n = len(s)
    return s


def memory_root(a):
    """The object owning ``a``'s memory (views lead to the array they were taken from)."""
    base = getattr(a, "base", None)
    while base is not None:
        a, base = base, getattr(base, "base", None)
    return a


def overlap_free(arrays) -> bool:
    """True when no two of ``arrays`` share memory.

    Arrays whose views lead to different arrays owning their memory cannot overlap, so only
    arrays with one owner (views of one arena, of one input) are compared with
    ``np.may_share_memory``: one walk per array instead of a call per pair, which mattered
    for a compiled update of seven operands (21 calls, 5 us per call of the function). An
    owner that is not an array owning its data (a buffer object, memory NumPy did not
    allocate) could be shared without a common owner: then every pair is compared."""
    owners: dict = {}
    pairwise = False
    for a in arrays:
        root = memory_root(a)
        if not (isinstance(root, np.ndarray) and root.flags.owndata):
            pairwise = True
            break
        owners.setdefault(id(root), []).append(a)
    if not pairwise:
        if len(owners) == len(arrays):
            return True
        groups = owners.values()
    else:
        groups = [arrays]
    for group in groups:
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if np.may_share_memory(a, b):
                    return False
    return True


def _broadcast2(s: tuple, t: tuple) -> tuple:
    if len(s) < len(t):
        s, t = t, s
    t = (1,) * (len(s) - len(t)) + t
    out = []
    for a, b in zip(s, t):
        if a == b or b == 1:
            out.append(a)
        elif a == 1:
            out.append(b)
        else:
            raise ValueError(f"operands could not be broadcast together with shapes {s} {t}")
    return tuple(out)


#: shapes a buffer slot keeps views for at once: enough for every layer of a network
#: (temporaries are shared by all clusters), few enough that inputs of ever-changing shape do
#: not pile up dictionary entries
SLOT_SHAPES = 64
#: the keys of a slot's own memory, of its separate arrays (see :func:`get_buffer_inplace`),
#: and of a slot of an :class:`Arena`: the arena's flag and the bytes its next packing gives it
BASE, SIDE, STALE, NEED = "base", "side", "stale", "need"
_BOOKKEEPING = (BASE, SIDE, STALE, NEED)


def _drop(slot: dict, keep: tuple) -> None:
    """Remove every entry of ``slot`` but those under the keys ``keep``."""
    for key in [k for k in slot if k not in keep]:
        del slot[key]


def get_buffer(slot: dict, shape: tuple, dtype) -> np.ndarray:
    """The buffer of ``slot`` for ``shape``: a view of the slot's one flat array.

    A slot holds one value at a time (the storage plan hands it to a new value only after
    every reader of the old one ran), so the values of different shapes it holds over a call
    share its memory: a slot costs the size of its largest value, not the sum over the shapes
    it takes. The views are kept by shape, so a call finds them with one dictionary lookup.
    Buffers belong to one compiled function and are reused by every call; ``Function``
    serialises its calls with a lock, so one function can be called from several threads.

    A slot of an :class:`Arena` has no memory until the arena is packed: until then, and for
    a value larger than its region, it hands out a new array (freed once the value dies) and
    records the size, and the arena is packed again after the call.
    """
    buf = slot.get(shape)
    if buf is None:
        buf = _view(slot, shape, dtype)
    return buf


def _view(slot: dict, shape: tuple, dtype) -> np.ndarray:
    size = 1
    for d in shape:
        size *= d
    base = slot.get(BASE)
    if base is None or base.size < size:
        flag = slot.get(STALE)
        if flag is not None:  # an arena's slot: measured now, packed after the call
            nbytes = size * np.dtype(dtype).itemsize
            if nbytes > slot.get(NEED, 0):
                slot[NEED] = nbytes
            flag[0] = True
            return np.empty(shape, dtype)
        # grown: views of the old memory stay valid for whoever still holds them
        _drop(slot, (SIDE,))
        base = slot[BASE] = np.empty(max(size, 1), dtype)
    elif len(slot) >= SLOT_SHAPES + len(_BOOKKEEPING):
        _drop(slot, _BOOKKEEPING)
    buf = slot[shape] = base[:size].reshape(shape)
    return buf


#: the alignment of each slot's region in an arena (a cache line, and every dtype's itemsize)
ALIGN = 64


class Arena:
    """The memory of a compiled function's planned buffers: one array, in which each slot has
    a region at an offset of its own.

    The storage plan gives every slot the span of positions in the call during which it is
    busy (``spans``), but it cannot know the slots' sizes: a graph's shapes are known only
    when it runs. So the first call hands out a new array for every planned value (each freed
    as its value dies, so that call needs no more memory than the values alive at once), and
    records each slot's largest size; then :meth:`pack` places the slots in one array, two
    slots overlapping in memory only if their spans are disjoint (:func:`place`). A later call
    that needs more than a region holds (a larger batch) is served the same way and packs
    again after it; a smaller one uses the front of the regions.
    """

    def __init__(self, dtypes, spans):
        self.dtypes = [np.dtype(d) for d in dtypes]
        self.spans = list(spans)
        #: ``flag[0]``: a slot asked for more than its region; the generated code packs
        #: after the call (one list shared by the slots, which need no reference back)
        self.flag = [False]
        self.slots = [{STALE: self.flag} for _ in self.dtypes]
        self.memory = None

    @property
    def nbytes(self) -> int:
        return 0 if self.memory is None else self.memory.nbytes

    def pack(self) -> None:
        """Place every slot that has been used in one new array, sized by the largest value
        each has held."""
        need = []
        for slot in self.slots:
            base = slot.get(BASE)
            have = 0 if base is None else base.nbytes
            need.append(max(have, slot.get(NEED, 0)))
        offsets, total = place([-(-n // ALIGN) * ALIGN for n in need], self.spans)
        raw = np.empty(total + ALIGN, np.uint8)
        start = -raw.ctypes.data % ALIGN
        memory = raw[start:start + total]
        for slot, dtype, off, n in zip(self.slots, self.dtypes, offsets, need):
            _drop(slot, (SIDE, STALE))  # the old region, its views and the measured size
            if n:
                slot[BASE] = memory[off:off + n - n % dtype.itemsize].view(dtype)
        self.memory = memory
        self.flag[0] = False


#: above this many slots, :func:`place` sweeps the call once instead (the greedy placement
#: compares each block with every block placed before it)
GREEDY_SLOTS = 1024


def place(sizes, spans):
    """Offsets for blocks of ``sizes`` bytes busy during ``spans`` (inclusive position
    ranges), such that two blocks whose spans meet never overlap in memory, and the total.

    Greedy by size, as static memory planners place tensors: the largest block first, each
    in the smallest gap between the blocks already placed that are busy when it is, or above
    them all. Past :data:`GREEDY_SLOTS` blocks, :func:`sweep`."""
    if len(sizes) > GREEDY_SLOTS:
        return sweep(sizes, spans)
    n = len(sizes)
    offsets = [0] * n
    first = np.array([s for s, _ in spans], dtype=np.int64).reshape(n)
    last = np.array([e for _, e in spans], dtype=np.int64).reshape(n)
    placed = np.zeros(n, dtype=bool)
    off_arr = np.zeros(n, dtype=np.int64)
    size_arr = np.array(sizes, dtype=np.int64).reshape(n)
    total = 0
    for k in sorted(range(n), key=lambda k: (-sizes[k], first[k])):
        size = sizes[k]
        if not size:
            continue
        meets = np.flatnonzero(placed & (first <= last[k]) & (first[k] <= last))
        busy = sorted(zip(off_arr[meets].tolist(), size_arr[meets].tolist()))
        best, best_gap, top = None, None, 0
        for off, length in busy:
            gap = off - top
            if gap >= size and (best_gap is None or gap < best_gap):
                best, best_gap = top, gap
            top = max(top, off + length)
        offsets[k] = top if best is None else best
        off_arr[k] = offsets[k]
        placed[k] = True
        total = max(total, offsets[k] + size)
    return offsets, total


def sweep(sizes, spans):
    """:func:`place` in one pass over the call, for any number of blocks: in the order they
    start, each block takes the smallest free gap that holds it (or the top of the memory),
    and gives its memory back after its span; adjacent free gaps merge."""
    n = len(sizes)
    offsets = [0] * n
    ending: list = []  # (last position, block) of the blocks holding memory
    free: list = []    # (offset, length) of the free gaps, by offset
    top = 0
    for k in sorted(range(n), key=lambda k: spans[k][0]):
        size = sizes[k]
        if not size:
            continue
        start = spans[k][0]
        while ending and ending[0][0] < start:
            _, j = heapq.heappop(ending)
            _give_back(free, offsets[j], sizes[j])
        best = None
        for pos, (off, length) in enumerate(free):
            if length >= size and (best is None or length < free[best][1]):
                best = pos
        if best is not None:
            off, length = free[best]
            if length == size:
                del free[best]
            else:
                free[best] = (off + size, length - size)
        elif free and free[-1][0] + free[-1][1] == top:  # the top gap, grown
            off = free.pop()[0]
            top = off + size
        else:
            off, top = top, top + size
        offsets[k] = off
        heapq.heappush(ending, (spans[k][1], k))
    return offsets, top


def _give_back(free: list, off: int, length: int) -> None:
    """Insert the gap ``(off, length)`` into ``free`` (sorted), merged with its neighbours."""
    pos = bisect.bisect(free, (off, length))
    if pos < len(free) and off + length == free[pos][0]:
        length += free.pop(pos)[1]
    if pos and free[pos - 1][0] + free[pos - 1][1] == off:
        off, length = free[pos - 1][0], free[pos - 1][1] + length
        free[pos - 1] = (off, length)
    else:
        free.insert(pos, (off, length))


def get_buffer_inplace(slot: dict, shape: tuple, dtype, *inputs) -> np.ndarray:
    """:func:`get_buffer` for an elementwise kernel whose ``inputs`` (dying at that node) the
    plan placed in the same slot, so that it may work in place: the slot's memory when every
    one of them has this very shape (each is then this very array), else an array of the
    slot's own, apart from that memory (an input smaller than the result, broadcast, must not
    share memory with it)."""
    for a in inputs:
        if a.shape != shape:
            side = slot.get(SIDE)
            if side is None:
                side = slot[SIDE] = {}
            buf = side.get(shape)
            if buf is None:
                if len(side) >= SLOT_SHAPES:
                    side.clear()
                buf = side[shape] = np.empty(shape, dtype)
            return buf
    return get_buffer(slot, shape, dtype)


def owned_bytes(slot: dict) -> int:
    """Bytes of memory a slot holds (its flat array and its separate arrays; the views
    of the flat array, and an arena's regions, add none)."""
    total = 0
    for key, val in slot.items():
        if key == SIDE:
            total += sum(a.nbytes for a in val.values())
        elif isinstance(val, np.ndarray) and val.base is None:
            total += val.nbytes
    return total


#: the names generated code uses for these helpers
RUNTIME = {"_bshape": bshape, "_getbuf": get_buffer, "_getbuf_in": get_buffer_inplace,
           "_extremum": extremum}
