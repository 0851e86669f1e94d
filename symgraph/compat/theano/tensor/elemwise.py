"""``theano.tensor.elemwise``: the op classes of elementwise maps, broadcasting and
reductions."""
from symgraph.ops.elemwise import Elemwise  # noqa: F401
from symgraph.ops.reduce import Reduce as CAReduce  # noqa: F401
from symgraph.ops.shape import DimShuffle  # noqa: F401
from symgraph.ops.variable import (TensorConstant, TensorVariable,  # noqa: F401
                                   as_tensor_variable)
from symgraph.compat.theano.tensor.basic import TensorType  # noqa: F401

CAReduceDtype = Sum = Prod = All = Any = ProdWithoutZeros = MulWithoutZeros = CAReduce
