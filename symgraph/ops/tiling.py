"""Repeating tensors: ``Repeat`` (Theano's ``extra_ops.repeat``) with its adjoint ``RepeatSum``,
and ``tile``."""
from __future__ import annotations

import builtins
from typing import List, Optional

import numpy as np

from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.construct import _axis, _int_scalar, _static_int
from symgraph.ops.reduce import sum as _sum
from symgraph.ops.shape import alloc, dimshuffle, reshape, shape_entries, shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable, constant
from symgraph.types import TensorType, discrete_dtypes, int_dtypes


def _repeat_sum(g, repeats, axis: int, n):
    """Sum consecutive runs of ``g`` along ``axis``: run ``i`` has length ``repeats[i]``."""
    g = np.asarray(g)
    repeats = np.asarray(repeats)
    n = int(n)
    if repeats.ndim == 0:
        shp = g.shape[:axis] + (n, int(repeats)) + g.shape[axis + 1:]
        return g.reshape(shp).sum(axis=axis + 1)
    idx = np.repeat(np.arange(n), repeats)
    moved = np.moveaxis(g, axis, 0)
    out = np.zeros((n,) + moved.shape[1:], dtype=g.dtype)
    np.add.at(out, idx, moved)
    return np.moveaxis(out, 0, axis)


class Repeat(Op):
    """``np.repeat(x, repeats, axis)``: ``repeats`` is an int scalar or an int vector with one
    entry per element of the axis (Theano's ``extra_ops.repeat``; ``axis=None`` is handled by
    :func:`repeat` by flattening first).

    Gradient: ``gz`` summed over each run of repeated entries (:class:`RepeatSum`).
    """

    props = ("axis",)

    def __init__(self, axis: int):
        self.axis = int(axis)

    def make_node(self, x, repeats) -> Apply:
        x = as_tensor_variable(x)
        repeats = as_tensor_variable(repeats)
        if repeats.dtype not in int_dtypes or repeats.ndim > 1:
            raise TypeError(f"{self}: repeats must be an integer scalar or vector, got "
                            f"{repeats} of type {repeats.type}")
        if not 0 <= self.axis < x.ndim:
            raise ValueError(f"{self}: axis {self.axis} out of range for {x} of type {x.type}")
        shp = list(x.type.shape)
        n = shp[self.axis]
        if isinstance(repeats, Constant):
            r = repeats.data
            if np.any(r < 0):
                raise ValueError(f"{self}: repeats must be non-negative, got {r}")
            if r.ndim == 0:
                shp[self.axis] = None if n is None else n * int(r)
            else:
                if n is not None and r.size != n:
                    raise ValueError(f"{self}: {r.size} repeats for an axis of length {n}")
                shp[self.axis] = int(r.sum())
        else:
            shp[self.axis] = None
            k = repeats.type.shape[0] if repeats.ndim else None
            if k is not None and n is not None and k != n:
                raise ValueError(f"{self}: {k} repeats for an axis of length {n}")
        return Apply(self, [x, repeats], [TensorVariable(TensorType(x.dtype, shp))])

    def perform(self, x, repeats):
        return np.repeat(x, repeats, axis=self.axis)

    def emit(self, names):
        return f"np.repeat({names[0]}, {names[1]}, axis={self.axis})"

    def infer_shape(self, node, shapes):
        x, repeats = node.inputs
        out = list(shapes[0])
        static = node.outputs[0].type.shape[self.axis]
        if static is not None:
            out[self.axis] = static
        elif repeats.ndim == 0:
            out[self.axis] = out[self.axis] * E.cast(repeats, "int64")
        else:
            out[self.axis] = E.cast(_sum(repeats), "int64")
        return [tuple(out)]

    def grad(self, inputs, outputs, output_grads):
        x, repeats = inputs
        if x.dtype in discrete_dtypes:
            return [None, None]
        n = shape_i(x, self.axis)
        return [RepeatSum(self.axis)(output_grads[0], repeats, n), None]


class RepeatSum(Op):
    """The adjoint of :class:`Repeat`: sum runs of ``repeats`` consecutive entries along
    ``axis`` back to ``n`` entries.

    Gradient: the incoming gradient repeated again (``Repeat`` is its adjoint).
    """

    @property
    def emit_helpers(self) -> dict:
        return {"_repeat_sum": _repeat_sum}

    props = ("axis",)

    def __init__(self, axis: int):
        self.axis = int(axis)

    def make_node(self, g, repeats, n) -> Apply:
        g = as_tensor_variable(g)
        repeats = as_tensor_variable(repeats)
        n = _int_scalar(n, str(self))
        shp = list(g.type.shape)
        shp[self.axis] = _static_int(n)
        return Apply(self, [g, repeats, n], [TensorVariable(TensorType(g.dtype, shp))])

    def perform(self, g, repeats, n):
        return _repeat_sum(g, repeats, self.axis, n)

    def emit(self, names):
        return f"_repeat_sum({names[0]}, {names[1]}, {self.axis}, {names[2]})"

    def infer_shape(self, node, shapes):
        out = list(shapes[0])
        n = node.inputs[2]
        out[self.axis] = _static_int(n) if isinstance(n, Constant) else n
        return [tuple(out)]

    def grad(self, inputs, outputs, output_grads):
        return [Repeat(self.axis)(output_grads[0], inputs[1]), None, None]


def repeat(x, repeats, axis: Optional[int] = None) -> Variable:
    """``np.repeat``: repeat each element ``repeats`` times (an int, an int scalar or an int
    vector) along ``axis``; ``axis=None`` repeats the flattened tensor."""
    x = as_tensor_variable(x)
    if isinstance(repeats, (int, np.integer)):
        repeats = constant(np.int64(repeats))
    elif isinstance(repeats, (list, tuple, np.ndarray)):
        repeats = constant(np.asarray(repeats, dtype="int64"))
    if axis is None:
        x = x.flatten() if x.ndim != 1 else x
        axis = 0
    if x.ndim == 0:
        x = dimshuffle(x, ("x",))
    return Repeat(_axis(axis, x.ndim, "repeat"))(x, repeats)


def tile(x, reps) -> Variable:
    """``np.tile``; ``reps`` holds ints or symbolic int scalars (or is an int vector of static
    length).

    Built from ``alloc`` over an interleaved broadcastable view and a ``reshape``, so the
    gradient (sum over the copies) comes from those ops.
    """
    x = as_tensor_variable(x)
    if isinstance(reps, (int, np.integer, Variable)) and not \
            (isinstance(reps, Variable) and reps.ndim == 1):
        reps = (reps,)
    if isinstance(reps, Variable):
        reps = shape_entries(reps)
    reps = tuple(r if isinstance(r, Variable) else int(r) for r in reps)
    for r in reps:
        if isinstance(r, Variable):
            _int_scalar(r, "tile")
        elif r < 0:
            raise ValueError(f"tile: reps must be non-negative, got {reps}")
    d = builtins.max(len(reps), x.ndim)
    reps = (1,) * (d - len(reps)) + reps
    if x.ndim < d:
        x = dimshuffle(x, ("x",) * (d - x.ndim) + tuple(range(x.ndim)))
    if d == 0:
        return x
    dims = [shape_i(x, i) for i in range(d)]
    pattern: List = []
    full: List = []
    for i in range(d):
        pattern += ["x", i]
        full += [reps[i], dims[i]]
    expanded = alloc(dimshuffle(x, pattern), *full)
    return reshape(expanded, [r * n for r, n in zip(reps, dims)])


#: helpers the emitted code of this module names
