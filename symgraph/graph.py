"""The graph IR: ``Variable``, ``Constant``, ``Apply``, and walks over them.

The IR is data: nodes are never changed after construction. Rewrites build new nodes, and the
only place that rewires anything is :meth:`symgraph.fgraph.FunctionGraph.replace`.
"""
from __future__ import annotations

import itertools
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

from symgraph.config import config
from symgraph.types import TensorType

_ids = itertools.count()


def _ops():
    # Operator methods build ops; ``symgraph.ops`` imports this module, so bind lazily.
    import symgraph.ops as ops
    return ops


class Variable:
    """A symbolic value: the input of a graph, a constant, or an output of an ``Apply``.

    Variables hash by identity (they are dict keys everywhere) and ``==`` is identity too:
    use ``T.eq``/``T.neq`` for elementwise comparison. A variable is truthy, except the result
    of a comparison operator (``if x < y:`` is a bug that Theano also refuses).
    """

    __array_priority__ = 1000  # ndarray <op> Variable defers to our reflected operators

    def __init__(self, type: TensorType, owner: "Optional[Apply]" = None,
                 index: Optional[int] = None, name: Optional[str] = None):
        if not isinstance(type, TensorType):
            raise TypeError(f"Variable type must be a TensorType, got {type!r}")
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag = _Tag()
        self._id = next(_ids)
        self._is_nonzero = True

    # -- type facts ---------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def broadcastable(self) -> tuple:
        return self.type.broadcastable

    @property
    def static_shape(self) -> tuple:
        return self.type.shape

    @property
    def shape(self) -> "Variable":
        """Symbolic int64 vector of the runtime shape (``x.shape[0]`` works in graphs)."""
        return _ops().shape(self)

    @property
    def size(self) -> "Variable":
        return _ops().prod(self.shape)

    @property
    def T(self) -> "Variable":
        return _ops().transpose(self)

    def clone(self) -> "Variable":
        """A fresh variable of the same type and name, with no owner."""
        return type(self)(self.type, name=self.name)

    def __repr__(self) -> str:
        if self.name:
            return self.name
        if self.owner is not None:
            op = self.owner.op
            suffix = f".{self.index}" if len(self.owner.outputs) > 1 else ""
            return f"{op}.out{suffix}"
        return f"<{self.type}>"

    __str__ = __repr__

    def __bool__(self) -> bool:
        if self._is_nonzero:
            return True
        raise TypeError("a symbolic comparison has no truth value; use T.switch or compile it")

    def __len__(self):
        raise TypeError(f"symbolic variable {self} has no len(); use {self}.shape[0]")

    def __iter__(self):
        n = self.ndim and self.type.shape[0]
        if not self.ndim or n is None:
            raise TypeError(f"cannot iterate over {self} of type {self.type}: its first "
                            f"dimension is not known statically")
        for i in range(n):
            yield self[i]

    # -- arithmetic (NumPy semantics; Python scalars never upcast the tensor) ---------------
    def __add__(self, o): return _ops().add(self, o)
    def __radd__(self, o): return _ops().add(o, self)
    def __sub__(self, o): return _ops().sub(self, o)
    def __rsub__(self, o): return _ops().sub(o, self)
    def __mul__(self, o): return _ops().mul(self, o)
    def __rmul__(self, o): return _ops().mul(o, self)
    def __truediv__(self, o): return _ops().true_div(self, o)
    def __rtruediv__(self, o): return _ops().true_div(o, self)
    def __floordiv__(self, o): return _ops().floor_div(self, o)
    def __rfloordiv__(self, o): return _ops().floor_div(o, self)
    def __mod__(self, o): return _ops().mod(self, o)
    def __rmod__(self, o): return _ops().mod(o, self)
    def __pow__(self, o): return _ops().pow(self, o)
    def __rpow__(self, o): return _ops().pow(o, self)
    def __matmul__(self, o): return _ops().matmul(self, o)
    def __rmatmul__(self, o): return _ops().matmul(o, self)
    def __neg__(self): return _ops().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops().abs(self)
    def __invert__(self): return _ops().invert(self)
    def __and__(self, o): return _ops().and_(self, o)
    def __rand__(self, o): return _ops().and_(o, self)
    def __or__(self, o): return _ops().or_(self, o)
    def __ror__(self, o): return _ops().or_(o, self)
    def __xor__(self, o): return _ops().xor(self, o)
    def __rxor__(self, o): return _ops().xor(o, self)

    def _cmp(self, fn, o):
        out = fn(self, o)
        out._is_nonzero = False
        return out

    def __lt__(self, o): return self._cmp(_ops().lt, o)
    def __le__(self, o): return self._cmp(_ops().le, o)
    def __gt__(self, o): return self._cmp(_ops().gt, o)
    def __ge__(self, o): return self._cmp(_ops().ge, o)

    # identity semantics: a graph variable is a dict key
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # -- methods in NumPy/Theano spelling -------------------------------------------------
    def __getitem__(self, idx): return _ops().getitem(self, idx)
    def sum(self, axis=None, keepdims=False, dtype=None):
        return _ops().sum(self, axis=axis, keepdims=keepdims, dtype=dtype)
    def mean(self, axis=None, keepdims=False, dtype=None):
        return _ops().mean(self, axis=axis, keepdims=keepdims, dtype=dtype)
    def prod(self, axis=None, keepdims=False): return _ops().prod(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return _ops().max(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return _ops().min(self, axis=axis, keepdims=keepdims)
    def argmax(self, axis=None, keepdims=False):
        return _ops().argmax(self, axis=axis, keepdims=keepdims)
    def argmin(self, axis=None, keepdims=False):
        return _ops().argmin(self, axis=axis, keepdims=keepdims)
    def var(self, axis=None, keepdims=False, ddof=0):
        return _ops().var(self, axis=axis, keepdims=keepdims, ddof=ddof)
    def std(self, axis=None, keepdims=False, ddof=0):
        return _ops().std(self, axis=axis, keepdims=keepdims, ddof=ddof)
    def all(self, axis=None, keepdims=False): return _ops().all(self, axis=axis, keepdims=keepdims)
    def any(self, axis=None, keepdims=False): return _ops().any(self, axis=axis, keepdims=keepdims)
    def norm(self, L=2, axis=None): return _ops().norm(self, L, axis=axis)
    def reshape(self, *shape, ndim=None):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return _ops().reshape(self, shape, ndim=ndim)
    def flatten(self, ndim=1): return _ops().flatten(self, ndim)
    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return _ops().transpose(self, axes or None)
    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (tuple, list)):
            pattern = pattern[0]
        return _ops().dimshuffle(self, pattern)
    def astype(self, dtype): return _ops().cast(self, dtype)
    def dot(self, o): return _ops().dot(self, o)
    def nonzero_values(self): return self.flatten()[_ops().neq(self.flatten(), 0)]
    def clip(self, lo, hi): return _ops().clip(self, lo, hi)
    def round(self): return _ops().round(self)
    def squeeze(self, axis=None): return _ops().squeeze(self, axis)
    def swapaxes(self, a, b): return _ops().swapaxes(self, a, b)
    def repeat(self, repeats, axis=None): return _ops().repeat(self, repeats, axis)
    def exp(self): return _ops().exp(self)
    def log(self): return _ops().log(self)
    def sqrt(self): return _ops().sqrt(self)

    def eval(self, givens: Optional[dict] = None):
        """Compile and evaluate with ``givens`` mapping inputs to values (for interactive use).

        A shared variable among the keys is substituted by the value for this evaluation only
        (its storage is not changed).
        """
        from symgraph.compile.function import function
        from symgraph.shared import SharedVariable
        givens = givens or {}
        keys = [k for k in givens if not isinstance(k, SharedVariable)]
        subs = [(k, v) for k, v in givens.items() if isinstance(k, SharedVariable)]
        f = function(keys, self, givens=subs, on_unused_input="ignore")
        return f(*[givens[k] for k in keys])


class _Tag:
    """Free-form annotations (Theano programs set ``x.tag.test_value``); never read by passes."""


class Constant(Variable):
    """A variable with a fixed value (read-only ndarray) and no owner."""

    def __init__(self, type: TensorType, data, name: Optional[str] = None):
        super().__init__(type, None, None, name)
        arr = type.filter(data, name=name or "constant", allow_downcast=True)
        if arr is data:
            arr = arr.copy()
        arr.setflags(write=False)
        self.data = arr
        self._signature = None

    @property
    def value(self):
        return self.data

    def signature(self):
        """Hashable identity of the value: equal constants merge."""
        if self._signature is None:
            d = self.data
            self._signature = (self.type, d.tobytes() if d.size <= 4096 else id(d))
        return self._signature

    def clone(self) -> "Constant":
        return Constant(self.type, self.data, self.name)

    def __repr__(self) -> str:
        if self.name:
            return self.name
        if self.data.size <= 6:
            return np.array2string(self.data, separator=",").replace("\n", "")
        return f"Constant{{{self.type}}}"

    __str__ = __repr__


class Apply:
    """One application of an op to input variables, producing output variables."""

    __slots__ = ("op", "inputs", "outputs", "tag")

    def __init__(self, op, inputs: Sequence[Variable], outputs: Sequence[Variable]):
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.tag = None
        for i, out in enumerate(self.outputs):
            out.owner = self
            out.index = i

    @property
    def out(self) -> Variable:
        return self.outputs[0]

    @property
    def nin(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        return f"{self.op}({', '.join(map(str, self.inputs))})"


# ---------------------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------------------

def constant(value, dtype=None, name: Optional[str] = None, ndim: Optional[int] = None) -> Constant:
    """Wrap a number or array as a :class:`Constant` (Python floats become ``floatX``)."""
    if isinstance(value, Constant) and dtype is None:
        return value
    arr = np.asarray(value)
    if dtype is None:
        if arr.dtype.kind == "f" and not isinstance(value, (np.ndarray, np.generic)):
            dtype = config.floatX
        elif arr.dtype.kind == "O":
            raise TypeError(f"cannot make a constant from {type(value).__name__}: {value!r}")
        else:
            dtype = arr.dtype
    arr = arr.astype(dtype, copy=False)
    if ndim is not None:
        if arr.ndim > ndim:
            raise TypeError(f"constant of shape {arr.shape} has more than {ndim} dimensions")
        arr = arr.reshape((1,) * (ndim - arr.ndim) + arr.shape)
    # a constant's shape is static: it lets rewrites fold and fuse around it
    return Constant(TensorType(arr.dtype, arr.shape), arr, name=name)


def as_tensor_variable(x, name: Optional[str] = None, ndim: Optional[int] = None,
                       dtype=None) -> Variable:
    """Return ``x`` if it is a variable, else a constant holding it."""
    if isinstance(x, Variable):
        if ndim is not None and x.ndim != ndim:
            raise TypeError(f"{x} has {x.ndim} dimensions, expected {ndim}")
        if dtype is not None and x.dtype != np.dtype(dtype).name:
            return _ops().cast(x, dtype)
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(e, Variable) for e in x):
        return _ops().stack([as_tensor_variable(e) for e in x])
    if isinstance(x, Apply):
        raise TypeError(f"expected a variable, got the Apply node {x}; use node.outputs[0]")
    try:
        return constant(x, dtype=dtype, name=name, ndim=ndim)
    except (TypeError, ValueError) as exc:
        where = _calling_op()
        raise TypeError(f"{where + ': ' if where else ''}cannot convert {type(x).__name__} "
                        f"{x!r} to a symbolic tensor") from exc


def _calling_op() -> str:
    """Name of the symgraph op or function that asked for a conversion (error path only):
    ``T.sum('abc')`` then says ``sum: cannot convert str...``."""
    import sys
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("symgraph.") and module != __name__:
            name = frame.f_code.co_name
            owner = frame.f_locals.get("self")
            if name == "make_node" and owner is not None:
                return str(owner)
            if not name.startswith(("_", "<")):
                return name
        frame = frame.f_back
    return ""


def is_constant_value(v: Variable, value) -> bool:
    """True when ``v`` is a constant whose every element equals ``value``."""
    return isinstance(v, Constant) and v.data.size > 0 and bool(np.all(v.data == value))


# ---------------------------------------------------------------------------------------
# Walks
# ---------------------------------------------------------------------------------------

def toposort(outputs: Iterable[Variable], stop: Optional[Iterable[Variable]] = None) -> List[Apply]:
    """Apply nodes needed for ``outputs``, every node after its inputs' producers.

    Walking stops at variables in ``stop`` (they are treated as inputs).
    """
    stop = stop if isinstance(stop, (set, frozenset)) else set(stop or ())
    order: List[Apply] = []
    seen = set()
    for root in outputs:
        if root.owner is None or root in stop or root.owner in seen:
            continue
        stack = [(root.owner, iter(root.owner.inputs))]
        seen.add(root.owner)
        while stack:
            node, it = stack[-1]
            for inp in it:
                parent = inp.owner
                if parent is not None and parent not in seen and inp not in stop:
                    seen.add(parent)
                    stack.append((parent, iter(parent.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def fill_memo(var: Variable, memo: dict, visit, is_leaf=None) -> None:
    """Fill ``memo`` for ``var`` and the ancestors it needs, inputs first, without recursion
    (deep chains of nodes). ``visit(v, leaf)`` is called once for each variable not yet in
    ``memo``: at once for a leaf (owner-less, or ``is_leaf(v)``), else when every input of its
    owner is in ``memo``; it must set ``memo[v]`` (and may set the node's other outputs)."""
    stack = [var]
    while stack:
        v = stack[-1]
        if v in memo:
            stack.pop()
            continue
        leaf = v.owner is None or (is_leaf is not None and is_leaf(v))
        if not leaf:
            pending = [i for i in v.owner.inputs if i not in memo]
            if pending:
                stack.extend(pending)
                continue
        stack.pop()
        visit(v, leaf)


def graph_inputs(outputs: Iterable[Variable], stop: Optional[Iterable[Variable]] = None
                 ) -> List[Variable]:
    """Owner-less variables (and ``stop`` variables) the outputs depend on, in first-seen order."""
    outputs = list(outputs)
    stop = set(stop or ())
    result, seen = [], set()

    def visit(v):
        if v not in seen and (v.owner is None or v in stop):
            seen.add(v)
            result.append(v)

    for v in outputs:
        visit(v)
    for node in toposort(outputs, stop):
        for v in node.inputs:
            visit(v)
    return result


def ancestors(outputs: Iterable[Variable], stop: Optional[Iterable[Variable]] = None) -> set:
    """Every variable the outputs depend on, outputs included."""
    outputs = list(outputs)
    found = set(outputs)
    for node in toposort(outputs, stop):
        found.update(node.inputs)
        found.update(node.outputs)
    return found


def clone_replace(outputs: Sequence[Variable], replace: Dict[Variable, Variable]
                  ) -> List[Variable]:
    """Rebuild ``outputs`` with each key of ``replace`` substituted by its value.

    Nodes downstream of a replacement are rebuilt through ``op.make_node`` so their types are
    inferred afresh; untouched subgraphs are shared, not copied.
    """
    memo: Dict[Variable, Variable] = dict(replace)
    for node in toposort(outputs, stop=replace.keys()):
        new_inputs = [memo.get(v, v) for v in node.inputs]
        if all(a is b for a, b in zip(new_inputs, node.inputs)):
            continue
        new_node = node.op.make_node(*new_inputs)
        for old, new in zip(node.outputs, new_node.outputs):
            if new.type.dtype != old.type.dtype or new.ndim != old.ndim:
                raise TypeError(f"substitution changes the type of {old} from {old.type} to "
                                f"{new.type}")
            memo[old] = new
    return [memo.get(v, v) for v in outputs]
