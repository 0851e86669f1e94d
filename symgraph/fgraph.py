"""``FunctionGraph``: a private, mutable copy of a graph with a clients map.

Rewrites act only through :meth:`FunctionGraph.replace`, which keeps the clients map right and
prunes nodes that lost their last client. The user's graph is never touched: the constructor
copies every ``Apply`` node (inputs, constants and shared variables are kept as they are).

Every change is reported to the attached listeners (:class:`Listener`), so that a rewrite
driver can revisit only what changed, and it drops the entries of the graph's caches
(:meth:`FunctionGraph.cache`) that the change may have made stale.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from symgraph.graph import Apply, Variable, toposort

OUTPUT = "output"


class Listener:
    """Receives the changes :meth:`FunctionGraph.replace` makes (every method may be left out
    of a subclass: the defaults do nothing)."""

    def on_import(self, node: Apply) -> None:
        """``node`` was added to the graph."""

    def on_change_input(self, client, index: int, old: Variable, new: Variable) -> None:
        """``client`` (an ``Apply``, or ``OUTPUT`` for the graph's output ``index``) now reads
        ``new`` where it read ``old``."""

    def on_prune(self, node: Apply) -> None:
        """``node`` left the graph (none of its outputs had a client any more)."""


class Uses:
    """The uses of one variable: ``(client, input index)`` pairs in the order they were made.

    A list to its readers (iteration, ``len``, ``uses[0]``, ``append``, ``remove``), whose
    ``remove`` takes constant time: a variable read by many nodes (the input of a long chain)
    loses them one by one as rewrites replace them.
    """

    __slots__ = ("_pairs",)

    def __init__(self, pairs: Iterable[Tuple[object, int]] = ()):
        self._pairs = dict.fromkeys(pairs)

    def __iter__(self):
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __contains__(self, pair) -> bool:
        return pair in self._pairs

    def __getitem__(self, k):
        if k == 0 and self._pairs:
            return next(iter(self._pairs))
        return list(self._pairs)[k]

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def append(self, pair: Tuple[object, int]) -> None:
        self._pairs[pair] = None

    def remove(self, pair: Tuple[object, int]) -> None:
        try:
            del self._pairs[pair]
        except KeyError:
            raise ValueError(f"{pair!r} is not a use of this variable") from None

    def __repr__(self) -> str:
        return f"Uses({list(self._pairs)!r})"


class FunctionGraph:
    """A graph from ``inputs`` to ``outputs`` that rewrites may change.

    Attributes
    ----------
    inputs, outputs : list of Variable
        ``outputs`` are the copies; ``memo`` maps each original variable to its copy.
    clients : dict
        Variable -> :class:`Uses`, its ``(node, input_index)`` pairs; graph outputs appear as
        ``(OUTPUT, output_index)``.
    """

    def __init__(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 clone: bool = True):
        self.inputs = list(inputs)
        self.memo: Dict[Variable, Variable] = {}
        if clone:
            outputs = self._clone(outputs)
        self.outputs = list(outputs)
        self.clients: Dict[Variable, Uses] = defaultdict(Uses)
        self.apply_nodes: set = set()
        self.variables: set = set(self.inputs)
        self._listeners: List[Listener] = []
        self._caches: Dict[str, _Cache] = {}
        #: nodes outside the graph that cache values hold (see :meth:`cache`)
        self._cache_built = _Built(self.apply_nodes)
        for node in toposort(self.outputs, stop=self.inputs):
            self._add_node(node)
        for i, out in enumerate(self.outputs):
            self.variables.add(out)
            self.clients[out].append((OUTPUT, i))
        self.history: List[tuple] = []

    def attach(self, listener: Listener) -> None:
        """Report every later change to ``listener`` (see :class:`Listener`)."""
        self._listeners.append(listener)

    def detach(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def cache(self, name: str) -> Dict[Variable, object]:
        """A dict named ``name`` from graph variables to facts derived from their ancestors.

        It lives as long as the graph: a replacement deletes the entries of the variables
        downstream of the replaced one (their ancestors changed) and of the pruned ones. The
        walk descends only through variables that have an entry, so a cache whose entries
        are derived from the entries of their producers' inputs (as a memo of a recursive
        function is) stays exact, and every deletion is paid for by an earlier insertion.

        Values may hold expressions (variables, or tuples of them) built outside the graph. A
        rewrite that puts such an expression into the graph puts in a copy of the nodes that
        values hold (see :meth:`_import`): the graph rewires the nodes it owns, and a value
        must keep meaning what it meant when it was computed.
        """
        found = self._caches.get(name)
        if found is None:
            found = self._caches[name] = _Cache(self)
        return found

    def _invalidate(self, readers: List[object]) -> None:
        """Drop the cache entries of the outputs of ``readers`` and of their descendants."""
        for memo in self._caches.values():
            if not memo:
                continue
            stack = [c for c in readers if c != OUTPUT]
            while stack:
                node = stack.pop()
                for out in node.outputs:
                    if memo.pop(out, memo) is not memo:
                        stack.extend(c for c, _ in self.clients.get(out, ()) if c != OUTPUT)

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
        for listener in self._listeners:
            listener.on_import(node)

    def _import(self, var: Variable) -> Variable:
        """Add the nodes computing ``var`` that are not in the graph yet; return the variable
        now in the graph: ``var`` itself, or a copy when its nodes include some that cache
        values hold (the graph may later rewire the nodes it owns, and a cached value must
        keep meaning what it meant when it was computed)."""
        if var in self.variables:
            return var
        nodes = toposort([var], stop=self.variables)
        if self._caches and any(node in self._cache_built for node in nodes):
            var, nodes = self._copy_held(var, nodes)
        for node in nodes:
            self._add_node(node)
        self.variables.add(var)
        return var

    def _copy_held(self, var: Variable, nodes: List[Apply]) -> Tuple[Variable, List[Apply]]:
        """Copies of the nodes among ``nodes`` (inputs first) that cache values hold, and of
        the nodes reading them."""
        copies: Dict[Variable, Variable] = {}
        result = []
        for node in nodes:
            if node in self._cache_built or any(v in copies for v in node.inputs):
                outputs = [type(o)(o.type, name=o.name) for o in node.outputs]
                new = Apply(node.op, [copies.get(v, v) for v in node.inputs], outputs)
                for old, out in zip(node.outputs, outputs):
                    out.tag = old.tag
                    copies[old] = out
                node = new
            result.append(node)
        return copies.get(var, var), result

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
                for memo in self._caches.values():
                    memo.pop(o, None)
            for i, inp in enumerate(n.inputs):
                lst = self.clients.get(inp)
                if lst is not None:
                    try:
                        lst.remove((n, i))
                    except ValueError:
                        pass
                if inp.owner is not None and not self.clients.get(inp):
                    stack.append(inp.owner)
            for listener in self._listeners:
                listener.on_prune(n)

    def replace(self, old: Variable, new: Variable, reason: Optional[str] = None) -> None:
        """Make every client of ``old`` use ``new`` instead (types must agree)."""
        if old is new:
            return
        if new.type.dtype != old.type.dtype or new.ndim != old.ndim:
            raise TypeError(f"replace ({reason}): {new} of type {new.type} cannot stand in for "
                            f"{old} of type {old.type}")
        if new.type != old.type and not _compatible(old.type.shape, new.type.shape):
            raise TypeError(f"replace ({reason}): static shapes differ: {old.type} vs {new.type}")
        new = self._import(new)
        uses = self.clients.get(old, ())
        self._invalidate([client for client, _ in uses])
        new_uses = self.clients[new]
        for client, i in list(uses):
            if client == OUTPUT:
                self.outputs[i] = new
            else:
                client.inputs[i] = new
            new_uses.append((client, i))
            for listener in self._listeners:
                listener.on_change_input(client, i, old, new)
        self.clients[old] = Uses()
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


class _Built:
    """The nodes outside the graph that cache values hold, with their ancestors outside the
    graph: :meth:`FunctionGraph._import` copies them rather than adopting them."""

    def __init__(self, in_graph: set):
        self.in_graph = in_graph
        self.held: set = set()

    def __contains__(self, node) -> bool:
        return node in self.held

    def record(self, value) -> None:
        items = value if isinstance(value, (tuple, list)) else (value,)
        held, in_graph = self.held, self.in_graph
        stack = [v.owner for v in items if isinstance(v, Variable) and v.owner is not None]
        while stack:
            node = stack.pop()
            if node in held or node in in_graph:
                continue
            held.add(node)
            stack.extend(inp.owner for inp in node.inputs if inp.owner is not None)


class _Cache(dict):
    """The dict :meth:`FunctionGraph.cache` returns: records the nodes outside the graph that
    the values it is given hold (see :class:`_Built`)."""

    def __init__(self, fgraph: FunctionGraph):
        super().__init__()
        self._built = fgraph._cache_built

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        built = getattr(self, "_built", None)  # absent while unpickling restores the items
        if built is not None:
            built.record(value)


def _compatible(a: tuple, b: tuple) -> bool:
    return all(x is None or y is None or x == y for x, y in zip(a, b))
