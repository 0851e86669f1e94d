"""``theano.tensor``: :mod:`theano.tensor.basic` plus the submodules Theano programs reach as
attributes (``T.nnet``, ``T.signal``, ``T.extra_ops``, ...), imported on first use."""
from symgraph.compat.theano._lazy import submodule
from symgraph.compat.theano.tensor.basic import *  # noqa: F401,F403
from symgraph.compat.theano.tensor.basic import (  # noqa: F401  (names star-imports skip)
    abs, abs_, all, any, max, min, pow, round, sum, divmod, TensorType, tensor, scalar,
    NotScalarConstantError)
from symgraph.compat.theano.tensor.subtensor import (  # noqa: F401
    advanced_inc_subtensor, advanced_inc_subtensor1, advanced_set_subtensor,
    advanced_set_subtensor1, advanced_subtensor, advanced_subtensor1, advanced_boolean_subtensor,
    advanced_boolean_inc_subtensor, advanced_boolean_set_subtensor)

_SUBMODULES = ("basic", "elemwise", "nnet", "signal", "extra_ops", "slinalg", "nlinalg",
               "shared_randomstreams", "xlogx", "opt", "subtensor", "raw_random")


def __getattr__(name):
    return submodule(__name__, name, _SUBMODULES)
