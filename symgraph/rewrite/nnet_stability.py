"""Stabilising rewrites of the neural-network losses (phase ``stabilize``).

Forward identities replace expressions that overflow at saturated logits by equal, finite ones.
Gradients are built before compilation from the *unstable* forward graph, so each forward
identity has a gradient counterpart that recognises the chain rule's product (e.g.
``SoftmaxGrad(dy / sm, sm)``) and replaces it by the finite closed form.
"""
from __future__ import annotations

from typing import List, Optional

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Variable, is_constant_value
from symgraph.ops import elemwise as E
from symgraph.ops import nnet as N
from symgraph.ops import scalar as S
from symgraph.ops.reduce import sum as _sum
from symgraph.ops.shape import SumToShape
from symgraph.rewrite.engine import register


def _scalar(var: Variable) -> Optional[S.ScalarOp]:
    """The scalar op of the elementwise node producing ``var``, if any."""
    if var.owner is not None and isinstance(var.owner.op, E.Elemwise):
        return var.owner.op.scalar_op
    return None


def _cast_like(new: Variable, old: Variable) -> Variable:
    return new if new.dtype == old.dtype else E.cast(new, old.dtype)


@register("stabilize", E.Elemwise)
def log_softmax_from_log(fgraph: FunctionGraph, node):
    """log(softmax(x, axis)) -> log_softmax(x, axis)"""
    if node.op.scalar_op != S.log:
        return None
    (p,) = node.inputs
    if p.owner is None or not isinstance(p.owner.op, N.Softmax):
        return None
    return _cast_like(N.LogSoftmax(p.owner.op.axis)(p.owner.inputs[0]), node.outputs[0])


@register("stabilize", N.CrossentropyCategorical1Hot)
def crossentropy_of_softmax(fgraph: FunctionGraph, node):
    """crossentropy_categorical_1hot(softmax(x, -1), y) -> softmax_crossentropy_with_logits(x, y)
    """
    p, y = node.inputs
    if p.owner is None or not isinstance(p.owner.op, N.Softmax) or \
            p.owner.op.axis != p.ndim - 1:
        return None
    return N.SoftmaxCrossentropyWithLogits()(p.owner.inputs[0], y)


@register("stabilize", E.Elemwise)
def bce_of_sigmoid(fgraph: FunctionGraph, node):
    """binary_crossentropy(sigmoid(x), t) -> softplus(x) - t x"""
    if node.op.scalar_op != N.S_BCE:
        return None
    o, t = node.inputs
    if _scalar(o) != S.sigmoid:
        return None
    return _cast_like(N.sigmoid_binary_crossentropy(o.owner.inputs[0], t), node.outputs[0])


# ---------------------------------------------------------------------------------------
# gradient counterparts
# ---------------------------------------------------------------------------------------

def _divided_by(dy: Variable, sm: Variable) -> Optional[Variable]:
    """``a`` when ``dy`` is ``a / sm`` (or ``a * (1 / sm)``), else None."""
    sop = _scalar(dy)
    if sop == S.true_div and dy.owner.inputs[1] is sm:
        return dy.owner.inputs[0]
    if sop == S.mul:
        factors = list(dy.owner.inputs)
        for i, f in enumerate(factors):
            if _scalar(f) == S.true_div and f.owner.inputs[1] is sm and \
                    is_constant_value(f.owner.inputs[0], 1):
                rest = factors[:i] + factors[i + 1:]
                return rest[0] if len(rest) == 1 else E.mul(*rest)
    return None


@register("stabilize", N.SoftmaxGrad)
def softmax_grad_of_log(fgraph: FunctionGraph, node):
    """SoftmaxGrad(a / sm, sm) -> a - sm sum(a, axis)  (the gradient of log(softmax(x)))

    and SoftmaxGrad(crossentropy_1hot_grad(gz, sm, y), sm) -> gz (sm - one_hot(y)).
    """
    dy, sm = node.inputs
    if sm.owner is None or not isinstance(sm.owner.op, N.Softmax):
        return None
    out = node.outputs[0]
    if dy.owner is not None and isinstance(dy.owner.op, N.CrossentropyCategorical1HotGrad):
        gz, p, y = dy.owner.inputs
        if p is sm and node.op.axis == sm.ndim - 1:
            return _cast_like(N.softmax_crossentropy_grad(gz, sm, y), out)
        return None
    a = _divided_by(dy, sm)
    if a is None:
        return None
    return _cast_like(a - sm * _sum(a, axis=node.op.axis, keepdims=True), out)


def _factors(var: Variable) -> List[Variable]:
    """The factors of a (nested) product."""
    if _scalar(var) == S.mul:
        out = []
        for f in var.owner.inputs:
            out.extend(_factors(f))
        return out
    return [var]


def _is_one_minus(v: Variable, s: Variable) -> bool:
    """True when ``v`` is ``1 - s`` (or ``1 + (-s)``, or ``sigmoid(-x)`` for ``s = sigmoid(x)``).
    """
    sop = _scalar(v)
    if sop == S.sigmoid:
        arg = v.owner.inputs[0]
        return _scalar(arg) == S.neg and arg.owner.inputs[0] is s.owner.inputs[0]
    if sop == S.sub:
        a, b = v.owner.inputs
        return b is s and is_constant_value(a, 1)
    if sop == S.add and len(v.owner.inputs) == 2:
        a, b = v.owner.inputs
        if not is_constant_value(a, 1):
            a, b = b, a
        return is_constant_value(a, 1) and _scalar(b) == S.neg and b.owner.inputs[0] is s
    return False


@register("stabilize", E.Elemwise)
def sigmoid_bce_grad(fgraph: FunctionGraph, node):
    """bce_grad(gz, sigmoid(x), t) * sigmoid(x) * (1 - sigmoid(x)) -> gz (sigmoid(x) - t)

    (the chain rule through sigmoid of the gradient of binary_crossentropy(sigmoid(x), t));
    a ``SumToShape`` around ``bce_grad`` is kept around the result.
    """
    if node.op.scalar_op != S.mul:
        return None
    factors = _factors(node.outputs[0])
    for i, g in enumerate(factors):
        # unbroadcast() may have wrapped the gradient in a run-time SumToShape
        summed = g.owner is not None and isinstance(g.owner.op, SumToShape)
        inner = g.owner.inputs[0] if summed else g
        if _scalar(inner) != N.S_BCE_GRAD:
            continue
        gz, s, t = inner.owner.inputs
        if _scalar(s) != S.sigmoid:
            continue
        rest = factors[:i] + factors[i + 1:]
        if s not in rest:
            continue
        rest.remove(s)
        k = next((j for j, f in enumerate(rest) if _is_one_minus(f, s)), None)
        if k is None:
            continue
        del rest[k]
        # s (1 - s) is constant along the axes SumToShape sums, so it moves inside the sum
        direct = gz * (s - t)
        if summed:
            direct = g.owner.op(direct, g.owner.inputs[1])
        new = E.mul(direct, *rest) if rest else direct
        return _cast_like(new, node.outputs[0])
    return None


__all__ = ["log_softmax_from_log", "crossentropy_of_softmax", "bce_of_sigmoid",
           "softmax_grad_of_log", "sigmoid_bce_grad"]
