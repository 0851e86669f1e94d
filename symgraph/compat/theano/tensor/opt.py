"""``theano.tensor.opt``: Theano's graph rewrites. symgraph has its own rewrite engine
(:mod:`symgraph.rewrite`); of this module programs use only the helpers below."""
from symgraph.compat.theano.tensor.basic import (  # noqa: F401
    NotScalarConstantError, get_scalar_constant_value)
from symgraph.ops.elemwise import Elemwise  # noqa: F401


def register_canonicalize(*args, **kwargs):
    raise NotImplementedError("register_canonicalize: Theano's optimizer registry has no "
                              "counterpart; symgraph rewrites are registered with "
                              "symgraph.rewrite.engine.register(phase, *targets)")


register_specialize = register_stabilize = register_uncanonicalize = register_canonicalize
