"""Canonical rewrites of the indexing ops (:mod:`symgraph.ops.subtensor`)."""
from __future__ import annotations

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Apply, Constant
from symgraph.ops.indexing import SYM, fold_constants, input_kinds
from symgraph.ops.subtensor import (AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor,
                                    Subtensor, _IncOp)
from symgraph.rewrite.engine import register


@register("canonicalize", Subtensor, AdvancedSubtensor, IncSubtensor, AdvancedIncSubtensor)
def subtensor_constant_index(fgraph: FunctionGraph, node: Apply):
    """x[c] with a constant scalar input c -> x[<c in the pattern>] (static shape, plain
    source, merges with the same index written statically)."""
    op = node.op
    lead = 2 if isinstance(op, _IncOp) else 1
    index = node.inputs[lead:]
    if not any(k == SYM and isinstance(v, Constant)
               for k, v in zip(input_kinds(op.idx_list), index)):
        return None
    entries, kept = fold_constants(op.idx_list, index)
    new_op = type(op)(entries, op.set_instead_of_inc) if lead == 2 else type(op)(entries)
    return new_op(*node.inputs[:lead], *kept)


@register("canonicalize", Subtensor)
def useless_subtensor(fgraph: FunctionGraph, node: Apply):
    """x[...] -> x (the empty pattern: ``x[:]``, ``x[...]``, ``x[()]``)."""
    if node.op.idx_list == ():
        return node.inputs[0]
    return None
