"""The fused softmax cross-entropy of integer labels and its gradient op.

``SoftmaxCrossentropyWithLogits`` computes, in one pass over the logits, the per-example loss
``-log_softmax(x)[..., y]`` and ``softmax(x)``; its gradient reuses that softmax through
``SoftmaxCrossentropyDx``, which writes ``gz[..., None] * (sm - one_hot(y))`` without
materialising the one-hot matrix (Theano's ``CrossentropySoftmax1HotWithBiasDx``).
"""
from __future__ import annotations

import numpy as np

from symgraph.graph import Apply, Variable, is_constant_value
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S
from symgraph.ops.nnet import (OneHot, SoftmaxGrad, _as_float, _check_labels, check_labels,
                               class_index)
from symgraph.ops.reduce import sum as _sum
from symgraph.ops.shape import dimshuffle, shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType

#: ``arange(n)`` row indices by ``n``, kept for the batch sizes a program uses
_ROWS: dict = {}


def _rows(n: int) -> np.ndarray:
    rows = _ROWS.get(n)
    if rows is None:
        if len(_ROWS) > 64:
            _ROWS.clear()
        rows = _ROWS[n] = np.arange(n)
        rows.flags.writeable = False
    return rows


#: what an out-of-range label error names
_WHAT = "categorical_crossentropy (softmax cross-entropy with logits)"


def _pick(z, y):
    """``z[..., y]``: one entry per row of the last axis (plain row indexing for matrices,
    3x faster than ``take_along_axis`` on a batch of 32); a label out of range raises."""
    n = z.shape[-1]
    try:
        if z.ndim == 2:
            return z[_rows(z.shape[0]), class_index(y, n, _WHAT)]
        return np.take_along_axis(z, class_index(y, n, _WHAT)[..., None], -1)[..., 0]
    except IndexError:
        check_labels(y, n, _WHAT)
        raise


def _loss_and_softmax(x, y):
    z = x - np.maximum.reduce(x, axis=-1, keepdims=True)
    e = np.exp(z)
    total = np.add.reduce(e, axis=-1, keepdims=True)
    loss = np.log(total[..., 0])
    loss -= _pick(z, y)
    e /= total
    return loss.astype(x.dtype, copy=False), e


def _dx(gz, sm, y):
    gz = np.asarray(gz)
    dx = sm * gz[..., None]
    flat = dx.reshape(-1, dx.shape[-1])  # a view: dx is fresh and contiguous
    n = dx.shape[-1]
    labels = class_index(y, n, _WHAT).reshape(-1)
    try:
        flat[_rows(labels.size), labels] -= gz.astype(dx.dtype, copy=False).reshape(-1)
    except IndexError:
        check_labels(y, n, f"the gradient of {_WHAT}")
        raise
    return dx


def _is_zero(g: Variable) -> bool:
    """True for the ``zeros_like`` the gradient engine passes for an unused output."""
    op = getattr(g.owner, "op", None)
    return isinstance(op, E.Elemwise) and op.scalar_op == S.second and \
        is_constant_value(g.owner.inputs[1], 0)


class SoftmaxCrossentropyWithLogits(Op):
    """``(-log_softmax(x)[..., y], softmax(x))`` over the last axis: the fused, stable form of
    ``categorical_crossentropy(softmax(x), y)`` for integer labels.

    Gradient: ``gx = gz[..., None] * (softmax(x) - one_hot(y))`` (finite for any logits), from
    the softmax this op already computed; plus the softmax gradient when the second output is
    used. None for the labels.
    """

    @property
    def emit_helpers(self) -> dict:
        return {"_softmax_xent": _loss_and_softmax}

    copies = True

    def make_node(self, x, y) -> Apply:
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        _check_labels(self, x, y)
        return Apply(self, [x, y], [TensorVariable(TensorType(x.dtype, x.type.shape[:-1])),
                                    TensorVariable(x.type)])

    def perform(self, x, y):
        return _loss_and_softmax(x, y)

    def emit(self, names):
        return f"_softmax_xent({names[0]}, {names[1]})"

    def infer_shape(self, node, shapes):
        return [tuple(shapes[0][:-1]), tuple(shapes[0])]

    def grad(self, inputs, outputs, output_grads):
        x, y = inputs
        g_loss, g_sm = output_grads
        sm = outputs[1]
        gx = None
        if g_loss is not None and not _is_zero(g_loss):
            gx = SoftmaxCrossentropyDx()(g_loss, sm, y)
        if g_sm is not None and not _is_zero(g_sm):
            gsm = SoftmaxGrad(x.ndim - 1)(g_sm, sm)
            gx = gsm if gx is None else gx + gsm
        return [gx if gx is not None else E.zeros_like(x), None]


class SoftmaxCrossentropyDx(Op):
    """``gz[..., None] * (sm - one_hot(y))``: the gradient of the fused cross-entropy w.r.t.
    the logits, from its softmax output ``sm``.

    Gradient (linear in ``gz`` and ``sm``): ``g_gz = sum(g * (sm - one_hot(y)), -1)``,
    ``g_sm = g * gz[..., None]``; none for the labels.
    """

    @property
    def emit_helpers(self) -> dict:
        return {"_softmax_xent_dx": _dx}

    copies = True

    def make_node(self, gz, sm, y) -> Apply:
        gz, sm, y = (as_tensor_variable(v) for v in (gz, sm, y))
        _check_labels(self, sm, y)
        if gz.ndim != y.ndim:
            raise TypeError(f"{self}: gz {gz.type} must have the rank of the labels {y.type}")
        return Apply(self, [gz, sm, y], [TensorVariable(sm.type)])

    def perform(self, gz, sm, y):
        return _dx(gz, sm, y)

    def emit(self, names):
        return f"_softmax_xent_dx({', '.join(names)})"

    def infer_shape(self, node, shapes):
        return [tuple(shapes[1])]

    def grad(self, inputs, outputs, output_grads):
        gz, sm, y = inputs
        (g,) = output_grads
        onehot = OneHot(sm.dtype)(y, shape_i(sm, sm.ndim - 1))
        g_gz = E.cast(_sum(g * (sm - onehot), axis=-1), gz.dtype)
        g_sm = E.cast(g * dimshuffle(gz, list(range(gz.ndim)) + ["x"]), sm.dtype)
        return [g_gz, g_sm, None]


def softmax_crossentropy_grad(gz, sm, y) -> Variable:
    """``gz[..., None] * (sm - one_hot(y))``: the gradient of the fused cross-entropy."""
    return SoftmaxCrossentropyDx()(gz, sm, y)


def softmax_cross_entropy_with_logits(logits, labels) -> Variable:
    """Per-example ``-log softmax(logits)[label]`` for integer ``labels`` (fused and stable)."""
    logits = _as_float(logits, "softmax_cross_entropy_with_logits")
    return SoftmaxCrossentropyWithLogits()(logits, as_tensor_variable(labels))[0]


#: helpers the emitted code of this module names


def crossentropy_softmax_1hot(x, y_idx):
    """Theano's pair ``(nll, softmax(x))`` for integer labels, with the stable fused loss."""
    loss, sm = SoftmaxCrossentropyWithLogits()(_as_float(x, "crossentropy_softmax_1hot"),
                                               as_tensor_variable(y_idx))
    return loss, sm
