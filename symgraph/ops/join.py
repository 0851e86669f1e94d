"""Joining and constructing tensors: ``Join``/``Split``, ``stack``, ``ARange``, ``zeros``/``ones``,
``Eye``, ``squeeze``, ``swapaxes``, ``Repeat`` (with its adjoint ``RepeatSum``) and ``tile``."""
from __future__ import annotations

import builtins
from typing import List, Optional, Sequence, Union

import numpy as np

from symgraph.config import config
from symgraph.graph import Apply, Constant, Variable, as_tensor_variable, constant
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.shape import alloc, dimshuffle, reshape, shape_i
from symgraph.types import TensorType, discrete_dtypes, int_dtypes, normalize_dtype, \
    result_dtype


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
        return Apply(self, xs, [Variable(TensorType(dtype, shape))])

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
            outs.append(Variable(TensorType(x.dtype, shp)))
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
            from symgraph.ops.shape import shape_entries
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
# Construction: arange, zeros, ones
# ---------------------------------------------------------------------------------------

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
        return Apply(self, xs, [Variable(TensorType(self.dtype, (length,)))])

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
        from symgraph.ops.reduce import sum as _sum
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
                     [Variable(TensorType(self.dtype, (_static_int(n), _static_int(m))))])

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


# ---------------------------------------------------------------------------------------
# Repeat and its adjoint
# ---------------------------------------------------------------------------------------

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
        return Apply(self, [x, repeats], [Variable(TensorType(x.dtype, shp))])

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
            from symgraph.ops.reduce import sum as _sum
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

    props = ("axis",)

    def __init__(self, axis: int):
        self.axis = int(axis)

    def make_node(self, g, repeats, n) -> Apply:
        g = as_tensor_variable(g)
        repeats = as_tensor_variable(repeats)
        n = _int_scalar(n, str(self))
        shp = list(g.type.shape)
        shp[self.axis] = _static_int(n)
        return Apply(self, [g, repeats, n], [Variable(TensorType(g.dtype, shp))])

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
        from symgraph.ops.shape import shape_entries
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
NAMESPACE = {"_split": _split_impl, "_repeat_sum": _repeat_sum}
