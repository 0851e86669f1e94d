"""``theano.tensor.elemwise``: the op classes of elementwise maps, broadcasting and
reductions."""
from symgraph.ops.elemwise import Elemwise  # noqa: F401
from symgraph.ops.reduce import Reduce as CAReduce  # noqa: F401
from symgraph.ops.shape import DimShuffle  # noqa: F401
from symgraph.ops.variable import (TensorConstant, TensorVariable,  # noqa: F401
                                   as_tensor_variable)
from symgraph.compat.theano.tensor.basic import TensorType  # noqa: F401

CAReduceDtype = Sum = Prod = All = Any = ProdWithoutZeros = MulWithoutZeros = CAReduce

from symgraph.graph import Apply  # noqa: E402,F401
from symgraph.op import Op  # noqa: E402,F401
from symgraph.compat.theano.gof.op import COp, OpenMPOp  # noqa: E402,F401
from symgraph.compat.theano.gof.null_type import DisconnectedType, NullType  # noqa: E402,F401
from symgraph.config import change_flags  # noqa: E402,F401
from symgraph.compat.theano import scalar  # noqa: E402,F401
from symgraph.ops.elemwise import mul as mul_without_zeros  # noqa: E402,F401
from symgraph.compat.theano.printing import pprint  # noqa: E402,F401
