"""Reductions: ``Reduce`` (sum, prod, max, min, all, any), ``Argmax`` and the derived
``mean``/``var``/``std``/``norm``."""
from __future__ import annotations

import builtins
from typing import Optional, Sequence, Union

import numpy as np

from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.shape import dimshuffle, shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType, discrete_dtypes, upgrade_to_float

Axis = Union[None, int, Sequence[int]]


def normalize_axis(axis: Axis, ndim: int, what: str) -> tuple:
    """Sorted tuple of non-negative axes (``None`` = all)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Variable):
        if not isinstance(axis, Constant):
            raise TypeError(f"{what}: axis must be known at graph build time, got {axis}")
        axis = axis.data.tolist()
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < builtins.max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(f"{what}: axis {a} is out of range for a {ndim}-d input")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{what}: repeated axis in {axis}")
    return tuple(sorted(out)) if ndim else ()


# the ufuncs' own reduce methods: np.sum & co. add a Python wrapper (~2 us a call) around them
_REDUCERS = {"sum": "np.add.reduce", "prod": "np.multiply.reduce", "max": "np.maximum.reduce",
             "min": "np.minimum.reduce", "all": "np.all", "any": "np.any"}


def _sum_dtype(dtype: str) -> str:
    if dtype == "bool" or dtype.startswith("int"):
        return "int64"
    if dtype.startswith("uint"):
        return "uint64"
    return dtype


class Reduce(Op):
    """Reduce over ``axis`` with one of sum, prod, max, min, all, any.

    Gradients: sum broadcasts ``gz`` back; prod is ``gz * out / x``; max/min route ``gz`` to the
    entries equal to the extremum; all/any have none.
    """

    copies = True

    props = ("kind", "axis", "keepdims")

    def __init__(self, kind: str, axis: tuple, keepdims: bool = False):
        if kind not in _REDUCERS:
            raise ValueError(f"unknown reduction {kind!r}")
        self.kind, self.axis, self.keepdims = kind, tuple(axis), bool(keepdims)

    def __str__(self):
        kd = ", keepdims" if self.keepdims else ""
        return f"{self.kind.capitalize()}{{axis={self.axis}{kd}}}"

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        for a in self.axis:
            if a >= x.ndim and not (x.ndim == 0 and a == 0):
                raise ValueError(f"{self}: axis {a} out of range for {x} of type {x.type}")
        if self.kind in ("all", "any"):
            dtype = "bool"
        elif self.kind in ("sum", "prod"):
            dtype = _sum_dtype(x.dtype)
        else:
            dtype = x.dtype
        if self.keepdims:
            shp = tuple(1 if i in self.axis else s for i, s in enumerate(x.type.shape))
        else:
            shp = tuple(s for i, s in enumerate(x.type.shape) if i not in self.axis)
        return Apply(self, [x], [TensorVariable(TensorType(dtype, shp))])

    def perform(self, x):
        fn = getattr(np, self.kind)
        kw = {"dtype": self.dtype_of(x)} if self.kind in ("sum", "prod") else {}
        return np.asarray(fn(x, axis=self.axis, keepdims=self.keepdims, **kw))

    @staticmethod
    def dtype_of(x) -> str:
        return _sum_dtype(np.asarray(x).dtype.name)

    def emit(self, names):
        extra = ", keepdims=True" if self.keepdims else ""
        axis = self.axis if len(self.axis) != 1 else self.axis[0]
        return f"{_REDUCERS[self.kind]}({names[0]}, axis={axis}{extra})"

    def infer_shape(self, node, shapes):
        (ishape,) = shapes
        if self.keepdims:
            return [tuple(1 if i in self.axis else s for i, s in enumerate(ishape))]
        return [tuple(s for i, s in enumerate(ishape) if i not in self.axis)]

    def _expand(self, v: Variable, ndim: int) -> Variable:
        """Re-insert the reduced axes of ``v`` as broadcastable dimensions."""
        if self.keepdims:
            return v
        pattern, k = [], 0
        for i in range(ndim):
            if i in self.axis:
                pattern.append("x")
            else:
                pattern.append(k)
                k += 1
        return dimshuffle(v, pattern)

    def grad(self, inputs, outputs, output_grads):
        (x,), (out,), (gz,) = inputs, outputs, output_grads
        if self.kind in ("all", "any") or x.dtype in discrete_dtypes:
            return [None]
        gz_full = self._expand(gz, x.ndim)
        if self.kind == "sum":
            return [E.second(x, gz_full)]
        out_full = self._expand(out, x.ndim)
        if self.kind == "prod":
            return [gz_full * out_full / x]
        return [gz_full * E.eq(x, out_full)]


def _reduce(kind: str, x, axis: Axis, keepdims: bool) -> Variable:
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, kind)
    if not axes and not (x.ndim == 0 and kind in ("all", "any")):
        return x if kind not in ("all", "any") else E.neq(x, 0)
    return Reduce(kind, axes, keepdims)(x)


def sum(x, axis: Axis = None, keepdims: bool = False, dtype=None, acc_dtype=None) -> Variable:
    """Sum over ``axis``. Gradient: ``gz`` broadcast back over the summed axes."""
    out = _reduce("sum", x, axis, keepdims)
    return E.cast(out, dtype) if dtype is not None else out


def prod(x, axis: Axis = None, keepdims: bool = False, dtype=None) -> Variable:
    """Product over ``axis``. Gradient: ``gz * prod / x`` (inputs assumed non-zero)."""
    out = _reduce("prod", x, axis, keepdims)
    return E.cast(out, dtype) if dtype is not None else out


def max(x, axis: Axis = None, keepdims: bool = False) -> Variable:
    """Maximum over ``axis``. Gradient: ``gz`` at the entries equal to the maximum."""
    return _reduce("max", x, axis, keepdims)


def min(x, axis: Axis = None, keepdims: bool = False) -> Variable:
    """Minimum over ``axis``. Gradient: ``gz`` at the entries equal to the minimum."""
    return _reduce("min", x, axis, keepdims)


def all(x, axis: Axis = None, keepdims: bool = False) -> Variable:
    """Logical and over ``axis`` (bool result, no gradient)."""
    return _reduce("all", x, axis, keepdims)


def any(x, axis: Axis = None, keepdims: bool = False) -> Variable:
    """Logical or over ``axis`` (bool result, no gradient)."""
    return _reduce("any", x, axis, keepdims)


def _count(x: Variable, axes: tuple):
    n = 1
    for a in axes:
        n = n * shape_i(x, a)
    return n


def mean(x, axis: Axis = None, keepdims: bool = False, dtype=None, acc_dtype=None) -> Variable:
    """Arithmetic mean: ``sum(x, axis) / n``; integers give floats."""
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, "mean")
    total = sum(x, axes, keepdims)
    n = _count(x, axes)
    # integers and bools average as float64 (their sum is int64), as in Theano
    out_dtype = dtype or upgrade_to_float(_sum_dtype(x.dtype))
    if isinstance(n, int):
        out = E.true_div(E.cast(total, out_dtype), float(n)) if n != 1 else \
            E.cast(total, out_dtype)
    else:
        out = E.true_div(E.cast(total, out_dtype), E.cast(n, out_dtype))
    return out


def var(x, axis: Axis = None, keepdims: bool = False, ddof: int = 0, corrected: bool = False
        ) -> Variable:
    """Variance: ``mean((x - mean(x))**2) * n / (n - ddof)``."""
    x = as_tensor_variable(x)
    if corrected:
        ddof = 1
    axes = normalize_axis(axis, x.ndim, "var")
    centred = x - mean(x, axes, keepdims=True)
    v = mean(E.sqr(centred), axes, keepdims)
    if ddof:
        n = _count(x, axes)
        if isinstance(n, int):
            v = v * (n / (n - ddof))
        else:
            v = v * (E.cast(n, v.dtype) / E.cast(n - ddof, v.dtype))
    return v


def std(x, axis: Axis = None, keepdims: bool = False, ddof: int = 0, corrected: bool = False
        ) -> Variable:
    """Standard deviation: ``sqrt(var(x))``."""
    return E.sqrt(var(x, axis, keepdims, ddof, corrected))


def norm(x, L=2, axis: Axis = None) -> Variable:
    """L1, L2 (or any p) norm over ``axis``."""
    if L == 1:
        return sum(E.abs(x), axis)
    if L == 2:
        return E.sqrt(sum(E.sqr(x), axis))
    return E.pow(sum(E.pow(E.abs(x), L), axis), 1.0 / L)


class Argmax(Op):
    """Index of the maximum (or minimum, ``kind='argmin'``) along one axis or the flattened
    array; int64 output with no gradient."""

    copies = True

    props = ("kind", "axis", "keepdims")

    def __init__(self, kind: str, axis: Optional[int], keepdims: bool = False):
        self.kind, self.axis, self.keepdims = kind, axis, bool(keepdims)

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        if self.axis is None:
            shp = (1,) * x.ndim if self.keepdims else ()
        elif self.keepdims:
            shp = tuple(1 if i == self.axis else s for i, s in enumerate(x.type.shape))
        else:
            shp = tuple(s for i, s in enumerate(x.type.shape) if i != self.axis)
        return Apply(self, [x], [TensorVariable(TensorType("int64", shp))])

    def perform(self, x):
        fn = np.argmax if self.kind == "argmax" else np.argmin
        return np.asarray(fn(x, axis=self.axis, keepdims=self.keepdims), dtype=np.int64)

    def emit(self, names):
        kd = ", keepdims=True" if self.keepdims else ""
        return f"np.{self.kind}({names[0]}, axis={self.axis}{kd})"

    def infer_shape(self, node, shapes):
        (ishape,) = shapes
        if self.axis is None:
            return [(1,) * len(ishape) if self.keepdims else ()]
        if self.keepdims:
            return [tuple(1 if i == self.axis else s for i, s in enumerate(ishape))]
        return [tuple(s for i, s in enumerate(ishape) if i != self.axis)]

    def grad(self, inputs, outputs, output_grads):
        return [None]


def _arg(kind: str, x, axis, keepdims: bool) -> Variable:
    x = as_tensor_variable(x)
    if axis is not None:
        axes = normalize_axis(axis, x.ndim, kind)
        if len(axes) != 1:
            if axes == tuple(range(x.ndim)):
                axis = None
            else:
                raise ValueError(f"{kind}: only one axis (or all) is supported, got {axis}")
        else:
            axis = axes[0]
    return Argmax(kind, axis, keepdims)(x)


def argmax(x, axis=None, keepdims: bool = False) -> Variable:
    """Index of the maximum along ``axis`` (no gradient)."""
    return _arg("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims: bool = False) -> Variable:
    """Index of the minimum along ``axis`` (no gradient)."""
    return _arg("argmin", x, axis, keepdims)
