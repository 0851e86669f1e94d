"""The rewrite registry and the walk-to-fixpoint driver.

A rewrite is a function ``rule(fgraph, node) -> replacement`` registered for a phase and for
what it matches at the root: op classes, or the scalar ops (or scalar-op classes) of
elementwise nodes. It returns ``None`` (no change), a variable replacing ``node.outputs[0]``,
or a list with one replacement per output. Phases are named lists owned here; the order in
which they run is written out in :mod:`symgraph.compile.pipeline`.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Callable, Dict, List, Tuple

from symgraph.fgraph import OUTPUT, FunctionGraph, Listener
from symgraph.graph import Variable
from symgraph.op import Op
from symgraph.ops.scalar import ScalarOp

Rule = Callable[[FunctionGraph, object], object]

#: phase -> key -> [(registration number, rule)]; a key is an op class, ("scalar", scalar op),
#: ("scalar class", scalar-op class), or None (every node)
_RULES: Dict[str, Dict[object, List[Tuple[int, Rule]]]] = defaultdict(lambda: defaultdict(list))
#: phase -> whole-graph passes ``pass(fgraph) -> bool changed``
_GLOBAL: Dict[str, List[Callable[[FunctionGraph], bool]]] = defaultdict(list)
#: (phase, op class, scalar op) -> the rules to try, in registration order
_INDEX: Dict[tuple, List[Rule]] = {}
_serial = itertools.count()

MAX_ITERATIONS = 50


def _key(target) -> object:
    if isinstance(target, ScalarOp):
        return ("scalar", target)
    if isinstance(target, type) and issubclass(target, ScalarOp):
        return ("scalar class", target)
    if isinstance(target, type) and issubclass(target, Op):
        return target
    raise TypeError(f"register: a rule matches op classes, scalar ops or scalar-op classes, "
                    f"not {target!r}")


def register(phase: str, *targets):
    """Decorator: register a local rewrite in ``phase`` (or several, comma-separated) for the
    nodes it can match at the root: those whose op is an instance of one of the op classes in
    ``targets``, and the elementwise nodes whose scalar op is one of the scalar ops (or an
    instance of a scalar-op class) in ``targets``. No target: every node.

    The rules tried at a node run in registration order, the first that fires wins."""
    keys = [_key(t) for t in targets] or [None]

    def deco(rule: Rule) -> Rule:
        number = next(_serial)
        for ph in phase.split(","):
            for key in keys:
                _RULES[ph.strip()][key].append((number, rule))
        _INDEX.clear()
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
    """The rules of ``phase`` that can match a node of ``op``, in registration order."""
    sop = getattr(op, "scalar_op", None)
    index = (phase, type(op), sop)
    found = _INDEX.get(index)
    if found is None:
        table = _RULES.get(phase, {})
        keys = list(type(op).__mro__) + [None]
        if sop is not None:
            keys += [("scalar", sop)] + [("scalar class", cls) for cls in type(sop).__mro__]
        entries = sorted({e for key in keys for e in table.get(key, ())},
                         key=lambda e: e[0])
        found = _INDEX[index] = [rule for _, rule in entries]
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


class _Changes(Listener):
    """Stamps, with a clock that every change advances, what a change may have made
    rewritable again: a new node; a node reading a replaced variable; the producer of a
    variable whose clients changed (rules test ``single_client``), or that variable itself
    when it has no producer (its readers are stamped through it)."""

    def __init__(self) -> None:
        self.clock = 0
        self.node_time: Dict[object, int] = {}
        self.var_time: Dict[Variable, int] = {}

    def _clients_changed(self, variables) -> None:
        now = self.clock = self.clock + 1
        node_time, var_time = self.node_time, self.var_time
        for var in variables:
            if var.owner is not None:
                node_time[var.owner] = now
            else:
                var_time[var] = now

    def on_import(self, node) -> None:
        self._clients_changed(node.inputs)
        self.node_time[node] = self.clock

    def on_change_input(self, client, index, old, new) -> None:
        self._clients_changed((old, new))
        if client != OUTPUT:
            self.node_time[client] = self.clock

    def on_prune(self, node) -> None:
        self._clients_changed(node.inputs)


def _sweep(fgraph: FunctionGraph, phase: str, changes: _Changes, visited: Dict[object, int],
           everything: bool) -> int:
    """Visit, in topological order, the nodes whose surroundings changed since their last
    visit (all nodes when ``everything``); apply the first rule that fires at each."""
    changed = 0
    # cone[v]: the latest change to v's producer, its inputs or their clients, or upstream
    cone: Dict[Variable, int] = {}
    node_time, var_time = changes.node_time, changes.var_time
    for node in fgraph.toposort():
        if node not in fgraph.apply_nodes:
            continue  # removed by an earlier replacement in this sweep
        stamp = node_time.get(node, -1)
        for inp in node.inputs:
            t = cone.get(inp)
            if t is None:  # a graph input, or the output of a node made during this sweep
                t = node_time.get(inp.owner, -1) if inp.owner is not None else -1
            stamp = max(stamp, t, var_time.get(inp, -1))
        for out in node.outputs:
            cone[out] = stamp
        if not everything and stamp <= visited.get(node, -1):
            continue  # nothing it could match on changed since the rules last declined it
        changes.clock += 1
        visited[node] = changes.clock
        for rule in rules_for(phase, node.op):
            if _apply(fgraph, node, rule(fgraph, node), rule.__name__):
                changed += 1
                break
    return changed


def run_phase(fgraph: FunctionGraph, phase: str, max_iterations: int = MAX_ITERATIONS) -> int:
    """Apply the phase's global passes and local rules until nothing changes.

    Each sweep runs the global passes, then walks the graph in topological order and applies
    the first local rule that fires at each node. The first sweep visits every node; later
    sweeps visit only the nodes whose producers' cone, inputs or inputs' clients changed since
    the rules last declined them (the others would decline again), so a sweep after a few
    local replacements costs a walk, not a rule call per node. Nodes made during a sweep are
    visited in the next one, as in a full re-sweep.

    Returns the number of replacements made. Raises ``RuntimeError`` if ``max_iterations``
    sweeps all changed the graph (a rule pair that undoes each other is a bug worth hearing
    about).
    """
    total = 0
    has_rules = bool(_RULES.get(phase))
    changes = _Changes()
    visited: Dict[object, int] = {}
    fgraph.attach(changes)
    try:
        for sweep in range(max_iterations):
            changed = 0
            for gpass in _GLOBAL.get(phase, ()):
                if gpass(fgraph):
                    changed += 1
            if has_rules:
                changed += _sweep(fgraph, phase, changes, visited, everything=sweep == 0)
            total += changed
            if not changed:
                return total
    finally:
        fgraph.detach(changes)
    raise RuntimeError(f"rewrite phase {phase!r} did not reach a fixpoint in "
                       f"{max_iterations} sweeps")
