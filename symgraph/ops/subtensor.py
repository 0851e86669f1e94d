"""Indexing (placeholder: ``x.shape[i]``; the full family lives here)."""
from __future__ import annotations

import numpy as np

from symgraph.graph import Variable
from symgraph.ops.shape import Shape, shape_i


def getitem(x: Variable, idx):
    if x.owner is not None and isinstance(x.owner.op, Shape) and isinstance(idx, (int, np.integer)):
        return shape_i(x.owner.inputs[0], int(idx))
    raise NotImplementedError("indexing")
