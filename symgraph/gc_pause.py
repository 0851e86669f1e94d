"""Compilation and differentiation run with Python's cyclic garbage collector paused.

A compilation allocates a few container objects per graph node, most of which live until it
ends (the graph copy, its clients map, the rewrites' memos); ``grad`` builds a graph as large
as the one it differentiates. The collector's young
generations keep promoting them, and each full collection walks every live object: on a
graph of 50,000 nodes that made compile time grow quadratically, and 90% of it collection.
Pausing it makes compile time linear in the graph size; the cycles a compilation leaves
(pruned nodes: a variable and its producer refer to each other) are collected after it.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_active = 0  # compilations under way (in any thread)
_was_enabled = False  # the collector's state before the first of them


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; the last of overlapping blocks (nested,
    or in threads compiling at once) restores the state the first one found."""
    global _active, _was_enabled
    with _lock:
        if _active == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _was_enabled:
                gc.enable()
