"""Joining tensors and moving their axes: ``Join``/``Split``, ``concatenate``, ``stack``,
``squeeze`` and ``swapaxes``.

The construction functions (:mod:`symgraph.ops.construct`) and ``repeat``/``tile``
(:mod:`symgraph.ops.tiling`) are re-exported here, where they were first defined.
"""
from __future__ import annotations

import builtins
from typing import List, Optional, Sequence, Union

import numpy as np

from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.construct import (ARange, Eye, _axis, _int_scalar, _static_int,  # noqa: F401
                                    arange, eye, identity_like, ones, zeros)
from symgraph.ops.shape import dimshuffle, shape_entries, shape_i
from symgraph.ops.tiling import Repeat, RepeatSum, repeat, tile  # noqa: F401
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType, discrete_dtypes, result_dtype

# ---------------------------------------------------------------------------------------
# Join / Split
# ---------------------------------------------------------------------------------------

class Join(Op):
    """``np.concatenate(tensors, axis)``.

    Gradient: ``gz`` split back along ``axis`` into pieces of the inputs' lengths
    (:class:`Split`); integer inputs get none.
    """

    props = ("axis",)

    def __init__(self, axis: int):
        self.axis = int(axis)

    def make_node(self, *tensors) -> Apply:
        if not tensors:
            raise ValueError("Join: needs at least one tensor")
        xs = [as_tensor_variable(t) for t in tensors]
        ndim = xs[0].ndim
        for i, x in enumerate(xs):
            if x.ndim != ndim:
                raise TypeError(f"Join: all inputs must have the same number of dimensions; "
                                f"input 0 has {ndim}, input {i} ({x}) has {x.ndim}")
        if not 0 <= self.axis < ndim:
            raise ValueError(f"Join: axis {self.axis} is out of range for {ndim}-d inputs")
        shape: List[Optional[int]] = []
        for d in range(ndim):
            dims = [x.type.shape[d] for x in xs]
            if d == self.axis:
                shape.append(None if None in dims else builtins.sum(dims))
                continue
            known = {s for s in dims if s is not None}
            if len(known) > 1:
                raise ValueError(f"Join: inputs differ in dimension {d} (static lengths "
                                 f"{dims}); only axis {self.axis} may differ")
            shape.append(known.pop() if known else None)
        dtype = result_dtype(*[x.dtype for x in xs])
        return Apply(self, xs, [TensorVariable(TensorType(dtype, shape))])

    def perform(self, *arrays):
        return np.concatenate(arrays, axis=self.axis)

    def emit(self, names):
        return f"np.concatenate(({', '.join(names)},), axis={self.axis})"

    def infer_shape(self, node, shapes):
        out = list(shapes[0])
        total = shapes[0][self.axis]
        for s in shapes[1:]:
            total = total + s[self.axis]
        out[self.axis] = total
        for d, s in enumerate(node.outputs[0].type.shape):
            if s is not None:
                out[d] = s
        return [tuple(out)]

    def grad(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        if len(inputs) == 1:
            pieces = [gz]
        else:
            sizes = [shape_i(x, self.axis) for x in inputs]
            pieces = Split(self.axis, len(inputs))(gz, *sizes)
        return [None if x.dtype in discrete_dtypes else E.cast(g, x.dtype)
                for x, g in zip(inputs, pieces)]


def _split_impl(x, axis, *sizes):
    bounds = np.cumsum([int(s) for s in sizes])
    if bounds[-1] != x.shape[axis]:
        raise ValueError(f"Split: lengths {[int(s) for s in sizes]} sum to {bounds[-1]}, but "
                         f"axis {axis} has length {x.shape[axis]}")
    return tuple(np.split(x, bounds[:-1], axis=axis))


class Split(Op):
    """Split ``x`` along ``axis`` into ``n`` consecutive pieces of the given lengths.

    Gradient: the pieces' gradients joined back (missing ones are zeros); lengths get none.
    """

    @property
    def emit_helpers(self) -> dict:
        return {"_split": _split_impl}

    props = ("axis", "n")

    def __init__(self, axis: int, n: int):
        self.axis, self.n = int(axis), int(n)
        # every piece is a view of the input
        self.view_map = {i: [0] for i in range(self.n)}

    def make_node(self, x, *sizes) -> Apply:
        x = as_tensor_variable(x)
        if len(sizes) != self.n:
            raise TypeError(f"{self}: expected {self.n} lengths, got {len(sizes)}")
        if not 0 <= self.axis < x.ndim:
            raise ValueError(f"{self}: axis {self.axis} is out of range for {x} of type {x.type}")
        sizes = [_int_scalar(s, str(self)) for s in sizes]
        static = [_static_int(s) for s in sizes]
        total = x.type.shape[self.axis]
        if total is not None and None not in static and builtins.sum(static) != total:
            raise ValueError(f"{self}: lengths {static} do not sum to the length {total} of "
                             f"axis {self.axis} of {x}")
        outs = []
        for s in static:
            shp = list(x.type.shape)
            shp[self.axis] = s
            outs.append(TensorVariable(TensorType(x.dtype, shp)))
        return Apply(self, [x] + sizes, outs)

    def perform(self, x, *sizes):
        pieces = _split_impl(x, self.axis, *sizes)
        return pieces if self.n > 1 else pieces[0]

    def emit(self, names):
        pick = "" if self.n > 1 else "[0]"
        return f"_split({names[0]}, {self.axis}, {', '.join(names[1:])}){pick}"

    def infer_shape(self, node, shapes):
        out = []
        for size in node.inputs[1:]:
            shp = list(shapes[0])
            shp[self.axis] = _static_int(size) if isinstance(size, Constant) else size
            out.append(tuple(shp))
        return out

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        if x.dtype in discrete_dtypes:
            return [None] * len(inputs)
        return [join(self.axis, *output_grads)] + [None] * self.n


def join(axis: int, *tensors) -> Variable:
    """Theano's ``join(axis, *tensors)``: concatenate along ``axis``."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise ValueError("join: needs at least one tensor")
    xs = [as_tensor_variable(t) for t in tensors]
    ax = _axis(axis, xs[0].ndim, "join")
    return Join(ax)(*xs)


def concatenate(tensor_list: Sequence, axis: int = 0) -> Variable:
    """``np.concatenate``: join the tensors along ``axis``.

    Gradient: each input receives its slice of ``gz`` along ``axis``.
    """
    if isinstance(tensor_list, Variable) or not isinstance(tensor_list, (list, tuple)):
        raise TypeError(f"concatenate: expected a list or tuple of tensors, got "
                        f"{type(tensor_list).__name__}")
    return join(axis, *tensor_list)


def split(x, splits_size, n_splits: int, axis: int = 0) -> List[Variable]:
    """Theano's ``split``: ``n_splits`` pieces of ``x`` along ``axis`` with lengths
    ``splits_size`` (a list of ints/scalars or an int vector of static length)."""
    x = as_tensor_variable(x)
    ax = _axis(axis, x.ndim, "split")
    if isinstance(splits_size, Variable):
        if isinstance(splits_size, Constant):
            sizes = [int(s) for s in splits_size.data]
        else:
            sizes = shape_entries(splits_size)
    else:
        sizes = list(splits_size)
    if len(sizes) != n_splits:
        raise ValueError(f"split: {len(sizes)} lengths given for n_splits={n_splits}")
    out = Split(ax, n_splits)(x, *sizes)
    return out if isinstance(out, list) else [out]


def horizontal_stack(*tensors) -> Variable:
    """Theano's ``horizontal_stack``: join matrices along axis 1 (vectors along axis 0)."""
    xs = [as_tensor_variable(t) for t in tensors]
    return join(1 if xs and xs[0].ndim > 1 else 0, *xs)


def vertical_stack(*tensors) -> Variable:
    """Theano's ``vertical_stack``: join along axis 0."""
    return join(0, *tensors)


def stack(tensors: Sequence, *more, axis: int = 0) -> Variable:
    """Stack tensors of equal rank along a new ``axis`` (``np.stack``).

    ``stack([a, b], axis)`` is the form to use; Theano's older ``stack(a, b, c)`` is accepted.
    Built as a new broadcastable dimension on each input followed by :class:`Join`, so the
    gradient is that of ``Join`` and ``DimShuffle``.
    """
    if isinstance(tensors, (list, tuple)):
        if len(more) > 1:
            raise TypeError(f"stack: expected stack(tensors, axis), got {len(more) + 1} "
                            f"positional arguments after a list")
        if more:
            axis = more[0]
    elif isinstance(tensors, (Variable, int, float, np.number, np.ndarray)):
        tensors = (tensors,) + more
    else:
        raise TypeError(f"stack: expected a list or tuple of tensors, got "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    xs = [as_tensor_variable(t) for t in tensors]
    ndim = xs[0].ndim
    for i, x in enumerate(xs):
        if x.ndim != ndim:
            raise TypeError(f"stack: all inputs must have the same rank; input 0 has {ndim} "
                            f"dims, input {i} ({x}) has {x.ndim}")
    ax = _axis(axis, ndim + 1, "stack")
    pattern = list(range(ndim))
    pattern.insert(ax, "x")
    return Join(ax)(*[dimshuffle(x, pattern) for x in xs])


# ---------------------------------------------------------------------------------------
# Axis manipulation: squeeze, swapaxes
# ---------------------------------------------------------------------------------------

def squeeze(x, axis: Union[None, int, Sequence[int]] = None) -> Variable:
    """Drop length-1 dimensions: with ``axis=None`` every statically broadcastable one
    (Theano's rule), else the given axes (which must have length 1 at run time)."""
    x = as_tensor_variable(x)
    if axis is None:
        drop = [i for i, s in enumerate(x.type.shape) if s == 1]
    else:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        drop = sorted({_axis(a, x.ndim, "squeeze") for a in axes})
        for a in drop:
            if x.type.shape[a] not in (1, None):
                raise ValueError(f"squeeze: cannot drop axis {a} of {x}: its static length "
                                 f"is {x.type.shape[a]}, not 1")
    return dimshuffle(x, [i for i in range(x.ndim) if i not in drop])


def swapaxes(x, axis1: int, axis2: int) -> Variable:
    """Exchange two axes (a ``DimShuffle``)."""
    x = as_tensor_variable(x)
    a, b = _axis(axis1, x.ndim, "swapaxes"), _axis(axis2, x.ndim, "swapaxes")
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return dimshuffle(x, perm)


#: helpers the emitted code of this module (and of the re-exported ones) names
