"""Indexing: ``Subtensor`` (basic, a view), ``AdvancedSubtensor`` (integer arrays and boolean
masks, a copy) and their set/increment counterparts ``IncSubtensor``/``AdvancedIncSubtensor``.

An index is split into a hashable *pattern* (the op's ``idx_list``) and the symbolic values it
needs (the op's inputs after ``x``). Pattern entries are:

* a Python ``int`` -- a static integer index;
* ``SYM`` -- an integer scalar taken from the next input;
* ``("slice", start, stop, step)`` -- each part ``None``, an ``int`` or ``SYM``;
* ``None`` -- a new axis;
* ``ARR`` -- an integer array or a boolean mask taken from the next input (advanced ops only).

``Ellipsis`` is expanded and trailing full slices are dropped when the pattern is built, so
``x[i:j]`` and ``x[i:j, ...]`` are the same op and merge; the symbolic bounds are inputs, so the
op's identity never depends on their values.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops import indexing as I
from symgraph.ops.elemwise import cast, unbroadcast, zeros_like
from symgraph.ops.indexing import ARR, SYM
from symgraph.ops.shape import Shape, as_shape_vector, shape_entries, shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable, constant
from symgraph.types import TensorType, discrete_dtypes


def _index_inputs(entries: tuple, inputs: Sequence, what: str) -> List[Variable]:
    """Check the symbolic index values against the pattern (scalars for SYM, arrays for ARR)."""
    kinds = I.input_kinds(entries)
    if len(kinds) != len(inputs):
        raise TypeError(f"{what}: the index pattern needs {len(kinds)} index inputs, got "
                        f"{len(inputs)}")
    out = []
    for kind, v in zip(kinds, inputs):
        v = as_tensor_variable(v)
        if kind == SYM and (v.ndim != 0 or v.dtype not in I.int_dtypes):
            raise TypeError(f"{what}: a scalar index or slice bound must be an integer scalar, "
                            f"got {v} of type {v.type}")
        if kind == ARR and (v.ndim == 0 or v.dtype not in I.int_dtypes + ("bool",)):
            raise TypeError(f"{what}: an array index must be an integer or boolean array of "
                            f"at least one dimension, got {v} of type {v.type}")
        out.append(v)
    return out


class _IndexOp(Op):
    """Shared parts of the four indexing ops (the pattern, its rendering)."""

    @property
    def emit_helpers(self) -> dict:
        return HELPERS

    props = ("idx_list",)

    def __init__(self, idx_list: tuple):
        self.idx_list = I.check_pattern(idx_list)

    def __str__(self) -> str:
        return f"{type(self).__name__}{{{I.pattern_str(self.idx_list)}}}"

    __repr__ = __str__


class _ReadOp(_IndexOp):
    """What basic and advanced reads share: everything but the check of the pattern.

    Gradient: the increment op of the same kind (``inc_op``) of ``gz`` into zeros of ``x``'s
    shape; the index inputs have none.
    """

    #: the pattern may hold array indices (advanced) or must not (basic)
    advanced = False
    #: a fully integer-indexed basic read returns a 0-d array view, not a NumPy scalar copy
    zero_d = False

    def inc_op(self):
        raise NotImplementedError

    def make_node(self, x, *index) -> Apply:
        x = as_tensor_variable(x)
        if (ARR in self.idx_list) != self.advanced:
            raise TypeError(f"{self}: array indices belong to AdvancedSubtensor" if
                            not self.advanced else
                            f"{self}: a pattern without array indices belongs to Subtensor")
        index = _index_inputs(self.idx_list, index, str(self))
        I.check_fits(x, self.idx_list, index, str(self))
        shp = I.out_shape(x.type.shape, self.idx_list, index, static=True)
        return Apply(self, [x] + index, [TensorVariable(TensorType(x.dtype, shp))])

    def perform(self, x, *index):
        return np.asarray(x)[I.runtime_index(self.idx_list, index, zero_d=self.zero_d)]

    def emit(self, names):
        return f"{names[0]}[{I.index_source(self.idx_list, names[1:], zero_d=self.zero_d)}]"

    def infer_shape(self, node, shapes):
        return [I.out_shape(shapes[0], self.idx_list, node.inputs[1:], static=False)]

    def grad(self, inputs, outputs, output_grads):
        x, index = inputs[0], inputs[1:]
        rest = [None] * len(index)
        if x.dtype in discrete_dtypes:
            return [None] + rest
        return [self.inc_op()(zeros_like(x), output_grads[0], *index)] + rest


class Subtensor(_ReadOp):
    """Basic indexing ``x[idx]`` (integers, slices, new axes): a view of ``x``.

    Gradient: ``inc_subtensor(zeros_like(x)[idx], gz)``; the index inputs have none.
    """

    view_map = {0: [0]}
    zero_d = True

    def inc_op(self):
        return IncSubtensor(self.idx_list, set_instead_of_inc=False)


class AdvancedSubtensor(_ReadOp):
    """NumPy advanced indexing ``x[idx]`` with integer arrays and/or boolean masks (a copy).

    Gradient: ``advanced_inc_subtensor(zeros_like(x)[idx], gz)``, which accumulates the
    contributions of repeated indices; the index inputs have none.
    """

    advanced = True

    def inc_op(self):
        return AdvancedIncSubtensor(self.idx_list, set_instead_of_inc=False)


# ---------------------------------------------------------------------------------------
# set / increment
# ---------------------------------------------------------------------------------------

def _set_subtensor_impl(x, y, idx):
    out = np.array(x)
    out[idx] = y
    return out


def _inc_subtensor_impl(x, y, idx):
    out = np.array(x)
    out[idx] += y
    return out


def _add_at_impl(x, y, idx):
    """``x`` copied, then ``y`` added at ``idx`` with repeated indices accumulating."""
    out = np.array(x)
    view, idx = I.expand_newaxes(out, idx)
    np.add.at(view, idx, y)
    return out


class _IncOp(_IndexOp):
    """``x`` with ``y`` written into (``set``) or added to (``inc``) ``x[idx]``; a new array.

    Gradient: w.r.t. ``x``, ``gz`` (with zeros at ``idx`` when setting); w.r.t. ``y``,
    ``gz[idx]`` summed back over the dimensions ``y`` was broadcast on.
    """

    props = ("idx_list", "set_instead_of_inc")
    _read_op: type = Subtensor

    def __init__(self, idx_list: tuple, set_instead_of_inc: bool = False):
        super().__init__(idx_list)
        self.set_instead_of_inc = bool(set_instead_of_inc)

    def __str__(self) -> str:
        kind = "Set" if self.set_instead_of_inc else "Inc"
        base = type(self).__name__.replace("Inc", kind)
        return f"{base}{{{I.pattern_str(self.idx_list)}}}"

    __repr__ = __str__

    def make_node(self, x, y, *index) -> Apply:
        x = as_tensor_variable(x)
        index = _index_inputs(self.idx_list, index, str(self))
        if (ARR in self.idx_list) != (self._read_op is AdvancedSubtensor):
            raise TypeError(f"{self}: array indices belong to the Advanced ops only")
        I.check_fits(x, self.idx_list, index, str(self))
        y = _as_value_for(y, x, str(self))
        sub = I.out_shape(x.type.shape, self.idx_list, index, static=True)
        if y.ndim > len(sub):
            raise ValueError(f"{self}: cannot write {y} ({y.ndim} dims, type {y.type}) into "
                             f"x[...] of {len(sub)} dims (static shape {sub})")
        for ys, ss in zip(y.type.shape, sub[len(sub) - y.ndim:]):
            if ys is not None and ss is not None and ys not in (1, ss):
                raise ValueError(f"{self}: {y} of static shape {y.type.shape} does not "
                                 f"broadcast to the indexed shape {sub}")
        return Apply(self, [x, y] + index, [TensorVariable(x.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        x, y, index = inputs[0], inputs[1], inputs[2:]
        (gz,) = output_grads
        rest = [None] * len(index)
        if x.dtype in discrete_dtypes:
            return [None, None] + rest
        if self.set_instead_of_inc:
            gx = type(self)(self.idx_list, True)(gz, constant(0, dtype=gz.dtype), *index)
        else:
            gx = gz
        gy_full = self._read_op(self.idx_list)(gz, *index)
        gy = unbroadcast(gy_full, y, [gy_full])
        return [gx, gy] + rest


class IncSubtensor(_IncOp):
    __doc__ = _IncOp.__doc__ + "\n    Basic indices: no index repeats, so ``+=`` is exact.\n"

    def perform(self, x, y, *index):
        impl = _set_subtensor_impl if self.set_instead_of_inc else _inc_subtensor_impl
        return impl(x, y, I.runtime_index(self.idx_list, index))

    def emit(self, names):
        fn = "_set_subtensor" if self.set_instead_of_inc else "_inc_subtensor"
        return f"{fn}({names[0]}, {names[1]}, np.s_[{I.index_source(self.idx_list, names[2:])}])"


class AdvancedIncSubtensor(_IncOp):
    __doc__ = _IncOp.__doc__ + ("\n    Array indices: increments of repeated indices accumulate "
                                "(``np.add.at``); setting keeps NumPy's semantics.\n")
    _read_op = AdvancedSubtensor

    def perform(self, x, y, *index):
        impl = _set_subtensor_impl if self.set_instead_of_inc else _add_at_impl
        return impl(x, y, I.runtime_index(self.idx_list, index))

    def emit(self, names):
        fn = "_set_subtensor" if self.set_instead_of_inc else "_add_at"
        return f"{fn}({names[0]}, {names[1]}, np.s_[{I.index_source(self.idx_list, names[2:])}])"


def _zeros_write_impl(shp, y, idx, dtype, accumulate):
    """A new zero array of shape ``shp`` with ``y`` written (or, repeats accumulating, added)
    at ``idx``; ``np.zeros`` pages are zero-filled lazily, so nothing is filled or copied."""
    out = np.zeros(tuple(int(s) for s in shp), dtype=dtype)
    if accumulate:
        view, idx = I.expand_newaxes(out, idx)
        np.add.at(view, idx, y)
    else:
        out[idx] = y
    return out


class ZerosIncSubtensor(_IndexOp):
    """``inc_subtensor(zeros(shape)[idx], y)`` (or ``set_subtensor``) building the zeros itself:
    the form every indexing gradient takes, without filling and then copying a zero array.

    ``accumulate`` is set for advanced increments (repeated indices add up); for basic indices,
    or when setting, writing ``y`` into zeros is the same. Gradient: ``y`` gets ``gz[idx]``
    summed back to its shape; the shape and index inputs have none.
    """

    props = ("idx_list", "accumulate", "dtype")

    def __init__(self, idx_list: tuple, accumulate: bool, dtype: str):
        super().__init__(idx_list)
        self.accumulate = bool(accumulate)
        self.dtype = str(dtype)

    def __str__(self) -> str:
        kind = "Add" if self.accumulate else "Write"
        return f"Zeros{kind}Subtensor{{{I.pattern_str(self.idx_list)}}}"

    __repr__ = __str__

    def make_node(self, shp, y, *index) -> Apply:
        vec, static = as_shape_vector(shp, str(self))
        like = TensorVariable(TensorType(self.dtype, static))  # the zeros this op stands for
        # the write op's own checks: index inputs, y's dtype (cast) and broadcastability
        checked = _WRITE[ARR in self.idx_list](self.idx_list, False).make_node(like, y, *index)
        return Apply(self, [vec] + checked.inputs[1:], [TensorVariable(like.type)])

    def perform(self, shp, y, *index):
        return _zeros_write_impl(shp, y, I.runtime_index(self.idx_list, index), self.dtype,
                                 self.accumulate)

    def emit(self, names):
        idx = I.index_source(self.idx_list, names[2:])
        return (f"_zeros_write({names[0]}, {names[1]}, np.s_[{idx}], '{self.dtype}', "
                f"{self.accumulate})")

    def infer_shape(self, node, shapes):
        return [tuple(shape_entries(node.inputs[0]))]

    def grad(self, inputs, outputs, output_grads):
        y, index = inputs[1], inputs[2:]
        if self.dtype in discrete_dtypes:
            return [None] * len(inputs)
        read = _WRITE[ARR in self.idx_list]._read_op(self.idx_list)
        gy_full = read(output_grads[0], *index)
        return [None, unbroadcast(gy_full, y, [gy_full])] + [None] * len(index)


def _as_value_for(y, x: Variable, what: str) -> Variable:
    """``y`` as a variable of ``x``'s dtype: numbers are weak, tensors must cast same-kind."""
    if not isinstance(y, Variable):
        arr = np.asarray(y)
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"{what}: cannot write {type(y).__name__} {y!r} into {x}")
        if not np.can_cast(arr.dtype, x.dtype, "same_kind") and not (
                arr.dtype.kind in "iub" and x.dtype not in discrete_dtypes):
            raise TypeError(f"{what}: cannot write {arr.dtype} values into {x} of type {x.type}")
        if arr.dtype.kind in "iu" and x.dtype in I.int_dtypes and arr.size:
            info = np.iinfo(x.dtype)
            if arr.min() < info.min or arr.max() > info.max:
                raise TypeError(f"{what}: value {y!r} does not fit {x} of type {x.type}")
        return constant(arr, dtype=x.dtype)
    if y.dtype == x.dtype:
        return y
    if not np.can_cast(y.dtype, x.dtype, "same_kind"):
        raise TypeError(f"{what}: cannot write {y} of type {y.type} into {x} of type {x.type} "
                        f"(cast it first with T.cast(y, '{x.dtype}'))")
    return cast(y, x.dtype)


# ---------------------------------------------------------------------------------------
# user functions
# ---------------------------------------------------------------------------------------

def getitem(x: Variable, idx) -> Variable:
    """``x[idx]`` with NumPy semantics: basic indexing gives a :class:`Subtensor` (a view),
    integer arrays or boolean masks an :class:`AdvancedSubtensor`."""
    if isinstance(idx, list) and any(isinstance(e, slice) or e is None or e is Ellipsis
                                     for e in idx):
        # a list holding slices is a tuple of indices (old NumPy's rule, which Theano kept)
        idx = tuple(idx)
    if (x.owner is not None and isinstance(x.owner.op, Shape)
            and isinstance(idx, (int, np.integer)) and not isinstance(idx, (bool, np.bool_))):
        return shape_i(x.owner.inputs[0], int(idx))
    entries, inputs = I.parse_index(x, idx)
    op = AdvancedSubtensor(entries) if ARR in entries else Subtensor(entries)
    return op(x, *inputs)


def _indexed(x_sub: Variable, what: str) -> Tuple[Variable, tuple, list, bool]:
    """Recover ``(x, pattern, index inputs, advanced)`` from the result of ``x[idx]``."""
    owner = getattr(x_sub, "owner", None)
    if owner is None or not isinstance(owner.op, (Subtensor, AdvancedSubtensor)):
        raise TypeError(f"{what}: the first argument must be the result of indexing a tensor, "
                        f"as in {what}(x[idx], y); got {x_sub}")
    return (owner.inputs[0], owner.op.idx_list, list(owner.inputs[1:]),
            isinstance(owner.op, AdvancedSubtensor))


def set_subtensor(x_sub: Variable, y, inplace: bool = False,
                  tolerate_inplace_aliasing: bool = False) -> Variable:
    """A copy of ``x`` with ``x[idx]`` replaced by ``y`` (given ``x_sub = x[idx]``).

    ``y`` is broadcast to the indexed shape; with repeated array indices, NumPy decides which
    write wins. Gradient: ``gz`` with zeros at ``idx`` for ``x``, ``gz[idx]`` for ``y``.
    """
    x, entries, index, advanced = _indexed(x_sub, "set_subtensor")
    cls = AdvancedIncSubtensor if advanced else IncSubtensor
    return cls(entries, set_instead_of_inc=True)(x, y, *index)


def inc_subtensor(x_sub: Variable, y, inplace: bool = False, set_instead_of_inc: bool = False,
                  tolerate_inplace_aliasing: bool = False) -> Variable:
    """A copy of ``x`` with ``y`` added to ``x[idx]`` (given ``x_sub = x[idx]``).

    With repeated array indices every occurrence adds (``np.add.at``). Gradient: ``gz`` for
    ``x``, ``gz[idx]`` summed to ``y``'s shape for ``y``.
    """
    x, entries, index, advanced = _indexed(x_sub, "inc_subtensor")
    cls = AdvancedIncSubtensor if advanced else IncSubtensor
    return cls(entries, set_instead_of_inc=set_instead_of_inc)(x, y, *index)


def take(a, indices, axis: Optional[int] = None) -> Variable:
    """``np.take(a, indices, axis)``: ``a.flatten()[indices]`` without ``axis``, else
    ``a[:, ..., indices]`` with ``indices`` at ``axis`` (negative axes count from the end).
    Gradient: that of the indexing it builds (repeated indices accumulate)."""
    a = as_tensor_variable(a)
    if axis is None:
        return getitem(a.flatten(), indices)
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"take: axis {axis} out of range for {a} with {a.ndim} dims")
    axis %= a.ndim
    return getitem(a, (slice(None),) * axis + (indices,))


_WRITE = {False: IncSubtensor, True: AdvancedIncSubtensor}

#: helpers the emitted code of this module names
#: the helpers the emitted code of the indexing ops names
HELPERS = {"_set_subtensor": _set_subtensor_impl, "_inc_subtensor": _inc_subtensor_impl,
             "_add_at": _add_at_impl, "_zeros_write": _zeros_write_impl, **I.HELPERS}
