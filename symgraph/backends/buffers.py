"""Run-time helpers the generated code and the kernels call: broadcast shapes and the buffers
a compiled function reuses across calls."""
from __future__ import annotations

import numpy as np


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
#: the keys of a slot's own memory and of its separate arrays (see :func:`get_buffer_inplace`)
BASE, SIDE = "base", "side"


def get_buffer(slot: dict, shape: tuple, dtype) -> np.ndarray:
    """The buffer of ``slot`` for ``shape``: a view of the slot's one flat array, grown to the
    largest size asked for.

    A slot holds one value at a time (the storage plan hands it to a new value only after
    every reader of the old one ran), so the values of different shapes it holds over a call
    share its memory: a slot costs the size of its largest value, not the sum over the shapes
    it takes (a convnet's layers). The views are kept by shape, so a call finds them with one
    dictionary lookup. Buffers belong to one compiled function and are reused by every call;
    ``Function`` serialises its calls with a lock, so one function can be called from several
    threads.
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
        # grown: views of the old memory stay valid for whoever still holds them
        side = slot.get(SIDE)
        slot.clear()
        if side is not None:
            slot[SIDE] = side
        base = slot[BASE] = np.empty(max(size, 1), dtype)
    elif len(slot) >= SLOT_SHAPES + 2:
        for key in [k for k in slot if k not in (BASE, SIDE)]:
            del slot[key]
    buf = slot[shape] = base[:size].reshape(shape)
    return buf


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
    of the flat array add none)."""
    total = 0
    for key, val in slot.items():
        if key == SIDE:
            total += sum(a.nbytes for a in val.values())
        elif isinstance(val, np.ndarray) and val.base is None:
            total += val.nbytes
    return total


#: the names generated code uses for these helpers
RUNTIME = {"_bshape": bshape, "_getbuf": get_buffer, "_getbuf_in": get_buffer_inplace}
