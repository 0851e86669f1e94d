"""``theano.tensor.nnet`` in symgraph: activations, softmax, cross-entropies, batch norm,
dropout, and (from their own modules) convolution.

Thin re-exports of :mod:`symgraph.ops.nnet`, except :func:`softmax` and :func:`logsoftmax`,
which keep Theano's behaviour on vectors (see their docstrings).
"""
from __future__ import annotations

import importlib

from symgraph.graph import Variable
from symgraph.ops.variable import as_tensor_variable
from symgraph.ops import nnet as _nnet
from symgraph.ops.nnet import (  # noqa: F401
    sigmoid, softplus, tanh, hard_sigmoid, relu, elu, selu, softsign, to_one_hot,
    categorical_crossentropy, binary_crossentropy, sigmoid_binary_crossentropy,
    squared_error, mean_squared_error, dropout, Softmax, LogSoftmax, SoftmaxGrad,
    CrossentropyCategorical1Hot)
from symgraph.ops.softmax_xent import (  # noqa: F401
    SoftmaxCrossentropyWithLogits, crossentropy_softmax_1hot, softmax_cross_entropy_with_logits)

ultra_fast_sigmoid = sigmoid
#: Theano's op instances
crossentropy_categorical_1hot = CrossentropyCategorical1Hot()


def _as_matrix(c) -> Variable:
    c = as_tensor_variable(c)
    return c.dimshuffle("x", 0) if c.ndim == 1 else c


def softmax(c, axis: int = -1) -> Variable:
    """Softmax along ``axis``. As in Theano, a vector ``c`` gives a ``(1, n)`` matrix (one
    row); use :func:`symgraph.ops.nnet.softmax` to keep a vector a vector."""
    return _nnet.softmax(_as_matrix(c), axis)


def logsoftmax(c, axis: int = -1) -> Variable:
    """Stable ``log(softmax(c))``; a vector gives a ``(1, n)`` matrix, as :func:`softmax`."""
    return _nnet.log_softmax(_as_matrix(c), axis)


log_softmax = logsoftmax


def softmax_with_bias(x, b) -> Variable:
    """``softmax(x + b)`` with ``b`` broadcast over the rows of ``x``."""
    return softmax(as_tensor_variable(x) + b)


def crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx):
    """Theano's triple ``(nll, softmax(x + b), argmax(x + b))`` for integer labels."""
    z = as_tensor_variable(x) + b
    nll, sm = crossentropy_softmax_1hot(z, y_idx)
    return nll, sm, z.argmax(axis=-1)


def crossentropy_softmax_1hot_with_bias(x, b, y_idx):
    """``(nll, softmax(x + b))`` for integer labels."""
    return crossentropy_softmax_1hot(as_tensor_variable(x) + b, y_idx)


#: names served by sibling modules, imported on first use (``T.nnet.conv2d``, ``T.nnet.bn``)
_LAZY = {"conv2d": ("symgraph.ops.conv", "conv2d"), "conv": ("symgraph.tensor.nnet.conv", None),
         "bn": ("symgraph.tensor.nnet.bn", None),
         "batch_normalization": ("symgraph.ops.batchnorm", "batch_normalization"),
         "batch_normalization_train": ("symgraph.ops.batchnorm", "batch_normalization_train"),
         "batch_normalization_test": ("symgraph.ops.batchnorm", "batch_normalization_test")}


def __getattr__(name):
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        return mod if attr is None else getattr(mod, attr)
    raise AttributeError(f"module 'symgraph.tensor.nnet' has no attribute {name!r}")
