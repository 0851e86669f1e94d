"""The shared machinery of every optimizer: gradients, clipping, weight decay, state, ordering.

A subclass only writes :meth:`Optimizer.step`, the update maths of one parameter; everything
else (checking the inputs, computing gradients with :func:`symgraph.grad`, clipping, L2 weight
decay, creating the state shared variables, the step counter and the order of the updates)
lives here once.
"""
from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

import symgraph
import symgraph.tensor as T
from symgraph.gradient import DisconnectedInputError
from symgraph.graph import Variable
from symgraph.shared import SharedVariable

#: a hyper-parameter: a Python/NumPy number (weak: keeps the parameter's dtype), a symbolic
#: scalar, or a scalar shared variable (for schedules)
Hyper = Union[float, Variable]


#: the allowed range of each hyper-parameter an optimizer may have, by attribute name:
#: (lowest, highest, lowest allowed, highest allowed); the same limits as torch.optim's checks
#: (which also refuse a negative learning rate everywhere)
LIMITS: Dict[str, Tuple[float, float, bool, bool]] = {
    "lr": (0.0, math.inf, True, False),
    "momentum": (0.0, math.inf, True, False),
    "beta1": (0.0, 1.0, True, False),
    "beta2": (0.0, 1.0, True, False),
    "alpha": (0.0, math.inf, True, False),
    "rho": (0.0, 1.0, True, True),
    "eps": (0.0, math.inf, True, False),
    "weight_decay": (0.0, math.inf, True, False),
    "clip_norm": (0.0, math.inf, False, False),
    "clip_value": (0.0, math.inf, False, False),
}

#: what a refused value means, for the hyper-parameters where a user may expect otherwise
_HINTS = {"lr": " (a negative rate climbs the cost instead of descending it; to maximise an "
                "objective, minimise its negative)"}


def check_hyper(value: Hyper, what: str, name: str) -> None:
    """Refuse a hyper-parameter value outside :data:`LIMITS` (ValueError naming ``what``).

    Numbers and scalar shared variables (checked at their current value, e.g. the first value
    of a schedule) are checked; other symbolic expressions cannot be, and pass. A value of the
    wrong kind raises TypeError, as :func:`as_hyper` does.
    """
    if value is None or name not in LIMITS:
        return
    if isinstance(value, Variable):
        if value.ndim != 0:
            raise TypeError(f"{what} must be a scalar, got {value} of type {value.type}")
        if not isinstance(value, SharedVariable):
            return
        number = float(value.get_value(borrow=True))
    elif isinstance(value, (numbers.Real, np.generic, np.ndarray)) \
            and not isinstance(value, bool) and np.ndim(value) == 0:
        number = float(value)
    else:
        raise TypeError(f"{what} must be a number or a symbolic scalar, got "
                        f"{type(value).__name__}")
    low, high, low_ok, high_ok = LIMITS[name]
    inside = ((low < number or (low_ok and number == low))
              and (number < high or (high_ok and number == high)))
    if not inside:
        bounds = []
        if low > -math.inf:
            bounds.append(f"{'>=' if low_ok else '>'} {low:g}")
        if high < math.inf:
            bounds.append(f"{'<=' if high_ok else '<'} {high:g}")
        raise ValueError(f"{what} must be {' and '.join(bounds)}, got {number!r}"
                         + _HINTS.get(name, ""))


def as_hyper(value: Hyper, dtype: str, what: str) -> Hyper:
    """``value`` ready to combine with a parameter of ``dtype`` without changing its dtype.

    Numbers stay Python numbers (symgraph's weak scalars take the tensor's dtype); symbolic
    scalars are cast to ``dtype`` when they differ, so a float64 learning-rate schedule never
    upcasts float32 parameters.
    """
    if isinstance(value, Variable):
        if value.ndim != 0:
            raise TypeError(f"{what} must be a scalar, got {value} of type {value.type}")
        return value if value.dtype == dtype else T.cast(value, dtype)
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return float(value)
    raise TypeError(f"{what} must be a number or a symbolic scalar, got "
                    f"{type(value).__name__}")


class Optimizer:
    """Base class: turns a cost (or gradients) and shared parameters into ordered updates.

    Gradient pre-processing, in this order, before the optimizer's own rule:

    1. ``clip_value``: ``g ← clip(g, -clip_value, clip_value)`` elementwise;
    2. ``clip_norm``: with ``n = sqrt(Σ_params Σ g²)`` (the global norm over all parameters),
       ``g ← g · clip_norm / max(n, clip_norm)`` (unchanged when ``n ≤ clip_norm``);
    3. ``weight_decay`` (L2): ``g ← g + weight_decay · p`` (AdamW decouples it instead).

    The returned ``OrderedDict`` lists the parameters in the order given, then the state of
    each parameter (in the class's ``state_names`` order, parameter by parameter), then the
    step counter ``t`` (an int64 scalar; the update of step ``t`` uses ``t`` starting at 1).
    """

    #: names of the per-parameter state variables, in update order
    state_names: Tuple[str, ...] = ()
    #: registry name (``optimizers.get(name)``)
    name: str = ""

    def __init__(self, *, weight_decay: Hyper = 0.0, clip_norm: Optional[Hyper] = None,
                 clip_value: Optional[Hyper] = None):
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self._state: List[SharedVariable] = []

    def validate(self) -> None:
        """Check every hyper-parameter against :data:`LIMITS` (ValueError or TypeError naming
        it). Constructors call this once their attributes are set, and :meth:`updates` again
        (a value changed since, or a shared schedule's current value)."""
        who = type(self).__name__
        for name, value in self.hyperparameters().items():
            check_hyper(value, f"{who}.{name}", name)

    # ----------------------------------------------------------------- what subclasses write
    def step(self, p: Variable, g: Variable, state: Dict[str, Variable], t: Variable
             ) -> Tuple[Variable, Dict[str, Variable]]:
        """The new value of ``p`` and of each state variable, from the gradient ``g``.

        ``state`` maps ``state_names`` to the current shared values; ``t`` is the step number
        (starting at 1) already cast to ``p``'s dtype.
        """
        raise NotImplementedError

    def hyper(self, name: str, dtype: str) -> Hyper:
        """The hyper-parameter ``name`` prepared for a parameter of ``dtype``."""
        return as_hyper(getattr(self, name), dtype, f"{type(self).__name__}.{name}")

    # ----------------------------------------------------------------------- public API
    @property
    def state(self) -> List[SharedVariable]:
        """The shared variables this optimizer created (per-parameter state, then the step
        counter), in update order, to save and restore with ``get_value``/``set_value``."""
        return list(self._state)

    def get_state_values(self) -> List[np.ndarray]:
        """Copies of the current values of :attr:`state`."""
        return [s.get_value() for s in self._state]

    def set_state_values(self, values: Sequence[np.ndarray]) -> None:
        """Restore values saved with :meth:`get_state_values`."""
        if len(values) != len(self._state):
            raise ValueError(f"{type(self).__name__}.set_state_values: got {len(values)} "
                             f"arrays for {len(self._state)} state variables")
        for s, v in zip(self._state, values):
            s.set_value(v)

    def updates(self, cost: Optional[Variable] = None, params: Optional[Sequence] = None, *,
                grads: Optional[Sequence[Variable]] = None,
                ignore_disconnected: bool = False) -> "OrderedDict[SharedVariable, Variable]":
        """Updates for ``params``: ``OrderedDict(shared -> new value)``.

        Parameters
        ----------
        cost : scalar Variable, optional
            Differentiated with :func:`symgraph.grad`; give either ``cost`` or ``grads``.
        params : sequence of SharedVariable
            The parameters to train, in the order their updates appear.
        grads : sequence of Variable, optional
            Precomputed gradients, one per parameter (same rank; cast to its dtype).
        ignore_disconnected : bool
            A parameter the cost does not depend on gets a zero gradient instead of an error.
        """
        who = type(self).__name__
        self.validate()
        if params is None:
            raise TypeError(f"{who}.updates: params is required")
        if isinstance(params, (SharedVariable, Variable)):
            params = [params]
        params = list(params)
        self._check_params(params)
        if grads is not None:
            if cost is not None:
                raise TypeError(f"{who}.updates: give either cost or grads, not both")
            grads = self._check_grads(params, list(grads))
        else:
            if cost is None:
                raise TypeError(f"{who}.updates: give a cost or grads=")
            grads = self._gradients(cost, params, ignore_disconnected)
        grads = self._preprocess(params, grads)

        t_shared = symgraph.shared(np.asarray(0, dtype="int64"), name=f"{self.name}_t")
        t_next = t_shared + 1
        updates: "OrderedDict[SharedVariable, Variable]" = OrderedDict()
        state_updates: List[Tuple[SharedVariable, Variable]] = []
        created: List[SharedVariable] = []
        for p, g in zip(params, grads):
            state = OrderedDict()
            for sname in self.state_names:
                label = f"{p.name or 'param'}_{sname}"
                s = symgraph.shared(np.zeros_like(p.get_value(borrow=True)), name=label,
                                    broadcastable=[d == 1 for d in p.type.shape])
                state[sname] = s
                created.append(s)
            new_p, new_state = self.step(p, g, state, T.cast(t_next, p.dtype))
            if set(new_state) != set(self.state_names):
                raise RuntimeError(f"{who}.step returned state {sorted(new_state)}, expected "
                                   f"{list(self.state_names)}")
            updates[p] = self._fit(new_p, p)
            for sname, s in state.items():
                state_updates.append((s, self._fit(new_state[sname], s)))
        for s, v in state_updates:
            updates[s] = v
        updates[t_shared] = t_next
        self._state.extend(created + [t_shared])
        return updates

    # ------------------------------------------------------------------------ machinery
    def _check_params(self, params: List) -> None:
        who = type(self).__name__
        if not params:
            raise ValueError(f"{who}.updates: params is empty")
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, SharedVariable):
                raise TypeError(f"{who}.updates: params[{i}] ({p!r}, "
                                f"{type(p).__name__}) is not a shared variable; optimizers "
                                f"update storage made with symgraph.shared()")
            if p.dtype[:5] not in ("float", "compl"):
                raise TypeError(f"{who}.updates: params[{i}] ({p}) has dtype {p.dtype}; "
                                f"only float parameters can be trained")
            if p in seen:
                raise ValueError(f"{who}.updates: params[{i}] ({p}) is given twice")
            seen.add(p)

    def _check_grads(self, params: List[SharedVariable], grads: List) -> List[Variable]:
        who = type(self).__name__
        if len(grads) != len(params):
            raise ValueError(f"{who}.updates: {len(grads)} grads for {len(params)} params; "
                             f"give one gradient per parameter")
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            g = T.as_tensor_variable(g)
            if g.ndim != p.ndim:
                raise TypeError(f"{who}.updates: grads[{i}] is {g.ndim}-d but param {p} is "
                                f"{p.ndim}-d")
            out.append(g if g.dtype == p.dtype else T.cast(g, p.dtype))
        return out

    def _gradients(self, cost, params, ignore_disconnected: bool) -> List[Variable]:
        who = type(self).__name__
        if not isinstance(cost, Variable):
            raise TypeError(f"{who}.updates: cost must be a symbolic variable, got "
                            f"{type(cost).__name__}")
        if cost.ndim != 0:
            raise TypeError(f"{who}.updates: cost must be a scalar, got {cost} of type "
                            f"{cost.type}; reduce it first (e.g. cost.mean())")
        try:
            grads = symgraph.grad(cost, params,
                                  disconnected_inputs="ignore" if ignore_disconnected
                                  else "raise")
        except DisconnectedInputError as exc:
            raise DisconnectedInputError(
                f"{who}.updates: {exc}. Pass ignore_disconnected=True to give such parameters "
                f"a zero gradient") from None
        return [g if g.dtype == p.dtype else T.cast(g, p.dtype) for p, g in zip(params, grads)]

    def _preprocess(self, params: List[SharedVariable], grads: List[Variable]
                    ) -> List[Variable]:
        if self.clip_value is not None:
            grads = [T.clip(g, -self._h(self.clip_value, g, "clip_value"),
                            self._h(self.clip_value, g, "clip_value")) for g in grads]
        if self.clip_norm is not None:
            sq = [T.sum(T.sqr(g)) for g in grads]
            total = sq[0]
            for s in sq[1:]:
                total = total + s
            norm = T.sqrt(total)
            clipped = []
            for g in grads:
                c = self._h(self.clip_norm, g, "clip_norm")
                n = norm if norm.dtype == g.dtype else T.cast(norm, g.dtype)
                clipped.append(g * (c / T.maximum(n, c)))
            grads = clipped
        if self.l2_in_gradient() and not _is_zero(self.weight_decay):
            grads = [g + self._h(self.weight_decay, p, "weight_decay") * p
                     for p, g in zip(params, grads)]
        return grads

    def l2_in_gradient(self) -> bool:
        """Whether ``weight_decay`` is L2 added to the gradient (False: decoupled)."""
        return True

    def _h(self, value, like: Variable, what: str):
        return as_hyper(value, like.dtype, f"{type(self).__name__}.{what}")

    @staticmethod
    def _fit(new: Variable, target: SharedVariable) -> Variable:
        # a weak scalar can't change the dtype, but a symbolic hyper-parameter cast elsewhere
        # might: keep each update in its target's dtype
        return new if new.dtype == target.dtype else T.cast(new, target.dtype)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({fields})"

    def hyperparameters(self) -> Dict[str, Hyper]:
        """The constructor arguments, by name (for logs and ``config.json``)."""
        import inspect
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self"}


def _is_zero(value) -> bool:
    return not isinstance(value, Variable) and float(value) == 0.0
