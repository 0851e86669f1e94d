"""Numerically stable forms (phase ``stabilize``).

Each rule replaces an expression that overflows, underflows or cancels for large or small
inputs by an equal one that does not: ``log(1 + exp(1000))`` is ``inf`` but ``softplus(1000)``
is ``1000``. The gradient graphs of the unstable forms are rewritten too (``x / y * y`` and
``exp(x) / (1 + exp(x))``), so that a cost made finite also has a finite gradient.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Apply, Variable
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S
from symgraph.ops.elemwise import Elemwise
from symgraph.rewrite.algebra import apply_elemwise, is_const, is_op, like
from symgraph.rewrite.engine import register
from symgraph.rewrite.shapes import covered, shape_memo

_FLOATS = ("float16", "float32", "float64")


def _arg(var: Variable) -> Variable:
    return var.owner.inputs[0]


def _one_plus(var: Variable) -> Optional[Variable]:
    """``x`` when ``var`` is ``1 + x`` (float, the 1 not enlarging x), else None."""
    if not is_op(var, S.add) or var.dtype not in _FLOATS:
        return None
    ins = var.owner.inputs
    ones = [i for i, v in enumerate(ins) if is_const(v, 1)]
    if not ones or len(ins) < 2:
        return None
    drop = ones[:1]
    kept = [v for i, v in enumerate(ins) if i not in drop]
    if not covered([ins[drop[0]]], kept, var):
        return None
    rest = apply_elemwise(S.add, kept)
    return rest if rest.dtype == var.dtype else None


def _one_minus(var: Variable) -> Optional[Variable]:
    """``x`` when ``var`` is ``1 - x`` (float, the 1 not enlarging x), else None."""
    if not is_op(var, S.sub) or var.dtype not in _FLOATS:
        return None
    one, x = var.owner.inputs
    if not is_const(one, 1) or x.dtype != var.dtype or not covered([one], [x], var):
        return None
    return x


@register("stabilize", S.log)
def log1p_from_log(fgraph: FunctionGraph, node: Apply):
    """log(1 + x) -> log1p(x)"""
    x = _one_plus(node.inputs[0])
    if x is None:
        return None
    return like(E.log1p(x), node.outputs[0])


@register("stabilize", S.log1p)
def softplus_from_log1p_exp(fgraph: FunctionGraph, node: Apply):
    """log1p(exp(x)) -> softplus(x)"""
    if not is_op(node.inputs[0], S.exp):
        return None
    return like(E.softplus(_arg(node.inputs[0])), node.outputs[0])


@register("stabilize", S.sub, S.add)
def expm1_from_exp(fgraph: FunctionGraph, node: Apply):
    """exp(x) - 1 -> expm1(x)  (also exp(x) + (-1))"""
    sop = node.op.scalar_op
    ins = node.inputs
    if sop == S.sub and len(ins) == 2 and is_op(ins[0], S.exp) and is_const(ins[1], 1):
        e, c = ins
    elif sop == S.add and len(ins) == 2 and is_op(ins[0], S.exp) and is_const(ins[1], -1):
        e, c = ins
    elif sop == S.add and len(ins) == 2 and is_op(ins[1], S.exp) and is_const(ins[0], -1):
        c, e = ins
    else:
        return None
    if e.dtype not in _FLOATS or not covered([c], [e], node.outputs[0]):
        return None
    return like(E.expm1(_arg(e)), node.outputs[0])


@register("stabilize", S.log)
def log_sigmoid(fgraph: FunctionGraph, node: Apply):
    """log(sigmoid(x)) -> -softplus(-x)"""
    arg = node.inputs[0]
    if not is_op(arg, S.sigmoid):
        return None
    x = _arg(arg)
    minus_x = _arg(x) if is_op(x, S.neg) else E.neg(x)
    return like(E.neg(E.softplus(minus_x)), node.outputs[0])


@register("stabilize", S.log)
def log_one_minus_sigmoid(fgraph: FunctionGraph, node: Apply):
    """log(1 - sigmoid(x)) -> -softplus(x)"""
    s = _one_minus(node.inputs[0])
    if s is None or not is_op(s, S.sigmoid):
        return None
    return like(E.neg(E.softplus(_arg(s))), node.outputs[0])


@register("stabilize", S.log)
def softplus_from_log(fgraph: FunctionGraph, node: Apply):
    """log(1 + exp(x)) -> softplus(x)"""
    x = _one_plus(node.inputs[0])
    if x is None or not is_op(x, S.exp):
        return None
    return like(E.softplus(_arg(x)), node.outputs[0])


@register("stabilize", S.log)
def log_exp(fgraph: FunctionGraph, node: Apply):
    """log(exp(x)) -> x"""
    arg = node.inputs[0]
    if not is_op(arg, S.exp):
        return None
    return like(_arg(arg), node.outputs[0])


@register("stabilize", S.log)
def log_one_minus_exp(fgraph: FunctionGraph, node: Apply):
    """log(1 - exp(x)) -> log(-expm1(x))  (no cancellation for x near 0-)"""
    e = _one_minus(node.inputs[0])
    if e is None or not is_op(e, S.exp):
        return None
    return like(E.log(E.neg(E.expm1(_arg(e)))), node.outputs[0])


@register("stabilize", S.sub)
def one_minus_sigmoid(fgraph: FunctionGraph, node: Apply):
    """1 - sigmoid(x) -> sigmoid(-x)  (exact where 1 - sigmoid(x) cancels to 0)"""
    s = _one_minus(node.outputs[0])
    if s is None or not is_op(s, S.sigmoid):
        return None
    return like(E.sigmoid(E.neg(_arg(s))), node.outputs[0])


# ---------------------------------------------------------------------------------------
# gradient graphs
# ---------------------------------------------------------------------------------------

def _find_div_pair(ins: List[Variable], denominator) -> Optional[Tuple[int, int, Variable]]:
    """Indices ``(i, j, a)`` with ``ins[i] = a / d`` and ``ins[j]`` matching ``d`` through
    ``denominator(d, ins[j])``."""
    for i, v in enumerate(ins):
        if not is_op(v, S.true_div):
            continue
        a, d = v.owner.inputs
        for j, w in enumerate(ins):
            if j != i and denominator(d, w):
                return i, j, a
    return None


@register("stabilize", S.mul)
def mul_cancel_div(fgraph: FunctionGraph, node: Apply):
    """(a / y) * y -> a  (the gradient of log(f(x)) is g / f * f'(x), and f' often holds f)"""
    if node.outputs[0].dtype not in _FLOATS:
        return None
    ins = node.inputs
    found = _find_div_pair(ins, lambda d, w: d is w)
    if found is None:
        return None
    i, j, a = found
    kept = [a if k == i else v for k, v in enumerate(ins) if k != j]
    result = apply_elemwise(S.mul, kept)
    if not covered([ins[i], ins[j]], kept, node.outputs[0], shape_memo(fgraph)):
        result = E.second(ins[j], result)  # y may still broadcast the product
    return like(result, node.outputs[0])


def _is_one_plus_exp_of(d: Variable, e: Variable) -> bool:
    if not is_op(e, S.exp):
        return False
    x = _one_plus(d)
    return x is not None and x is e


@register("stabilize", S.mul)
def sigmoid_from_exp_ratio(fgraph: FunctionGraph, node: Apply):
    """a / (1 + exp(x)) * exp(x) -> a * sigmoid(x)  (the gradient of log(1 + exp(x)))"""
    if node.outputs[0].dtype not in _FLOATS:
        return None
    ins = node.inputs
    found = _find_div_pair(ins, _is_one_plus_exp_of)
    if found is None:
        return None
    i, j, a = found
    sig = E.sigmoid(_arg(ins[j]))
    kept = [sig if k == j else (a if k == i else v) for k, v in enumerate(ins)]
    result = apply_elemwise(S.mul, kept)
    if not covered([ins[i]], kept, node.outputs[0], shape_memo(fgraph)):
        result = E.second(_arg(ins[j]), result)  # 1 + exp(x), shaped as x, may broadcast
    return like(result, node.outputs[0])


@register("stabilize", S.true_div)
def sigmoid_from_exp_div(fgraph: FunctionGraph, node: Apply):
    """exp(x) / (1 + exp(x)) -> sigmoid(x)"""
    e, d = node.inputs
    if not _is_one_plus_exp_of(d, e) or e.dtype not in _FLOATS:
        return None
    return like(E.sigmoid(_arg(e)), node.outputs[0])


@register("stabilize", S.mul)
def distribute_cancel_div(fgraph: FunctionGraph, node: Apply):
    """(a / y + b / z) * y * z -> a * z + b * y  (likewise with -): the gradient of a
    cross-entropy through a sigmoid, g / s - h / (1 - s), times s * (1 - s)."""
    if node.outputs[0].dtype not in _FLOATS:
        return None
    out = node.outputs[0]
    for i, v in enumerate(node.inputs):
        sop = getattr(v.owner.op, "scalar_op", None) if v.owner is not None else None
        if sop not in (S.add, S.sub) or v.dtype != out.dtype or \
                len(fgraph.clients.get(v, ())) != 1:
            continue
        factors = None  # built on the first quotient: a wide product has many candidates
        terms = []
        for t in v.owner.inputs:
            if not is_op(t, S.true_div):
                break
            if factors is None:
                factors = [w for k, w in enumerate(node.inputs) if k != i]
            a, d = t.owner.inputs
            pos = next((k for k, w in enumerate(factors) if w is d), None)
            if pos is None:
                break
            rest = [a] + [w for k, w in enumerate(factors) if k != pos]
            if not covered([t, d], rest, out, shape_memo(fgraph)):
                break
            terms.append(apply_elemwise(S.mul, rest))
        else:
            result = Elemwise(sop)(*terms)
            return like(result, out)
    return None
