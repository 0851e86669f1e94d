"""``theano.tensor.nnet``: symgraph's neural-network functions, Theano's ``conv2d`` (the
abstract one, with groups and the transposes), and the submodules ``conv``,
``abstract_conv``, ``neighbours``, ``bn``, reached as attributes."""
import importlib

from symgraph.tensor.nnet import *  # noqa: F401,F403
from symgraph.tensor.nnet import (  # noqa: F401
    softmax, logsoftmax, log_softmax, softmax_with_bias, sigmoid, softplus, relu, elu, selu,
    softsign, hard_sigmoid, ultra_fast_sigmoid, binary_crossentropy, categorical_crossentropy,
    sigmoid_binary_crossentropy, crossentropy_softmax_1hot, crossentropy_softmax_1hot_with_bias,
    crossentropy_softmax_argmax_1hot_with_bias, crossentropy_categorical_1hot, to_one_hot,
    Softmax, LogSoftmax, SoftmaxGrad, CrossentropyCategorical1Hot)
from symgraph.ops.nnet import CrossentropyCategorical1HotGrad  # noqa: F401
from symgraph.ops.batchnorm import batch_normalization  # noqa: F401
from symgraph.compat.theano.tensor.nnet.abstract_conv import (  # noqa: F401
    conv2d, conv2d_grad_wrt_inputs, conv2d_transpose, separable_conv2d, conv3d)
from symgraph.compat.theano.tensor.nnet.neighbours import images2neibs, neibs2images  # noqa
from symgraph.compat.theano.tensor.nnet.extra import (  # noqa: F401
    confusion_matrix, h_softmax, softmax_graph, softmax_op, logsoftmax_op, sigm,
    scalar_sigmoid, sigmoid_inplace, softmax_grad, prepend_0_to_each_row,
    prepend_1_to_each_row, prepend_scalar_to_each_row, crossentropy_categorical_1hot_grad,
    SoftmaxWithBias, crossentropy_softmax_max_and_argmax_1hot,
    crossentropy_softmax_max_and_argmax_1hot_with_bias, crossentropy_softmax_1hot_with_bias_dx)

abstract_conv2d = conv2d

_SUBMODULES = ("conv", "abstract_conv", "neighbours", "bn", "nnet", "sigm", "opt", "corr",
               "corr3d", "blocksparse", "ctc")


def __getattr__(name):
    if name in _SUBMODULES:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"theano.tensor.nnet.{name} is not available in symgraph "
                                 f"(see docs/theano_compat.md)") from None
    raise AttributeError(f"module 'theano.tensor.nnet' (symgraph) has no attribute {name!r}")
