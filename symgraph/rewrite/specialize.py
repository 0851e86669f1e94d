"""Cheaper equivalents for the machine (phase ``specialize``).

Powers by small constant exponents become the dedicated ufuncs (on 1e6 float64:
``np.power(x, 0.5)`` 4.6 ms, ``np.sqrt`` 1.8 ms; ``np.power(x, -1)`` 1.9 ms, ``1 / x`` 1.2 ms;
``np.power(x, 2)`` 1.7 ms, ``np.square`` 1.5 ms), reductions over length-1 dimensions become views
(``np.sum(x, axis=1)`` of an ``(n, 1)`` array: 1.7 ms; the view: nothing), and a
product by the same operand becomes a square. Dot products of transposes need no rule: a
``DimShuffle`` transpose is emitted as ``np.transpose`` (a view) and ``np.dot`` hands the
strided view to BLAS without a copy.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Apply, Constant, Variable
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S
from symgraph.ops.reduce import Reduce
from symgraph.ops.shape import MakeVector, Shape, ShapeI, SumToDims, SumToShape, dimshuffle
from symgraph.rewrite.algebra import like
from symgraph.rewrite.engine import register
from symgraph.rewrite.shapes import covered
from symgraph.types import int_dtypes

_FLOATS = ("float16", "float32", "float64")


def _exponent(node: Apply) -> Optional[float]:
    """The constant, uniform exponent of ``pow(x, c)`` when ``c`` never enlarges ``x``."""
    x, c = node.inputs
    if not isinstance(c, Constant) or c.data.size == 0:
        return None
    flat = c.data.ravel()
    if not np.all(flat == flat[0]) or not covered([c], [x], node.outputs[0]):
        return None
    return float(flat[0])


def _pow_to(node: Apply, build) -> Optional[Variable]:
    out = node.outputs[0]
    x = node.inputs[0]
    if x.dtype != out.dtype:
        return None
    return like(build(x), out)


@register("specialize", S.pow)
def pow_two(fgraph: FunctionGraph, node: Apply):
    """x ** 2 -> sqr(x)"""
    return _pow_to(node, E.sqr) if _exponent(node) == 2.0 else None


@register("specialize", S.pow)
def pow_half(fgraph: FunctionGraph, node: Apply):
    """x ** 0.5 -> sqrt(x)  (float x)"""
    if _exponent(node) != 0.5 or node.outputs[0].dtype not in _FLOATS:
        return None
    return _pow_to(node, E.sqrt)


@register("specialize", S.pow)
def pow_one(fgraph: FunctionGraph, node: Apply):
    """x ** 1 -> x"""
    return _pow_to(node, lambda x: x) if _exponent(node) == 1.0 else None


@register("specialize", S.pow)
def pow_minus_one(fgraph: FunctionGraph, node: Apply):
    """x ** -1 -> 1 / x  (float x)"""
    if _exponent(node) != -1.0 or node.outputs[0].dtype not in _FLOATS:
        return None
    return _pow_to(node, E.inv)


@register("specialize", S.pow)
def pow_three(fgraph: FunctionGraph, node: Apply):
    """x ** 3 -> x * sqr(x)  (np.power with a non-special exponent calls libm's pow per
    element: 5.4 ms against 3.0 ms for the two products on 1e6 float64, unfused)"""
    if _exponent(node) != 3.0:
        return None
    return _pow_to(node, lambda x: E.mul(x, E.sqr(x)))


@register("specialize", S.mul)
def mul_self_to_sqr(fgraph: FunctionGraph, node: Apply):
    """x * x -> sqr(x)"""
    if len(node.inputs) != 2:
        return None
    x, y = node.inputs
    if x is not y or x.dtype != node.outputs[0].dtype:
        return None
    return E.sqr(x)


@register("specialize", Reduce)
def reduce_over_unit_dims(fgraph: FunctionGraph, node: Apply):
    """sum(x, axes) -> dimshuffle(x) when every reduced axis has static length 1 (likewise
    prod, max, min): a view instead of a reduction."""
    op = node.op
    x = node.inputs[0]
    out = node.outputs[0]
    if op.kind in ("all", "any") or out.dtype != x.dtype:
        return None
    if not op.axis or any(x.type.shape[a] != 1 for a in op.axis):
        return None
    if op.keepdims:
        return x
    return dimshuffle(x, [i for i in range(x.ndim) if i not in op.axis])


@register("specialize", SumToShape)
def sum_to_dims(fgraph: FunctionGraph, node: Apply):
    """sum_to_shape(g, make_vector(d0, d1)) / sum_to_shape(g, shape(y)) -> sum_to_dims(g, d0,
    d1): the target dims as scalars, so the run-time check is a tuple comparison instead of a
    shape vector built and read back (a few microseconds per parameter of a train step)."""
    g, shp = node.inputs
    owner = shp.owner
    if owner is not None and isinstance(owner.op, MakeVector):
        dims = list(owner.inputs)
    elif owner is not None and isinstance(owner.op, Shape):
        y = owner.inputs[0]
        dims = [ShapeI(i)(y) for i in range(y.ndim)]
    else:
        return None
    if any(d.dtype not in int_dtypes for d in dims):
        return None
    return SumToDims(node.op.static)(g, *dims)
