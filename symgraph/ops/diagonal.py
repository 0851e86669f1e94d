"""Diagonals: ``ExtractDiag`` (a diagonal of a tensor) and ``SetDiag`` (a tensor with one
diagonal replaced), each the other's adjoint, and the functions built on them (``diag``,
``alloc_diag``, ``fill_diagonal``, ``trace``) and on comparisons of ``arange`` (``tri``,
``tril``, ``triu``).

Gradients: ``ExtractDiag``'s is the output gradient set on the diagonal of zeros
(``SetDiag``); ``SetDiag``'s is the gradient with that diagonal zeroed (for the tensor) and the
gradient's diagonal (for the values).
"""
from __future__ import annotations

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.construct import arange
from symgraph.ops.namespace import T
from symgraph.ops.shape import dimshuffle, shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType


def _diag_len(n, m, offset: int):
    """Length of diagonal ``offset`` of an ``n x m`` matrix (ints or symbolic scalars)."""
    if offset >= 0:
        return T.maximum(T.minimum(n, m - offset), 0)
    return T.maximum(T.minimum(n + offset, m), 0)


class ExtractDiag(Op):
    """``np.diagonal(x, offset, axis1, axis2)`` (a copy): the diagonal becomes the last axis."""

    props = ("offset", "axis1", "axis2")
    copies = True

    def __init__(self, offset: int = 0, axis1: int = 0, axis2: int = 1):
        self.offset, self.axis1, self.axis2 = int(offset), int(axis1), int(axis2)

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim < 2 or not (0 <= self.axis1 < x.ndim and 0 <= self.axis2 < x.ndim) or \
                self.axis1 == self.axis2:
            raise ValueError(f"{self}: needs two distinct axes of a tensor of 2 or more "
                             f"dimensions, got {x} of type {x.type}")
        rest = [s for i, s in enumerate(x.type.shape) if i not in (self.axis1, self.axis2)]
        n, m = x.type.shape[self.axis1], x.type.shape[self.axis2]
        length = None
        if n is not None and m is not None:
            length = int(np.diagonal(np.empty((n, m)), self.offset).shape[0])
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, tuple(rest) + (length,)))])

    def perform(self, x):
        return np.diagonal(x, self.offset, self.axis1, self.axis2).copy()

    def emit(self, names):
        return f"np.diagonal({names[0]}, {self.offset}, {self.axis1}, {self.axis2}).copy()"

    def infer_shape(self, node, shapes):
        (s,) = shapes
        rest = [d for i, d in enumerate(s) if i not in (self.axis1, self.axis2)]
        return [tuple(rest) + (_diag_len(s[self.axis1], s[self.axis2], self.offset),)]

    def grad(self, inputs, outputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        return [SetDiag(self.offset, self.axis1, self.axis2)(E.zeros_like(x), gz)]


class SetDiag(Op):
    """A copy of ``x`` whose diagonal ``offset`` of axes ``(axis1, axis2)`` is ``v`` (shaped as
    :class:`ExtractDiag`'s output: the diagonal axis last).

    Gradient: ``gx`` is ``gz`` with that diagonal zeroed, ``gv`` the diagonal of ``gz``.
    """

    props = ("offset", "axis1", "axis2")
    copies = True

    def __init__(self, offset: int = 0, axis1: int = 0, axis2: int = 1):
        self.offset, self.axis1, self.axis2 = int(offset), int(axis1), int(axis2)

    def make_node(self, x, v) -> Apply:
        x = as_tensor_variable(x)
        v = as_tensor_variable(v, dtype=x.dtype)
        want = ExtractDiag(self.offset, self.axis1, self.axis2).make_node(x).outputs[0]
        if v.ndim != want.ndim:
            raise TypeError(f"{self}: the diagonal values {v} must have {want.ndim} "
                            f"dimensions (type {want.type}), got type {v.type}")
        return Apply(self, [x, v], [TensorVariable(x.type)])

    def perform(self, x, v):
        out = np.array(x)
        view = np.diagonal(out, self.offset, self.axis1, self.axis2)
        view.setflags(write=True)
        view[...] = v
        return out

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        x, v = inputs
        gx = SetDiag(self.offset, self.axis1, self.axis2)(gz, E.zeros_like(v))
        gv = ExtractDiag(self.offset, self.axis1, self.axis2)(gz)
        return [gx, gv]


def alloc_diag(v, offset: int = 0) -> Variable:
    """A square matrix with the vector ``v`` on diagonal ``offset`` and zeros elsewhere."""
    v = as_tensor_variable(v)
    if v.ndim != 1:
        raise TypeError(f"alloc_diag: expected a vector, got {v} of type {v.type}")
    n = shape_i(v, 0) + abs(int(offset))
    return SetDiag(offset)(T.zeros((n, n), dtype=v.dtype), v)


def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Variable:
    """The diagonal ``offset`` of axes ``(axis1, axis2)``, as ``np.diagonal`` (a copy)."""
    a = as_tensor_variable(a)
    return ExtractDiag(offset, axis1 % max(a.ndim, 1), axis2 % max(a.ndim, 1))(a)


extract_diag = diagonal


def diag(v, k: int = 0) -> Variable:
    """As ``np.diag``: a vector gives the matrix with it on diagonal ``k``, a matrix its
    diagonal ``k``."""
    v = as_tensor_variable(v)
    if v.ndim == 1:
        return alloc_diag(v, k)
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError(f"diag: expected a vector or a matrix, got {v} of type {v.type}")


def trace(x) -> Variable:
    """Sum of the main diagonal of a matrix. Gradient: the identity pattern times ``gz``."""
    return diagonal(x).sum()


def tri(N, M=None, k: int = 0, dtype=None) -> Variable:
    """``N x M`` matrix with ones at and below diagonal ``k``, as ``np.tri``."""
    M = N if M is None else M
    rows = dimshuffle(arange(N), (0, "x"))
    cols = dimshuffle(arange(M), ("x", 0))
    return E.cast(E.ge(rows + k, cols), dtype or "float64")


def tril(m, k: int = 0) -> Variable:
    """Lower triangle of the matrix ``m`` (entries above diagonal ``k`` set to 0)."""
    m = as_tensor_variable(m)
    return m * tri(shape_i(m, m.ndim - 2), shape_i(m, m.ndim - 1), k, dtype=m.dtype)


def triu(m, k: int = 0) -> Variable:
    """Upper triangle of the matrix ``m`` (entries below diagonal ``k`` set to 0)."""
    m = as_tensor_variable(m)
    return m * (1 - tri(shape_i(m, m.ndim - 2), shape_i(m, m.ndim - 1), k - 1, dtype=m.dtype))


def fill_diagonal(a, val) -> Variable:
    """``a`` with its main diagonal set to the scalar ``val`` (a new tensor).

    Gradient: ``ga`` is ``gz`` with the diagonal zeroed, ``gval`` the sum of ``gz``'s diagonal.
    """
    return fill_diagonal_offset(a, val, 0)


def fill_diagonal_offset(a, val, offset) -> Variable:
    """``a`` with diagonal ``offset`` set to the scalar ``val`` (a new tensor)."""
    a = as_tensor_variable(a)
    if a.ndim != 2:
        raise TypeError(f"fill_diagonal: expected a matrix, got {a} of type {a.type}")
    val = as_tensor_variable(val, dtype=a.dtype)
    if val.ndim != 0:
        raise TypeError(f"fill_diagonal: the value must be a scalar, got {val}")
    offset = int(offset)
    length = _diag_len(shape_i(a, 0), shape_i(a, 1), offset)
    return SetDiag(offset)(a, T.alloc(val, length))


__all__ = ["diag", "diagonal", "extract_diag", "alloc_diag", "trace", "tri", "tril", "triu",
           "fill_diagonal", "fill_diagonal_offset"]
