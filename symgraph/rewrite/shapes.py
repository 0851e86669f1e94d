"""Symbolic shape reasoning, and the canonical rewrites of shape ops.

:func:`infer_shape` computes a variable's shape from its producers' ``infer_shape`` (never from
its value), so ``x.shape`` of a ``Dot`` output becomes a vector of its inputs' dimensions and
the product itself is no longer needed. :func:`dims_equal` compares two such dimensions
structurally; the rules below drop a ``SumToShape``/``second``/``Reshape`` only when it proves
the shapes equal.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from symgraph.fgraph import OUTPUT, FunctionGraph
from symgraph.graph import Apply, Constant, Variable, fill_memo
from symgraph.ops import scalar as S
from symgraph.ops.elemwise import Elemwise, cast
from symgraph.ops.shape import (Alloc, DimShuffle, MakeVector, Reshape, Shape, ShapeI, SumToShape,
                                alloc, shape_entries)
from symgraph.ops.specify_shape import SpecifyShape
from symgraph.ops.variable import constant
from symgraph.rewrite.engine import register

Dim = Union[int, Variable]


# ---------------------------------------------------------------------------------------
# shape inference over the current graph
# ---------------------------------------------------------------------------------------

def _own_shape(var: Variable) -> Tuple[Dim, ...]:
    return tuple(s if s is not None else ShapeI(i)(var) for i, s in enumerate(var.type.shape))


def _as_dim(d) -> Dim:
    if isinstance(d, (int, np.integer)):
        return int(d)
    if isinstance(d, Constant) and d.ndim == 0:
        return int(d.data)
    return d


def shape_memo(fgraph: Optional[FunctionGraph]) -> Dict[Variable, tuple]:
    """A memo for :func:`infer_shape` shared by the rules of one compilation.

    Most rules return None, so the same shapes are asked for again and again. The memo is a
    cache of ``fgraph`` (:meth:`FunctionGraph.cache`): a replacement drops the shapes of the
    variables downstream of it, whose memoized expressions may name variables that left the
    graph, and keeps the others.
    """
    if fgraph is None:
        return {}
    return fgraph.cache("shape")


def infer_shape(var: Variable, memo: Optional[Dict[Variable, tuple]] = None
                ) -> Tuple[Dim, ...]:
    """The shape of ``var`` as ints and int64 scalar variables computed from its ancestors.

    Static dimensions win; unknown ones come from the producers' ``infer_shape``; a variable
    whose op cannot say falls back to ``ShapeI(i)(var)``.
    """
    memo = {} if memo is None else memo

    def visit(v: Variable, leaf: bool) -> None:
        if leaf:
            memo[v] = _own_shape(v)
            return
        node = v.owner
        try:
            shapes = node.op.infer_shape(node, [memo[i] for i in node.inputs])
        except Exception:  # an op that cannot infer is asked at run time instead
            shapes = None
        for k, out in enumerate(node.outputs):
            if shapes is None or shapes[k] is None or len(shapes[k]) != out.ndim:
                memo[out] = _own_shape(out)
                continue
            memo[out] = tuple(s if s is not None else _simplify(_as_dim(d))
                              for s, d in zip(out.type.shape, shapes[k]))
    fill_memo(var, memo, visit, is_leaf=lambda v: all(s is not None for s in v.type.shape))
    return memo[var]


def _simplify(d: Dim) -> Dim:
    """``maximum(a, a)`` (what broadcasting two equal dimensions infers) -> ``a``."""
    while (isinstance(d, Variable) and d.owner is not None and isinstance(d.owner.op, Elemwise)
           and d.owner.op.scalar_op in (S.maximum, S.minimum)):
        first = d.owner.inputs[0]
        if not all(dims_equal(first, other) for other in d.owner.inputs[1:]):
            break
        d = _as_dim(first)
    return d


def dims_equal(a: Dim, b: Dim, depth: int = 8) -> bool:
    """True when two symbolic dimensions are provably equal (same value or same expression)."""
    a, b = _as_dim(a), _as_dim(b)
    if isinstance(a, int) or isinstance(b, int):
        return isinstance(a, int) and isinstance(b, int) and a == b
    if a is b:
        return True
    if depth == 0 or a.owner is None or b.owner is None:
        return False
    na, nb = a.owner, b.owner
    if not getattr(na.op, "deterministic", True):
        return False  # two draws of a random op are not equal
    return (a.index == b.index and na.op == nb.op and len(na.inputs) == len(nb.inputs)
            and all(x is y or (x.ndim == 0 and y.ndim == 0 and dims_equal(x, y, depth - 1))
                    for x, y in zip(na.inputs, nb.inputs)))


def shapes_equal(a: Sequence[Dim], b: Sequence[Dim]) -> bool:
    return len(a) == len(b) and all(dims_equal(x, y) for x, y in zip(a, b))


def covered(dropped: Sequence[Variable], kept: Sequence[Variable], out: Variable,
            memo: Optional[Dict[Variable, tuple]] = None) -> bool:
    """True when broadcasting ``kept`` alone already gives ``out``'s shape, i.e. the
    ``dropped`` operands of an elementwise op never enlarge it."""
    if not kept or max(v.ndim for v in kept) != out.ndim:
        return False
    memo = {} if memo is None else memo
    for d in dropped:
        if d.ndim > out.ndim:
            return False
        for k, static in enumerate(d.type.shape):
            if static == 1:
                continue
            axis = k + out.ndim - d.ndim
            ok = False
            for v in kept:
                nd, vstatic = v.ndim, v.type.shape
                j = axis - (out.ndim - nd)
                if j < 0 or vstatic[j] == 1:
                    continue
                if static is not None and vstatic[j] == static:
                    ok = True
                elif static is None or vstatic[j] is None:
                    ok = dims_equal(infer_shape(d, memo)[k], infer_shape(v, memo)[j])
                if ok:
                    break
            if not ok:
                return False
    return True


def _is_own_dim(d: Dim, var: Variable, i: int) -> bool:
    return (isinstance(d, Variable) and d.owner is not None and isinstance(d.owner.op, ShapeI)
            and d.owner.op.i == i and d.owner.inputs[0] is var)


def _int64(d: Dim) -> Variable:
    """A dimension as an int64 scalar (user shapes may be int32 scalars)."""
    if isinstance(d, int):
        return constant(np.int64(d))
    return d if d.dtype == "int64" else cast(d, "int64")


# ---------------------------------------------------------------------------------------
# rules
# ---------------------------------------------------------------------------------------

@register("canonicalize", Shape)
def shape_to_dims(fgraph: FunctionGraph, node: Apply):
    """shape(x) -> make_vector(d_0, ..., d_n) with the d_i inferred from x's producers."""
    x = node.inputs[0]
    dims = infer_shape(x, shape_memo(fgraph))
    if all(_is_own_dim(d, x, i) for i, d in enumerate(dims)):
        return None
    if not dims:
        return constant(np.zeros(0, dtype=np.int64))
    return MakeVector("int64")(*[_int64(d) for d in dims])


@register("canonicalize", ShapeI)
def shape_i_to_dim(fgraph: FunctionGraph, node: Apply):
    """shape(x)[i] -> d_i inferred from x's producers."""
    x, i = node.inputs[0], node.op.i
    d = infer_shape(x, shape_memo(fgraph))[i]
    if _is_own_dim(d, x, i):
        return None
    return _int64(d)


@register("canonicalize", DimShuffle)
def dimshuffle_compose(fgraph: FunctionGraph, node: Apply):
    """dimshuffle(dimshuffle(x, p), q) -> dimshuffle(x, p o q); an identity pattern -> x."""
    op, x = node.op, node.inputs[0]
    if x.owner is not None and isinstance(x.owner.op, DimShuffle):
        inner = x.owner.op.new_order
        order = tuple("x" if d == "x" else inner[d] for d in op.new_order)
        base = x.owner.inputs[0]
    elif not op.drop and op.new_order == tuple(range(op.input_ndim)):
        return x
    else:
        return None
    if order == tuple(range(base.ndim)):
        return base
    return DimShuffle(base.ndim, order)(base)


@register("canonicalize", Reshape)
def reshape_of_reshape(fgraph: FunctionGraph, node: Apply):
    """reshape(reshape(x, s1), s2) -> reshape(x, s2) (same elements, same order)."""
    x, shp = node.inputs
    if x.owner is None or not isinstance(x.owner.op, Reshape):
        return None
    return Reshape(node.op.ndim)(x.owner.inputs[0], shp)


@register("canonicalize", Reshape)
def useless_reshape(fgraph: FunctionGraph, node: Apply):
    """reshape(x, s) -> x when s is provably x's shape."""
    x, shp = node.inputs
    if x.ndim != node.op.ndim:
        return None
    entries = shape_entries(shp)
    if any(isinstance(e, int) and e == -1 for e in entries) and x.ndim != 1:
        return None
    if x.ndim == 1 and len(entries) == 1 and isinstance(entries[0], int) and entries[0] == -1:
        return x
    return x if shapes_equal(infer_shape(x, shape_memo(fgraph)), entries) else None


@register("canonicalize", SumToShape)
def useless_sum_to_shape(fgraph: FunctionGraph, node: Apply):
    """sum_to_shape(g, s) -> g when g's shape is provably s (nothing was broadcast)."""
    g, shp = node.inputs
    entries = shape_entries(shp)
    return g if shapes_equal(infer_shape(g, shape_memo(fgraph)), entries) else None


def _is_second(node: Apply) -> bool:
    return isinstance(node.op, Elemwise) and node.op.scalar_op == S.second


@register("canonicalize,stabilize", S.second)
def useless_second(fgraph: FunctionGraph, node: Apply):
    """second(x, y) -> y when x never enlarges y (y already has the broadcast shape)."""
    x, y = node.inputs
    out = node.outputs[0]
    if y.ndim != out.ndim or not covered([x], [y], out, shape_memo(fgraph)):
        return None
    return y


@register("canonicalize,stabilize", S.second)
def second_to_alloc(fgraph: FunctionGraph, node: Apply):
    """``second(x, y) -> alloc(y, *shape(x, y))`` when x is computed only for its shape, so
    that x's producer (a product, say) is no longer run."""
    x, y = node.inputs
    if x.owner is None or isinstance(x, Constant):
        return None
    for client, i in fgraph.clients.get(x, ()):
        if client == OUTPUT or not (_is_second(client) and i == 0):
            return None
    memo = shape_memo(fgraph)
    dims = node.op.infer_shape(node, [infer_shape(x, memo), infer_shape(y, memo)])[0]
    dims = [_as_dim(d) for d in dims]
    for d in dims:
        if isinstance(d, Variable) and x in _dim_vars(d):
            return None
    return alloc(y, *dims)


def _dim_vars(d: Variable, limit: int = 64) -> List[Variable]:
    """Tensor variables a small scalar shape expression reads (bounded walk)."""
    found, stack = [], [d]
    while stack and len(found) < limit:
        v = stack.pop()
        found.append(v)
        if v.owner is not None:
            stack.extend(v.owner.inputs)
    return found


@register("canonicalize", Alloc)
def alloc_of_same_shape(fgraph: FunctionGraph, node: Apply):
    """``alloc(v, *s) -> v`` when v provably has shape s already."""
    v, dims = node.inputs[0], node.inputs[1:]
    if v.ndim != len(dims):
        return None
    memo = shape_memo(fgraph)
    return v if shapes_equal(infer_shape(v, memo), [_as_dim(d) for d in dims]) else None


@register("canonicalize", SpecifyShape)
def useless_specify_shape(fgraph: FunctionGraph, node: Apply):
    """specify_shape(x, s) -> x when x's type already states every dimension of s (and no
    dimension is checked against a symbolic size)."""
    x = node.inputs[0]
    return x if x.type == node.outputs[0].type and not node.op.symbolic else None
