"""``theano.tensor.subtensor``: indexing functions under Theano's names (every kind of index
is one symgraph op family: basic slices are views, integer arrays and masks are advanced)."""
from symgraph.ops.subtensor import (AdvancedIncSubtensor, AdvancedSubtensor,  # noqa: F401
                                    IncSubtensor, Subtensor, inc_subtensor, set_subtensor, take)
from symgraph.ops.variable import as_tensor_variable

AdvancedSubtensor1 = AdvancedSubtensor
AdvancedIncSubtensor1 = AdvancedIncSubtensor
AdvancedBooleanSubtensor = AdvancedSubtensor
AdvancedBooleanIncSubtensor = AdvancedIncSubtensor


def advanced_subtensor(x, *args):
    """``x[args]`` with integer-array (or boolean) entries."""
    return as_tensor_variable(x)[tuple(args)]


def advanced_subtensor1(x, ilist):
    """``x[ilist]`` for an integer vector ``ilist``."""
    return as_tensor_variable(x)[ilist]


advanced_boolean_subtensor = advanced_subtensor


def advanced_inc_subtensor(x, y, *args):
    """``x`` with ``y`` added at ``x[args]`` (repeated indices accumulate)."""
    return inc_subtensor(as_tensor_variable(x)[tuple(args)], y)


def advanced_set_subtensor(x, y, *args):
    """``x`` with ``x[args]`` set to ``y``."""
    return set_subtensor(as_tensor_variable(x)[tuple(args)], y)


def advanced_inc_subtensor1(x, y, ilist):
    return inc_subtensor(as_tensor_variable(x)[ilist], y)


def advanced_set_subtensor1(x, y, ilist):
    return set_subtensor(as_tensor_variable(x)[ilist], y)


advanced_boolean_inc_subtensor = advanced_inc_subtensor
advanced_boolean_set_subtensor = advanced_set_subtensor
