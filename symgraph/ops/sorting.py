"""Sorting: ``Sort`` (values), ``ArgSort`` (indices) and ``SortPermute``, the permutation a sort
applies, which carries gradients through a sort and back.

``sort(x)`` moves each element of ``x`` to its place in sorted order: a permutation ``P(x)``
that is piecewise constant in ``x``. So ``d sort(x) = P(x) dx`` and the gradient of a cost is
``P(x)^T gz``: the output gradients scattered back to where their elements came from.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType

_KINDS = ("quicksort", "mergesort", "heapsort", "stable")


def _check(x: Variable, axis: Optional[int], kind: str, what: str) -> int:
    if kind not in _KINDS:
        raise ValueError(f"{what}: kind must be one of {_KINDS}, got {kind!r}")
    if x.ndim == 0:
        raise ValueError(f"{what}: cannot sort the 0-d tensor {x}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for the {x.ndim}-d {x}")
    return int(axis) % x.ndim


class Sort(Op):
    """``np.sort(x, axis, kind)``.

    Gradient: ``SortPermute(transpose=True)(x, gz)`` (each gradient goes back to the position
    its element had before sorting).
    """

    props = ("axis", "kind")
    copies = True

    def __init__(self, axis: int, kind: str = "quicksort"):
        self.axis, self.kind = int(axis), kind

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        _check(x, self.axis, self.kind, "sort")
        return Apply(self, [x], [TensorVariable(x.type)])

    def perform(self, x):
        return np.sort(x, axis=self.axis, kind=self.kind)

    def emit(self, names):
        return f"np.sort({names[0]}, axis={self.axis}, kind='{self.kind}')"

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        return [SortPermute(self.axis, True)(inputs[0], output_grads[0])]


class ArgSort(Op):
    """``np.argsort(x, axis, kind)``: int64 indices, no gradient."""

    props = ("axis", "kind")
    copies = True

    def __init__(self, axis: int, kind: str = "quicksort"):
        self.axis, self.kind = int(axis), kind

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        _check(x, self.axis, self.kind, "argsort")
        return Apply(self, [x], [TensorVariable(TensorType("int64", x.type.shape))])

    def perform(self, x):
        return np.argsort(x, axis=self.axis, kind=self.kind).astype(np.int64, copy=False)

    def emit(self, names):
        return (f"np.argsort({names[0]}, axis={self.axis}, kind='{self.kind}')"
                f".astype(np.int64, copy=False)")

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        return [None]


def _permute(x, g, axis, transpose):
    order = np.argsort(x, axis=axis, kind="stable")
    if not transpose:
        return np.take_along_axis(g, order, axis=axis)
    out = np.empty_like(g)
    np.put_along_axis(out, order, g, axis=axis)
    return out


class SortPermute(Op):
    """``g`` permuted as sorting ``x`` along ``axis`` permutes it (``transpose=False``), or by
    the inverse permutation (``transpose=True``: where the gradient of a sort goes).

    Linear in ``g`` with piecewise-constant coefficients in ``x``: the gradient in ``g`` is the
    transposed permutation, in ``x`` zero.
    """

    props = ("axis", "transpose")
    copies = True
    emit_helpers = {"_sort_permute": _permute}

    def __init__(self, axis: int, transpose: bool):
        self.axis, self.transpose = int(axis), bool(transpose)

    def make_node(self, x, g) -> Apply:
        x, g = as_tensor_variable(x), as_tensor_variable(g)
        if x.ndim != g.ndim:
            raise TypeError(f"{self}: {g} must have the rank of {x}")
        return Apply(self, [x, g], [TensorVariable(g.type)])

    def perform(self, x, g):
        return _permute(x, g, self.axis, self.transpose)

    def emit(self, names):
        return f"_sort_permute({names[0]}, {names[1]}, {self.axis}, {self.transpose})"

    def infer_shape(self, node, shapes):
        return [shapes[1]]

    def grad(self, inputs, outputs, output_grads):
        x, _ = inputs
        return [E.zeros_like(x), SortPermute(self.axis, not self.transpose)(x, output_grads[0])]


def sort(a, axis: Optional[int] = -1, kind: str = "quicksort", order=None) -> Variable:
    """``a`` sorted along ``axis`` (``None``: flattened first), as ``np.sort``."""
    if order is not None:
        raise ValueError("sort: order= (sorting by fields) needs structured arrays, which "
                         "symbolic tensors are not; pass order=None")
    a = as_tensor_variable(a)
    if axis is None:
        a, axis = a.flatten(), 0
    return Sort(_check(a, axis, kind, "sort"), kind)(a)


def argsort(a, axis: Optional[int] = -1, kind: str = "quicksort", order=None) -> Variable:
    """The int64 indices that sort ``a`` along ``axis`` (``None``: flattened), as
    ``np.argsort``."""
    if order is not None:
        raise ValueError("argsort: order= (sorting by fields) needs structured arrays, which "
                         "symbolic tensors are not; pass order=None")
    a = as_tensor_variable(a)
    if axis is None:
        a, axis = a.flatten(), 0
    return ArgSort(_check(a, axis, kind, "argsort"), kind)(a)


def inverse_permutation(perm) -> Variable:
    """The inverse of the integer permutation ``perm`` (of each row, for a matrix):
    ``out[perm[i]] = i``."""
    perm = as_tensor_variable(perm)
    if perm.dtype not in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"):
        raise TypeError(f"inverse_permutation: expected integers, got {perm} of type "
                        f"{perm.type}")
    return E.cast(argsort(perm, axis=-1, kind="stable"), perm.dtype)


__all__ = ["sort", "argsort", "inverse_permutation"]


def _take_last(x: Variable, k: int, axis: int) -> Variable:
    index = [slice(None)] * x.ndim
    index[axis] = slice(-k, None)
    rev = [slice(None)] * x.ndim
    rev[axis] = slice(None, None, -1)
    return x[tuple(index)][tuple(rev)]


def _take_first(x: Variable, k: int, axis: int) -> Variable:
    index = [slice(None)] * x.ndim
    index[axis] = slice(None, k)
    return x[tuple(index)]


def topk(x, kth: int, axis: int = -1, sorted: bool = True, idx_dtype: str = "int64"
         ) -> Variable:
    """The ``kth`` largest values along ``axis`` (largest first); a negative ``kth`` gives the
    ``-kth`` smallest (smallest first). Gradient: through the sort."""
    x = as_tensor_variable(x)
    if kth == 0:
        raise ValueError("topk: kth must not be 0")
    s = sort(x, axis=axis, kind="stable")
    axis = axis % x.ndim
    return _take_last(s, kth, axis) if kth > 0 else _take_first(s, -kth, axis)


def argtopk(x, kth: int, axis: int = -1, sorted: bool = True, idx_dtype: str = "int64"
            ) -> Variable:
    """The indices of :func:`topk`'s values."""
    x = as_tensor_variable(x)
    if kth == 0:
        raise ValueError("argtopk: kth must not be 0")
    s = argsort(x, axis=axis, kind="stable")
    axis = axis % x.ndim
    out = _take_last(s, kth, axis) if kth > 0 else _take_first(s, -kth, axis)
    return E.cast(out, idx_dtype)


def topk_and_argtopk(x, kth: int, axis: int = -1, sorted: bool = True,
                     idx_dtype: str = "int64"):
    """``(topk(...), argtopk(...))``."""
    return topk(x, kth, axis, sorted, idx_dtype), argtopk(x, kth, axis, sorted, idx_dtype)


__all__ += ["topk", "argtopk", "topk_and_argtopk"]
