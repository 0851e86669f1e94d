"""Smaller names of ``theano.tensor.nnet``: hierarchical softmax, the confusion matrix, the
legacy op instances and the row-prepending helpers."""
from __future__ import annotations

import numpy as np

from symgraph.ops import elemwise as E
from symgraph.ops import nnet as _nnet
from symgraph.ops.join import concatenate
from symgraph.ops.nnet import to_one_hot
from symgraph.ops.softmax_xent import crossentropy_softmax_1hot
from symgraph.ops.variable import as_tensor_variable
from symgraph.tensor.nnet import softmax, logsoftmax, softmax_with_bias  # noqa: F401

sigm = E.sigmoid
scalar_sigmoid = E.sigmoid
sigmoid_inplace = E.sigmoid
softmax_op = softmax
logsoftmax_op = logsoftmax
SoftmaxWithBias = softmax_with_bias


def softmax_graph(c):
    """``exp(c) / exp(c).sum(axis=-1, keepdims=True)``, written out (no stabilisation)."""
    e = E.exp(as_tensor_variable(c))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_grad(dy, sm):
    """The gradient of softmax for the output gradient ``dy`` at softmax values ``sm``."""
    return _nnet.SoftmaxGrad(-1)(dy, sm)


def crossentropy_categorical_1hot_grad(g_y, coding_dist, true_one_of_n):
    from symgraph.ops.nnet import CrossentropyCategorical1HotGrad
    return CrossentropyCategorical1HotGrad()(g_y, coding_dist, true_one_of_n)


def crossentropy_softmax_max_and_argmax_1hot_with_bias(x, b, y_idx):
    """``(nll, max(softmax), argmax(softmax))`` of ``x + b`` for integer labels."""
    z = as_tensor_variable(x) + b
    nll, sm = crossentropy_softmax_1hot(z, y_idx)
    return nll, sm.max(axis=-1), sm.argmax(axis=-1)


def crossentropy_softmax_max_and_argmax_1hot(x, y_idx):
    return crossentropy_softmax_max_and_argmax_1hot_with_bias(x, 0, y_idx)


def crossentropy_softmax_1hot_with_bias_dx(dy, sm, y_idx):
    """The gradient of the 1-hot cross-entropy of a softmax w.r.t. its logits."""
    from symgraph.ops.softmax_xent import softmax_crossentropy_grad
    return softmax_crossentropy_grad(dy, sm, y_idx)


def prepend_scalar_to_each_row(val, x):
    """``x`` with a first column of ``val``."""
    x = as_tensor_variable(x)
    col = E.second(x[:, :1], as_tensor_variable(val, dtype=x.dtype))
    return concatenate([col, x], axis=1)


def prepend_0_to_each_row(x):
    return prepend_scalar_to_each_row(0, x)


def prepend_1_to_each_row(x):
    return prepend_scalar_to_each_row(1, x)


def confusion_matrix(actual, pred):
    """``(confusion matrix, order)``: counts of (actual, predicted) label pairs over the labels
    seen in either vector, sorted."""
    from symgraph.ops.extra import nonzero  # noqa: F401
    actual, pred = as_tensor_variable(actual), as_tensor_variable(pred)
    import symgraph.tensor as T
    both = T.concatenate([actual, pred])
    order = _unique_sorted(both)
    onehot_a = E.cast(E.eq(actual.dimshuffle(0, "x"), order.dimshuffle("x", 0)), "int64")
    onehot_p = E.cast(E.eq(pred.dimshuffle(0, "x"), order.dimshuffle("x", 0)), "int64")
    return [T.dot(onehot_a.T, onehot_p), order]


def _unique_sorted(v):
    import symgraph.tensor as T
    s = T.sort(v)
    keep = T.concatenate([T.ones((1,), dtype="bool"), E.neq(s[1:], s[:-1])])
    return s[keep]


def h_softmax(x, batch_size, n_outputs, n_classes, n_outputs_per_class, W1, b1, W2, b2,
              target=None):
    """Two-level hierarchical softmax: class probabilities times within-class probabilities.
    With ``target`` (integer labels), the probability of each target; without, the full
    ``(batch, n_outputs)`` matrix. ``batch_size`` (Theano's reshapes used it) is checked
    against ``x``'s static batch size when both are known; the batch size is taken from ``x``
    when the graph runs."""
    import symgraph.tensor as T
    x = as_tensor_variable(x)
    if isinstance(batch_size, (int, np.integer)) and x.type.shape[0] not in (None, batch_size):
        raise ValueError(f"h_softmax: batch_size = {batch_size} but {x} has static shape "
                         f"{x.type.shape}")
    class_probs = _nnet.softmax(T.dot(x, W1) + b1)
    if target is None:
        # (batch, n_classes, per_class): every class's softmax over its outputs
        act = T.tensordot(x, W2, axes=[[1], [1]]) + b2.dimshuffle("x", 0, 1)
        out_probs = _nnet.softmax(act, axis=-1)
        full = class_probs.dimshuffle(0, 1, "x") * out_probs
        return full.reshape((x.shape[0], n_classes * n_outputs_per_class))[:, :n_outputs]
    target = as_tensor_variable(target)
    cls = target // n_outputs_per_class
    within = target % n_outputs_per_class
    W = W2[cls]  # (batch, features, per_class)
    act = T.batched_dot(x, W) + b2[cls]
    out_probs = _nnet.softmax(act, axis=-1)
    idx = T.arange(x.shape[0])
    return class_probs[idx, cls] * out_probs[idx, within]


__all__ = ["to_one_hot"]
