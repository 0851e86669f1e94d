"""``theano.ifelse.ifelse``: a conditional between two tensors.

Both branches are computed (symgraph has no lazy evaluation); the result is the selected one,
so programs that only use ``ifelse`` for its value behave as under Theano.
"""
from symgraph.ops.elemwise import switch


def ifelse(condition, then_branch, else_branch, name=None):
    """``then_branch`` if the scalar ``condition`` is true, else ``else_branch``."""
    if isinstance(then_branch, (list, tuple)):
        return [switch(condition, a, b) for a, b in zip(then_branch, else_branch)]
    return switch(condition, then_branch, else_branch)
