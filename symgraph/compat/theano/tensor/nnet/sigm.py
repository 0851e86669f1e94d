"""``theano.tensor.nnet.sigm``: the sigmoid family."""
from symgraph.ops.elemwise import sigmoid, softplus  # noqa: F401
from symgraph.ops.nnet import hard_sigmoid  # noqa: F401

ultra_fast_sigmoid = sigmoid
scalar_sigmoid = sigmoid
