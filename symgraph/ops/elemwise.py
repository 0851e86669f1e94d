"""``Elemwise``: a scalar op mapped over broadcast arrays, and the user functions built on it.

Dtypes follow NumPy promotion between tensors, but Python and NumPy *scalars* are weak: they
take the tensor's dtype when it can hold them (``fmatrix * 0.1`` stays float32, as in Theano).
"""
from __future__ import annotations

import numbers
from typing import List, Optional, Sequence

import numpy as np

from symgraph.config import config
from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops import scalar as S
from symgraph.ops.namespace import T
from symgraph.ops.shape import sum_to_shape
from symgraph.ops.variable import TensorVariable, as_tensor_variable, constant
from symgraph.types import (TensorType, broadcast_shapes, normalize_dtype, result_dtype,
                            upgrade_to_float)


def _is_weak(x) -> bool:
    return isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, Variable)


def _weak_dtype(value, strong: List[str]) -> str:
    """Dtype a scalar takes next to tensors of dtypes ``strong`` (NEP 50-like, floatX aware)."""
    kind = np.asarray(value).dtype.kind
    if not strong:
        if isinstance(value, np.generic):
            return value.dtype.name
        return {"b": "bool", "i": "int64", "u": "int64", "f": config.floatX,
                "c": "complex128"}[kind]
    base = result_dtype(*strong)
    bkind = np.dtype(base).kind
    if kind == "b":
        return base
    if kind in "iu":
        if bkind == "b":
            return "int64"
        if bkind in "iu":
            info = np.iinfo(base)
            if info.min <= int(value) <= info.max:
                return base
            return result_dtype(base, np.min_scalar_type(int(value)).name)
        return base
    if kind == "f":
        if bkind in "fc":
            return base
        return config.floatX if bkind == "b" else upgrade_to_float(base)
    # complex
    if bkind == "c":
        return base
    return "complex64" if base in ("float16", "float32") else "complex128"


class Elemwise(Op):
    """Apply ``scalar_op`` elementwise with NumPy broadcasting.

    The gradient is the scalar op's formula, with each input's gradient summed back over the
    dimensions that were broadcast (:func:`unbroadcast`).
    """

    @property
    def emit_helpers(self) -> dict:
        return S.helpers_of([self.scalar_op])

    copies = True

    props = ("scalar_op",)

    def __init__(self, scalar_op: S.ScalarOp, name: Optional[str] = None):
        self.scalar_op = scalar_op
        self.name = name or scalar_op.name

    def __str__(self) -> str:
        return self.name

    def __reduce__(self):
        return (Elemwise, (self.scalar_op, self.name))

    def make_node(self, *inputs) -> Apply:
        sop = self.scalar_op
        if sop.nin == -1:
            if len(inputs) < 1:
                raise TypeError(f"{self} needs at least one input")
        elif len(inputs) != sop.nin:
            raise TypeError(f"{self} takes {sop.nin} inputs, got {len(inputs)}")
        converted: List[Optional[Variable]] = []
        for i, x in enumerate(inputs):
            if isinstance(x, Variable):
                converted.append(x)
            elif _is_weak(x):
                converted.append(None)
            else:
                try:
                    converted.append(as_tensor_variable(x))
                except TypeError as exc:
                    raise TypeError(f"{self}: input {i} must be a tensor or a number, got "
                                    f"{type(x).__name__}") from exc
        strong = [v.dtype for v in converted if v is not None]
        for i, x in enumerate(inputs):
            if converted[i] is None:
                converted[i] = constant(x, dtype=_weak_dtype(x, strong))
        try:
            out_dtype = sop.out_dtype([v.dtype for v in converted])
        except TypeError as exc:
            raise TypeError(f"{self}: {exc}") from None
        shape = broadcast_shapes([v.type.shape for v in converted],
                                 what=lambda: f"{self}({', '.join(map(str, converted))})")
        return Apply(self, converted, [TensorVariable(TensorType(out_dtype, shape))])

    def perform(self, *arrays):
        return self.scalar_op.impl(*arrays)

    def emit(self, names: Sequence[str]) -> str:
        return self.scalar_op.emit(list(names))

    def infer_shape(self, node: Apply, input_shapes: List[tuple]) -> List[tuple]:
        out = node.outputs[0]
        dims = []
        for axis in range(out.ndim):
            cands = []
            for inp, shp in zip(node.inputs, input_shapes):
                k = axis - (out.ndim - inp.ndim)
                if k < 0 or inp.type.shape[k] == 1:
                    continue
                cands.append(shp[k])
            dims.append(broadcast_dim(out.type.shape[axis], cands))
        return [tuple(dims)]

    def grad(self, inputs, outputs, output_grads):
        gz = output_grads[0]
        if self.scalar_op.kind == "bool":
            # comparisons are piecewise constant: zero gradient, declared
            return [None if x.dtype in S.discrete_dtypes else zeros_like(x) for x in inputs]
        if outputs[0].dtype in S.discrete_dtypes and self.scalar_op.kind != "cast":
            # bitwise and integer arithmetic: undefined (an integer path)
            return [None] * len(inputs)
        raw = self.scalar_op.grad(inputs, outputs[0], gz)
        result = []
        for i, (x, g) in enumerate(zip(inputs, raw)):
            if g is None or x.dtype in S.discrete_dtypes:
                result.append(None)
                continue
            others = [y for j, y in enumerate(inputs) if j != i]
            g = unbroadcast(g, x, others)
            if g.dtype != x.dtype:
                g = cast(g, x.dtype)
            result.append(g)
        return result


def broadcast_dim(static, candidates: Sequence):
    """One dimension of a NumPy broadcast, symbolically, for ``infer_shape``.

    ``static`` is the output's static length (``None`` if unknown); ``candidates`` are the
    lengths (ints or int64 scalar variables) of the operands that are not statically 1 there.
    The result is ``static`` when known, 1 when no operand can be longer, else the maximum of
    the candidates (each is 1 or the common length at run time).
    """
    if static is not None:
        return static
    if not candidates:
        return 1
    out = candidates[0]
    for c in candidates[1:]:
        out = maximum(out, c)
    return out


def unbroadcast(g: Variable, like: Variable, others: Sequence[Variable] = ()) -> Variable:
    """Sum ``g`` (the gradient of a broadcast result) back to the shape of ``like``.

    Dimensions that ``like`` lacks or has statically as 1 are summed away at build time. A
    dimension that ``like`` has as unknown, while another operand of the same op might be larger
    there, is resolved at run time by :class:`~symgraph.ops.shape.SumToShape` (a no-op when the
    shapes already agree): NumPy broadcasts such dimensions, so their gradients must sum too.
    """
    lead = g.ndim - like.ndim
    if lead > 0:
        g = T.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, (a, b) in enumerate(zip(like.type.shape, g.type.shape))
                 if a == 1 and b != 1)
    if axes:
        g = T.sum(g, axis=axes, keepdims=True)
    for axis, dim in enumerate(like.type.shape):
        if dim is not None:
            continue
        for y in others:
            k = axis - (like.ndim - y.ndim)
            if k >= 0 and y.type.shape[k] != 1:
                return sum_to_shape(g, like.shape)
    return g


def _instance(sop: S.ScalarOp, name: Optional[str] = None) -> Elemwise:
    op = Elemwise(sop, name)
    op.__doc__ = f"Elementwise ``{sop.name}`` (see :mod:`symgraph.ops.scalar` for its gradient)."
    return op


add = _instance(S.add)
mul = _instance(S.mul)
sub = _instance(S.sub)
true_div = _instance(S.true_div)
floor_div = int_div = _instance(S.floor_div)
mod = _instance(S.mod)
pow = _instance(S.pow)
neg = _instance(S.neg)
maximum = _instance(S.maximum)
minimum = _instance(S.minimum)
abs = abs_ = _instance(S.abs_)
sign = _instance(S.sign)
sqr = _instance(S.sqr)
sqrt = _instance(S.sqrt)
exp = _instance(S.exp)
expm1 = _instance(S.expm1)
log = _instance(S.log)
log2 = _instance(S.log2)
log10 = _instance(S.log10)
log1p = _instance(S.log1p)
tanh = _instance(S.tanh)
sin = _instance(S.sin)
cos = _instance(S.cos)
tan = _instance(S.tan)
arctan = _instance(S.arctan)
floor = _instance(S.floor)
ceil = _instance(S.ceil)
sigmoid = _instance(S.sigmoid)
softplus = _instance(S.softplus)
erf = _instance(S.erf)
eq = _instance(S.eq)
neq = _instance(S.neq)
lt = _instance(S.lt)
le = _instance(S.le)
gt = _instance(S.gt)
ge = _instance(S.ge)
isnan = _instance(S.isnan)
isinf = _instance(S.isinf)
and_ = bitwise_and = _instance(S.and_)
or_ = bitwise_or = _instance(S.or_)
xor = bitwise_xor = _instance(S.xor)
invert = bitwise_not = _instance(S.invert)
clip = _instance(S.clip)
switch = where = _instance(S.switch)
second = fill = _instance(S.second)
identity = tensor_copy = _instance(S.identity)
_rint = _instance(S.round_half_to_even)
_round_away = _instance(S.round_half_away)


def round(x, mode: str = "half_away_from_zero") -> Variable:
    """Round to the nearest integer (``mode='half_to_even'`` for NumPy's rule; Theano's
    default rounds halves away from zero). Gradient: zero."""
    if mode == "half_to_even":
        return _rint(x)
    if mode == "half_away_from_zero":
        return _round_away(x)
    raise ValueError(f"round: mode must be 'half_away_from_zero' or 'half_to_even', got {mode!r}")


def cast(x, dtype) -> Variable:
    """Convert ``x`` to ``dtype``; the gradient is cast back (float to float only)."""
    x = as_tensor_variable(x)
    try:
        dtype = normalize_dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"cast of {x}: {exc}") from None
    if x.dtype == dtype:
        return x
    return Elemwise(S.cast_op(dtype), f"cast{{{dtype}}}")(x)


def zeros_like(x, dtype=None) -> Variable:
    """Zeros of the shape of ``x`` (of its dtype unless given)."""
    x = as_tensor_variable(x)
    return second(x, constant(0, dtype=dtype or x.dtype))


def ones_like(x, dtype=None) -> Variable:
    """Ones of the shape of ``x`` (of its dtype unless given)."""
    x = as_tensor_variable(x)
    return second(x, constant(1, dtype=dtype or x.dtype))


def inv(x) -> Variable:
    """1 / x."""
    return true_div(1, x)

