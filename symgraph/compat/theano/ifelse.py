"""``theano.ifelse.ifelse``: a conditional between two tensors (or lists of tensors).

Both branches are computed (symgraph has no lazy evaluation); the result is the selected one,
so programs that use ``ifelse`` for its value behave as under Theano (a branch that would fail
when not selected fails here too).
"""
from symgraph.ops.elemwise import switch
from symgraph.ops.variable import as_tensor_variable


def ifelse(condition, then_branch, else_branch, name=None):
    """``then_branch`` if the scalar ``condition`` is true, else ``else_branch``. ``name``
    (Theano's name of the IfElse node in printouts) changes nothing: the result is a
    ``switch``, which has no name of its own."""
    condition = as_tensor_variable(condition)
    if condition.ndim != 0:
        raise TypeError(f"ifelse: the condition must be a scalar, got {condition} of type "
                        f"{condition.type}")
    if isinstance(then_branch, (list, tuple)):
        if len(then_branch) != len(else_branch):
            raise ValueError("ifelse: the two branches must have the same number of outputs")
        return [switch(condition, a, b) for a, b in zip(then_branch, else_branch)]
    return switch(condition, then_branch, else_branch)


class IfElse:
    """Theano's op class of ``ifelse``: ``IfElse(n_outs)(condition, *then, *else)``.

    ``as_view`` (Theano's outputs then shared the chosen branch's memory instead of copying
    it), ``gpu`` and ``name`` change nothing: the values are the same and symgraph's linker
    decides on copies itself; there is no GPU."""

    def __init__(self, n_outs, as_view=False, gpu=False, name=None):
        self.n_outs = int(n_outs)

    def __call__(self, condition, *branches):
        then, other = branches[:self.n_outs], branches[self.n_outs:]
        out = ifelse(condition, list(then), list(other))
        return out[0] if self.n_outs == 1 else out


from symgraph.graph import Apply  # noqa: E402,F401
from symgraph.op import Op  # noqa: E402,F401
from symgraph.compat.theano.tensor.basic import TensorType  # noqa: E402,F401
from symgraph.compat.theano.scan_module.scan_utils import clone  # noqa: E402,F401
