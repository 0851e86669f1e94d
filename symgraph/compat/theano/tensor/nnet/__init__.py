"""``theano.tensor.nnet``: symgraph's neural-network functions, Theano's ``conv2d`` (the
abstract one, with groups and the transposes), and the submodules ``conv``,
``abstract_conv``, ``neighbours``, ``bn``, reached as attributes."""
from symgraph.compat.theano._lazy import submodule
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
    return submodule(__name__, name, _SUBMODULES)


from symgraph.ops.conv import Conv2d as ConvOp  # noqa: E402,F401
from symgraph.compat.theano.tensor.nnet.extra import (  # noqa: E402,F401
    prepend_scalar_to_each_row as Prepend_scalar_to_each_row,
    prepend_scalar_to_each_row as Prepend_scalar_constant_to_each_row,
    crossentropy_softmax_1hot_with_bias_dx as CrossentropySoftmax1HotWithBiasDx)
from symgraph.tensor.nnet import (  # noqa: E402,F401
    crossentropy_softmax_argmax_1hot_with_bias as CrossentropySoftmaxArgmax1HotWithBias)

from symgraph.compat.theano.tensor.nnet.sigm import ultra_fast_sigmoid  # noqa: E402,F401,F811
