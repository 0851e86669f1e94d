"""Linear algebra: ``Dot`` (NumPy ``dot`` on vectors and matrices) and helpers on top of it."""
from __future__ import annotations

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.shape import dimshuffle, transpose
from symgraph.types import TensorType, discrete_dtypes, result_dtype
from symgraph.ops.linalg import tensordot


class Dot(Op):
    """``np.dot`` of two tensors of at most two dimensions.

    Gradient (matrix case): ``gx = gz . y^T``, ``gy = x^T . gz``; the vector cases use
    ``outer`` and matrix-vector products accordingly.
    """

    def make_node(self, x, y) -> Apply:
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        if x.ndim > 2 or y.ndim > 2:
            raise TypeError(f"Dot takes inputs of at most 2 dims, got {x.type} and {y.type}; "
                            f"use T.dot or T.tensordot for higher ranks")
        if x.ndim == 0 or y.ndim == 0:
            raise TypeError("Dot of a scalar: use multiplication")
        k1 = x.type.shape[-1]
        k2 = y.type.shape[0]
        if k1 is not None and k2 is not None and k1 != k2:
            raise ValueError(f"dot: inner dimensions differ: {x} has shape {x.type.shape}, "
                             f"{y} has shape {y.type.shape}")
        shp = x.type.shape[:-1] + y.type.shape[1:]
        return Apply(self, [x, y], [TensorVariable(TensorType(result_dtype(x.dtype, y.dtype), shp))])

    def perform(self, x, y):
        return np.dot(x, y)

    def emit(self, names):
        return f"np.dot({names[0]}, {names[1]})"

    def infer_shape(self, node, shapes):
        xs, ys = shapes
        return [tuple(xs[:-1]) + tuple(ys[1:])]

    def grad(self, inputs, outputs, output_grads):
        x, y = inputs
        (gz,) = output_grads
        if x.ndim == 2 and y.ndim == 2:
            gx, gy = dot(gz, transpose(y)), dot(transpose(x), gz)
        elif x.ndim == 1 and y.ndim == 2:
            gx, gy = dot(y, gz), outer(x, gz)
        elif x.ndim == 2 and y.ndim == 1:
            gx, gy = outer(gz, y), dot(transpose(x), gz)
        else:
            gx, gy = gz * y, gz * x
        return [None if x.dtype in discrete_dtypes else E.cast(gx, x.dtype),
                None if y.dtype in discrete_dtypes else E.cast(gy, y.dtype)]


_dot = Dot()


def outer(x, y) -> Variable:
    """Outer product of two vectors."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim != 1 or y.ndim != 1:
        x, y = x.flatten(), y.flatten()
    return dimshuffle(x, (0, "x")) * dimshuffle(y, ("x", 0))


def dot(x, y) -> Variable:
    """NumPy's ``dot``: inner product, matrix-vector and matrix-matrix products, and for higher
    ranks a sum over the last axis of ``x`` and the second-to-last of ``y``."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if x.ndim <= 2 and y.ndim <= 2:
        return _dot(x, y)
    return tensordot(x, y, [[x.ndim - 1], [max(y.ndim - 2, 0)]])
