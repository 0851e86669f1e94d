"""Running sums and products along an axis (``CumOp``), and ``diff``.

Gradients: for ``y = cumsum(x)``, ``gx[i] = sum_{j >= i} gy[j]`` (a cumulative sum in reverse);
for ``y = cumprod(x)``, ``gx[i] = sum_{j >= i} gy[j] y[j] / x[i]`` (as Theano, it divides by
``x`` and so is not defined where ``x`` has zeros).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops.namespace import T
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType


def _reverse(x: Variable, axis: int) -> Variable:
    index = [slice(None)] * x.ndim
    index[axis] = slice(None, None, -1)
    return x[tuple(index)]


def _acc_dtype(dtype: str) -> str:
    """NumPy's dtype of a running sum/product: small integers accumulate in int64."""
    return np.cumsum(np.zeros(1, dtype=dtype)).dtype.name


class CumOp(Op):
    """``np.cumsum`` (``mode='add'``) or ``np.cumprod`` (``mode='mul'``) along ``axis``."""

    props = ("axis", "mode")
    copies = True

    def __init__(self, axis: int, mode: str = "add"):
        if mode not in ("add", "mul"):
            raise ValueError(f"CumOp: mode must be 'add' or 'mul', got {mode!r}")
        self.axis, self.mode = int(axis), mode

    def __str__(self):
        return f"Cum{'sum' if self.mode == 'add' else 'prod'}{{{self.axis}}}"

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        if not 0 <= self.axis < max(x.ndim, 1) or x.ndim == 0:
            raise ValueError(f"{self}: axis {self.axis} is out of range for {x} of type "
                             f"{x.type}")
        return Apply(self, [x], [TensorVariable(TensorType(_acc_dtype(x.dtype), x.type.shape))])

    def perform(self, x):
        fn = np.cumsum if self.mode == "add" else np.cumprod
        return fn(x, axis=self.axis)

    def emit(self, names):
        fn = "cumsum" if self.mode == "add" else "cumprod"
        return f"np.{fn}({names[0]}, axis={self.axis})"

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        (x,), (y,), (gy,) = inputs, outputs, output_grads
        back = CumOp(self.axis, "add")
        if self.mode == "add":
            return [_reverse(back(_reverse(gy, self.axis)), self.axis)]
        return [_reverse(back(_reverse(gy * y, self.axis)), self.axis) / x]


def _cum(x, axis: Optional[int], mode: str) -> Variable:
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"cum{'sum' if mode == 'add' else 'prod'}: axis {axis} is out of "
                         f"range for {x} of type {x.type}")
    return CumOp(int(axis) % x.ndim, mode)(x)


def cumsum(x, axis: Optional[int] = None) -> Variable:
    """Running sum along ``axis`` (``None``: of the flattened tensor), as ``np.cumsum``."""
    return _cum(x, axis, "add")


def cumprod(x, axis: Optional[int] = None) -> Variable:
    """Running product along ``axis`` (``None``: of the flattened tensor), as ``np.cumprod``."""
    return _cum(x, axis, "mul")


def diff(x, n: int = 1, axis: int = -1) -> Variable:
    """The ``n``-th discrete difference along ``axis``, as ``np.diff``."""
    x = as_tensor_variable(x)
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"diff: axis {axis} is out of range for {x} of type {x.type}")
    axis = int(axis) % x.ndim
    for _ in range(int(n)):
        hi = [slice(None)] * x.ndim
        lo = [slice(None)] * x.ndim
        hi[axis], lo[axis] = slice(1, None), slice(None, -1)
        x = T.sub(x[tuple(hi)], x[tuple(lo)])
    return x


__all__ = ["cumsum", "cumprod", "diff"]
