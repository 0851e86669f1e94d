"""Reverse-mode differentiation as a graph transformation.

``grad`` walks the toposorted graph backwards from the cost, sums the contributions of every
client of a variable, and calls each op's ``grad`` rule. The result is an ordinary graph: it is
rewritten and compiled like any other, and can be differentiated again.

An op's ``grad`` returns, per input, a variable, ``None`` (the output does not depend
differentiably on that input: integer results, argmax, ...), or :data:`disconnected` (no
dependence at all, as for ``disconnected_grad``).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

from symgraph.gc_pause import gc_paused
from symgraph.graph import Apply, Constant, Variable, ancestors, clone_replace, toposort
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S
from symgraph.ops.shape import Shape, ShapeI
from symgraph.ops.variable import TensorVariable, as_tensor_variable, constant
from symgraph.types import TensorType, discrete_dtypes


class _Disconnected:
    """Marker returned by an op's ``grad`` for an input the output does not depend on."""

    def __repr__(self):
        return "disconnected"


disconnected = _Disconnected()


class DisconnectedInputError(ValueError):
    """``wrt`` is not part of the graph of the cost."""


class NullGradError(TypeError):
    """The cost depends on ``wrt`` only through non-differentiable (integer) operations."""


class _IdentityWithGrad(Op):
    """Identity in the forward pass; subclasses say what becomes of the gradient flowing back."""

    view_map = {0: [0]}

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorVariable(x.type)])

    def perform(self, x):
        return x

    def emit(self, names):
        return names[0]

    def infer_shape(self, node, shapes):
        return shapes


class GradientBlock(_IdentityWithGrad):
    """Identity in the forward pass; blocks gradients (``disconnected_grad``/``stop_gradient``).

    Gradient: none (the input is treated as a constant).
    """

    def grad(self, inputs, outputs, output_grads):
        return [disconnected]


_block = GradientBlock()


def disconnected_grad(x) -> Variable:
    """``x`` with gradients stopped: the cost is treated as constant in ``x`` through here."""
    return _block(x)


stop_gradient = zero_grad = disconnected_grad


class GradClip(_IdentityWithGrad):
    """Identity whose gradient is clipped to ``[lower, upper]``. Gradient:
    ``clip(gz, lower, upper)``."""

    props = ("lower", "upper")

    def __init__(self, lower: float, upper: float):
        if upper < lower:
            raise ValueError(f"grad_clip: upper bound {upper} is below lower bound {lower}")
        self.lower, self.upper = float(lower), float(upper)

    def grad(self, inputs, outputs, output_grads):
        return [E.clip(output_grads[0], self.lower, self.upper)]


class GradScale(_IdentityWithGrad):
    """Identity whose gradient is multiplied by ``multiplier``. Gradient: ``multiplier * gz``."""

    props = ("multiplier",)

    def __init__(self, multiplier: float):
        self.multiplier = float(multiplier)

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0] * self.multiplier]


class UndefinedGrad(_IdentityWithGrad):
    """Identity with an undefined gradient: a cost reaching ``wrt`` only through it raises
    :class:`NullGradError`."""

    def grad(self, inputs, outputs, output_grads):
        return [None]


def grad_clip(x, lower_bound: float, upper_bound: float) -> Variable:
    """``x``, whose gradient is clipped elementwise to ``[lower_bound, upper_bound]``."""
    return GradClip(lower_bound, upper_bound)(x)


def grad_scale(x, multiplier: float) -> Variable:
    """``x``, whose gradient is multiplied by ``multiplier`` (negative: gradient reversal)."""
    return GradScale(multiplier)(x)


def undefined_grad(x) -> Variable:
    """``x``, through which the gradient is undefined."""
    return UndefinedGrad()(x)


def _as_list(wrt):
    if isinstance(wrt, (list, tuple)):
        return list(wrt), type(wrt)
    return [wrt], None


def grad(cost: Optional[Variable], wrt, consider_constant: Optional[Sequence[Variable]] = None,
         disconnected_inputs: str = "raise", add_names: bool = True,
         known_grads: Optional[Dict[Variable, Variable]] = None,
         return_disconnected: str = "zero", null_gradients: str = "raise"):
    """Symbolic gradient of the scalar ``cost`` with respect to ``wrt``.

    Parameters
    ----------
    cost : scalar Variable or None
        ``None`` only together with ``known_grads``.
    wrt : Variable or list of Variable
        The result has the same structure.
    consider_constant : list of Variable
        Treated as constants: no gradient flows through them.
    disconnected_inputs : {'raise', 'warn', 'ignore'}
        What to do when an element of ``wrt`` does not reach the cost.
    known_grads : dict
        Gradients of the cost w.r.t. intermediate variables, to start the backward pass from.
    return_disconnected : {'zero', 'None', 'disconnected'}
        What to return for disconnected ``wrt`` (when not raising).
    null_gradients : {'raise', 'return'}
        A ``wrt`` reached only through integer paths raises ``NullGradError``, or with
        ``'return'`` gives what ``return_disconnected`` says (zeros by default).
    """
    if null_gradients not in ("raise", "return"):
        raise ValueError(f"null_gradients must be 'raise' or 'return', got {null_gradients!r}")
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"disconnected_inputs must be 'raise', 'warn' or 'ignore', got "
                         f"{disconnected_inputs!r}")
    wrt_list, container = _as_list(wrt)
    for w in wrt_list:
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt must be symbolic variables, got {type(w).__name__}")
        if w.dtype in discrete_dtypes:
            raise TypeError(f"grad: cannot differentiate with respect to {w}, of integer/bool "
                            f"type {w.type}")
    seeds: Dict[Variable, Variable] = {}
    if cost is not None:
        if not isinstance(cost, Variable):
            raise TypeError(f"grad: cost must be a symbolic variable, got {type(cost).__name__}")
        if cost.ndim != 0:
            raise TypeError(f"grad: cost must be a scalar, got {cost} of type {cost.type}; "
                            f"reduce it first (e.g. cost.sum() or cost.mean())")
        if cost.dtype in discrete_dtypes:
            raise TypeError(f"grad: cost {cost} has integer/bool type {cost.type}")
        # d cost / d cost = 1: a constant (ones_like(cost) would make every gradient graph
        # compute the cost too, and need all of its inputs)
        seeds[cost] = constant(1, dtype=cost.dtype)
    elif not known_grads:
        raise ValueError("grad: cost is None and no known_grads were given")
    for var, g in (known_grads or {}).items():
        g = as_tensor_variable(g)
        if g.ndim != var.ndim:
            raise TypeError(f"grad: known gradient of {var} has {g.ndim} dims, expected "
                            f"{var.ndim}")
        if g.dtype != var.dtype and var.dtype not in discrete_dtypes:
            g = E.cast(g, var.dtype)
        seeds[var] = seeds[var] + g if var in seeds else g

    with gc_paused():  # linear time on large graphs: see symgraph.gc_pause
        grads = _backprop(list(seeds), seeds, wrt_list, set(consider_constant or ()))
    result = []
    for w in wrt_list:
        g = grads.get(w)
        if g is _ZERO:
            g = E.zeros_like(w)
        if isinstance(g, Variable):
            if add_names and g.name is None and w.name:
                g.name = f"(d cost / d {w.name})"
            result.append(g)
            continue
        if g is _UNDEFINED and null_gradients == "raise":
            raise NullGradError(
                f"grad: the cost depends on {w} only through non-differentiable operations "
                f"(integer casts, argmax, integer arithmetic...); its gradient is undefined")
        if g is _UNDEFINED:
            # null_gradients='return': what return_disconnected asks for, without complaint
            result.append(E.zeros_like(w) if return_disconnected == "zero" else
                          None if return_disconnected == "None" else disconnected)
            continue
        msg = (f"grad: {w} (type {w.type}) is not part of the computational graph of the "
               f"cost, or is used only by a non-differentiable operator or behind "
               f"disconnected_grad/consider_constant")
        if disconnected_inputs == "raise":
            raise DisconnectedInputError(msg + "; pass disconnected_inputs='ignore' to get "
                                               "zeros")
        if disconnected_inputs == "warn":
            import warnings
            warnings.warn(msg, stacklevel=2)
        if return_disconnected == "zero":
            result.append(E.zeros_like(w))
        elif return_disconnected == "None":
            result.append(None)
        else:
            result.append(disconnected)
    if container is None:
        return result[0]
    return container(result)


#: ops whose output depends on the shape of their input only: no gradient path at all
_SHAPE_OPS = (Shape, ShapeI)
_UNDEFINED = object()
#: a gradient known to be zero everywhere (comparisons, floor, sign...): never materialised as a
#: ``0 *`` or ``+ zeros`` term, only as ``zeros_like(wrt)`` when nothing else reaches ``wrt``
_ZERO = object()


def is_zero_gradient(g) -> bool:
    """True for a gradient that is identically zero: a zero constant or ``zeros_like(x)``."""
    owner = getattr(g, "owner", None)
    while owner is not None and isinstance(owner.op, E.Elemwise) and \
            owner.op.scalar_op == S.second:
        g = owner.inputs[1]
        owner = g.owner
    return isinstance(g, Constant) and g.data.size > 0 and not np.any(g.data)


def _backprop(roots: List[Variable], seeds: Dict[Variable, Variable], wrt: List[Variable],
              constants: set) -> Dict[Variable, object]:
    """Accumulate gradients from ``seeds`` back to ``wrt``.

    Returns ``var -> Variable`` (a gradient), ``_ZERO`` (reached only through rules whose
    gradient is identically zero, such as comparisons) or ``_UNDEFINED`` (reached only through
    non-differentiable rules: integer paths). A defined gradient wins over zero, and zero over
    undefined, when several paths reach a variable.
    """
    wrt_set = set(wrt)
    # no stop at wrt: with wrt = [h, x] and h = f(x), the gradient of x includes the path
    # through h (the same total derivative as grad(cost, x) alone)
    order = toposort(roots)
    # forward: which variables depend on wrt (through non-constant paths)?
    depends = set(wrt_set)
    for node in order:
        if any(i in depends and i not in constants for i in node.inputs):
            depends.update(node.outputs)
    contrib: Dict[Variable, List[Variable]] = {}
    undefined: set = set()
    zero: set = set()
    for var, g in seeds.items():
        contrib.setdefault(var, []).append(g)

    def total(var: Variable) -> Optional[Variable]:
        terms = contrib.get(var)
        if not terms:
            return None
        if len(terms) == 1:
            return terms[0]
        return E.add(*terms)

    for node in reversed(order):
        live = [i for i in node.inputs if i in depends and i not in constants]
        if not live:
            continue
        if not any(o in contrib for o in node.outputs):
            # no gradient flows here; a zero one (or a bool result of a comparison, whose
            # gradient is zero by definition) makes the inputs' gradient zero too; an undefined
            # one makes them undefined, except through shape ops (disconnected, as in Theano)
            reached_undefined = any(o in undefined for o in node.outputs)
            if any(o in zero for o in node.outputs) or \
                    (reached_undefined and all(o.dtype == "bool" for o in node.outputs)):
                for inp in live:
                    if inp.dtype not in discrete_dtypes:
                        zero.add(inp)
                    else:
                        undefined.add(inp)
            elif reached_undefined and not isinstance(node.op, _SHAPE_OPS):
                undefined.update(live)
            continue
        out_grads = []
        for o in node.outputs:
            g = total(o)
            if g is None:
                g = E.zeros_like(o) if o.dtype not in discrete_dtypes else None
            out_grads.append(g)
        # accumulated terms become one variable, so later nodes reuse it
        for o, g in zip(node.outputs, out_grads):
            if o in contrib and g is not None:
                contrib[o] = [g]
        in_grads = node.op.vjp(node, out_grads)
        if len(in_grads) != len(node.inputs):
            raise ValueError(f"{node.op}.grad returned {len(in_grads)} gradients for "
                             f"{len(node.inputs)} inputs")
        for inp, g in zip(node.inputs, in_grads):
            if inp not in depends or inp in constants or g is disconnected:
                continue
            if g is None:
                undefined.add(inp)
                continue
            g = as_tensor_variable(g)
            if g.ndim != inp.ndim:
                raise ValueError(f"{node.op}.grad returned a {g.ndim}-d gradient for the "
                                 f"{inp.ndim}-d input {inp}")
            if is_zero_gradient(g):
                zero.add(inp)
                continue
            if g.dtype != inp.dtype:
                g = E.cast(g, inp.dtype)
            contrib.setdefault(inp, []).append(g)
    result: Dict[Variable, object] = {}
    for w in wrt:
        g = total(w)
        if g is not None:
            result[w] = g
        elif w in zero:
            result[w] = _ZERO
        elif w in undefined:
            result[w] = _UNDEFINED
    return result


def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """Vector-Jacobian product ``eval_points^T . d f / d wrt`` (``f`` may be a list)."""
    fs, _ = _as_list(f)
    vs, _ = _as_list(eval_points)
    if len(fs) != len(vs):
        raise ValueError(f"Lop: {len(fs)} expressions but {len(vs)} eval_points")
    known = {}
    for fi, v in zip(fs, vs):
        v = as_tensor_variable(v)
        if v.ndim != fi.ndim:
            raise TypeError(f"Lop: eval point {v} has {v.ndim} dims, {fi} has {fi.ndim}")
        known[fi] = v
    return grad(None, wrt, consider_constant=consider_constant, known_grads=known,
                disconnected_inputs=disconnected_inputs)


def Rop(f, wrt, eval_points, disconnected_outputs="raise"):
    """Jacobian-vector product ``d f / d wrt . eval_points``.

    Computed without per-op forward rules by transposing a vector-Jacobian product: with a
    dummy ``u`` of the type of ``f``, ``g(u) = J^T u`` is linear in ``u`` and
    ``J v = d <g(u), v> / d u``. The result does not depend on the value of ``u``, only on
    its shape (``zeros_like``-style shape carriers), so ``u`` is finally replaced by ``f``.
    """
    if disconnected_outputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"disconnected_outputs must be 'raise', 'warn' or 'ignore', got "
                         f"{disconnected_outputs!r}")
    fs, fcont = _as_list(f)
    ws, _ = _as_list(wrt)
    vs, _ = _as_list(eval_points)
    if len(ws) != len(vs):
        raise ValueError(f"Rop: {len(ws)} wrt but {len(vs)} eval_points")
    vs = [as_tensor_variable(v) for v in vs]
    for w, v in zip(ws, vs):
        if v.ndim != w.ndim:
            raise TypeError(f"Rop: eval point {v} has {v.ndim} dims, {w} has {w.ndim}")
    results = []
    for fi in fs:
        if not set(ws) & ancestors([fi]):
            msg = f"Rop: {fi} does not depend on any of {ws}; its Jacobian is zero"
            if disconnected_outputs == "raise":
                raise DisconnectedInputError(msg + " (pass disconnected_outputs='ignore')")
            if disconnected_outputs == "warn":
                import warnings
                warnings.warn(msg, stacklevel=2)
        u = TensorVariable(TensorType(fi.dtype, fi.type.shape), name="_rop_u")
        gs = Lop(fi, ws, u, disconnected_inputs="ignore")
        inner = None
        for g, v in zip(gs, vs):
            term = (g * v).sum()
            inner = term if inner is None else inner + term
        if inner is None:
            raise ValueError("Rop: no wrt given")
        jv = grad(inner, u, disconnected_inputs="ignore")
        results.append(clone_replace([jv], {u: fi})[0])
    return results if fcont is not None else results[0]
