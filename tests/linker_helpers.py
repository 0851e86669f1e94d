"""Graphs the linker tests share."""
from collections import OrderedDict

import numpy as np

import symgraph
import symgraph.tensor as T


def adam_like(mode, seed: int = 5, shape=(6, 7)):
    """Adam-like chained in-place updates of shared ``p``, ``m``, ``v`` from a gradient input
    ``g`` and a scalar ``c``: ``(function, (p, m, v))``."""
    r = np.random.default_rng(seed)
    p = symgraph.shared(r.standard_normal(shape).astype("float32"), "p")
    m = symgraph.shared(r.standard_normal(shape).astype("float32") * 0.1, "m")
    v = symgraph.shared(r.uniform(0.1, 1, shape).astype("float32"), "v")
    g, c = T.fmatrix("g"), T.fscalar("c")
    m1 = 0.9 * m + 0.1 * g
    v1 = 0.999 * v + 0.001 * g * g
    ups = OrderedDict([(m, m1), (v, v1), (p, p - 0.01 * (m1 / c) / (T.sqrt(v1) + 1e-8))])
    return symgraph.function([g, c], [], updates=ups, mode=mode), (p, m, v)


def assert_two_buffers(variables, step, calls: int = 4):
    """Call ``step()`` ``calls`` times and check that each shared variable in ``variables``
    alternates between its first storage and one spare buffer (the commit swaps them): an
    update is written into memory that is reused, never allocated per call."""
    history = [[v.get_value(borrow=True) for v in variables]]
    for _ in range(calls):
        step()
        history.append([v.get_value(borrow=True) for v in variables])
    for k, v in enumerate(variables):
        seq = [h[k] for h in history]
        assert len({id(a) for a in seq}) == 2, f"{v}: {len({id(a) for a in seq})} buffers"
        assert all(seq[t] is seq[t - 2] for t in range(2, len(seq))), f"{v} does not alternate"


def assert_one_storage(variables, step, calls: int = 4):
    """Call ``step()`` ``calls`` times and check that each shared variable in ``variables``
    keeps its first storage: the commit computed its update over that storage itself."""
    first = [v.get_value(borrow=True) for v in variables]
    for _ in range(calls):
        step()
        for v, a in zip(variables, first):
            assert v.get_value(borrow=True) is a, f"{v} left its storage"
