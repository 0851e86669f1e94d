"""Canonical forms of reductions (phase ``canonicalize``): the elementwise work around a
reduction moves to its (smaller) result, and chained reductions become one pass."""
from __future__ import annotations

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Apply, Variable
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S
from symgraph.ops.reduce import Reduce
from symgraph.ops.shape import dimshuffle
from symgraph.rewrite.algebra import apply_elemwise, is_op, like, single_client
from symgraph.rewrite.engine import register


def _scalar_like(v: Variable) -> bool:
    return all(s == 1 for s in v.type.shape)


@register("canonicalize", Reduce)
def sum_of_scalar_mul(fgraph: FunctionGraph, node: Apply):
    """sum(c * x, axis) -> c * sum(x, axis) for a c with one element."""
    op = node.op
    x = node.inputs[0]
    if op.kind != "sum" or not is_op(x, S.mul) or not single_client(fgraph, x):
        return None
    out = node.outputs[0]
    if out.dtype not in ("float16", "float32", "float64"):
        return None
    factors = x.owner.inputs
    scal = [v for v in factors if _scalar_like(v) and v.dtype == out.dtype]
    rest = [v for v in factors if not any(v is s for s in scal)]
    if not scal or not rest:
        return None
    if max(v.ndim for v in rest) != x.ndim:
        return None
    inner = apply_elemwise(S.mul, rest)
    if inner.dtype != out.dtype:
        return None
    reduced = Reduce("sum", op.axis, op.keepdims)(inner)
    # without keepdims the reduced result may have fewer dims than c: make c 0-d
    cs = scal if op.keepdims else [dimshuffle(c, []) for c in scal]
    return like(E.mul(*cs, reduced), out)


@register("canonicalize", Reduce)
def sum_of_neg(fgraph: FunctionGraph, node: Apply):
    """sum(-x, axis) -> -sum(x, axis)  (the negation runs on the reduced array)"""
    x = node.inputs[0]
    if node.op.kind != "sum" or not is_op(x, S.neg) or not single_client(fgraph, x):
        return None
    inner = x.owner.inputs[0]
    if inner.dtype != x.dtype:
        return None
    return like(E.neg(Reduce("sum", node.op.axis, node.op.keepdims)(inner)), node.outputs[0])


@register("canonicalize", Reduce)
def reduce_of_reduce(fgraph: FunctionGraph, node: Apply):
    """sum(sum(x, a1), a2) -> sum(x, a1 + a2) (likewise prod, max, min, all, any): one pass
    over x, no intermediate array."""
    op, x = node.op, node.inputs[0]
    inner = x.owner
    if inner is None or not isinstance(inner.op, Reduce) or inner.op.kind != op.kind or \
            inner.op.keepdims != op.keepdims or not single_client(fgraph, x):
        return None
    base = inner.inputs[0]
    if inner.op.keepdims:
        axes = set(inner.op.axis) | set(op.axis)
    else:
        remaining = [i for i in range(base.ndim) if i not in inner.op.axis]
        axes = set(inner.op.axis) | {remaining[a] for a in op.axis}
    return like(Reduce(op.kind, tuple(sorted(axes)), op.keepdims)(base), node.outputs[0])
