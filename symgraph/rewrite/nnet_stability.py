"""Stabilising rewrites of the neural-network losses (phase ``stabilize``).

Forward identities replace expressions that overflow at saturated logits by equal, finite ones.
Gradients are built before compilation from the *unstable* forward graph, so each forward
identity has a gradient counterpart that recognises the chain rule's product (e.g.
``SoftmaxGrad(dy / sm, sm)``) and replaces it by the finite closed form.
"""
from __future__ import annotations

from typing import List, Optional

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Variable, fill_memo, is_constant_value
from symgraph.ops import elemwise as E
from symgraph.ops import nnet as N
from symgraph.ops import scalar as S
from symgraph.ops import softmax_xent as X
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


@register("stabilize", S.log)
def log_softmax_from_log(fgraph: FunctionGraph, node):
    """log(softmax(x, axis)) -> log_softmax(x, axis)"""
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
    return X.SoftmaxCrossentropyWithLogits()(p.owner.inputs[0], y)[0]


@register("stabilize", N.Softmax)
def softmax_from_fused_crossentropy(fgraph: FunctionGraph, node):
    """softmax(x, -1) -> softmax_crossentropy_with_logits(x, y)[1] when that node exists

    Gradients are built from the unfused cross-entropy, so after the rule above the graph
    holds the fused node and, for the gradient, a separate softmax of the same logits: one
    pass over the logits instead of two.
    """
    (x,) = node.inputs
    if node.op.axis != x.ndim - 1:
        return None
    for client, _ in fgraph.clients.get(x, ()):
        if client != "output" and isinstance(client.op, X.SoftmaxCrossentropyWithLogits) and \
                client.inputs[0] is x:
            return client.outputs[1]
    return None


@register("stabilize", N.S_BCE)
def bce_of_sigmoid(fgraph: FunctionGraph, node):
    """binary_crossentropy(sigmoid(x), t) -> softplus(x) - t x"""
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


def _stable_softmax_vjp(dy: Variable, sm: Variable, axis: int) -> Optional[Variable]:
    """The closed form of ``SoftmaxGrad(dy, sm)`` when ``dy`` is a log's or a 1-hot
    cross-entropy's gradient, else None."""
    if dy.owner is not None and isinstance(dy.owner.op, N.CrossentropyCategorical1HotGrad):
        gz, p, y = dy.owner.inputs
        if p is sm and axis == sm.ndim - 1:
            return X.softmax_crossentropy_grad(gz, sm, y)
        return None
    a = _divided_by(dy, sm)
    if a is None:
        return None
    return a - sm * _sum(a, axis=axis, keepdims=True)


@register("stabilize", N.SoftmaxGrad)
def softmax_grad_of_log(fgraph: FunctionGraph, node):
    """SoftmaxGrad(a / sm, sm) -> a - sm sum(a, axis)  (the gradient of log(softmax(x)))

    and SoftmaxGrad(crossentropy_1hot_grad(gz, sm, y), sm) -> gz (sm - one_hot(y)). The op is
    linear in its first input, so a sum of such terms and others is split:
    ``SoftmaxGrad(u + h, sm) -> stable(u) + SoftmaxGrad(h, sm)``.
    """
    dy, sm = node.inputs
    if sm.owner is None or not isinstance(sm.owner.op, N.Softmax):
        return None
    axis = node.op.axis
    terms = list(dy.owner.inputs) if _scalar(dy) == S.add else [dy]
    stable, others = [], []
    for term in terms:
        closed = _stable_softmax_vjp(term, sm, axis) if term.ndim == sm.ndim else None
        if closed is None:
            others.append(term)
        else:
            stable.append(closed)
    if not stable:
        return None
    if others:
        rest = E.add(*others) if len(others) > 1 else others[0]
        stable.append(N.SoftmaxGrad(axis)(E.cast(rest, sm.dtype), sm))
    new = E.add(*stable) if len(stable) > 1 else stable[0]
    return _cast_like(new, node.outputs[0])


def _factors(var: Variable) -> List[Variable]:
    """The factors of a (nested) product."""
    out, stack = [], [var]
    while stack:
        v = stack.pop()
        if _scalar(v) == S.mul:
            stack.extend(reversed(v.owner.inputs))
        else:
            out.append(v)
    return out


def _bce_grad_below(fgraph: FunctionGraph, var: Variable) -> bool:
    """Whether some factor of the (nested) product ``var``, or some term of a sum factor, is a
    ``bce_grad`` (maybe inside ``SumToShape``): a quick necessary condition for
    :func:`sigmoid_bce_grad`, memoized in the graph's cache so that a deep chain of products
    is walked once, not once per node.

    Per variable, bit 1: it is a ``bce_grad``; bit 2: a ``bce_grad`` maybe inside
    ``SumToShape``; bit 4: such a term is a factor of it (or a term of a sum factor).
    """
    memo = fgraph.cache("bce_grad_below")

    def visit(v: Variable, leaf: bool) -> None:
        if leaf:
            memo[v] = 0
            return
        node = v.owner
        sop = _scalar(v)
        bits = 0
        if sop == N.S_BCE_GRAD:
            bits = 3
        elif isinstance(node.op, SumToShape) and memo[node.inputs[0]] & 1:
            bits = 2
        if sop == S.mul:
            bits |= 4 if any(memo[i] & 4 for i in node.inputs) else 0
        elif bits & 2 or (sop == S.add and any(memo[i] & 2 for i in node.inputs)):
            bits |= 4
        memo[v] = bits
    fill_memo(var, memo, visit)
    return bool(memo[var] & 4)


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


def _bce_grad_term(v: Variable):
    """``(gz, s, t, wrap)`` when ``v`` is ``bce_grad(gz, s, t)`` with ``s = sigmoid(x)``, maybe
    inside the run-time ``SumToShape`` of ``unbroadcast`` (``wrap`` re-applies it)."""
    wrap = None
    if v.owner is not None and isinstance(v.owner.op, SumToShape):
        op, shp = v.owner.op, v.owner.inputs[1]
        wrap = lambda e, op=op, shp=shp: op(e, shp)  # noqa: E731
        v = v.owner.inputs[0]
    if _scalar(v) != N.S_BCE_GRAD:
        return None
    gz, s, t = v.owner.inputs
    if _scalar(s) != S.sigmoid:
        return None
    return gz, s, t, wrap or (lambda e: e)


@register("stabilize", S.mul)
def sigmoid_bce_grad(fgraph: FunctionGraph, node):
    """bce_grad(gz, sigmoid(x), t) * sigmoid(x) * (1 - sigmoid(x)) -> gz (sigmoid(x) - t)

    (the chain rule through sigmoid of the gradient of binary_crossentropy(sigmoid(x), t)).
    A ``SumToShape`` around ``bce_grad`` is kept around the result (``s (1 - s)`` is constant
    along the axes it sums). When the sigmoid has other clients, the gradient reaching it is a
    sum: ``(bce_grad + h) s (1 - s) -> gz (s - t) + h s (1 - s)``.
    """
    if fgraph is not None and not _bce_grad_below(fgraph, node.outputs[0]):
        return None  # the walk below would find no bce_grad term: skip it
    factors = _factors(node.outputs[0])
    for i, f in enumerate(factors):
        terms = list(f.owner.inputs) if _scalar(f) == S.add else [f]
        for j, term in enumerate(terms):
            found = _bce_grad_term(term)
            if found is None:
                continue
            gz, s, t, wrap = found
            rest = factors[:i] + factors[i + 1:]
            if s not in rest:
                continue
            rest.remove(s)
            k = next((m for m, r in enumerate(rest) if _is_one_minus(r, s)), None)
            if k is None:
                continue
            one_minus = rest.pop(k)
            new = wrap(gz * (s - t))
            others = terms[:j] + terms[j + 1:]
            if others:
                new = new + E.mul(E.add(*others) if len(others) > 1 else others[0], s, one_minus)
            if rest:
                new = E.mul(new, *rest)
            return _cast_like(new, node.outputs[0])
    return None


__all__ = ["log_softmax_from_log", "crossentropy_of_softmax", "bce_of_sigmoid",
           "softmax_grad_of_log", "sigmoid_bce_grad"]
