"""Constructing tensors: ``ARange``, ``zeros``/``ones`` (on ``alloc``) and ``Eye``, plus the
small argument checks the join and tiling modules share."""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.config import config
from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.reduce import sum as _sum
from symgraph.ops.shape import alloc, shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable, constant
from symgraph.types import TensorType, discrete_dtypes, int_dtypes, normalize_dtype, result_dtype


def _axis(axis, ndim: int, what: str) -> int:
    """A non-negative axis of an ``ndim``-d tensor (``axis`` may be a scalar constant)."""
    if isinstance(axis, Constant):
        axis = axis.data.item()
    if isinstance(axis, Variable):
        raise TypeError(f"{what}: axis must be known at graph build time, got {axis}")
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis!r} is out of range for {ndim}-d inputs")
    return int(axis) % ndim


def _int_scalar(v, what: str) -> Variable:
    v = constant(np.int64(v)) if isinstance(v, (int, np.integer)) else as_tensor_variable(v)
    if v.ndim != 0 or v.dtype not in int_dtypes:
        raise TypeError(f"{what}: expected an integer scalar, got {v} of type {v.type}")
    return v


def _static_int(v: Variable) -> Optional[int]:
    return int(v.data) if isinstance(v, Constant) else None


class ARange(Op):
    """``np.arange(start, stop, step)`` with symbolic scalar bounds.

    Gradient: ``out[i] = start + i * step`` so ``d/dstart = sum(gz)``,
    ``d/dstep = sum(gz * arange(n))``; ``stop`` only changes the length (zero gradient).
    """

    props = ("dtype",)

    def __init__(self, dtype: str):
        self.dtype = normalize_dtype(dtype)

    def make_node(self, start, stop, step) -> Apply:
        xs = [as_tensor_variable(v) for v in (start, stop, step)]
        for name, v in zip(("start", "stop", "step"), xs):
            if v.ndim != 0:
                raise TypeError(f"{self}: {name} must be a scalar, got {v} of type {v.type}")
        if isinstance(xs[2], Constant) and xs[2].data == 0:
            raise ValueError(f"{self}: step must not be zero")
        length = None
        if all(isinstance(v, Constant) for v in xs):
            length = len(np.arange(*[v.data.item() for v in xs], dtype=self.dtype))
        return Apply(self, xs, [TensorVariable(TensorType(self.dtype, (length,)))])

    def perform(self, start, stop, step):
        return np.arange(start, stop, step, dtype=self.dtype)

    def emit(self, names):
        return f"np.arange({names[0]}, {names[1]}, {names[2]}, dtype=np.{self.dtype})"

    def infer_shape(self, node, shapes):
        if node.outputs[0].type.shape[0] is not None:
            return [node.outputs[0].type.shape]
        start, stop, step = [E.cast(v, "float64") for v in node.inputs]
        n = E.cast(E.ceil((stop - start) / step), "int64")
        return [(E.maximum(n, 0),)]

    def grad(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        if self.dtype in discrete_dtypes:
            return [None if v.dtype in discrete_dtypes else E.zeros_like(v) for v in inputs]
        start, stop, step = inputs
        index = arange(0, shape_i(outputs[0], 0), dtype=gz.dtype)
        grads = [_sum(gz), E.zeros_like(stop), _sum(gz * index)]
        return [None if v.dtype in discrete_dtypes else E.cast(g, v.dtype)
                for v, g in zip(inputs, grads)]


def arange(start, stop=None, step=1, dtype=None) -> Variable:
    """``np.arange`` with symbolic scalar bounds.

    Unless given, the dtype is the promotion of the symbolic bounds' dtypes; Python numbers are
    weak, as in elementwise ops (``arange(0, n)`` with an int32 ``n`` is int32; alone, ints are
    int64 and floats ``floatX``).
    """
    if stop is None:
        start, stop = 0, start
    args = (start, stop, step)
    for v in args:
        if not isinstance(v, (Variable, int, float, np.number)) or \
                isinstance(v, (bool, np.bool_)):
            raise TypeError(f"arange: bounds must be numbers or symbolic scalars, got {v!r}")
    strong = [v.dtype for v in args if isinstance(v, Variable)]
    xs = [v if isinstance(v, Variable) else constant(v, dtype=E._weak_dtype(v, strong))
          for v in args]
    if dtype is None:
        dtype = result_dtype(*[v.dtype for v in xs])
        if dtype == "bool":
            dtype = "int64"
    return ARange(normalize_dtype(dtype))(*xs)


def _shape_args(shape, what: str) -> tuple:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    if isinstance(shape, Variable):
        if shape.ndim == 0:
            return (shape,)
        if shape.ndim != 1:
            raise TypeError(f"{what}: shape must be an int vector, got {shape.type}")
        return (shape,)
    if isinstance(shape, (tuple, list)):
        return tuple(shape)
    raise TypeError(f"{what}: shape must be an int, a tuple or an int vector, got {shape!r}")


def zeros(shape, dtype=None) -> Variable:
    """A new tensor of zeros (``dtype`` defaults to ``floatX``); built on ``alloc``."""
    dtype = normalize_dtype(dtype or config.floatX)
    return alloc(constant(0, dtype=dtype), *_shape_args(shape, "zeros"))


def ones(shape, dtype=None) -> Variable:
    """A new tensor of ones (``dtype`` defaults to ``floatX``); built on ``alloc``."""
    dtype = normalize_dtype(dtype or config.floatX)
    return alloc(constant(1, dtype=dtype), *_shape_args(shape, "ones"))


class Eye(Op):
    """``np.eye(n, m, k)`` with symbolic integer sizes and diagonal offset (no gradient)."""

    props = ("dtype",)

    def __init__(self, dtype: str):
        self.dtype = normalize_dtype(dtype)

    def make_node(self, n, m, k) -> Apply:
        n, m, k = [_int_scalar(v, "eye") for v in (n, m, k)]
        return Apply(self, [n, m, k],
                     [TensorVariable(TensorType(self.dtype, (_static_int(n), _static_int(m))))])

    def perform(self, n, m, k):
        return np.eye(int(n), int(m), int(k), dtype=self.dtype)

    def emit(self, names):
        return f"np.eye({names[0]}, {names[1]}, {names[2]}, dtype=np.{self.dtype})"

    def infer_shape(self, node, shapes):
        n, m, _ = node.inputs
        return [tuple(_static_int(v) if isinstance(v, Constant) else v for v in (n, m))]

    def grad(self, inputs, outputs, output_grads):
        return [None, None, None]


def eye(n, m=None, k=0, dtype=None) -> Variable:
    """An ``n x m`` matrix with ones on diagonal ``k`` (``dtype`` defaults to ``floatX``)."""
    return Eye(normalize_dtype(dtype or config.floatX))(n, n if m is None else m, k)


def identity_like(x, dtype=None) -> Variable:
    """The identity pattern of the shape of the matrix ``x`` (of its dtype unless given)."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise TypeError(f"identity_like: expected a matrix, got {x} of type {x.type}")
    return eye(shape_i(x, 0), shape_i(x, 1), 0, dtype or x.dtype)
