"""``ThreadScratch``: a kept array per thread and name, reused, grown and retyped when a call
needs it, and never kept above its bound."""
import threading

import numpy as np

from symgraph.ops.scratch import ThreadScratch


def test_kept_per_name_grown_and_retyped():
    s = ThreadScratch(keep=100)
    a = s.get("a", 10, np.float32)
    assert a.shape == (10,) and a.dtype == np.float32
    assert np.shares_memory(s.get("a", 5, np.float32), a)  # the same memory, a prefix
    assert not np.shares_memory(s.get("b", 10, np.float32), a)  # another name
    grown = s.get("a", 50, np.float32)
    assert grown.size == 50 and not np.shares_memory(grown, a)
    assert np.shares_memory(s.get("a", 20, np.float32), grown)  # the grown one is kept
    retyped = s.get("a", 20, np.int64)
    assert retyped.dtype == np.int64 and not np.shares_memory(retyped, grown)


def test_above_the_bound_a_new_array_each_call():
    s = ThreadScratch(keep=100)
    kept = s.get("a", 100, np.float64)
    big = s.get("a", 101, np.float64)
    assert big.size == 101 and not np.shares_memory(big, s.get("a", 101, np.float64))
    assert np.shares_memory(s.get("a", 100, np.float64), kept)  # the kept one is untouched


def test_each_thread_has_its_own():
    s = ThreadScratch(keep=100)
    here = s.get("a", 10, np.float32)
    there = []
    t = threading.Thread(target=lambda: there.append(s.get("a", 10, np.float32)))
    t.start()
    t.join()
    assert not np.shares_memory(here, there[0])
    assert np.shares_memory(s.get("a", 10, np.float32), here)
