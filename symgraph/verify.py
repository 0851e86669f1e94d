"""IR checker: a ``FunctionGraph`` is well formed after every rewrite phase.

Checked facts:

* ownership: every output of a node in the graph names that node as its owner, at its index;
* closure: every variable a node or the graph reads is a graph input, a constant, or the
  output of a node in the graph (nothing dangles, nothing reaches outside);
* clients: the clients map lists exactly the uses the nodes make;
* types: re-running ``op.make_node`` on the node's current inputs gives outputs of the same
  dtype and rank, with no static dimension contradicting the recorded one;
* acyclicity: a topological order exists in which every producer comes before its clients.

Tests call :func:`check_fgraph` after every phase (see ``tests/symgraph/rewrite/conftest.py``).
"""
from __future__ import annotations

from typing import List

from symgraph.fgraph import OUTPUT, FunctionGraph
from symgraph.graph import Constant, Variable


class InvalidGraphError(AssertionError):
    """The function graph breaks one of the IR invariants (the message says which)."""


def _defined(fgraph: FunctionGraph, var: Variable, inputs: set) -> bool:
    if isinstance(var, Constant) or var in inputs:
        return True
    return var.owner is not None and var.owner in fgraph.apply_nodes


def _check_types(node) -> List[str]:
    problems = []
    try:
        fresh = node.op.make_node(*node.inputs)
    except Exception as exc:  # a node its own op refuses is malformed
        return [f"{node.op} no longer accepts its inputs {node.inputs}: {exc}"]
    if len(fresh.outputs) != len(node.outputs):
        return [f"{node.op}: re-inference gives {len(fresh.outputs)} outputs, the node has "
                f"{len(node.outputs)}"]
    for k, (new, old) in enumerate(zip(fresh.outputs, node.outputs)):
        if new.type.dtype != old.type.dtype or new.ndim != old.ndim:
            problems.append(f"{node.op} output {k}: recorded type {old.type}, inputs now give "
                            f"{new.type}")
            continue
        for axis, (a, b) in enumerate(zip(old.type.shape, new.type.shape)):
            if a is not None and b is not None and a != b:
                problems.append(f"{node.op} output {k}: static dimension {axis} recorded as "
                                f"{a}, inputs now give {b}")
    return problems


def _check_order(fgraph: FunctionGraph) -> List[str]:
    order = fgraph.toposort()
    position = {node: i for i, node in enumerate(order)}
    problems = []
    for i, node in enumerate(order):
        for inp in node.inputs:
            owner = inp.owner
            if owner is not None and owner in position and position[owner] >= i:
                problems.append(f"cycle: {node.op} reads {inp}, which is computed by "
                                f"{owner.op} at or after it")
    missing = fgraph.apply_nodes - set(position)
    for node in missing:
        problems.append(f"node {node.op} is in the graph but no output depends on it")
    extra = set(position) - fgraph.apply_nodes
    for node in extra:
        problems.append(f"node {node.op} computes an output but is not in apply_nodes")
    return problems


def check_fgraph(fgraph: FunctionGraph, where: str = "") -> None:
    """Raise :class:`InvalidGraphError` listing every broken invariant of ``fgraph``."""
    problems: List[str] = []
    uses = {}
    inputs = set(fgraph.inputs)
    for node in fgraph.apply_nodes:
        for k, out in enumerate(node.outputs):
            if out.owner is not node or out.index != k:
                problems.append(f"output {k} of {node.op} is owned by {out.owner} "
                                f"(index {out.index})")
        for i, inp in enumerate(node.inputs):
            uses.setdefault(inp, set()).add((node, i))
            if not _defined(fgraph, inp, inputs):
                problems.append(f"{node.op} reads {inp} (type {inp.type}), which is neither an "
                                f"input, a constant nor computed in the graph")
        problems.extend(_check_types(node))
    for k, out in enumerate(fgraph.outputs):
        uses.setdefault(out, set()).add((OUTPUT, k))
        if not _defined(fgraph, out, inputs):
            problems.append(f"graph output {k} ({out}) is not computed in the graph")
    for var, found in uses.items():
        listed = set(fgraph.clients.get(var, ()))
        if listed != found:
            problems.append(f"clients of {var}: map lists {len(listed)} uses, the graph makes "
                            f"{len(found)}")
    problems.extend(_check_order(fgraph))
    if problems:
        head = f"invalid function graph{' after ' + where if where else ''}"
        raise InvalidGraphError(head + ":\n  " + "\n  ".join(problems[:20]))
