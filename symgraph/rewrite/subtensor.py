"""Rewrites of the indexing ops (:mod:`symgraph.ops.subtensor`): canonical forms, and the
stabilisation of ``log(softmax(x)[idx])`` (the negative log-likelihood written with the log
after the indexing) in the forward graph and in its gradient."""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Apply, Constant, Variable, is_constant_value
from symgraph.ops import elemwise as E
from symgraph.ops import nnet as N
from symgraph.ops import scalar as S
from symgraph.ops.indexing import SYM, fold_constants, input_kinds
from symgraph.ops.reduce import sum as _sum
from symgraph.ops.shape import Alloc
from symgraph.ops.subtensor import (AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor,
                                    Subtensor, ZerosIncSubtensor, _IncOp)
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


# ---------------------------------------------------------------------------------------
# stabilisation: log(softmax(x)[idx])
# ---------------------------------------------------------------------------------------

_READS = (Subtensor, AdvancedSubtensor)


def _is_softmax(v: Variable) -> bool:
    return v.owner is not None and isinstance(v.owner.op, N.Softmax)


@register("stabilize", S.log)
def log_of_indexed_softmax(fgraph: FunctionGraph, node: Apply):
    """log(softmax(x)[idx]) -> log(softmax(x))[idx], which becomes log_softmax(x)[idx]:
    finite where a selected probability underflows to 0."""
    (p,) = node.inputs
    if p.owner is None or not isinstance(p.owner.op, _READS) or not _is_softmax(p.owner.inputs[0]):
        return None
    sm, index = p.owner.inputs[0], p.owner.inputs[1:]
    out = p.owner.op(E.log(sm), *index)
    return out if out.dtype == node.outputs[0].dtype else E.cast(out, node.outputs[0].dtype)


def _is_zeros(v: Variable) -> bool:
    """True for ``zeros_like``/``alloc(0, ...)``/a constant 0 (the base of an index gradient)."""
    if is_constant_value(v, 0):
        return True
    if v.owner is None:
        return False
    op = v.owner.op
    if isinstance(op, E.Elemwise) and op.scalar_op == S.second:
        return is_constant_value(v.owner.inputs[1], 0)
    return isinstance(op, Alloc) and is_constant_value(v.owner.inputs[0], 0)


def _numerator(d: Variable, s: Variable) -> Optional[Variable]:
    """``a`` when ``d`` is ``a / s`` (or a product with the factor ``1 / s``), else None."""
    if d.owner is None or not isinstance(d.owner.op, E.Elemwise):
        return None
    sop = d.owner.op.scalar_op
    if sop == S.true_div and d.owner.inputs[1] is s:
        return d.owner.inputs[0]
    if sop == S.mul:
        factors = list(d.owner.inputs)
        for i, f in enumerate(factors):
            if (f.owner is not None and isinstance(f.owner.op, E.Elemwise)
                    and f.owner.op.scalar_op == S.true_div and f.owner.inputs[1] is s
                    and is_constant_value(f.owner.inputs[0], 1)):
                rest = factors[:i] + factors[i + 1:]
                return rest[0] if len(rest) == 1 else E.mul(*rest)
    return None


def _indexed_log_grad(term: Variable, sm: Variable) -> Optional[Variable]:
    """``A = inc_subtensor(zeros[idx], a)`` when ``term`` is ``inc_subtensor(zeros[idx],
    a / sm[idx])`` (the gradient of ``log(sm[idx])``), else None."""
    node = term.owner
    if node is None or not isinstance(node.op, _IncOp) or node.op.set_instead_of_inc:
        return None
    zeros, d, index = node.inputs[0], node.inputs[1], node.inputs[2:]
    if not _is_zeros(zeros):
        return None
    for s in _sources(d):
        read = s.owner
        if (read is not None and read.op == node.op._read_op(node.op.idx_list)
                and read.inputs[0] is sm and len(read.inputs) - 1 == len(index)
                and all(a is b for a, b in zip(read.inputs[1:], index))):
            a = _numerator(d, s)
            if a is not None:
                return type(node.op)(node.op.idx_list, False)(zeros, a, *index)
    return None


def _sources(d: Variable):
    """Candidate denominators of ``d`` (``s`` in ``a / s`` or in a factor ``1 / s``)."""
    if d.owner is None or not isinstance(d.owner.op, E.Elemwise):
        return []
    if d.owner.op.scalar_op == S.true_div:
        return [d.owner.inputs[1]]
    if d.owner.op.scalar_op == S.mul:
        return [f.owner.inputs[1] for f in d.owner.inputs
                if f.owner is not None and isinstance(f.owner.op, E.Elemwise)
                and f.owner.op.scalar_op == S.true_div]
    return []


@register("stabilize", N.SoftmaxGrad)
def softmax_grad_of_indexed_log(fgraph: FunctionGraph, node: Apply):
    """SoftmaxGrad(inc_subtensor(zeros[idx], a / sm[idx]), sm) -> A - sm sum(A, axis) with
    A = inc_subtensor(zeros[idx], a): the gradient of log(softmax(x)[idx]) without dividing
    by a probability that may be 0. (``dy * sm`` is ``A``, repeated indices included.)

    The op is linear in ``dy``, so other terms of a sum stay in a ``SoftmaxGrad``.
    """
    dy, sm = node.inputs
    if not _is_softmax(sm):
        return None
    is_sum = dy.owner is not None and isinstance(dy.owner.op, E.Elemwise) and \
        dy.owner.op.scalar_op == S.add
    terms = list(dy.owner.inputs) if is_sum else [dy]
    stable, others = [], []
    for term in terms:
        found = _indexed_log_grad(term, sm) if term.ndim == sm.ndim else None
        if found is None:
            others.append(term)
        else:
            stable.append(found - sm * _sum(found, axis=node.op.axis, keepdims=True))
    if not stable:
        return None
    if others:
        rest = E.add(*others) if len(others) > 1 else others[0]
        stable.append(N.SoftmaxGrad(node.op.axis)(E.cast(rest, sm.dtype), sm))
    new = E.add(*stable) if len(stable) > 1 else stable[0]
    return new if new.dtype == node.outputs[0].dtype else E.cast(new, node.outputs[0].dtype)


# ---------------------------------------------------------------------------------------
# specialisation: writes into fresh zeros
# ---------------------------------------------------------------------------------------

def _zeros_shape(z: Variable) -> Optional[Variable]:
    """A shape vector for the zeros ``z`` (see :func:`_is_zeros`), without computing ``z``."""
    from symgraph.ops.shape import MakeVector, shape
    from symgraph.ops.variable import constant
    if isinstance(z, Constant):
        return constant(np.array(z.data.shape, dtype="int64"))
    op = z.owner.op
    if isinstance(op, Alloc):
        dims = z.owner.inputs[1:]
        if not dims:
            return constant(np.zeros(0, dtype="int64"))
        return MakeVector("int64")(*[E.cast(d, "int64") for d in dims])
    like, fill = z.owner.inputs
    # second(like, 0): the shape is like's when the fill cannot enlarge it
    return shape(like) if like.ndim == z.ndim and fill.data.size == 1 else None


@register("specialize", IncSubtensor, AdvancedIncSubtensor)
def write_into_zeros(fgraph: FunctionGraph, node: Apply):
    """inc_subtensor(zeros[idx], y) / set_subtensor(zeros[idx], y) -> one op that allocates
    the zeros itself (``np.zeros``, lazily zero-filled) and writes ``y``: the gradient of
    every indexing no longer fills and then copies an array of the indexed tensor's size."""
    zeros, y, index = node.inputs[0], node.inputs[1], node.inputs[2:]
    if not _is_zeros(zeros):
        return None
    shp = _zeros_shape(zeros)
    if shp is None:
        return None
    op = node.op
    accumulate = isinstance(op, AdvancedIncSubtensor) and not op.set_instead_of_inc
    return ZerosIncSubtensor(op.idx_list, accumulate, zeros.dtype)(shp, y, *index)
