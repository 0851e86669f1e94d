"""Scratch arrays a kernel keeps between calls, one per thread and name.

A kernel that needs a work array on every call (a generator's 64-bit words, a product's
compacted operands) keeps it instead of allocating it again: the array is this thread's (two
threads never share one) and is grown when a call needs more. Arrays larger than the bound
given to :class:`ThreadScratch` (a whole test set in one call) are made for the call and not
kept, so a rare large call does not hold its memory for the life of the process.
"""
from __future__ import annotations

import threading

import numpy as np


class ThreadScratch(threading.local):
    """``get(name, size, dtype)``: this thread's kept array of that name, ``size`` elements of
    ``dtype`` (a prefix of it: its contents are whatever the last call left), or a new one
    when ``size`` is more than ``keep`` elements."""

    def __init__(self, keep: int):
        self.keep = keep

    def get(self, name: str, size: int, dtype) -> np.ndarray:
        if size > self.keep:
            return np.empty(size, dtype)
        arr = getattr(self, "_" + name, None)
        if arr is None or arr.size < size or arr.dtype != dtype:
            arr = np.empty(max(size, 1), dtype)
            setattr(self, "_" + name, arr)
        return arr[:size]
