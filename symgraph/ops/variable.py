"""Tensor variables: the graph's variables with Python operators and NumPy-style methods.

``TensorOperators`` is the mixin that gives a variable its arithmetic (``x + y``, ``x[1:]``,
``x.sum(axis=0)``, ...). It lives in the op layer because every method builds ops; each one
calls the family that owns it through :data:`symgraph.ops.namespace.T`. ``constant`` and
``as_tensor_variable`` turn numbers and arrays into graph constants.
"""
from __future__ import annotations

import sys
from typing import Optional

import numpy as np

from symgraph.config import config
from symgraph.graph import Apply, Constant, Variable
from symgraph.ops.namespace import T
from symgraph.types import TensorType


class TensorOperators:
    """Operators and methods of tensor variables (NumPy semantics; Python scalars never
    upcast the tensor). Comparisons give variables with no truth value: ``if x < y:`` is a
    bug that Theano also refuses."""

    __array_priority__ = 1000  # ndarray <op> variable defers to our reflected operators
    _is_nonzero = True

    # -- symbolic facts -------------------------------------------------------------------
    @property
    def shape(self) -> "TensorVariable":
        """Symbolic int64 vector of the runtime shape (``x.shape[0]`` works in graphs)."""
        return T.shape(self)

    @property
    def size(self) -> "TensorVariable":
        return T.prod(self.shape)

    @property
    def T(self) -> "TensorVariable":
        return T.transpose(self)

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

    # -- arithmetic -----------------------------------------------------------------------
    def __add__(self, o): return T.add(self, o)
    def __radd__(self, o): return T.add(o, self)
    def __sub__(self, o): return T.sub(self, o)
    def __rsub__(self, o): return T.sub(o, self)
    def __mul__(self, o): return T.mul(self, o)
    def __rmul__(self, o): return T.mul(o, self)
    def __truediv__(self, o): return T.true_div(self, o)
    def __rtruediv__(self, o): return T.true_div(o, self)
    def __floordiv__(self, o): return T.floor_div(self, o)
    def __rfloordiv__(self, o): return T.floor_div(o, self)
    def __mod__(self, o): return T.mod(self, o)
    def __rmod__(self, o): return T.mod(o, self)
    def __pow__(self, o): return T.pow(self, o)
    def __rpow__(self, o): return T.pow(o, self)
    def __matmul__(self, o): return T.matmul(self, o)
    def __rmatmul__(self, o): return T.matmul(o, self)
    def __neg__(self): return T.neg(self)
    def __pos__(self): return self
    def __abs__(self): return T.abs(self)
    def __invert__(self): return T.invert(self)
    def __and__(self, o): return T.and_(self, o)
    def __rand__(self, o): return T.and_(o, self)
    def __or__(self, o): return T.or_(self, o)
    def __ror__(self, o): return T.or_(o, self)
    def __xor__(self, o): return T.xor(self, o)
    def __rxor__(self, o): return T.xor(o, self)

    def _cmp(self, fn, o):
        out = fn(self, o)
        out._is_nonzero = False
        return out

    def __lt__(self, o): return self._cmp(T.lt, o)
    def __le__(self, o): return self._cmp(T.le, o)
    def __gt__(self, o): return self._cmp(T.gt, o)
    def __ge__(self, o): return self._cmp(T.ge, o)

    # -- methods in NumPy/Theano spelling -------------------------------------------------
    def __getitem__(self, idx): return T.getitem(self, idx)

    def sum(self, axis=None, keepdims=False, dtype=None):
        return T.sum(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def mean(self, axis=None, keepdims=False, dtype=None):
        return T.mean(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def prod(self, axis=None, keepdims=False): return T.prod(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return T.max(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return T.min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return T.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return T.argmin(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return T.var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return T.std(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def all(self, axis=None, keepdims=False): return T.all(self, axis=axis, keepdims=keepdims)
    def any(self, axis=None, keepdims=False): return T.any(self, axis=axis, keepdims=keepdims)
    def norm(self, L=2, axis=None): return T.norm(self, L, axis=axis)

    def reshape(self, *shape, ndim=None):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return T.reshape(self, shape, ndim=ndim)

    def flatten(self, ndim=1): return T.flatten(self, ndim)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return T.transpose(self, axes or None)

    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (tuple, list)):
            pattern = pattern[0]
        return T.dimshuffle(self, pattern)

    def astype(self, dtype): return T.cast(self, dtype)
    def dot(self, o): return T.dot(self, o)
    def nonzero_values(self): return T.nonzero_values(self)

    def nonzero(self, return_matrix=False): return T.nonzero(self, return_matrix)
    def sort(self, axis=-1, kind="quicksort"): return T.sort(self, axis, kind)
    def argsort(self, axis=-1, kind="quicksort"): return T.argsort(self, axis, kind)
    def cumsum(self, axis=None): return T.cumsum(self, axis)
    def cumprod(self, axis=None): return T.cumprod(self, axis)
    def diagonal(self, offset=0, axis1=0, axis2=1): return T.diagonal(self, offset, axis1, axis2)
    def trace(self): return T.trace(self)
    def ptp(self, axis=None): return T.ptp(self, axis)
    def choose(self, choices, mode="raise"): return T.choose(self, choices, mode=mode)
    def compress(self, condition, axis=None): return T.compress(condition, self, axis)
    def searchsorted(self, v, side="left"): return T.searchsorted(self, v, side)
    def clip(self, lo, hi): return T.clip(self, lo, hi)
    def round(self): return T.round(self)
    def squeeze(self, axis=None): return T.squeeze(self, axis)
    def swapaxes(self, a, b): return T.swapaxes(self, a, b)
    def repeat(self, repeats, axis=None): return T.repeat(self, repeats, axis)
    def exp(self): return T.exp(self)
    def log(self): return T.log(self)
    def sqrt(self): return T.sqrt(self)

    def eval(self, givens: Optional[dict] = None):
        """Compile and evaluate with ``givens`` mapping inputs to values (interactive use).

        A shared variable among the keys is substituted by the value for this evaluation only
        (its storage is not changed).
        """
        return T.evaluate(self, givens)


class TensorVariable(TensorOperators, Variable):
    """A tensor-typed variable: an input of a graph or an output of an ``Apply``."""


class TensorConstant(TensorOperators, Constant):
    """A tensor constant (read-only ndarray, no owner)."""


TensorType.variable_class = TensorVariable  # a type called with a name makes one of these


def constant(value, dtype=None, name: Optional[str] = None, ndim: Optional[int] = None
             ) -> TensorConstant:
    """Wrap a number or array as a constant (Python floats become ``floatX``)."""
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
    return TensorConstant(TensorType(arr.dtype, arr.shape), arr, name=name)


def as_tensor_variable(x, name: Optional[str] = None, ndim: Optional[int] = None,
                       dtype=None) -> Variable:
    """Return ``x`` if it is a variable (cast to ``dtype`` if given), else a constant."""
    if isinstance(x, Variable):
        if ndim is not None and x.ndim != ndim:
            raise TypeError(f"{x} has {x.ndim} dimensions, expected {ndim}")
        if dtype is not None and x.dtype != np.dtype(dtype).name:
            return T.cast(x, dtype)
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(e, Variable) for e in x):
        return T.stack([as_tensor_variable(e) for e in x])
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
