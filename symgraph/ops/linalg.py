"""Tensor products beyond ``Dot``: ``Matmul`` (NumPy ``matmul`` with batch broadcasting) and
``TensorDot`` (``np.tensordot`` over explicit axis pairs)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.reduce import sum as _sum
from symgraph.ops.shape import dimshuffle, shape, sum_to_shape
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType, broadcast_shapes, discrete_dtypes, result_dtype


def _swap_last(x: Variable) -> Variable:
    perm = list(range(x.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return dimshuffle(x, perm)


def _broadcast_dims(out_static: Sequence[Optional[int]], pairs: List[Tuple[List, List]]
                    ) -> List:
    """Symbolic broadcast of dimensions: ``pairs[i]`` lists ``(static, symbolic)`` candidates
    of output axis ``i``; static-1 candidates never decide the length."""
    return [E.broadcast_dim(static, [sym for st, sym in cands if st != 1])
            for static, cands in zip(out_static, pairs)]


def _unbatch(g: Variable, like: Variable, other: Variable) -> Variable:
    """Sum the batch dimensions of the gradient ``g`` back to those of ``like`` (the last two
    dimensions of both are matrix dimensions and are left alone)."""
    lead = g.ndim - like.ndim
    if lead > 0:
        g = _sum(g, axis=tuple(range(lead)))
    nb = like.ndim - 2
    axes = tuple(i for i in range(nb) if like.type.shape[i] == 1 and g.type.shape[i] != 1)
    if axes:
        g = _sum(g, axis=axes, keepdims=True)
    offset = like.ndim - other.ndim
    for i in range(nb):
        k = i - offset
        if like.type.shape[i] is None and 0 <= k < other.ndim - 2 and other.type.shape[k] != 1:
            return sum_to_shape(g, shape(like), like=like)
    return g


class Matmul(Op):
    """``np.matmul``: matrix product over the last two axes, broadcasting the leading (batch)
    axes; a 1-d operand is a row (left) or column (right) vector whose axis is then dropped.

    Gradient: with 1-d operands promoted to matrices, ``ga = gz @ b^T`` and
    ``gb = a^T @ gz``, each summed over the batch axes its operand was broadcast along.
    """

    def make_node(self, a, b) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        if a.ndim == 0 or b.ndim == 0:
            raise TypeError(f"Matmul: operands must have at least one dimension, got {a} of type "
                            f"{a.type} and {b} of type {b.type}; use * for scalars")
        ka = a.type.shape[-1]
        kb = b.type.shape[-2] if b.ndim > 1 else b.type.shape[0]
        if ka is not None and kb is not None and ka != kb:
            raise ValueError(f"Matmul: inner dimensions differ: {a} has shape {a.type.shape}, "
                             f"{b} has shape {b.type.shape}")
        batch = broadcast_shapes([a.type.shape[:-2], b.type.shape[:-2]], what="Matmul batch")
        core = (a.type.shape[-2],) if a.ndim > 1 else ()
        core += (b.type.shape[-1],) if b.ndim > 1 else ()
        dtype = result_dtype(a.dtype, b.dtype)
        return Apply(self, [a, b], [TensorVariable(TensorType(dtype, tuple(batch) + core))])

    def perform(self, a, b):
        return np.asarray(np.matmul(a, b))

    def emit(self, names):
        return f"np.matmul({names[0]}, {names[1]})"

    def infer_shape(self, node, shapes):
        a, b = node.inputs
        sa, sb = shapes
        out = node.outputs[0]
        nb = max(a.ndim - 2, 0), max(b.ndim - 2, 0)
        nout = max(nb)
        cands = []
        for i in range(nout):
            c = []
            for x, sx, n in ((a, sa, nb[0]), (b, sb, nb[1])):
                k = i - (nout - n)
                if k >= 0:
                    c.append((x.type.shape[k], sx[k]))
            cands.append(c)
        dims = _broadcast_dims(out.type.shape[:nout], cands)
        if a.ndim > 1:
            dims.append(sa[-2])
        if b.ndim > 1:
            dims.append(sb[-1])
        return [tuple(s if s is not None else d for s, d in zip(out.type.shape, dims))]

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        (gz,) = output_grads
        a2 = a if a.ndim > 1 else dimshuffle(a, ("x", 0))
        b2 = b if b.ndim > 1 else dimshuffle(b, (0, "x"))
        if b.ndim == 1:
            gz = dimshuffle(gz, tuple(range(gz.ndim)) + ("x",))
        if a.ndim == 1:
            pattern = list(range(gz.ndim))
            pattern.insert(gz.ndim - 1, "x")
            gz = dimshuffle(gz, pattern)
        ga = _unbatch(matmul(gz, _swap_last(b2)), a2, b2)
        gb = _unbatch(matmul(_swap_last(a2), gz), b2, a2)
        if a.ndim == 1:
            ga = dimshuffle(ga, (1,))
        if b.ndim == 1:
            gb = dimshuffle(gb, (0,))
        return [None if a.dtype in discrete_dtypes else E.cast(ga, a.dtype),
                None if b.dtype in discrete_dtypes else E.cast(gb, b.dtype)]


_matmul = Matmul()


def matmul(a, b) -> Variable:
    """``a @ b`` with NumPy's ``matmul`` semantics (batched, 1-d operands allowed)."""
    return _matmul(as_tensor_variable(a), as_tensor_variable(b))


def _inverse(perm: Sequence[int]) -> Tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


class TensorDot(Op):
    """``np.tensordot(a, b, axes)``: sum over the paired axes ``axes[0]`` of ``a`` and
    ``axes[1]`` of ``b``; the result has ``a``'s free axes then ``b``'s.

    Gradient: ``ga = tensordot(gz, b)`` over ``b``'s free axes and ``gb = tensordot(a, gz)``
    over ``a``'s free axes, each transposed back to its operand's axis order.
    """

    props = ("axes",)

    def __init__(self, axes: Tuple[Tuple[int, ...], Tuple[int, ...]]):
        self.axes = (tuple(int(i) for i in axes[0]), tuple(int(i) for i in axes[1]))
        if len(self.axes[0]) != len(self.axes[1]):
            raise ValueError(f"TensorDot: axes {axes} pair {len(self.axes[0])} axes of a with "
                             f"{len(self.axes[1])} of b")

    def make_node(self, a, b) -> Apply:
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        xa, xb = self.axes
        for x, ax, label in ((a, xa, "a"), (b, xb, "b")):
            if any(not 0 <= i < x.ndim for i in ax) or len(set(ax)) != len(ax):
                raise ValueError(f"{self}: axes {ax} are invalid for operand {label} ({x}, "
                                 f"type {x.type})")
        for i, j in zip(xa, xb):
            sa, sb = a.type.shape[i], b.type.shape[j]
            if sa is not None and sb is not None and sa != sb:
                raise ValueError(f"{self}: axis {i} of {a} (length {sa}) does not match axis "
                                 f"{j} of {b} (length {sb})")
        shp = tuple(s for i, s in enumerate(a.type.shape) if i not in xa) + \
            tuple(s for j, s in enumerate(b.type.shape) if j not in xb)
        dtype = result_dtype(a.dtype, b.dtype)
        return Apply(self, [a, b], [TensorVariable(TensorType(dtype, shp))])

    def perform(self, a, b):
        return np.asarray(np.tensordot(a, b, axes=(list(self.axes[0]), list(self.axes[1]))))

    def emit(self, names):
        xa, xb = self.axes
        return f"np.tensordot({names[0]}, {names[1]}, axes=({list(xa)}, {list(xb)}))"

    def infer_shape(self, node, shapes):
        sa, sb = shapes
        xa, xb = self.axes
        return [tuple(s for i, s in enumerate(sa) if i not in xa) +
                tuple(s for j, s in enumerate(sb) if j not in xb)]

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        (gz,) = output_grads
        xa, xb = self.axes
        fa = [i for i in range(a.ndim) if i not in xa]
        fb = [j for j in range(b.ndim) if j not in xb]
        # gz axes: a's free axes, then b's free axes
        gz_b = list(range(len(fa), len(fa) + len(fb)))
        ga = TensorDot((gz_b, fb))(gz, b)
        # ga axes: a's free axes, then the summed axes of b in b's order -> a's axes
        order_a = fa + [xa[xb.index(j)] for j in sorted(xb)]
        ga = dimshuffle(ga, _inverse(order_a))
        gb = TensorDot((fa, list(range(len(fa)))))(a, gz)
        order_b = [xb[xa.index(i)] for i in sorted(xa)] + fb
        gb = dimshuffle(gb, _inverse(order_b))
        return [None if a.dtype in discrete_dtypes else E.cast(ga, a.dtype),
                None if b.dtype in discrete_dtypes else E.cast(gb, b.dtype)]


Axes = Union[int, Sequence]


def _normalize_axes(axes: Axes, na: int, nb: int) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > na or n > nb:
            raise ValueError(f"tensordot: axes={n} is invalid for operands of {na} and {nb} "
                             f"dimensions")
        return tuple(range(na - n, na)), tuple(range(n))
    try:
        xa, xb = axes
    except (TypeError, ValueError):
        raise TypeError(f"tensordot: axes must be an int or a pair of axis lists, got "
                        f"{axes!r}") from None
    xa = (xa,) if isinstance(xa, (int, np.integer)) else tuple(xa)
    xb = (xb,) if isinstance(xb, (int, np.integer)) else tuple(xb)
    if len(xa) != len(xb):
        raise ValueError(f"tensordot: axes {axes!r} pair {len(xa)} axes with {len(xb)}")
    for ax, n in ((xa, na), (xb, nb)):
        for i in ax:
            if not -n <= int(i) < n:
                raise ValueError(f"tensordot: axis {i} is out of range for a {n}-d operand")
    return tuple(int(i) % na for i in xa), tuple(int(j) % nb for j in xb)


def tensordot(a, b, axes: Axes = 2) -> Variable:
    """``np.tensordot``: ``axes`` is an int (the last ``axes`` axes of ``a`` with the first of
    ``b``) or a pair of axis lists."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    return TensorDot(_normalize_axes(axes, a.ndim, b.ndim))(a, b)


def batched_dot(a, b) -> Variable:
    """Theano's ``batched_dot``: ``dot(a[i], b[i])`` for every ``i`` of the first axis.

    Operands have 2 or 3 dimensions (a 2-d operand is a batch of vectors); built on
    :class:`Matmul`, whose gradient it inherits.
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim not in (2, 3) or b.ndim not in (2, 3):
        raise TypeError(f"batched_dot: operands must have 2 or 3 dimensions, got {a.type} and "
                        f"{b.type}")
    a3 = a if a.ndim == 3 else dimshuffle(a, (0, "x", 1))
    b3 = b if b.ndim == 3 else dimshuffle(b, (0, 1, "x"))
    out = matmul(a3, b3)
    keep = [0] + ([1] if a.ndim == 3 else []) + ([2] if b.ndim == 3 else [])
    return dimshuffle(out, keep)
