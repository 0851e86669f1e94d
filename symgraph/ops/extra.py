"""Array functions of NumPy's everyday kit: ``nonzero``, ``choose``, ``bincount``,
``searchsorted``, index conversions, and compositions of other ops (``roll``, ``isclose``,
``ptp``, ``largest``, ``stacklists``, ``mgrid``...).

The ops here have data-dependent output lengths or integer results: only ``Choose`` and
``Bincount`` (through their float operands) have gradients.
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.construct import arange
from symgraph.ops.namespace import T
from symgraph.ops.shape import shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType, broadcast_shapes, discrete_dtypes, int_dtypes


def _int_tensor(x, what: str) -> Variable:
    x = as_tensor_variable(x)
    if x.dtype not in int_dtypes and x.dtype != "bool":
        raise TypeError(f"{what}: expected integers, got {x} of type {x.type}")
    return x


class Nonzero(Op):
    """``np.nonzero(a)`` as an ``(a.ndim, k)`` int64 matrix of the indices of non-zero
    entries (row ``d`` holds their coordinates along dimension ``d``)."""

    copies = True

    def make_node(self, a) -> Apply:
        a = as_tensor_variable(a)
        if a.ndim == 0:
            raise ValueError(f"nonzero: {a} is 0-d; nonzero needs at least one dimension")
        return Apply(self, [a], [TensorVariable(TensorType("int64", (a.ndim, None)))])

    def perform(self, a):
        return np.array(np.nonzero(a), dtype=np.int64).reshape(a.ndim, -1)

    def grad(self, inputs, outputs, output_grads):
        return [None]


def nonzero(a, return_matrix: bool = False):
    """The indices of the non-zero entries of ``a``: a tuple with one int64 vector per
    dimension (as ``np.nonzero``), or with ``return_matrix`` one ``(ndim, k)`` matrix."""
    m = Nonzero()(a)
    if return_matrix:
        return m
    return tuple(m[d] for d in range(m.type.shape[0]))


def flatnonzero(a) -> Variable:
    """Indices of the non-zero entries of the flattened ``a``."""
    return nonzero(as_tensor_variable(a).flatten())[0]


def nonzero_values(a) -> Variable:
    """The non-zero entries of the flattened ``a``."""
    flat = as_tensor_variable(a).flatten()
    return flat[flatnonzero(flat)]


class Choose(Op):
    """``np.choose(a, choices, mode=mode)`` with the choices stacked along a new first axis.

    Gradient in the choices: ``gz`` routed to the choice each entry was taken from (summed
    over broadcasting); none in the integer ``a``.
    """

    props = ("mode",)
    copies = True

    def __init__(self, mode: str = "raise"):
        if mode not in ("raise", "wrap", "clip"):
            raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
        self.mode = mode

    def make_node(self, a, choices) -> Apply:
        a, choices = _int_tensor(a, "choose"), as_tensor_variable(choices)
        if choices.ndim < 1:
            raise TypeError(f"choose: choices must have a leading axis of alternatives, got "
                            f"{choices} of type {choices.type}")
        shape = broadcast_shapes([a.type.shape, choices.type.shape[1:]], "choose")
        return Apply(self, [a, choices], [TensorVariable(TensorType(choices.dtype, shape))])

    def perform(self, a, choices):
        return np.asarray(np.choose(a, choices, mode=self.mode), dtype=choices.dtype)

    def grad(self, inputs, outputs, output_grads):
        a, choices = inputs
        (gz,) = output_grads
        if self.mode == "wrap":
            a = a % shape_i(choices, 0)
        elif self.mode == "clip":
            a = E.clip(a, 0, shape_i(choices, 0) - 1)
        k = arange(shape_i(choices, 0)).dimshuffle([0] + ["x"] * (gz.ndim))
        picked = E.eq(a.dimshuffle(["x"] + list(range(a.ndim))), k)
        g = E.switch(picked, gz.dimshuffle(["x"] + list(range(gz.ndim))), 0)
        return [None, E.unbroadcast(g, choices)]


def choose(a, choices, out=None, mode: str = "raise") -> Variable:
    """``np.choose``: entry ``i`` is ``choices[a[i]][i]`` (with broadcasting)."""
    if out is not None:
        raise ValueError("choose: out= is not supported (symbolic results are new tensors)")
    if isinstance(choices, (list, tuple)):
        cs = [as_tensor_variable(c) for c in choices]
        carrier = cs[-1]
        for c in cs[-2::-1]:
            carrier = E.second(c, carrier)  # a tensor of the broadcast shape of all choices
        choices = T.stack([E.second(carrier, c) for c in cs])
    return Choose(mode)(a, choices)


class Bincount(Op):
    """``np.bincount(x, weights, minlength)`` (float64 counts with weights, int64 without).

    Gradient in the weights: ``gz[x]``; none in the integer ``x``.
    """

    props = ("minlength", "weighted")
    copies = True

    def __init__(self, minlength: int = 0, weighted: bool = False):
        self.minlength, self.weighted = int(minlength or 0), bool(weighted)

    def make_node(self, x, *weights) -> Apply:
        x = _int_tensor(x, "bincount")
        if x.ndim != 1:
            raise TypeError(f"bincount: expected a vector of non-negative integers, got {x}")
        ins = [x] + [as_tensor_variable(w) for w in weights]
        dtype = "float64" if weights else "int64"
        return Apply(self, ins, [TensorVariable(TensorType(dtype, (None,)))])

    def perform(self, x, *weights):
        w = weights[0] if weights else None
        out = np.bincount(x, weights=w, minlength=self.minlength)
        return out.astype("float64" if weights else "int64", copy=False)

    def grad(self, inputs, outputs, output_grads):
        if len(inputs) == 1:
            return [None]
        return [None, output_grads[0][inputs[0]]]


def bincount(x, weights=None, minlength: Optional[int] = None, assert_nonneg: bool = False):
    """Counts (or summed ``weights``) of each value of the non-negative integer vector ``x``."""
    op = Bincount(minlength or 0, weights is not None)
    return op(x) if weights is None else op(x, weights)


class SearchSorted(Op):
    """``np.searchsorted(x, v, side)``: int64 insertion indices of ``v`` into the sorted
    vector ``x``; no gradient."""

    props = ("side",)
    copies = True

    def __init__(self, side: str = "left"):
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        self.side = side

    def make_node(self, x, v, *sorter) -> Apply:
        x, v = as_tensor_variable(x), as_tensor_variable(v)
        if x.ndim != 1:
            raise TypeError(f"searchsorted: expected a sorted vector, got {x} of type {x.type}")
        ins = [x, v] + [_int_tensor(s, "searchsorted") for s in sorter]
        return Apply(self, ins, [TensorVariable(TensorType("int64", v.type.shape))])

    def perform(self, x, v, *sorter):
        return np.asarray(np.searchsorted(x, v, side=self.side,
                                          sorter=sorter[0] if sorter else None), dtype=np.int64)

    def infer_shape(self, node, shapes):
        return [shapes[1]]

    def grad(self, inputs, outputs, output_grads):
        return [None] * len(inputs)


def searchsorted(x, v, side: str = "left", sorter=None) -> Variable:
    """Where to insert ``v`` into the sorted vector ``x`` to keep it sorted."""
    op = SearchSorted(side)
    return op(x, v) if sorter is None else op(x, v, sorter)


class UnravelIndex(Op):
    """``np.unravel_index(indices, dims, order)``: one int64 tensor per dimension; no
    gradient."""

    props = ("order", "ndims")
    copies = True

    def __init__(self, ndims: int, order: str = "C"):
        self.ndims, self.order = int(ndims), order

    def make_node(self, indices, dims) -> Apply:
        indices = _int_tensor(indices, "unravel_index")
        dims = _int_tensor(dims, "unravel_index")
        outs = [TensorVariable(TensorType("int64", indices.type.shape))
                for _ in range(self.ndims)]
        return Apply(self, [indices, dims], outs)

    def perform(self, indices, dims):
        return tuple(np.asarray(r, dtype=np.int64)
                     for r in np.unravel_index(indices, tuple(dims), order=self.order))

    def infer_shape(self, node, shapes):
        return [shapes[0]] * self.ndims

    def grad(self, inputs, outputs, output_grads):
        return [None, None]


def unravel_index(indices, dims, order: str = "C"):
    """Coordinates of flat ``indices`` in an array of shape ``dims`` (a tuple of tensors)."""
    dims = as_tensor_variable(dims)
    if dims.ndim != 1 or dims.type.shape[0] is None:
        raise ValueError("unravel_index: dims must be a vector of known length")
    out = UnravelIndex(dims.type.shape[0], order)(indices, dims)
    return tuple(out) if isinstance(out, list) else (out,)


class RavelMultiIndex(Op):
    """``np.ravel_multi_index(coords, dims, mode, order)``: flat int64 indices; no gradient."""

    props = ("mode", "order")
    copies = True

    def __init__(self, mode: str = "raise", order: str = "C"):
        self.mode, self.order = mode, order

    def make_node(self, dims, *coords) -> Apply:
        coords = [_int_tensor(c, "ravel_multi_index") for c in coords]
        dims = _int_tensor(dims, "ravel_multi_index")
        shape = broadcast_shapes([c.type.shape for c in coords], "ravel_multi_index")
        return Apply(self, [dims] + coords, [TensorVariable(TensorType("int64", shape))])

    def perform(self, dims, *coords):
        return np.asarray(np.ravel_multi_index(coords, tuple(dims), mode=self.mode,
                                               order=self.order), dtype=np.int64)

    def grad(self, inputs, outputs, output_grads):
        return [None] * len(inputs)


def ravel_multi_index(multi_index, dims, mode: str = "raise", order: str = "C") -> Variable:
    """Flat indices of the coordinates ``multi_index`` (a sequence of integer tensors)."""
    return RavelMultiIndex(mode, order)(dims, *multi_index)


# ---------------------------------------------------------------------------------------
# compositions
# ---------------------------------------------------------------------------------------

def roll(x, shift, axis: Optional[int] = None) -> Variable:
    """``np.roll``: entries shifted by ``shift`` (an int or integer scalar) along ``axis``,
    wrapping around; ``axis=None`` rolls the flattened tensor and restores the shape."""
    x = as_tensor_variable(x)
    if axis is None:
        if x.ndim <= 1:
            return roll(x, shift, 0) if x.ndim == 1 else x
        return roll(x.flatten(), shift, 0).reshape(x.shape, ndim=x.ndim)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"roll: axis {axis} is out of range for {x} of type {x.type}")
    axis = int(axis) % x.ndim
    n = shape_i(x, axis)
    s = as_tensor_variable(shift) % n if not isinstance(n, int) or n > 0 else 0
    head = [slice(None)] * x.ndim
    tail = [slice(None)] * x.ndim
    head[axis], tail[axis] = slice(n - s, None), slice(None, n - s)
    return T.concatenate([x[tuple(head)], x[tuple(tail)]], axis=axis)


def isclose(a, b, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
            ) -> Variable:
    """``np.isclose``: ``|a - b| <= atol + rtol |b|``; infinities are close only to equal
    infinities, NaNs to NaNs only with ``equal_nan``."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    finite = E.and_(E.invert(E.isinf(a)), E.invert(E.isinf(b))) \
        if a.dtype not in discrete_dtypes or b.dtype not in discrete_dtypes else None
    if finite is None:
        return E.le(E.abs(a - b), atol + rtol * E.abs(b))
    # the distance of finite pairs only: inf - inf would be nan (and warn), and is decided below
    fa, fb = E.switch(finite, a, 0), E.switch(finite, b, 0)
    close = E.le(E.abs(fa - fb), atol + rtol * E.abs(fb))
    result = E.or_(E.and_(finite, close), E.and_(E.invert(finite), E.eq(a, b)))
    if equal_nan:
        result = E.or_(result, E.and_(E.isnan(a), E.isnan(b)))
    return result


def allclose(a, b, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
             ) -> Variable:
    """True when every pair of entries :func:`isclose`."""
    return T.all(isclose(a, b, rtol, atol, equal_nan))


def ptp(a, axis=None) -> Variable:
    """Range (maximum minus minimum) along ``axis``."""
    a = as_tensor_variable(a)
    return T.max(a, axis=axis) - T.min(a, axis=axis)


def largest(*args) -> Variable:
    """Elementwise maximum of all arguments."""
    if not args:
        raise TypeError("largest: needs at least one argument")
    out = as_tensor_variable(args[0])
    for x in args[1:]:
        out = E.maximum(out, x)
    return out


def smallest(*args) -> Variable:
    """Elementwise minimum of all arguments."""
    if not args:
        raise TypeError("smallest: needs at least one argument")
    out = as_tensor_variable(args[0])
    for x in args[1:]:
        out = E.minimum(out, x)
    return out


def stacklists(arg) -> Variable:
    """A tensor from nested lists of scalars (or tensors), stacking level by level."""
    if isinstance(arg, (list, tuple)):
        return T.stack([stacklists(a) for a in arg])
    return as_tensor_variable(arg)


def max_and_argmax(a, axis=None, keepdims: bool = False) -> List[Variable]:
    """``[max(a, axis), argmax(a, axis)]``."""
    return [T.max(a, axis=axis, keepdims=keepdims), T.argmax(a, axis=axis, keepdims=keepdims)]


def iround(a, mode: str = "half_to_even") -> Variable:
    """``a`` rounded (``'half_to_even'`` or ``'half_away_from_zero'``) and cast to int64."""
    return E.cast(E.round(a, mode), "int64")


def compress(condition, x, axis: Optional[int] = None) -> Variable:
    """The slices of ``x`` along ``axis`` (flattened when None) where ``condition`` holds."""
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    idx = nonzero(as_tensor_variable(condition))[0]
    index = [slice(None)] * x.ndim
    index[axis] = idx
    return x[tuple(index)]


def bartlett(M) -> Variable:
    """The Bartlett (triangular) window of ``M`` points, as ``np.bartlett``."""
    M = as_tensor_variable(M)
    n = E.cast(arange(M), "float64")
    half = (E.cast(M, "float64") - 1) / 2
    w = 1 - E.abs(n - half) / half
    return E.switch(E.le(M, 1), E.cast(E.eq(M, 1), "float64") + 0 * n, w)


class _Grid:
    """``mgrid[0:3, 0:4]`` (dense) and ``ogrid[...]`` (open): lists of int or float tensors,
    as NumPy's index tricks (float steps give float grids; complex steps are not supported)."""

    def __init__(self, sparse: bool):
        self.sparse = sparse

    def __getitem__(self, key):
        slices = key if isinstance(key, tuple) else (key,)
        axes = []
        for k, s in enumerate(slices):
            if not isinstance(s, slice) or s.stop is None:
                raise TypeError(f"{'ogrid' if self.sparse else 'mgrid'}: expected slices "
                                f"start:stop[:step], got {s!r}")
            if isinstance(s.step, complex):
                raise TypeError("mgrid/ogrid: complex steps (a number of points) are not "
                                "supported; use T.arange with a float step")
            axes.append(arange(0 if s.start is None else s.start, s.stop,
                               1 if s.step is None else s.step))
        nd = len(axes)
        out = []
        for k, ax in enumerate(axes):
            pattern = ["x"] * nd
            pattern[k] = 0
            v = ax.dimshuffle(pattern)
            if not self.sparse:
                shape = [shape_i(a, 0) for a in axes]
                v = T.alloc(v, *shape)
            out.append(v)
        return out


mgrid = _Grid(sparse=False)
ogrid = _Grid(sparse=True)


__all__ = ["nonzero", "flatnonzero", "nonzero_values", "choose", "bincount", "searchsorted",
           "unravel_index", "ravel_multi_index", "roll", "isclose", "allclose", "ptp",
           "largest", "smallest", "stacklists", "max_and_argmax", "iround", "compress",
           "bartlett", "mgrid", "ogrid"]
