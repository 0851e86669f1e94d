"""``unique``: sorted distinct values (and optionally indices, inverse and counts)."""
from __future__ import annotations

import numpy as np

from symgraph.graph import Apply
from symgraph.op import Op
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType


class UniqueOp(Op):
    """``np.unique`` of the flattened input; outputs as requested; no gradient."""

    props = ("return_index", "return_inverse", "return_counts")
    copies = True

    def __init__(self, return_index=False, return_inverse=False, return_counts=False):
        self.return_index = bool(return_index)
        self.return_inverse = bool(return_inverse)
        self.return_counts = bool(return_counts)

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        outs = [TensorVariable(TensorType(x.dtype, (None,)))]
        for flag in (self.return_index, self.return_inverse, self.return_counts):
            if flag:
                outs.append(TensorVariable(TensorType("int64", (None,))))
        return Apply(self, [x], outs)

    def perform(self, x):
        res = np.unique(x.ravel(), return_index=self.return_index,
                        return_inverse=self.return_inverse, return_counts=self.return_counts)
        if not isinstance(res, tuple):
            return res
        return (res[0],) + tuple(np.asarray(r, dtype=np.int64).ravel() for r in res[1:])

    def grad(self, inputs, outputs, output_grads):
        return [None]


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    if axis is not None:
        raise NotImplementedError("unique(axis=...): only the flattened form is supported")
    return UniqueOp(return_index, return_inverse, return_counts)(ar)
