"""``FunctionGraph``: a private, mutable copy of a graph with a clients map.

Rewrites act only through :meth:`FunctionGraph.replace`, which keeps the clients map right and
prunes nodes that lost their last client. The user's graph is never touched: the constructor
copies every ``Apply`` node (inputs, constants and shared variables are kept as they are).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from symgraph.graph import Apply, Variable, toposort

OUTPUT = "output"


class FunctionGraph:
    """A graph from ``inputs`` to ``outputs`` that rewrites may change.

    Attributes
    ----------
    inputs, outputs : list of Variable
        ``outputs`` are the copies; ``memo`` maps each original variable to its copy.
    clients : dict
        Variable -> list of ``(node, input_index)``; graph outputs appear as
        ``(OUTPUT, output_index)``.
    """

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 clone: bool = True):
        self.inputs = list(inputs)
        self.memo: Dict[Variable, Variable] = {}
        if clone:
            outputs = self._clone(outputs)
        self.outputs = list(outputs)
        self.clients: Dict[Variable, List[Tuple[object, int]]] = defaultdict(list)
        self.apply_nodes: set = set()
        self.variables: set = set(self.inputs)
        for node in toposort(self.outputs, stop=self.inputs):
            self._add_node(node)
        for i, out in enumerate(self.outputs):
            self.variables.add(out)
            self.clients[out].append((OUTPUT, i))
        self.history: List[tuple] = []

    def _clone(self, outputs: Sequence[Variable]) -> List[Variable]:
        memo = self.memo
        for v in self.inputs:
            memo[v] = v
        for node in toposort(outputs, stop=self.inputs):
            new_outputs = [type(o)(o.type, name=o.name) for o in node.outputs]
            Apply(node.op, [memo.get(v, v) for v in node.inputs], new_outputs)
            for old, new in zip(node.outputs, new_outputs):
                new.tag = old.tag
                memo[old] = new
        return [memo.get(v, v) for v in outputs]

    def _add_node(self, node: Apply) -> None:
        if node in self.apply_nodes:
            return
        self.apply_nodes.add(node)
        for i, inp in enumerate(node.inputs):
            self.variables.add(inp)
            self.clients[inp].append((node, i))
        self.variables.update(node.outputs)

    def _import(self, var: Variable) -> None:
        """Add the nodes computing ``var`` that are not in the graph yet."""
        if var in self.variables:
            return
        for node in toposort([var], stop=self.variables):
            self._add_node(node)
        self.variables.add(var)

    def _prune(self, node: Apply) -> None:
        """Remove ``node`` (and its producers, recursively) once no output has a client."""
        stack = [node]
        while stack:
            n = stack.pop()
            if n not in self.apply_nodes or any(self.clients.get(o) for o in n.outputs):
                continue
            self.apply_nodes.discard(n)
            for o in n.outputs:
                self.clients.pop(o, None)
                self.variables.discard(o)
            for i, inp in enumerate(n.inputs):
                lst = self.clients.get(inp)
                if lst is not None:
                    try:
                        lst.remove((n, i))
                    except ValueError:
                        pass
                if inp.owner is not None and not self.clients.get(inp):
                    stack.append(inp.owner)

    def replace(self, old: Variable, new: Variable, reason: Optional[str] = None) -> None:
        """Make every client of ``old`` use ``new`` instead (types must agree)."""
        if old is new:
            return
        if new.type.dtype != old.type.dtype or new.ndim != old.ndim:
            raise TypeError(f"replace ({reason}): {new} of type {new.type} cannot stand in for "
                            f"{old} of type {old.type}")
        if new.type != old.type and not _compatible(old.type.shape, new.type.shape):
            raise TypeError(f"replace ({reason}): static shapes differ: {old.type} vs {new.type}")
        self._import(new)
        for client, i in list(self.clients.get(old, ())):
            if client == OUTPUT:
                self.outputs[i] = new
            else:
                client.inputs[i] = new
            self.clients[new].append((client, i))
        self.clients[old] = []
        self.history.append((reason, old, new))
        if old.owner is not None:
            self._prune(old.owner)

    def replace_all(self, pairs: Iterable[Tuple[Variable, Variable]], reason=None) -> None:
        for old, new in pairs:
            self.replace(old, new, reason)

    def toposort(self) -> List[Apply]:
        return toposort(self.outputs, stop=self.inputs)

    def n_clients(self, var: Variable) -> int:
        return len(self.clients.get(var, ()))

    def __repr__(self) -> str:
        return f"FunctionGraph({len(self.apply_nodes)} nodes, {self.inputs} -> {self.outputs})"


def _compatible(a: tuple, b: tuple) -> bool:
    return all(x is None or y is None or x == y for x, y in zip(a, b))
