"""Storage planning for the fused linker: which values live in reused buffers, which updates
are computed in place into shared storage at commit time, and when each value dies.

Rules (each one keeps an alias from being observable):

* A value gets a planned buffer (reused across calls and across dead intermediates) only when
  it is an internal result of a fused elementwise kernel or of a matrix product, is not a
  graph output, and every reader of it, and of every view of it, is an op known to copy
  (elementwise, product, reduction, shape); a view that escapes to an output or to an op of
  unknown aliasing keeps the value in fresh memory.
* A buffer is handed to a later node only after the last reader of the value and of all its
  views ran; an elementwise kernel may take over the buffer of an input that dies at that very
  node (in place), never of one it reads through a view.
* An update ``s <- f(...)`` is *deferred* -- computed at commit time straight into ``s``'s
  storage -- when its value feeds nothing but other deferred updates, every other reader of
  ``s`` ran before the commit, and it reads ``s`` only elementwise at the same index (or, for
  a ``Gemm``, not at all through ``A``/``B``). Inputs the caller passed are never written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Set, Tuple

from symgraph.fgraph import OUTPUT, FunctionGraph
from symgraph.graph import Apply, Variable
from symgraph.ops.blas import Dot
from symgraph.ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights
from symgraph.ops.elemwise import Elemwise
from symgraph.ops.pool import MaxPool2dGradGrad, Pool2d, Pool2dGrad
from symgraph.ops.reduce import Argmax, Reduce
from symgraph.ops.shape import DimShuffle, Reshape, Shape, ShapeI, SumToDims, SumToShape
from symgraph.ops.softmax_xent import SoftmaxCrossentropyDx, SoftmaxCrossentropyWithLogits
from symgraph.rewrite.fusion import Composite, Gemm

#: ops whose outputs never alias their inputs and that read their inputs only while they run
_COPYING = (Composite, Elemwise, Dot, Gemm, Reduce, Argmax, Shape, ShapeI,
            SoftmaxCrossentropyWithLogits, SoftmaxCrossentropyDx,
            Conv2d, Conv2dGradInputs, Conv2dGradWeights, Pool2d, Pool2dGrad, MaxPool2dGradGrad)
#: ops whose output may be a view of input 0 (readers of the view read the base); a gradient
#: summed to its operand's shape is the gradient itself when nothing was broadcast
_VIEWS = (DimShuffle, Reshape, SumToShape, SumToDims)


def alias_root(var: Variable) -> Variable:
    """The variable whose memory ``var`` may share, following ops' ``view_map``."""
    while var.owner is not None:
        vm = getattr(var.owner.op, "view_map", {}) or {}
        src = vm.get(var.index)
        if not src:
            break
        var = var.owner.inputs[src[0]]
    return var


@dataclass
class Plan:
    """The result of :func:`plan`.

    Attributes
    ----------
    order : list of Apply
        Nodes run before the commit, in order.
    deferred : list of (Apply, int)
        Update nodes run at commit time, with the index (into the shared list) of the shared
        variable whose storage they write.
    slot : dict
        Planned value -> slot number; ``slot_dtype[n]`` is the dtype of slot ``n``.
    last_use : dict
        Variable -> position (in ``order + deferred``) of its last reader.
    """

    order: List[Apply]
    deferred: List[Tuple[Apply, int]]
    slot: Dict[Variable, int] = field(default_factory=dict)
    slot_dtype: List[str] = field(default_factory=list)
    last_use: Dict[Variable, int] = field(default_factory=dict)


def _deferrable(fgraph: FunctionGraph, shared: Sequence[Variable], n_outputs: int,
                update_targets: Sequence[int]) -> Dict[Apply, int]:
    outs = fgraph.outputs
    count: Dict[Variable, int] = {}
    for v in outs:
        count[v] = count.get(v, 0) + 1
    cand: Dict[Apply, int] = {}
    for v, k in zip(outs[n_outputs:], update_targets):
        node, s = v.owner, shared[k]
        if node is None or count[v] != 1 or v.ndim == 0 or node in cand:
            continue
        if isinstance(node.op, Composite) and v.type.ndim == s.ndim:
            cand[node] = k
        elif isinstance(node.op, Gemm) and node.inputs[0] is s and \
                alias_root(node.inputs[2]) is not s and alias_root(node.inputs[3]) is not s:
            cand[node] = k
    changed = True
    while changed:
        changed = False
        target_of = {shared[k]: node for node, k in cand.items()}
        for node, k in list(cand.items()):
            if node not in cand:
                continue
            v = node.outputs[0]
            if any(c is not OUTPUT and c not in cand for c, _ in fgraph.clients.get(v, ())):
                del cand[node]
                changed = True
                continue
            for pos, x in enumerate(node.inputs):
                root = alias_root(x)
                other = target_of.get(root)
                if other is None or other not in cand:
                    continue
                same = other is node and x is root and \
                    (isinstance(node.op, Composite) or pos == 0)
                if not same:
                    del cand[other]  # its old value is still read at commit time
                    changed = True
    return cand


def _safe_readers(fgraph: FunctionGraph, var: Variable, outputs: Set[Variable]) -> bool:
    """True when nothing can observe ``var``'s memory after its last reader ran."""
    stack = [var]
    while stack:
        v = stack.pop()
        if v in outputs:
            return False
        for client, _ in fgraph.clients.get(v, ()):
            if client is OUTPUT:
                return False
            op = client.op
            if isinstance(op, _VIEWS):
                stack.extend(client.outputs)
            elif not isinstance(op, _COPYING):
                return False
    return True


def _plannable(node: Apply) -> bool:
    out = node.outputs[0]
    if isinstance(node.op, Composite):
        return out.ndim >= 1
    if isinstance(node.op, Dot):
        a, b = node.inputs
        return a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype == out.dtype and \
            out.dtype in ("float32", "float64")
    return False


def plan(fgraph: FunctionGraph, shared: Sequence[Variable], n_outputs: int,
         update_targets: Sequence[int]) -> Plan:
    """Plan buffers, in-place kernels and deferred updates for ``fgraph``."""
    deferred_map = _deferrable(fgraph, shared, n_outputs, update_targets)
    order_all = fgraph.toposort()
    order = [n for n in order_all if n not in deferred_map]
    deferred = [(n, deferred_map[n]) for n in order_all if n in deferred_map]
    sequence = order + [n for n, _ in deferred]
    outputs = set(fgraph.outputs)

    last_use: Dict[Variable, int] = {}
    for i, node in enumerate(sequence):
        for x in node.inputs:
            last_use[x] = i
            root = alias_root(x)
            if root is not x:
                last_use[root] = i
    result = Plan(order, deferred, last_use=last_use)

    free: Dict[str, List[int]] = {}
    # planned values by the position of their last reader, in the order they were planned
    dies_at: Dict[int, List[Variable]] = {}
    for i, node in enumerate(sequence):
        # values dying here: direct inputs of an elementwise kernel may be overwritten by it
        dying = dies_at.pop(i, ())
        pending: List[int] = []
        if dying:
            roots = [(x, alias_root(x)) for x in node.inputs]
            viewed = {r for x, r in roots if r is not x}  # read through a view here
            direct = set(node.inputs)
        for v in dying:
            slot = result.slot[v]
            if isinstance(node.op, Composite) and v in direct and v not in viewed:
                free.setdefault(result.slot_dtype[slot], []).insert(0, slot)  # in place
            else:
                pending.append(slot)  # still read through a view, or by a product
        if i < len(order) and _plannable(node):
            out = node.outputs[0]
            if out not in outputs and out in last_use and _safe_readers(fgraph, out, outputs):
                pool = free.get(out.dtype)
                if pool:
                    slot = pool.pop(0)
                else:
                    slot = len(result.slot_dtype)
                    result.slot_dtype.append(out.dtype)
                result.slot[out] = slot
                dies_at.setdefault(last_use[out], []).append(out)
        for slot in pending:
            free.setdefault(result.slot_dtype[slot], []).append(slot)
    return result
