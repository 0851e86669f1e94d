"""Every op family, and the functions users call to build graphs with them."""
from symgraph.ops.elemwise import *  # noqa: F401,F403
from symgraph.ops.elemwise import abs, pow, round  # noqa: F401  (shadow builtins on purpose)
from symgraph.ops.reduce import (sum, prod, max, min, all, any, mean, var, std, norm,  # noqa
                                 argmax, argmin)
from symgraph.ops.shape import (shape, shape_i, reshape, flatten, dimshuffle, transpose,  # noqa
                                alloc)
from symgraph.ops.specify import specify_shape  # noqa: F401
from symgraph.ops.blas import dot, outer  # noqa: F401
from symgraph.ops.subtensor import getitem, set_subtensor, inc_subtensor, take  # noqa: F401
from symgraph.ops.join import (Join, Split, ARange, Repeat, join, concatenate, split,  # noqa
                              stack, arange, zeros, ones, squeeze, swapaxes, repeat, tile,
                              horizontal_stack, vertical_stack, eye, identity_like)
from symgraph.ops.linalg import Matmul, TensorDot, matmul, tensordot, batched_dot  # noqa

# every family has loaded: code inside the families may now reach any of them through T
import sys as _sys  # noqa: E402
from symgraph.ops import namespace as _namespace  # noqa: E402
_namespace.bind(_sys.modules[__name__])
