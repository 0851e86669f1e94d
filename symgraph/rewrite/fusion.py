"""Phase ``fuse``: in-place BLAS updates and elementwise fusion.

Two whole-graph passes, run in this order:

1. :func:`gemm_updates` turns ``W - c * dot(a, b)`` (and ``W + c * dot(a, b)``, ``W - dot(a,
   b)``) into one :class:`Gemm` node. The linker runs a ``Gemm`` whose result is the update of
   the shared ``W`` as one in-place BLAS ``?gemm`` into ``W``'s storage at commit time.
2. :func:`fuse_elemwise` replaces every tree of :class:`~symgraph.ops.elemwise.Elemwise` nodes
   whose intermediates have no other client by one :class:`Composite` holding the tree of
   scalar ops. The back ends (:mod:`symgraph.backends`) write a composite as a few ufunc calls
   into planned buffers, or as one compiled loop.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from symgraph.fgraph import OUTPUT, FunctionGraph
from symgraph.graph import Apply, Constant, Variable
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S
from symgraph.ops.blas import Dot, Gemm
from symgraph.ops.composite import Composite, Ref, Step
from symgraph.ops.elemwise import Elemwise
from symgraph.ops.shape import dimshuffle
from symgraph.ops.variable import as_tensor_variable
from symgraph.rewrite.engine import register_global

# ---------------------------------------------------------------------------------------
# gemm: W - c * dot(a, b)  ->  Gemm(W, -c, a, b)
# ---------------------------------------------------------------------------------------

def _single_client(fgraph: FunctionGraph, var: Variable, node: Apply) -> bool:
    clients = fgraph.clients.get(var, ())
    return len(clients) == 1 and clients[0][0] is node


def _scaled_dot(fgraph: FunctionGraph, var: Variable, consumer: Apply):
    """``var = s1 * ... * dot(a, b)`` with scalar ``s``: return ``(scalars, a, b)``."""
    if var.owner is None or not _single_client(fgraph, var, consumer):
        return None
    op = var.owner.op
    if isinstance(op, Dot):
        a, b = var.owner.inputs
        return ([], a, b) if a.ndim == 2 and b.ndim == 2 else None
    if isinstance(op, Elemwise) and op.scalar_op == S.mul:
        dots = [x for x in var.owner.inputs if x.owner is not None
                and isinstance(x.owner.op, Dot) and x.ndim == 2]
        if len(dots) != 1 or not _single_client(fgraph, dots[0], var.owner):
            return None
        rest = [x for x in var.owner.inputs if x is not dots[0]]
        if not all(all(s == 1 for s in x.type.shape) for x in rest):
            return None
        a, b = dots[0].owner.inputs
        if a.ndim != 2 or b.ndim != 2:
            return None
        return rest, a, b
    return None


def _alpha(scalars: List[Variable], sign: float, dtype: str) -> Variable:
    if all(isinstance(s, Constant) for s in scalars):
        value = sign * np.prod([float(s.data.reshape(())) for s in scalars])
        return as_tensor_variable(np.asarray(value, dtype=dtype))
    alpha = as_tensor_variable(np.asarray(sign, dtype=dtype))
    for s in scalars:
        if s.ndim:
            s = dimshuffle(s, [])  # a (1, 1) factor -> scalar
        alpha = E.mul(alpha, E.cast(s, dtype))
    return alpha


@register_global("fuse")
def gemm_updates(fgraph: FunctionGraph) -> bool:
    """``C - s * dot(A, B)`` -> ``Gemm(C, -s, A, B)`` and ``C + s * dot(A, B)`` ->
    ``Gemm(C, s, A, B)`` (``s`` a scalar, every operand the same float dtype), unless ``C`` is
    an elementwise result read by nothing else, which the sum fuses with instead."""
    changed = False
    for node in fgraph.toposort():
        if node not in fgraph.apply_nodes or not isinstance(node.op, Elemwise):
            continue
        sop = node.op.scalar_op
        if sop not in (S.sub, S.add) or len(node.inputs) != 2:
            continue
        out = node.outputs[0]
        if out.ndim != 2 or out.dtype not in ("float32", "float64"):
            continue
        cands = [(node.inputs[0], node.inputs[1], -1.0 if sop == S.sub else 1.0)]
        if sop == S.add:
            cands.append((node.inputs[1], node.inputs[0], 1.0))
        for c, term, sign in cands:
            if c.type != out.type and c.type.shape != out.type.shape:
                continue
            if c.dtype != out.dtype or c.ndim != 2:
                continue
            if c.owner is not None and isinstance(c.owner.op, Elemwise) and \
                    _single_client(fgraph, c, node):
                # momentum's ``mu * v - lr * dot(a, b)``: fused with the sum, ``mu * v`` is
                # one pass over the product; as Gemm's C it would be a pass, a copy and an
                # array per call. The sum then joins the elementwise updates that read it
                continue
            found = _scaled_dot(fgraph, term, node)
            if found is None:
                continue
            scalars, a, b = found
            if a.dtype != out.dtype or b.dtype != out.dtype:
                continue
            new = Gemm()(c, _alpha(scalars, sign, out.dtype), a, b)
            if new.type != out.type:
                continue
            fgraph.replace(out, new, "gemm_updates")
            changed = True
            break
    return changed


# ---------------------------------------------------------------------------------------
# elementwise fusion
# ---------------------------------------------------------------------------------------

def not_smaller(inner: Variable, outer: Variable) -> bool:
    """True unless ``inner`` is statically smaller than ``outer`` (it would be recomputed per
    broadcast element inside a fused loop)."""
    if inner.ndim != outer.ndim:
        return False
    return all(not (a == 1 and b != 1) for a, b in zip(inner.type.shape, outer.type.shape))


def _absorbable(fgraph: FunctionGraph, var: Variable, consumer: Apply, root: Variable) -> bool:
    owner = var.owner
    if owner is None or not isinstance(owner.op, Elemwise) or len(owner.outputs) != 1:
        return False
    clients = fgraph.clients.get(var, ())
    if not clients or any(c is OUTPUT or c is not consumer for c, _ in clients):
        return False
    return not_smaller(var, root)


def build_cluster(fgraph: FunctionGraph, root_node: Apply):
    """Collect the fusable tree under ``root_node``; return ``(program, inputs, members)``.

    A depth-first walk with an explicit stack (a cluster may be a chain of any length): a
    node's step is written once the references of all its inputs are known, so the program
    lists every step after the steps it reads.
    """
    root = root_node.outputs[0]
    inputs: List[Variable] = []
    index: Dict[Variable, int] = {}
    steps: List[Step] = []
    members: List[Apply] = [root_node]
    memo: Dict[Variable, Ref] = {}
    # one frame per node being visited: [node, references of its inputs resolved so far]
    stack: List[list] = [[root_node, []]]
    while stack:
        frame = stack[-1]
        node, refs = frame
        if len(refs) < len(node.inputs):
            inp = node.inputs[len(refs)]
            if inp in memo:
                refs.append(memo[inp])
            elif _absorbable(fgraph, inp, node, root):
                members.append(inp.owner)
                stack.append([inp.owner, []])
            else:
                refs.append(_leaf_ref(inp, inputs, index, memo))
            continue
        stack.pop()
        if node.op.scalar_op == S.second and node is not root_node and \
                not _absorbable(fgraph, node.inputs[0], node, root):
            # second(x, y) inside a cluster is y: every step is computed at the cluster's full
            # shape, which x (kept as an input) still contributes to
            ref = refs[1]
        else:
            steps.append((node.op.scalar_op, tuple(refs), node.outputs[0].dtype))
            ref = ("s", len(steps) - 1)
        if stack:
            parent_node, parent_refs = stack[-1]
            memo[parent_node.inputs[len(parent_refs)]] = ref
            parent_refs.append(ref)
    return tuple(steps), inputs, members


def _leaf_ref(inp: Variable, inputs: List[Variable], index: Dict[Variable, int],
              memo: Dict[Variable, Ref]) -> Ref:
    """The reference to ``inp`` read by a cluster without absorbing its producer: a baked-in
    scalar constant or an input of the composite."""
    if isinstance(inp, Constant) and inp.data.size == 1 and \
            all(s == 1 for s in inp.type.shape):
        ref = ("c", inp.dtype, inp.data.reshape(()).item())
    else:
        if inp not in index:
            index[inp] = len(inputs)
            inputs.append(inp)
        ref = ("i", index[inp])
    memo[inp] = ref
    return ref


@register_global("fuse")
def fuse_elemwise(fgraph: FunctionGraph) -> bool:
    """Replace each maximal single-client tree of ``Elemwise`` nodes by one ``Composite``."""
    changed = False
    done = set()
    for node in reversed(fgraph.toposort()):
        if node in done or node not in fgraph.apply_nodes or not isinstance(node.op, Elemwise):
            continue
        program, inputs, members = build_cluster(fgraph, node)
        done.update(members)
        if not inputs:
            continue  # all-constant: constant folding's business
        new = Composite(program, len(inputs))(*inputs)
        old = node.outputs[0]
        if new.type != old.type:
            if new.dtype != old.dtype or new.ndim != old.ndim:
                continue
        fgraph.replace(old, new, "fuse_elemwise")
        changed = True
    return changed
