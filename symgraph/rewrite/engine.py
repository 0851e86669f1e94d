"""The rewrite registry and the walk-to-fixpoint driver.

A rewrite is a function ``rule(fgraph, node) -> replacement`` registered for one or more op
classes and a phase. It returns ``None`` (no change), a variable replacing ``node.outputs[0]``,
or a list with one replacement per output. Phases are named lists owned here; the order in
which they run is written out in :mod:`symgraph.compile.pipeline`.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Type

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Variable

Rule = Callable[[FunctionGraph, object], object]

#: phase -> op class (or None for "any op") -> rules, in registration order
_RULES: Dict[str, Dict[Optional[type], List[Rule]]] = defaultdict(lambda: defaultdict(list))
#: phase -> whole-graph passes ``pass(fgraph) -> bool changed``
_GLOBAL: Dict[str, List[Callable[[FunctionGraph], bool]]] = defaultdict(list)

MAX_ITERATIONS = 50


def register(phase: str, *op_classes: type):
    """Decorator: register a local rewrite for nodes whose op is an instance of ``op_classes``
    (no class = every node) in ``phase`` (or several, comma-separated)."""
    def deco(rule: Rule) -> Rule:
        for ph in phase.split(","):
            for cls in op_classes or (None,):
                _RULES[ph.strip()][cls].append(rule)
        return rule
    return deco


def register_global(phase: str):
    """Decorator: register a whole-graph pass for ``phase``."""
    def deco(fn):
        for ph in phase.split(","):
            _GLOBAL[ph.strip()].append(fn)
        return fn
    return deco


def rules_for(phase: str, op) -> List[Rule]:
    table = _RULES.get(phase)
    if not table:
        return []
    found = []
    for cls in type(op).__mro__:
        found.extend(table.get(cls, ()))
    found.extend(table.get(None, ()))
    return found


def _apply(fgraph: FunctionGraph, node, result, reason: str) -> bool:
    if result is None or result is False:
        return False
    if isinstance(result, Variable):
        result = [result]
    changed = False
    for old, new in zip(node.outputs, result):
        if new is None or new is old:
            continue
        if new.dtype != old.dtype:
            raise TypeError(f"rewrite {reason} changed the dtype of {old}: {old.dtype} -> "
                            f"{new.dtype}")
        fgraph.replace(old, new, reason)
        changed = True
    return changed


def run_phase(fgraph: FunctionGraph, phase: str, max_iterations: int = MAX_ITERATIONS) -> int:
    """Apply the phase's global passes and local rules until nothing changes.

    Returns the number of replacements made. Raises ``RuntimeError`` if the cap is reached
    (a rule pair that undoes each other is a bug worth hearing about).
    """
    total = 0
    for _ in range(max_iterations):
        changed = 0
        for gpass in _GLOBAL.get(phase, ()):
            if gpass(fgraph):
                changed += 1
        if _RULES.get(phase):
            for node in fgraph.toposort():
                if node not in fgraph.apply_nodes:
                    continue  # removed by an earlier replacement in this sweep
                for rule in rules_for(phase, node.op):
                    if _apply(fgraph, node, rule(fgraph, node), rule.__name__):
                        changed += 1
                        break
        total += changed
        if not changed:
            return total
    raise RuntimeError(f"rewrite phase {phase!r} did not reach a fixpoint in "
                       f"{max_iterations} sweeps")
