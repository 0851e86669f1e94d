"""Shape ops: ``Shape``/``ShapeI``, ``MakeVector``, ``Reshape``, ``DimShuffle``, ``Alloc`` and
``SumToShape`` (the run-time half of unbroadcasting)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops.namespace import T
from symgraph.ops.variable import TensorVariable, as_tensor_variable, constant
from symgraph.types import TensorType, int_dtypes

Dim = Union[int, Variable]


def _as_int_scalar(v, what: str) -> Variable:
    v = as_tensor_variable(v) if not isinstance(v, Variable) else v
    if v.ndim != 0 or v.dtype not in int_dtypes:
        raise TypeError(f"{what}: expected an integer scalar, got {v} of type {v.type}")
    return v


class Shape(Op):
    """The shape of a tensor as an int64 vector (its length is always known)."""

    copies = True

    view_map: dict = {}

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorVariable(TensorType("int64", (x.ndim,)))])

    def perform(self, x):
        return np.array(np.shape(x), dtype=np.int64)

    def emit(self, names):
        return f"np.array(np.shape({names[0]}), dtype=np.int64)"

    def infer_shape(self, node, shapes):
        return [(node.inputs[0].ndim,)]

    def grad(self, inputs, outputs, gz):
        return [None]


class ShapeI(Op):
    """``x.shape[i]`` as an int64 scalar."""

    copies = True

    props = ("i",)

    def __init__(self, i: int):
        self.i = int(i)

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        if not 0 <= self.i < x.ndim:
            raise IndexError(f"shape index {self.i} out of range for {x} with {x.ndim} dims")
        return Apply(self, [x], [TensorVariable(TensorType("int64", ()))])

    def perform(self, x):
        return np.int64(np.shape(x)[self.i])

    def emit(self, names):
        return f"np.shape({names[0]})[{self.i}]"

    def infer_shape(self, node, shapes):
        return [()]

    def grad(self, inputs, outputs, gz):
        return [None]


_shape_op = Shape()


def shape(x) -> Variable:
    """Symbolic shape of ``x`` (int64 vector)."""
    return _shape_op(x)


def shape_i(x, i: int) -> Union[int, Variable]:
    """Length of dimension ``i`` of ``x``: a Python int when static, else a symbolic scalar."""
    x = as_tensor_variable(x)
    if i < 0:
        i += x.ndim
    dim = x.type.shape[i] if 0 <= i < x.ndim else None
    if dim is not None:
        return dim
    return ShapeI(i)(x)


class MakeVector(Op):
    """Build a vector from scalars (used for symbolic shapes)."""

    props = ("dtype",)

    def __init__(self, dtype: str = "int64"):
        self.dtype = dtype

    def make_node(self, *scalars) -> Apply:
        xs = [as_tensor_variable(s) for s in scalars]
        for s in xs:
            if s.ndim != 0:
                raise TypeError(f"MakeVector: entries must be scalars, got {s} of type {s.type}")
        return Apply(self, xs, [TensorVariable(TensorType(self.dtype, (len(xs),)))])

    def perform(self, *xs):
        return np.array(xs, dtype=self.dtype)

    def emit(self, names):
        return f"np.array([{', '.join(names)}], dtype=np.{self.dtype})"

    def infer_shape(self, node, shapes):
        return [(len(node.inputs),)]

    def grad(self, inputs, outputs, gz):
        return [None if x.dtype in int_dtypes or x.dtype == "bool"
                else gz[0][i] for i, x in enumerate(inputs)]


def as_shape_vector(shape, what: str) -> Tuple[Variable, Tuple[Optional[int], ...]]:
    """Turn ``(2, n, -1)`` or an int vector variable into ``(vector, static entries)``."""
    if isinstance(shape, Variable):
        if shape.ndim == 0:
            shape = [shape]
        else:
            if shape.ndim != 1 or shape.dtype not in int_dtypes:
                raise TypeError(f"{what}: shape must be an integer vector, got {shape.type}")
            if shape.type.shape[0] is None:
                raise TypeError(f"{what}: the length of the shape vector {shape} must be known")
            static = tuple(int(v) for v in shape.data) if isinstance(shape, Constant) else \
                _static_entries(shape)
            return shape, static
    if isinstance(shape, (int, np.integer)):
        shape = [shape]
    entries = list(shape)
    static = []
    for e in entries:
        if isinstance(e, (int, np.integer)):
            static.append(int(e))
        elif isinstance(e, Constant) and e.ndim == 0:
            static.append(int(e.data))
        else:
            _as_int_scalar(e, what)
            static.append(None)
    if all(s is not None for s in static):
        return constant(np.array(static, dtype="int64")), tuple(static)
    vec = MakeVector("int64")(*[e if isinstance(e, Variable) else constant(np.int64(e))
                                for e in entries])
    return vec, tuple(static)


def _static_entries(vec: Variable) -> Tuple[Optional[int], ...]:
    if vec.owner is not None and isinstance(vec.owner.op, MakeVector):
        return tuple(int(v.data) if isinstance(v, Constant) else None for v in vec.owner.inputs)
    if vec.owner is not None and isinstance(vec.owner.op, Shape):
        return vec.owner.inputs[0].type.shape
    return (None,) * vec.type.shape[0]


def shape_entries(vec: Variable) -> List[Dim]:
    """The entries of a shape vector as ints or scalar variables, for ``infer_shape``."""
    if isinstance(vec, Constant):
        return [int(v) for v in vec.data]
    if vec.owner is not None and isinstance(vec.owner.op, MakeVector):
        return [int(v.data) if isinstance(v, Constant) else v for v in vec.owner.inputs]
    if vec.owner is not None and isinstance(vec.owner.op, Shape):
        x = vec.owner.inputs[0]
        return [shape_i(x, i) for i in range(x.ndim)]
    return [vec[i] for i in range(vec.type.shape[0])]


class Reshape(Op):
    """``np.reshape(x, shape)`` with a symbolic shape vector (one entry may be -1)."""

    props = ("ndim",)
    view_map = {0: [0]}

    def __init__(self, ndim: int):
        self.ndim = ndim

    def make_node(self, x, shp) -> Apply:
        x = as_tensor_variable(x)
        vec, static = as_shape_vector(shp, "reshape")
        if len(static) != self.ndim:
            raise ValueError(f"reshape: shape {static} has {len(static)} entries, expected "
                             f"{self.ndim}")
        known = [s for s in static if s is not None]
        if sum(1 for s in known if s == -1) > 1:
            raise ValueError(f"reshape: at most one -1 allowed in {static}")
        out_shape = list(static)
        if -1 in out_shape:
            total = _prod(x.type.shape)
            rest = _prod([s for s in static if s != -1])
            idx = out_shape.index(-1)
            out_shape[idx] = (total // rest) if total is not None and rest else None
        total_in, total_out = _prod(x.type.shape), _prod(out_shape)
        if total_in is not None and total_out is not None and total_in != total_out:
            raise ValueError(f"reshape: cannot reshape {x} of static shape {x.type.shape} "
                             f"({total_in} elements) into {tuple(out_shape)}")
        return Apply(self, [x, vec], [TensorVariable(TensorType(x.dtype, out_shape))])

    def perform(self, x, shp):
        return np.reshape(x, tuple(shp))

    def emit(self, names):
        return f"np.reshape({names[0]}, tuple({names[1]}))"

    def infer_shape(self, node, shapes):
        out = node.outputs[0]
        entries = shape_entries(node.inputs[1])
        if any(isinstance(e, int) and e == -1 for e in entries):
            x = node.inputs[0]
            rest = 1
            for e in entries:
                if not (isinstance(e, int) and e == -1):
                    rest = rest * e
            total = T.prod(shape(x))
            entries = [total // rest if isinstance(e, int) and e == -1 else e for e in entries]
        return [tuple(s if s is not None else e for s, e in zip(out.type.shape, entries))]

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        return [reshape(output_grads[0], shape(x), ndim=x.ndim), None]


def _prod(dims) -> Optional[int]:
    total = 1
    for d in dims:
        if d is None:
            return None
        total *= d
    return total


def reshape(x, newshape, ndim: Optional[int] = None) -> Variable:
    """Reshape ``x``; ``newshape`` is a tuple of ints/scalars or an int vector variable."""
    x = as_tensor_variable(x)
    vec, static = as_shape_vector(newshape, "reshape")
    if ndim is not None and ndim != len(static):
        raise ValueError(f"reshape: ndim={ndim} but the shape has {len(static)} entries")
    return Reshape(len(static))(x, vec)


def flatten(x, ndim: int = 1) -> Variable:
    """Keep the first ``ndim - 1`` dimensions and flatten the rest into the last one."""
    x = as_tensor_variable(x)
    if not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(f"flatten: ndim must be between 1 and {x.ndim}, got {ndim}")
    if ndim == x.ndim:
        return x
    lead = [shape_i(x, i) for i in range(ndim - 1)]
    return reshape(x, lead + [-1])


class DimShuffle(Op):
    """Reorder, drop (length-1) and insert (``'x'``) dimensions: Theano's ``dimshuffle``."""

    props = ("input_ndim", "new_order")
    view_map = {0: [0]}

    def __init__(self, input_ndim: int, new_order: Sequence):
        self.input_ndim = int(input_ndim)
        order = tuple("x" if d == "x" else int(d) for d in new_order)
        kept = [d for d in order if d != "x"]
        if len(set(kept)) != len(kept) or any(not 0 <= d < input_ndim for d in kept):
            raise ValueError(f"dimshuffle: invalid pattern {new_order} for {input_ndim} dims")
        self.new_order = order
        self.drop = tuple(i for i in range(input_ndim) if i not in kept)
        remaining = [i for i in range(input_ndim) if i not in self.drop]
        self.perm = tuple(remaining.index(d) for d in kept)
        self.augment = tuple(i for i, d in enumerate(order) if d == "x")

    def __reduce__(self):
        return (DimShuffle, (self.input_ndim, self.new_order))

    def __str__(self):
        return f"DimShuffle{{{','.join(map(str, self.new_order))}}}"

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim != self.input_ndim:
            raise TypeError(f"{self}: expected a {self.input_ndim}-d input, got {x} of type "
                            f"{x.type}")
        for d in self.drop:
            if x.type.shape[d] not in (1, None):
                raise ValueError(f"{self}: cannot drop dimension {d} of {x} (static length "
                                 f"{x.type.shape[d]}, must be 1)")
        shp = tuple(1 if d == "x" else x.type.shape[d] for d in self.new_order)
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, shp))])

    def perform(self, x):
        if self.drop:
            x = np.squeeze(x, axis=self.drop)
        if self.perm != tuple(range(len(self.perm))):
            x = np.transpose(x, self.perm)
        if self.augment:
            x = np.expand_dims(x, self.augment)
        return x

    def emit(self, names):
        # methods and indexing: an order of magnitude cheaper than np.expand_dims & co. on the
        # small arrays where per-call overhead shows (biases, scalars)
        expr = names[0]
        if self.drop:
            expr = f"np.asarray({expr}).squeeze({self.drop})"
        if self.perm != tuple(range(len(self.perm))):
            expr = f"{expr}.transpose({self.perm})"
        if self.augment:
            index = ["None" if d == "x" else ":" for d in self.new_order]
            while index and index[-1] == ":":
                index.pop()
            expr = f"np.asarray({expr})[{', '.join(index)},]"
        return expr if expr != names[0] else f"{expr}.view()"

    def infer_shape(self, node, shapes):
        (ishape,) = shapes
        return [tuple(1 if d == "x" else ishape[d] for d in self.new_order)]

    def grad(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        x = inputs[0]
        # undo: drop the inserted axes, invert the permutation, re-insert the dropped axes
        kept = [d for d in self.new_order if d != "x"]
        back = []
        for i in range(x.ndim):
            back.append(kept.index(i) if i in kept else "x")
        gz_kept = dimshuffle(gz, [i for i, d in enumerate(self.new_order) if d != "x"])
        return [dimshuffle(gz_kept, back)]


def dimshuffle(x, pattern: Sequence) -> Variable:
    """``x.dimshuffle(pattern)``; an identity pattern returns ``x`` itself."""
    x = as_tensor_variable(x)
    pattern = tuple(pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return DimShuffle(x.ndim, pattern)(x)


def transpose(x, axes: Optional[Sequence[int]] = None) -> Variable:
    """Reverse (or permute by ``axes``) the dimensions."""
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    axes = tuple(int(a) % max(x.ndim, 1) for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: {axes} is not a permutation of {x.ndim} axes")
    return dimshuffle(x, axes)


def _alloc_impl(value, *shape):
    out = np.empty(tuple(int(s) for s in shape), dtype=np.asarray(value).dtype)
    out[...] = value
    return out


class Alloc(Op):
    """A new array of the given shape filled by broadcasting ``value`` (Theano's ``alloc``)."""

    @property
    def emit_helpers(self) -> dict:
        return {"_alloc": _alloc_impl}

    def make_node(self, value, *shape) -> Apply:
        value = as_tensor_variable(value)
        dims = [_as_int_scalar(s, "alloc") if not isinstance(s, (int, np.integer))
                else constant(np.int64(s)) for s in shape]
        if len(dims) < value.ndim:
            raise ValueError(f"alloc: value {value} has {value.ndim} dims, more than the "
                             f"{len(dims)} of the requested shape")
        static = tuple(int(d.data) if isinstance(d, Constant) else None for d in dims)
        return Apply(self, [value] + dims, [TensorVariable(TensorType(value.dtype, static))])

    def perform(self, value, *shape):
        return _alloc_impl(value, *shape)

    def emit(self, names):
        return f"_alloc({', '.join(names)})"

    def infer_shape(self, node, shapes):
        return [tuple(int(d.data) if isinstance(d, Constant) else d for d in node.inputs[1:])]

    def grad(self, inputs, outputs, output_grads):
        value = inputs[0]
        return [sum_to_shape(output_grads[0], shape(value), like=value)] + \
            [None] * (len(inputs) - 1)


_alloc_op = Alloc()


def alloc(value, *shape) -> Variable:
    """Broadcast ``value`` into a new array of ``shape`` (ints or symbolic scalars)."""
    if len(shape) == 1 and isinstance(shape[0], Variable) and shape[0].ndim == 1:
        shape = shape_entries(shape[0])
    elif len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return _alloc_op(value, *shape)


def _sum_to(g, target):
    """Sum ``g`` over the axes on which ``target`` (a shape) was broadcast; no-op when equal."""
    target = tuple(target.tolist()) if type(target) is np.ndarray else \
        tuple(int(t) for t in target)
    if np.shape(g) == target:
        return g
    g = np.asarray(g)
    lead = g.ndim - len(target)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, (t, s) in enumerate(zip(target, g.shape)) if t == 1 and s != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.shape != target:
        raise ValueError(f"gradient of shape {g.shape} cannot be summed to shape {target}")
    return g


class SumToShape(Op):
    """Sum a gradient back to a shape known only at run time (see ``unbroadcast``)."""

    @property
    def emit_helpers(self) -> dict:
        return {"_sum_to": _sum_to}

    props = ("static",)
    #: when the shapes already agree the input itself is returned
    view_map = {0: [0]}

    def __init__(self, static: tuple):
        self.static = tuple(static)

    def make_node(self, g, shp) -> Apply:
        g = as_tensor_variable(g)
        shp = as_tensor_variable(shp)
        if shp.ndim != 1 or shp.type.shape[0] != len(self.static):
            raise TypeError(f"SumToShape: shape {shp} must be a vector of length "
                            f"{len(self.static)}")
        return Apply(self, [g, shp], [TensorVariable(TensorType(g.dtype, self.static))])

    def perform(self, g, shp):
        return _sum_to(g, shp)

    def emit(self, names):
        return f"_sum_to({names[0]}, {names[1]})"

    def infer_shape(self, node, shapes):
        return [tuple(shape_entries(node.inputs[1]))]

    def grad(self, inputs, outputs, output_grads):
        g = inputs[0]
        return [alloc(output_grads[0], *[shape_i(g, i) for i in range(g.ndim)]), None]


class SumToDims(Op):
    """``SumToShape`` with the target dimensions as scalar inputs: the specialized form, whose
    emitted code compares ``g.shape`` with a tuple and returns ``g`` untouched when they agree
    (no shape vector built, no call), the usual case in a train step.

    Gradient: the incoming gradient broadcast back to ``g``'s shape; none for the dims.
    """

    @property
    def emit_helpers(self) -> dict:
        return {"_sum_to": _sum_to}

    props = ("static",)
    view_map = {0: [0]}

    def __init__(self, static: tuple):
        self.static = tuple(static)

    def make_node(self, g, *dims) -> Apply:
        g = as_tensor_variable(g)
        dims = [as_tensor_variable(d) for d in dims]
        if len(dims) != len(self.static) or any(
                d.ndim != 0 or d.dtype not in int_dtypes for d in dims):
            raise TypeError(f"SumToDims: expected {len(self.static)} integer scalar dims, got "
                            f"{[str(d.type) for d in dims]}")
        return Apply(self, [g, *dims], [TensorVariable(TensorType(g.dtype, self.static))])

    def perform(self, g, *dims):
        return _sum_to(g, dims)

    def emit(self, names):
        dims = "(" + "".join(f"{n}, " for n in names[1:]) + ")"
        return f"({names[0]} if {names[0]}.shape == {dims} else _sum_to({names[0]}, {dims}))"

    def infer_shape(self, node, shapes):
        return [tuple(node.inputs[1:])]

    def grad(self, inputs, outputs, output_grads):
        g = inputs[0]
        return [alloc(output_grads[0], *[shape_i(g, i) for i in range(g.ndim)])] + \
            [None] * (len(inputs) - 1)


def sum_to_shape(g: Variable, shp: Variable, like: Optional[Variable] = None) -> Variable:
    """``g`` summed to the run-time shape ``shp`` (static facts taken from ``like``)."""
    static = like.type.shape if like is not None else _static_entries(shp)
    if shp.owner is not None and isinstance(shp.owner.op, Shape) and like is None:
        static = shp.owner.inputs[0].type.shape
    return SumToShape(tuple(static))(g, shp)


#: helpers the emitted code of this module names
