"""A convolution layer's bias and rectifier in the convolution's own pass (phase
``specialize``).

``maximum(conv2d(x, w) + b.dimshuffle('x', 0, 'x', 'x'), 0)``, the layer of every classic
convnet, is three passes over the output as built: the convolution writes it, the fused sum
and rectifier read it back and write it again. :class:`~symgraph.ops.conv.Conv2dBias` does the
sum (and the rectifier) where the convolution writes its output: with the numba back end in
the loop that assembles the output tiles, so the separate pass is gone; on NumPy as two
in-place ufunc calls on the output, which saves the buffer of the pre-activation.

Two rules, each for a value nobody else reads (a pre-activation that another node, or the
caller, reads must stay): the sum of a convolution and a per-channel bias becomes
``Conv2dBias``, and ``maximum(Conv2dBias(...), 0)`` becomes the rectified ``Conv2dBias``. The
values are those of the graph replaced: the same convolution, then the same elementwise
operations in the same dtype (``maximum(v, 0)`` with ``v`` first, as NumPy orders it: a nan
stays, so does ``-0.0``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Apply, Constant, Variable
from symgraph.ops import scalar as S
from symgraph.ops.conv import Conv2d, Conv2dBias
from symgraph.ops.shape import DimShuffle
from symgraph.rewrite.algebra import single_client
from symgraph.rewrite.engine import register


def _channel_bias(var: Variable) -> Optional[Variable]:
    """``b`` when ``var`` is ``b.dimshuffle('x', 0, 'x', 'x')`` of a vector ``b``."""
    node = var.owner
    if node is None or not isinstance(node.op, DimShuffle) or node.op.input_ndim != 1 or \
            node.op.new_order != ("x", 0, "x", "x"):
        return None
    return node.inputs[0]


@register("specialize", S.add)
def conv_bias(fgraph: FunctionGraph, node: Apply):
    """conv2d(x, w) + b.dimshuffle('x', 0, 'x', 'x') -> Conv2dBias(x, w, b)"""
    out = node.outputs[0]
    if len(node.inputs) != 2:
        return None
    for z, bb in (node.inputs, node.inputs[::-1]):
        conv = z.owner
        b = _channel_bias(bb)
        if conv is None or type(conv.op) is not Conv2d or b is None or \
                not out.dtype == z.dtype == b.dtype or out.type.shape != z.type.shape or \
                not single_client(fgraph, z):
            continue
        return Conv2dBias(*conv.op.params())(*conv.inputs, b)
    return None


def _zero(var: Variable) -> bool:
    return isinstance(var, Constant) and np.size(var.data) == 1 and \
        float(np.ravel(var.data)[0]) == 0.0


@register("specialize", S.maximum)
def conv_bias_relu(fgraph: FunctionGraph, node: Apply):
    """maximum(Conv2dBias(x, w, b), 0) -> Conv2dBias(x, w, b) rectified"""
    z, bound = node.inputs
    conv = z.owner
    if conv is None or type(conv.op) is not Conv2dBias or conv.op.relu or not _zero(bound) or \
            node.outputs[0].dtype != z.dtype or node.outputs[0].type.shape != z.type.shape or \
            not single_client(fgraph, z):
        return None
    return Conv2dBias(*conv.op.params(), relu=True)(*conv.inputs)
