"""Tensor types: a dtype and a static shape (an int per known dimension, ``None`` otherwise).

A static ``1`` marks a broadcastable dimension. Types are immutable and hashable, so two variables
of equal type are interchangeable for the rewrites and the linker.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np

from symgraph.config import config

Shape = tuple  # tuple[Optional[int], ...]

_ALLOWED_KINDS = "biufc"

int_dtypes = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
float_dtypes = ("float16", "float32", "float64")
complex_dtypes = ("complex64", "complex128")
discrete_dtypes = ("bool",) + int_dtypes


def normalize_dtype(dtype) -> str:
    """Return the canonical dtype name, or raise ``TypeError`` naming the bad value."""
    if dtype == "floatX":
        return config.floatX
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"unknown dtype {dtype!r}") from exc
    if dt.kind not in _ALLOWED_KINDS:
        raise TypeError(f"unsupported dtype {dtype!r}: symgraph tensors hold bool, integer, "
                        f"float or complex numbers")
    return dt.name


def upgrade_to_float(dtype: str) -> str:
    """The float dtype an integer is promoted to by float-only math (Theano's rule)."""
    if dtype in float_dtypes or dtype in complex_dtypes:
        return dtype
    if dtype in ("bool", "int8", "uint8", "int16", "uint16"):
        return "float32"
    return "float64"


def result_dtype(*dtypes: str) -> str:
    """NumPy's promotion of array dtypes."""
    return np.result_type(*[np.dtype(d) for d in dtypes]).name


class Type:
    """The base of variable types. Tensors (:class:`TensorType`) are what the core's ops,
    rewrites and linker work with; another kind of value (a sparse matrix, see
    :mod:`symgraph.sparse`) has a type of its own that says how to check a value
    (:meth:`filter`) and copy one (:meth:`copy_value`), and is handled by its own ops.

    Subclasses set ``dtype`` and ``shape`` (``None`` for unknown dimensions) like tensors, so
    code that prints or compares types needs no special case.
    """

    __slots__ = ()
    variable_class = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def broadcastable(self) -> tuple:
        return tuple(s == 1 for s in self.shape)

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def filter(self, value, name: str = "input", allow_downcast: Optional[bool] = None):
        raise NotImplementedError(f"{type(self).__name__}.filter")

    def copy_value(self, value):
        """A copy of ``value`` that shares no memory with it."""
        return value.copy()

    def make_variable(self, name: Optional[str] = None):
        """A new symbolic input of this type."""
        return type(self).variable_class(self, name=name)

    def __call__(self, name: Optional[str] = None):
        return self.make_variable(name)


class TensorType(Type):
    """The type of a tensor variable.

    Parameters
    ----------
    dtype : str
        Any NumPy bool/int/float/complex dtype name (``'floatX'`` reads ``config.floatX``).
    shape : sequence of int or None
        One entry per dimension; ``None`` means unknown, ``1`` means broadcastable.
    """

    __slots__ = ("dtype", "shape", "_hash")

    def __init__(self, dtype, shape: Sequence[Optional[int]] = ()):
        try:
            dtype = normalize_dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"TensorType: {exc}") from None
        if isinstance(shape, (int, np.integer)) or shape is None:
            raise TypeError(f"TensorType shape must be a sequence, got {shape!r}")
        clean = []
        for s in shape:
            if s is None:
                clean.append(None)
            elif isinstance(s, (bool, np.bool_)):
                # Theano's broadcastable pattern: True -> 1, False -> unknown.
                clean.append(1 if s else None)
            elif isinstance(s, (int, np.integer)) and s >= 0:
                clean.append(int(s))
            else:
                raise TypeError(f"TensorType shape entries must be ints >= 0 or None, got {s!r}")
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "shape", tuple(clean))
        object.__setattr__(self, "_hash", hash((dtype, self.shape)))

    def __setattr__(self, name, value):
        raise AttributeError("TensorType is immutable")

    # immutable: copies are the object itself, pickles rebuild it from (dtype, shape)
    def __reduce__(self):
        return (TensorType, (self.dtype, self.shape))

    def __copy__(self) -> "TensorType":
        return self

    def __deepcopy__(self, memo) -> "TensorType":
        return self

    def clone(self, dtype=None, shape=None) -> "TensorType":
        return TensorType(self.dtype if dtype is None else dtype,
                          self.shape if shape is None else shape)

    def __eq__(self, other) -> bool:
        return (isinstance(other, TensorType) and other.dtype == self.dtype
                and other.shape == self.shape)

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        if _display["style"] is not None:
            return _display["style"](self)
        dims = ", ".join("?" if s is None else str(s) for s in self.shape)
        if self.ndim == 1:
            dims += ","
        return f"TensorType({self.dtype}, ({dims}))"

    __str__ = __repr__

    # -- making variables of this type -----------------------------------------------------
    #: the class of the variables a type makes; bound by :mod:`symgraph.ops.variable` (the
    #: op layer, which gives variables their operators)
    variable_class = None

    def make_variable(self, name: Optional[str] = None):
        """A new symbolic input of this type (``TensorType('float32', (None,) * 4)('x')``)."""
        return TensorType.variable_class(self, name=name)

    def is_super(self, other: "TensorType") -> bool:
        """True when every value of ``other`` is also a value of ``self``."""
        return (self.dtype == other.dtype and self.ndim == other.ndim
                and all(a is None or a == b for a, b in zip(self.shape, other.shape)))

    def filter(self, value, name: str = "input", allow_downcast: Optional[bool] = None):
        """Convert ``value`` to an ndarray of this type or raise a clear error.

        Arrays are accepted when their dtype casts safely to ours (``int32`` data into a
        ``float64`` input); Python scalars and lists are converted when no value changes (or when
        ``allow_downcast``). Static dimensions must match.
        """
        target = self.numpy_dtype
        if type(value) is np.ndarray and value.dtype == target:
            arr = value
        elif isinstance(value, (np.ndarray, np.generic)):
            arr = np.asarray(value)
            if not (allow_downcast or np.can_cast(arr.dtype, target, "safe")):
                raise TypeError(
                    f"{name}: got an array of dtype {arr.dtype}, which cannot be cast safely to "
                    f"{self.dtype}; cast it first (value.astype('{self.dtype}')) or compile with "
                    f"allow_input_downcast=True")
            arr = arr.astype(target)
        else:
            try:
                raw = np.asarray(value)
            except Exception as exc:  # ragged lists and the like
                raise TypeError(f"{name}: cannot convert {type(value).__name__} to an array "
                                f"of {self.dtype}") from exc
            if raw.dtype.kind not in _ALLOWED_KINDS:
                raise TypeError(f"{name}: expected numbers of dtype {self.dtype}, got "
                                f"{type(value).__name__} of dtype {raw.dtype}")
            with np.errstate(all="ignore"):
                arr = raw.astype(target)
            if not allow_downcast and not np.can_cast(raw.dtype, target, "safe"):
                # Python floats into float32 are the normal case (Theano accepts them), unless
                # they overflow; integer or complex values that do not survive the cast are
                # refused.
                with np.errstate(all="ignore"):
                    if raw.dtype.kind == "f" and target.kind == "f":
                        lossless = bool(np.all(np.isfinite(arr) | ~np.isfinite(raw)))
                    else:
                        lossless = bool(np.all(arr == raw))
                if not lossless:
                    raise TypeError(f"{name}: value {value!r} does not fit dtype {self.dtype}")
        if arr.ndim != self.ndim:
            raise TypeError(f"{name}: expected a {self.ndim}-d array of {self.dtype} "
                            f"(type {self}), got a {arr.ndim}-d array of shape {arr.shape}")
        for axis, (want, got) in enumerate(zip(self.shape, arr.shape)):
            if want is not None and want != got:
                raise ValueError(f"{name}: dimension {axis} must have length {want} "
                                 f"(type {self}), got shape {arr.shape}")
        return arr


#: how types print: None for symgraph's ``TensorType(float64, (?, 3))``, or a function of the
#: type (the Theano compatibility layer installs Theano's ``TensorType(float64, matrix)``)
_display = {"style": None}


def set_display_style(style) -> None:
    """Print types with ``style(type) -> str`` (None: symgraph's own form)."""
    _display["style"] = style


def broadcast_shapes(shapes: Iterable[tuple], what="elementwise op") -> tuple:
    """Static NumPy broadcasting of shapes with ``None`` entries; raise on a known mismatch.

    ``what`` names the operation in the error: a string, or a callable returning one (so that
    building the message, which may print constants, costs nothing when shapes agree).
    """
    shapes = list(shapes)
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    out = []
    for axis in range(ndim):
        known = {s[axis] for s in padded if s[axis] is not None and s[axis] != 1}
        if len(known) > 1:
            what = what() if callable(what) else what
            raise ValueError(f"{what}: shapes {[tuple(s) for s in shapes]} cannot be broadcast "
                             f"together (dimension {axis} is {sorted(known)})")
        if known:
            out.append(known.pop())
        elif any(s[axis] is None for s in padded):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)
