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
