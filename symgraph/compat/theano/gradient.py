"""``theano.gradient``: ``grad`` and friends in Theano's spelling, gradient-shaping ops
(``grad_clip``, ``grad_scale``, ``disconnected_grad``, ``zero_grad``, ``undefined_grad``)
and the markers Theano-style ops return from ``grad``."""
from __future__ import annotations

from symgraph import gradient as _g
from symgraph.gradient import (DisconnectedInputError, Lop, Rop,  # noqa: F401
                               disconnected_grad, grad, zero_grad)
from symgraph.gradient import NullGradError as NullTypeGradError  # noqa: F401
from symgraph.gradient import GradClip, GradScale, grad_clip, grad_scale  # noqa: F401
from symgraph.graph import Variable  # noqa: F401
from symgraph.jacobian import hessian, jacobian  # noqa: F401
from symgraph.testing import GradientError, numeric_grad_direction, verify_grad  # noqa: F401
from symgraph.compat.theano.gof.null_type import (DisconnectedType, NullMarker,  # noqa: F401
                                                  NullType)

consider_constant = disconnected_grad
GradientError = GradientError


disconnected_type = DisconnectedType()
null_type = NullType


def grad_not_implemented(op, x_pos, x, comment=""):
    """What an op's ``grad`` returns for an input whose gradient is not implemented: no
    gradient (a cost reaching ``wrt`` only through it raises ``NullTypeGradError``)."""
    return NullMarker(f"gradient of input {x_pos} ({x}) of {op} is not implemented {comment}")


def grad_undefined(op, x_pos, x, comment=""):
    """What an op's ``grad`` returns for an input where the gradient is mathematically
    undefined."""
    return NullMarker(f"gradient of input {x_pos} ({x}) of {op} is undefined {comment}")


def undefined_grad(x):
    """``x`` in the forward pass; a cost differentiated through it has no gradient there."""
    return _g.UndefinedGrad()(x)


def subgraph_grad(wrt, end, start=None, cost=None, details=False):
    """Gradients of ``cost`` (and of ``start``, a dict ``{var: its gradient}``) w.r.t. ``wrt``
    and w.r.t. ``end``, as Theano 1.0.5: ``(wrt gradients, end gradients)``, to chain partial
    backpropagations. The ``wrt`` gradients stop at ``end`` (its variables are held constant:
    what flows through them is the next call's ``start``). With ``details``, also the
    gradients from ``start`` alone and from ``cost`` alone, w.r.t. ``wrt`` and ``end``
    (None when not given): ``(wrt_grads, end_grads, start_grads, cost_grads)``."""
    from symgraph.graph import clone_replace
    if cost is None and not start:
        raise ValueError("subgraph_grad: give a cost or start gradients")
    wrt, end = list(wrt), list(end)
    # each end variable becomes a fresh leaf: gradients reach it but do not go past it
    cut = {e: e.clone() for e in end}
    back = {c: e for e, c in cut.items()}
    params = wrt + [cut[e] for e in end]

    def through(g):
        return clone_replace(g, back) if back else g

    start_grads = cost_grads = None
    if start:
        keys = list(start)
        known = dict(zip(clone_replace(keys, cut), [start[k] for k in keys]))
        start_grads = through(grad(None, params, known_grads=known,
                                   disconnected_inputs="ignore"))
    if cost is not None:
        cost_grads = through(grad(clone_replace([cost], cut)[0], params,
                                  disconnected_inputs="ignore"))
    if start_grads is None:
        grads = cost_grads
    elif cost_grads is None:
        grads = start_grads
    else:
        grads = [a + b for a, b in zip(start_grads, cost_grads)]
    wrt_grads, end_grads = grads[:len(wrt)], grads[len(wrt):]
    if details:
        return wrt_grads, end_grads, start_grads, cost_grads
    return wrt_grads, end_grads


def format_as(use_list, use_tuple, outputs):
    """``outputs`` as a list, a tuple or a single item, as asked."""
    if use_list:
        return list(outputs)
    if use_tuple:
        return tuple(outputs)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    if len(outputs) != 1:
        raise ValueError("format_as: expected one output")
    return outputs[0]


def numeric_grad(f, pt, eps=None, out_type=None):
    raise NotImplementedError("numeric_grad: use theano.gradient.verify_grad (symgraph checks "
                              "one random direction by central differences)")


ConsiderConstant = DisconnectedGrad = ZeroGrad = _g.GradientBlock
UndefinedGrad = _g.UndefinedGrad


consider_constant_ = zero_grad_ = disconnected_grad_ = _g.GradientBlock()
undefined_grad_ = _g.UndefinedGrad()
from symgraph.compat.theano.compile.mode import get_mode  # noqa: E402,F401
from symgraph.compat.theano.compile.debugmode import DebugMode  # noqa: E402,F401
from symgraph.compat.theano.compile.mode import FAST_RUN  # noqa: E402,F401
from symgraph.compat.theano.compile.ops import ViewOp  # noqa: E402,F401
from symgraph.compat.theano.gof.op import get_debug_values  # noqa: E402,F401


def grad_time():
    return 0.0


def mode_not_slow(mode):
    """``mode``, or FAST_RUN when ``mode`` is a slow checking mode."""
    from symgraph.compile.mode import get_mode as core_get_mode
    m = core_get_mode(mode) if not hasattr(mode, "phases") else mode
    return FAST_RUN if m.check else m


def sparse_grad(var):
    """Theano's sparse gradient of advanced indexing: symgraph gradients are dense."""
    raise NotImplementedError("sparse_grad: gradients of advanced indexing are dense in "
                              "symgraph")
