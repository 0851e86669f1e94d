"""``SpecifyShape``: a tensor stated, and checked at run time, to have some static dimensions.

``givens`` substitutes a value for a variable declared with static dimensions through it, so
the graph built on the declared type (``xs.shape[1]`` folded to 3) never meets a value of
another shape: the value is checked where it enters, and the call fails naming the variable.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType


def _shape_text(shape: Sequence[Optional[int]]) -> str:
    inner = ", ".join("?" if s is None else str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _specify_shape(x, shape: Tuple[Optional[int], ...], label: str):
    """``x`` itself once its shape agrees with ``shape`` (None: any length)."""
    got = np.shape(x)
    if len(got) != len(shape) or any(s is not None and g != s for g, s in zip(got, shape)):
        raise ValueError(f"{label}: a value of shape {tuple(got)} where the shape "
                         f"{_shape_text(shape)} was declared")
    return x


class SpecifyShape(Op):
    """``x`` itself, checked at run time to have the dimensions of ``shape`` that are not
    None; the output's type states them, so code built on it may rely on them.

    ``label`` names what is checked in the error (``"givens: value for xs"``).
    Gradient: the output gradient, unchanged.
    """

    props = ("shape", "label")
    view_map = {0: [0]}  # the input itself is the output

    @property
    def emit_helpers(self) -> dict:
        return {"_specify_shape": _specify_shape}

    def __init__(self, shape: Sequence[Optional[int]], label: str = "specify_shape"):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.label = str(label)

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim != len(self.shape):
            raise TypeError(f"{self.label}: a {x.ndim}-d value (type {x.type}) where the shape "
                            f"{_shape_text(self.shape)} was declared")
        for axis, (want, have) in enumerate(zip(self.shape, x.type.shape)):
            if want is not None and have is not None and want != have:
                raise ValueError(f"{self.label}: a value of static shape "
                                 f"{_shape_text(x.type.shape)} where the shape "
                                 f"{_shape_text(self.shape)} was declared (dimension {axis})")
        shape = tuple(want if want is not None else have
                      for want, have in zip(self.shape, x.type.shape))
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, shape))])

    def perform(self, x):
        return _specify_shape(x, self.shape, self.label)

    def emit(self, names):
        return f"_specify_shape({names[0]}, {self.shape!r}, {self.label!r})"

    def infer_shape(self, node, shapes):
        return [tuple(want if want is not None else have
                      for want, have in zip(self.shape, shapes[0]))]

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0]]


def specify_shape(x, shape: Sequence[Optional[int]], label: str = "specify_shape") -> Variable:
    """``x``, stated (and checked at run time) to have the dimensions of ``shape`` that are
    not None. Returns ``x`` itself when its type already says so; raises at once when its
    static shape contradicts ``shape``."""
    x = as_tensor_variable(x)
    shape = tuple(shape)
    if len(shape) == x.ndim and all(s is None or s == d for s, d in zip(shape, x.type.shape)):
        return x
    return SpecifyShape(shape, label)(x)
