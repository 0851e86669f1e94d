"""Merge (common subexpression elimination): equal constants and equal applications of equal
ops to the same inputs become one node."""
from __future__ import annotations

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Constant
from symgraph.rewrite.engine import register_global


@register_global("merge,canonicalize,stabilize,specialize")
def merge(fgraph: FunctionGraph) -> bool:
    """Replace duplicate constants and duplicate ``Apply`` nodes by a single representative."""
    changed = False
    consts = {}
    for var in list(fgraph.variables):
        if isinstance(var, Constant) and fgraph.n_clients(var):
            key = var.signature()
            rep = consts.setdefault(key, var)
            if rep is not var:
                fgraph.replace(var, rep, "merge")
                changed = True
    seen = {}
    for node in fgraph.toposort():
        if node not in fgraph.apply_nodes or not getattr(node.op, "deterministic", True):
            continue
        key = (node.op, tuple(node.inputs))
        rep = seen.get(key)
        if rep is None:
            seen[key] = node
            continue
        for old, new in zip(node.outputs, rep.outputs):
            if fgraph.n_clients(old):
                fgraph.replace(old, new, "merge")
                changed = True
    return changed
