"""Storage planning for the fused linker: which values live in reused buffers, which updates
are computed in place into shared storage at commit time, and when each value dies.

Rules (each one keeps an alias from being observable):

* A value gets a planned buffer (reused across calls and across dead intermediates) only when
  it is an internal result of a fused elementwise program or of an op that can write into a
  buffer (``Op.emit_into``: matrix products), is not a graph output, and every reader of it,
  and of every view of it (``Op.view_map``), is an op that copies (``Op.copies``); a view
  that escapes to an output or to an op that may keep a reference keeps the value in fresh
  memory.
* Each planned value gets a slot of its own, except that an elementwise kernel takes over
  the slot of an input that dies at that very node (in place), never of one it reads through
  a view. A slot is busy from the node that first writes it until the last reader of its
  last value and of all that value's views ran (``Plan.span``); the slots share memory at
  run time by these spans and their measured sizes (:class:`symgraph.backends.buffers.Arena`).
* The nodes run in the order of :func:`schedule`, which keeps few values alive at once.
* An update ``s <- f(...)`` is *deferred* -- computed at commit time into the spare buffer
  of ``s`` (the value before the last commit, which nothing else holds) -- when its value
  feeds nothing but other deferred updates, it reads ``s`` only elementwise at the same index
  (or, for an op accumulating into ``s`` (``Op.accumulates_into``), not at all through its
  other inputs), and its type proves ``s``'s static dimensions (else its shape is checked
  before the commit, and a value broadcast past them is refused). Other deferred updates may
  read the old value of ``s``: it stays in place until the commit swaps the buffers. Inputs
  the caller passed are never written.

The storage plan knows ops only by what they declare (:class:`symgraph.op.Op`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from symgraph.fgraph import OUTPUT, FunctionGraph
from symgraph.graph import Apply, Constant, Variable, toposort


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
    span : list of (int, int)
        Slot ``n`` is busy from position ``span[n][0]`` to ``span[n][1]`` (in ``order +
        deferred``), both included.
    last_use : dict
        Variable -> position (in ``order + deferred``) of its last reader.
    """

    order: List[Apply]
    deferred: List[Tuple[Apply, int]]
    slot: Dict[Variable, int] = field(default_factory=dict)
    slot_dtype: List[str] = field(default_factory=list)
    span: List[Tuple[int, int]] = field(default_factory=list)
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
        if not guarantees_dims(s, v):
            continue  # its shape is checked before the commit (a broadcast must not commit)
        acc = node.op.accumulates_into
        if node.op.program is not None and v.type.ndim == s.ndim:
            cand[node] = k
        elif acc is not None and node.inputs[acc] is s and \
                all(alias_root(x) is not s for i, x in enumerate(node.inputs) if i != acc):
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
                if target_of.get(root) is not node:
                    # the old value of another deferred update's target: that update writes
                    # its spare buffer, so the old value stays readable until the commit
                    continue
                if not (x is root and (node.op.program is not None or
                                       pos == node.op.accumulates_into)):
                    del cand[node]  # its own target, read other than elementwise in place
                    changed = True
                    break
    return cand


def guarantees_dims(target: Variable, value: Variable) -> bool:
    """True when ``value``'s type proves every static dimension of the shared ``target``."""
    return not any(d is not None and e is None
                   for d, e in zip(target.type.shape, value.type.shape))


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
            if op.view_map:
                stack.extend(client.outputs)  # readers of a view read this memory too
            elif not op.copies:
                return False
    return True


def _plannable(node: Apply) -> bool:
    """True when ``node``'s output can live in a planned buffer."""
    if len(node.outputs) != 1:
        return False
    if node.op.program is not None:
        return node.outputs[0].ndim >= 1
    return node.op.can_emit_into(node)


def plan(fgraph: FunctionGraph, shared: Sequence[Variable], n_outputs: int,
         update_targets: Sequence[int]) -> Plan:
    """Plan buffers, in-place kernels and deferred updates for ``fgraph``."""
    deferred_map = _deferrable(fgraph, shared, n_outputs, update_targets)
    order_all = schedule(fgraph)
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

    # planned values by the position of their last reader, in the order they were planned
    dies_at: Dict[int, List[Variable]] = {}
    for i, node in enumerate(sequence):
        # values dying here: direct inputs of an elementwise kernel may be overwritten by it
        dying = dies_at.pop(i, ())
        takeover: List[int] = []
        if dying:
            roots = [(x, alias_root(x)) for x in node.inputs]
            viewed = {r for x, r in roots if r is not x}  # read through a view here
            direct = set(node.inputs)
        for v in dying:
            slot = result.slot[v]
            if node.op.program is not None and v in direct and v not in viewed:
                takeover.append(slot)  # in place
            else:
                result.span[slot] = (result.span[slot][0], i)  # still read here
        if i < len(order) and _plannable(node):
            out = node.outputs[0]
            if out not in outputs and out in last_use and _safe_readers(fgraph, out, outputs):
                mine = [k for k in takeover if result.slot_dtype[k] == out.dtype]
                if mine:
                    slot = mine[0]
                    takeover.remove(slot)
                else:
                    slot = len(result.slot_dtype)
                    result.slot_dtype.append(out.dtype)
                    result.span.append((i, i))
                result.slot[out] = slot
                dies_at.setdefault(last_use[out], []).append(out)
        for slot in takeover:
            result.span[slot] = (result.span[slot][0], i)
    return result


def schedule(fgraph: FunctionGraph) -> List[Apply]:
    """The nodes of ``fgraph`` in the order they run: a depth-first walk from the outputs,
    taken in the order of their depth (the longest path from the graph's inputs to them).

    The shallowest outputs come first, so that what they alone need is computed, read and
    freed before the deeper ones are started. A network's gradients then run layer by layer
    from the top, each layer's filter gradient right after the output gradient it reads. In
    the parameters' order, the first layer's filter gradient needed every input gradient down
    to it, and each layer's output gradient stayed alive until its own filter gradient at the
    end. Outputs of one depth keep their order."""
    depth: Dict[Apply, int] = {}
    for node in fgraph.toposort():
        depth[node] = 1 + max((depth.get(x.owner, 0) for x in node.inputs
                               if x.owner is not None), default=0)
    outs = sorted(fgraph.outputs, key=lambda v: depth.get(v.owner, 0))
    return toposort(outs, stop=fgraph.inputs)


@dataclass
class Update:
    """One shared-variable update, as the commit writer (:mod:`symgraph.compile.commit`)
    needs it.

    Attributes
    ----------
    index : int
        Position of the target in the function's shared list (its storage cell is
        ``_sv<index>`` in the generated code).
    target : Variable
        The shared variable.
    value : Variable
        Its new value, an output of the rewritten graph.
    node : Apply or None
        The node that computes ``value`` in place into the target's storage at commit time
        (a deferred update), or None when ``value`` is computed before the commit.
    copy : bool
        The value may share memory with an input, a shared value, a constant or a value
        handed out before (a result or another update): it is copied before the commit.
    check_dims : bool
        The value's type does not guarantee the target's static dimensions: its shape is
        checked before anything is committed.
    """

    index: int
    target: Variable
    value: Variable
    node: Optional[Apply] = None
    copy: bool = False
    check_dims: bool = False


def handed_out(fgraph: FunctionGraph, explicit: Sequence[Variable], shared: Sequence[Variable],
               n_outputs: int, update_targets: Sequence[int], plan: Optional[Plan]
               ) -> Tuple[List[bool], List[Update]]:
    """Which results must be copied, and the :class:`Update` of each update.

    Nothing handed to the caller or committed may alias storage a later call changes:
    inputs, shared values, constants, or a value already handed out (merged duplicate
    outputs, views of one value)."""
    private = set(explicit) | set(shared)
    seen: Set[Variable] = set()

    def must_copy(var: Variable) -> bool:
        root = alias_root(var)
        copy = root in private or isinstance(root, Constant) or root in seen
        seen.add(root)
        return copy

    copy_output = [must_copy(out) for out in fgraph.outputs[:n_outputs]]
    deferred = {node.outputs[0]: node for node, _ in plan.deferred} if plan else {}
    updates = []
    for value, k in zip(fgraph.outputs[n_outputs:], update_targets):
        target = shared[k]
        node = deferred.get(value)
        updates.append(Update(k, target, value, node, copy=node is None and must_copy(value),
                              check_dims=not guarantees_dims(target, value)))
    return copy_output, updates
