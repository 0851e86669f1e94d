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


#: shapes a buffer slot keeps at once: enough for every layer of a network (temporaries are
#: shared by all clusters), few enough that inputs of ever-changing shape do not pile up memory
SLOT_SHAPES = 64


def get_buffer(slot: dict, shape: tuple, dtype) -> np.ndarray:
    """The buffer of ``slot`` for ``shape``, allocated the first time it is needed.

    Buffers belong to one compiled function and are reused by every call; ``Function``
    serialises its calls with a lock, so one function can be called from several threads.
    """
    buf = slot.get(shape)
    if buf is None:
        if len(slot) >= SLOT_SHAPES:
            slot.clear()
        buf = slot[shape] = np.empty(shape, dtype)
    return buf


#: the names generated code uses for these helpers
RUNTIME = {"_bshape": bshape, "_getbuf": get_buffer}
