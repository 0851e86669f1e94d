"""Canonical algebraic identities (phase ``canonicalize``).

The normal form these rules aim at:

* ``add`` and ``mul`` are n-ary and flat (an inner add/mul with no other client is merged into
  its parent), with their constant operands combined into one;
* neutral operands are gone (``x + 0``, ``x * 1``, ``x - 0``, ``x / 1``) and ``x * 0`` is a
  fill of zeros -- but only where the shape and dtype of the result provably stay the same;
* subtraction stays ``sub`` (one NumPy call) rather than ``add(x, neg(y))`` (two): negations
  are absorbed into ``sub``/``add``, double negations cancel, and ``-1 * x`` is ``neg(x)``;
* a fill (``second(a, c)``, ``alloc(c, ...)``) feeding an elementwise op whose other operands
  already have its shape is replaced by its value ``c``;
* casts to the same dtype vanish, a lossless cast followed by another is one cast, and
  floor/ceil/round of integer values vanish;
* (reductions are in :mod:`symgraph.rewrite.reductions`);
* ``maximum(x, x)`` and ``minimum(x, x)`` are ``x``.

``x * 0 -> 0`` is the one identity that may change a value: where ``x`` is inf or nan the
product is nan (Theano makes the same trade: gradients are full of multiplications by zero).
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from symgraph.fgraph import OUTPUT, FunctionGraph
from symgraph.graph import Apply, Constant, Variable
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S
from symgraph.ops.elemwise import Elemwise
from symgraph.ops.shape import Alloc
from symgraph.ops.variable import constant
from symgraph.rewrite.engine import register
from symgraph.rewrite.shapes import covered, shape_memo

# ---------------------------------------------------------------------------------------
# helpers shared by the rule modules
# ---------------------------------------------------------------------------------------


def scalar_op(var: Variable) -> Optional[S.ScalarOp]:
    """The scalar op of the ``Elemwise`` computing ``var``, else None."""
    if var.owner is not None and isinstance(var.owner.op, Elemwise):
        return var.owner.op.scalar_op
    return None


def is_op(var: Variable, sop: S.ScalarOp) -> bool:
    return scalar_op(var) == sop


def fill_value(var: Variable) -> Optional[np.ndarray]:
    """The constant ``var`` is filled with: its data for a Constant, ``c`` for
    ``second(x, c)`` and ``alloc(c, ...)``; else None."""
    if isinstance(var, Constant):
        return var.data
    node = var.owner
    if node is None:
        return None
    if isinstance(node.op, Elemwise) and node.op.scalar_op == S.second:
        src = node.inputs[1]
    elif isinstance(node.op, Alloc):
        src = node.inputs[0]
    else:
        return None
    return src.data if isinstance(src, Constant) else None


def is_const(var: Variable, value) -> bool:
    """True when every element of ``var`` is known to equal ``value`` (a constant or a fill)."""
    data = fill_value(var)
    return data is not None and data.size > 0 and bool(np.all(data == value))


def single_client(fgraph: FunctionGraph, var: Variable) -> bool:
    clients = fgraph.clients.get(var, ())
    return len(clients) == 1 and clients[0][0] != OUTPUT


def like(new: Variable, old: Variable) -> Optional[Variable]:
    """``new`` cast to ``old``'s dtype when the cast is exact (widening), else None."""
    if new.dtype == old.dtype:
        return new
    if np.can_cast(new.dtype, old.dtype, "safe"):
        return E.cast(new, old.dtype)
    return None


def apply_elemwise(sop: S.ScalarOp, inputs: List[Variable]) -> Variable:
    return Elemwise(sop)(*inputs) if len(inputs) > 1 or sop.nin == 1 else inputs[0]


def drop_operands(fgraph: FunctionGraph, node: Apply, drop: List[int]) -> Optional[Variable]:
    """The n-ary ``node`` without the operands at ``drop`` if that keeps shape and dtype."""
    out = node.outputs[0]
    kept = [v for i, v in enumerate(node.inputs) if i not in drop]
    if not covered([node.inputs[i] for i in drop], kept, out, shape_memo(fgraph)):
        return None
    return like(apply_elemwise(node.op.scalar_op, kept), out)


# ---------------------------------------------------------------------------------------
# neutral and absorbing elements
# ---------------------------------------------------------------------------------------

@register("canonicalize", S.add)
def add_zero(fgraph: FunctionGraph, node: Apply):
    """x + 0 -> x"""
    if len(node.inputs) < 2:
        return None
    drop = [i for i, v in enumerate(node.inputs) if is_const(v, 0)]
    if not drop or len(drop) == len(node.inputs):
        return None
    return drop_operands(fgraph, node, drop)


@register("canonicalize", S.mul)
def mul_one(fgraph: FunctionGraph, node: Apply):
    """x * 1 -> x"""
    if len(node.inputs) < 2:
        return None
    drop = [i for i, v in enumerate(node.inputs) if is_const(v, 1)]
    if not drop or len(drop) == len(node.inputs):
        return None
    return drop_operands(fgraph, node, drop)


@register("canonicalize", S.mul)
def mul_zero(fgraph: FunctionGraph, node: Apply):
    """x * 0 -> zeros of the product's shape (a fill: second(x, 0))."""
    if len(node.inputs) < 2:
        return None
    if all(isinstance(v, Constant) for v in node.inputs):
        return None  # constant folding's job
    zeros = [v for v in node.inputs if is_const(v, 0)]
    if not zeros:
        return None
    out = node.outputs[0]
    z = zeros[0]
    if isinstance(z, Constant):
        result = constant(np.zeros(z.data.shape, dtype=out.dtype))
    else:
        result = E.second(z, constant(np.zeros((), dtype=out.dtype)))
    # every other operand contributes only its shape
    for v in reversed(node.inputs):
        if v is not z:
            result = E.second(v, result)
    return result if result.ndim == out.ndim and result.dtype == out.dtype else None


@register("canonicalize", S.sub)
def sub_zero(fgraph: FunctionGraph, node: Apply):
    """x - 0 -> x"""
    if not is_const(node.inputs[1], 0):
        return None
    return drop_operands(fgraph, node, [1])


@register("canonicalize", S.sub)
def zero_sub(fgraph: FunctionGraph, node: Apply):
    """0 - x -> -x"""
    if not is_const(node.inputs[0], 0):
        return None
    x = node.inputs[1]
    if not covered([node.inputs[0]], [x], node.outputs[0], shape_memo(fgraph)):
        return None
    return like(E.neg(x), node.outputs[0])


@register("canonicalize", S.true_div)
def div_one(fgraph: FunctionGraph, node: Apply):
    """x / 1 -> x"""
    if not is_const(node.inputs[1], 1):
        return None
    x = node.inputs[0]
    if not covered([node.inputs[1]], [x], node.outputs[0], shape_memo(fgraph)):
        return None
    return like(x, node.outputs[0])


# ---------------------------------------------------------------------------------------
# negation and subtraction
# ---------------------------------------------------------------------------------------

@register("canonicalize,stabilize", S.neg)
def neg_neg(fgraph: FunctionGraph, node: Apply):
    """-(-x) -> x"""
    if not is_op(node.inputs[0], S.neg):
        return None
    return node.inputs[0].owner.inputs[0]


@register("canonicalize", S.add)
def add_neg_to_sub(fgraph: FunctionGraph, node: Apply):
    """x + (-y) -> x - y  (and (-y) + x -> x - y)"""
    if len(node.inputs) != 2:
        return None
    a, b = node.inputs
    if is_op(b, S.neg):
        x, y = a, b.owner.inputs[0]
    elif is_op(a, S.neg):
        x, y = b, a.owner.inputs[0]
    else:
        return None
    out = E.sub(x, y)
    return out if out.dtype == node.outputs[0].dtype else None


@register("canonicalize", S.sub)
def sub_neg(fgraph: FunctionGraph, node: Apply):
    """x - (-y) -> x + y"""
    if not is_op(node.inputs[1], S.neg):
        return None
    out = E.add(node.inputs[0], node.inputs[1].owner.inputs[0])
    return out if out.dtype == node.outputs[0].dtype else None


@register("canonicalize", S.neg)
def neg_of_sub(fgraph: FunctionGraph, node: Apply):
    """-(x - y) -> y - x  (when the subtraction has no other client)"""
    if not is_op(node.inputs[0], S.sub):
        return None
    inner = node.inputs[0]
    if not single_client(fgraph, inner):
        return None
    x, y = inner.owner.inputs
    return E.sub(y, x)


@register("canonicalize", S.mul)
def mul_minus_one(fgraph: FunctionGraph, node: Apply):
    """-1 * x -> -x"""
    if len(node.inputs) != 2:
        return None
    for i in (0, 1):
        if is_const(node.inputs[i], -1):
            x = node.inputs[1 - i]
            if node.inputs[i].dtype == "bool" or not covered(
                    [node.inputs[i]], [x], node.outputs[0], shape_memo(fgraph)):
                return None
            return like(E.neg(x), node.outputs[0])
    return None


def _negatable_constant(v: Variable) -> bool:
    return isinstance(v, Constant) and v.dtype[0] in "fic"


@register("canonicalize", S.neg, S.mul)
def neg_into_constant(fgraph: FunctionGraph, node: Apply):
    """-(c * x) -> (-c) * x and (-x) * c -> x * (-c) for a constant c: one pass fewer."""
    sop = node.op.scalar_op
    out = node.outputs[0]
    if sop == S.neg:
        if not (is_op(node.inputs[0], S.mul) and single_client(fgraph, node.inputs[0])):
            return None
        factors = list(node.inputs[0].owner.inputs)
        negated = None
    else:
        factors = list(node.inputs)
        negated = next((i for i, v in enumerate(factors) if is_op(v, S.neg)
                        and single_client(fgraph, v)), None)
        if negated is None:
            return None
    k = next((i for i, v in enumerate(factors) if _negatable_constant(v)), None)
    if k is None:
        return None
    factors[k] = constant(-factors[k].data)
    if negated is not None:
        factors[negated] = factors[negated].owner.inputs[0]
    result = Elemwise(S.mul)(*factors)
    return result if result.dtype == out.dtype and result.ndim == out.ndim else None


# ---------------------------------------------------------------------------------------
# n-ary flattening and constants
# ---------------------------------------------------------------------------------------

def _absorbable(fgraph: FunctionGraph, v: Variable, sop: S.ScalarOp, dtype: str) -> bool:
    """True when ``v`` is an ``sop`` of ``dtype`` read only by the node flattening it in."""
    return is_op(v, sop) and v.dtype == dtype and single_client(fgraph, v)


def _flatten(fgraph: FunctionGraph, node: Apply, sop: S.ScalarOp):
    """Flatten the whole tree of absorbable ``sop`` nodes under ``node`` at once, from its top.

    A node that its only reader will absorb is left to it: flattening a chain bottom-up, one
    level per node, would build a node per level with ever more inputs (quadratic in depth),
    and ends with the same flat node as this single step.
    """
    out = node.outputs[0]
    readers = fgraph.clients.get(out, ())
    if len(readers) == 1 and readers[0][0] != OUTPUT:
        reader = readers[0][0]
        if is_op(reader.outputs[0], sop) and reader.outputs[0].dtype == out.dtype:
            return None  # the reader flattens this node's tree in with its own
    new, changed = [], False
    stack = list(reversed(node.inputs))
    while stack:
        v = stack.pop()
        if _absorbable(fgraph, v, sop, out.dtype):
            stack.extend(reversed(v.owner.inputs))
            changed = True
        else:
            new.append(v)
    if not changed:
        return None
    result = Elemwise(sop)(*new)
    return result if result.dtype == out.dtype else None


@register("canonicalize", S.add)
def flatten_add(fgraph: FunctionGraph, node: Apply):
    """(x + y) + z -> add(x, y, z)"""
    return _flatten(fgraph, node, S.add)


@register("canonicalize", S.mul)
def flatten_mul(fgraph: FunctionGraph, node: Apply):
    """(x * y) * z -> mul(x, y, z)"""
    return _flatten(fgraph, node, S.mul)


@register("canonicalize", S.add, S.mul)
def combine_constants(fgraph: FunctionGraph, node: Apply):
    """add(x, c1, c2) -> add(x, c1 + c2); mul(x, c1, c2) -> mul(x, c1 * c2)"""
    sop = node.op.scalar_op
    consts = [i for i, v in enumerate(node.inputs) if isinstance(v, Constant)]
    if len(consts) < 2 or len(consts) == len(node.inputs):
        return None
    out = node.outputs[0]
    values = [node.inputs[i].data for i in consts]
    ufunc = np.add if sop == S.add else np.multiply
    with np.errstate(all="ignore"):
        total = values[0]
        for v in values[1:]:
            total = ufunc(total, v)
    total = np.asarray(total).astype(out.dtype)
    rest = [v for i, v in enumerate(node.inputs) if i not in consts]
    new = Elemwise(sop)(*rest, constant(total))
    if new.dtype != out.dtype or new.ndim != out.ndim:
        return None
    return new


# ---------------------------------------------------------------------------------------
# casts
# ---------------------------------------------------------------------------------------

def _cast_target(var: Variable) -> Optional[str]:
    sop = scalar_op(var)
    return sop.dtype if isinstance(sop, S.CastScalar) else None


@register("canonicalize", S.CastScalar)
def useless_cast(fgraph: FunctionGraph, node: Apply):
    """cast(x, dtype(x)) -> x"""
    x = node.inputs[0]
    return x if x.dtype == node.op.scalar_op.dtype else None


@register("canonicalize", S.CastScalar)
def cast_of_cast(fgraph: FunctionGraph, node: Apply):
    """cast(cast(x, a), b) -> cast(x, b) when the cast of x to a loses nothing."""
    inner = node.inputs[0]
    mid = _cast_target(inner)
    if mid is None:
        return None
    x = inner.owner.inputs[0]
    if not np.can_cast(x.dtype, mid, "safe"):
        return None
    return E.cast(x, node.op.scalar_op.dtype)


@register("canonicalize", S.maximum, S.minimum)
def idempotent_max_min(fgraph: FunctionGraph, node: Apply):
    """maximum(x, x) -> x; minimum(x, x) -> x  (shape graphs of x + x are full of these)"""
    x, y = node.inputs
    return x if x is y and x.dtype == node.outputs[0].dtype else None


@register("canonicalize,stabilize", Elemwise)
def fill_cut(fgraph: FunctionGraph, node: Apply):
    """``f(second(a, b), y) -> f(b, y)`` when the other operands already have a's shape: the
    fill only broadcasts, and f broadcasts anyway (the gradient of ``sum(x**2)`` is a fill
    times x). Likewise ``f(alloc(b, *s), y) -> f(b, y)``."""
    sop = node.op.scalar_op
    if sop == S.second or sop.nin == 1:
        return None
    out = node.outputs[0]
    memo = shape_memo(fgraph)
    new = list(node.inputs)
    changed = False
    for i, v in enumerate(node.inputs):
        if is_op(v, S.second):
            a, b = v.owner.inputs
        elif v.owner is not None and isinstance(v.owner.op, Alloc):
            a, b = v, v.owner.inputs[0]
        else:
            continue
        others = [w for k, w in enumerate(new) if k != i] + [b]
        if covered([a], others, out, memo):
            new[i] = b
            changed = True
    if not changed:
        return None
    result = Elemwise(sop)(*new)
    return result if result.dtype == out.dtype and result.ndim == out.ndim else None


@register("canonicalize", S.floor, S.ceil, S.round_half_to_even, S.round_half_away)
def round_of_integer(fgraph: FunctionGraph, node: Apply):
    """floor(x) -> x, ceil(x) -> x, round(x) -> x for integer-valued x (an integer, or an
    integer cast to float: shape arithmetic is full of these)"""
    x = node.inputs[0]
    src = x.owner.inputs[0] if isinstance(scalar_op(x), S.CastScalar) else x
    if src.dtype not in S.discrete_dtypes:
        return None
    return like(x, node.outputs[0])
