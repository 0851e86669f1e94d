"""Constant folding: a deterministic node whose inputs are all constants becomes a constant.

The value is the op's own ``perform`` (the reference implementation), so folding can never
disagree with the unrewritten graph. Results above :data:`MAX_FOLD_SIZE` elements are left to
run time: a ``zeros((10000, 10000))`` fill is cheaper to compute than to embed.
"""
from __future__ import annotations

import numpy as np

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Apply, Constant
from symgraph.ops.variable import TensorConstant
from symgraph.rewrite.engine import register

#: the largest result (in elements) embedded as a constant
MAX_FOLD_SIZE = 1_000_000


def _foldable(node: Apply) -> bool:
    return (bool(node.inputs) and getattr(node.op, "deterministic", True)
            and getattr(node.op, "foldable", True)
            and all(isinstance(v, Constant) for v in node.inputs))


@register("canonicalize,stabilize,specialize")
def constant_fold(fgraph: FunctionGraph, node: Apply):
    """op(c_1, ..., c_n) -> Constant(op.perform(c_1, ..., c_n)), with the output's type."""
    if not _foldable(node):
        return None
    args = [np.array(v.data) for v in node.inputs]  # writable copies: perform may not copy
    try:
        with np.errstate(all="ignore"):
            values = node.op.runner(node)(*args)
    except Exception:  # leave the failure to run time, where it names the call
        return None
    if len(node.outputs) == 1:
        values = (values,)
    result = []
    for out, val in zip(node.outputs, values):
        arr = np.asarray(val)
        if arr.size > MAX_FOLD_SIZE or arr.ndim != out.ndim:
            return None
        if any(s is not None and s != n for s, n in zip(out.type.shape, arr.shape)):
            return None
        if arr.dtype != out.type.numpy_dtype:
            if not np.can_cast(arr.dtype, out.dtype, "same_kind"):
                return None
            arr = arr.astype(out.dtype)
        result.append(TensorConstant(out.type, arr))
    return result
