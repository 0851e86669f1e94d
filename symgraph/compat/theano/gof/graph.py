"""``theano.gof.graph``: walks over graphs (inputs, ancestors, orders, clones, structural
equality), on symgraph's ``Variable``/``Apply``/``Constant``."""
from __future__ import annotations

from collections import deque
from typing import Dict, Iterable, List, Optional

from symgraph.graph import Apply, Constant, Variable, toposort
from symgraph.graph import ancestors as _ancestors
from symgraph.graph import clone_replace, fill_memo

Node = Apply


def _list(x) -> List[Variable]:
    return list(x) if isinstance(x, (list, tuple, set)) else [x]


def ancestors(variable_list, blockers: Optional[Iterable[Variable]] = None) -> List[Variable]:
    """Every variable the given ones depend on (themselves included), outputs first, without
    walking past ``blockers``."""
    blockers = set(blockers or ())
    out, seen = [], set()
    queue = deque(_list(variable_list))
    while queue:
        v = queue.popleft()
        if v in seen:
            continue
        seen.add(v)
        out.append(v)
        if v.owner is not None and v not in blockers:
            queue.extend(v.owner.inputs)
    return out


def inputs(variable_list, blockers: Optional[Iterable[Variable]] = None) -> List[Variable]:
    """The owner-less variables (inputs, shared variables and constants) the given ones
    depend on."""
    blockers = set(blockers or ())
    return [v for v in ancestors(variable_list, blockers) if v.owner is None or v in blockers]


def variables_and_orphans(i, o):
    vs = variables(i, o)
    orphans_ = [v for v in vs if v.owner is None and v not in set(i)]
    return vs, orphans_


def orphans(i, o) -> List[Variable]:
    """Owner-less variables of the graph from ``i`` to ``o`` that are not in ``i``."""
    return variables_and_orphans(i, o)[1]


def variables(i, o) -> List[Variable]:
    """Every variable between the inputs ``i`` and the outputs ``o``."""
    stop = set(i)
    found = []
    seen = set()
    for node in toposort(_list(o), stop):
        for v in list(node.inputs) + list(node.outputs):
            if v not in seen:
                seen.add(v)
                found.append(v)
    for v in list(i) + list(o):
        if v not in seen:
            seen.add(v)
            found.append(v)
    return found


def ops(i, o) -> List[Apply]:
    """The Apply nodes between ``i`` and ``o``."""
    return toposort(_list(o), set(i))


def io_toposort(inputs_, outputs_, orderings=None, clients=None) -> List[Apply]:
    """The Apply nodes from ``inputs_`` to ``outputs_``, each after the producers of its
    inputs. ``clients`` (Theano's optional cache of each variable's clients, to speed the
    walk up) changes nothing: the walk follows the nodes' inputs."""
    if orderings:
        raise NotImplementedError("io_toposort(orderings=...): extra ordering constraints are "
                                  "not supported")
    return toposort(_list(outputs_), set(inputs_))


def list_of_nodes(inputs_, outputs_) -> List[Apply]:
    return io_toposort(inputs_, outputs_)


def general_toposort(outputs_, deps, debug_print=False, compute_deps_cache=None,
                     deps_cache=None, clients=None) -> List:
    """Every item reachable from ``outputs_`` through ``deps(item)``, dependencies first.

    ``compute_deps_cache``, ``deps_cache`` and ``clients`` are Theano's caches of ``deps``
    (to speed the walk up) and ``debug_print`` was unused in Theano 1.0.5 too: none of them
    changes the order, so they change nothing here.
    """
    order, seen = [], set()
    for root in _list(outputs_):
        stack = [(root, iter(deps(root) or ()))]
        if root in seen:
            continue
        seen.add(root)
        while stack:
            item, it = stack[-1]
            for d in it:
                if d not in seen:
                    seen.add(d)
                    stack.append((d, iter(deps(d) or ())))
                    break
            else:
                stack.pop()
                order.append(item)
    return order


def stack_search(start, expand, mode="bfs", build_inv=False):
    """Items reachable from ``start`` through ``expand(item)`` (a list or None); with
    ``build_inv``, ``(items, inverse)`` where ``inverse[r]`` lists the items whose expansion
    gave ``r``."""
    if mode not in ("bfs", "dfs"):
        raise ValueError(f"stack_search: mode must be 'bfs' or 'dfs', got {mode!r}")
    queue = deque(start)
    seen, out, inverse = set(), [], {}
    while queue:
        item = queue.popleft() if mode == "bfs" else queue.pop()
        if item in seen:
            continue
        seen.add(item)
        out.append(item)
        children = expand(item) or ()
        queue.extend(children)
        if build_inv:
            for r in children:
                inverse.setdefault(r, []).append(item)
    return (out, inverse) if build_inv else out


def is_in_ancestors(l_node: Apply, f_node: Apply) -> bool:
    """True when ``f_node`` is an ancestor of ``l_node``."""
    return any(v.owner is f_node for v in ancestors(list(l_node.inputs)))


def clone_get_equiv(inputs_, outputs_, copy_inputs: bool = True, copy_orphans: bool = True,
                    memo: Optional[Dict] = None) -> Dict:
    """``{old: new}`` for a copy of the graph between ``inputs_`` and ``outputs_`` (every node
    rebuilt; inputs and orphans copied too unless told otherwise)."""
    memo = {} if memo is None else memo
    for v in inputs_:
        if v not in memo:
            memo[v] = v.clone() if copy_inputs else v
    for node in toposort(_list(outputs_), set(inputs_)):
        for v in node.inputs:
            if v not in memo:
                memo[v] = v.clone() if (copy_orphans and isinstance(v, Constant)) or \
                    (copy_orphans and v.owner is None and copy_inputs) else v
        new_inputs = [memo[v] for v in node.inputs]
        new_node = Apply(node.op, new_inputs, [o.clone() for o in node.outputs])
        for o in node.outputs:
            new_node.outputs[o.index].name = o.name
        memo[node] = new_node
        for old, new in zip(node.outputs, new_node.outputs):
            memo[old] = new
    for v in _list(outputs_):
        memo.setdefault(v, v.clone() if copy_orphans else v)
    return memo


def clone(inputs_, outputs_, copy_inputs: bool = True, copy_orphans: bool = True):
    """``(new inputs, new outputs)``: a copy of the graph between them."""
    equiv = clone_get_equiv(inputs_, outputs_, copy_inputs, copy_orphans)
    return [equiv[v] for v in inputs_], [equiv[v] for v in outputs_]


def _same_node(a: Apply, b: Apply, equiv) -> bool:
    return a.op == b.op and len(a.inputs) == len(b.inputs) and all(
        _same_var(x, y, equiv) for x, y in zip(a.inputs, b.inputs))


def _same_var(x: Variable, y: Variable, equiv) -> bool:
    if x is y or equiv.get(x) is y:
        return True
    if isinstance(x, Constant) and isinstance(y, Constant):
        return x.signature() == y.signature()
    if x.owner is None or y.owner is None:
        return False
    return x.index == y.index and x.type == y.type and _same_node(x.owner, y.owner, equiv)


def equal_computations(xs, ys, in_xs=None, in_ys=None) -> bool:
    """True when ``xs`` and ``ys`` compute the same thing structurally (``in_xs[k]`` standing
    for ``in_ys[k]``)."""
    xs, ys = _list(xs), _list(ys)
    if len(xs) != len(ys):
        return False
    equiv = dict(zip(in_xs or (), in_ys or ()))
    return all(_same_var(x, y, equiv) for x, y in zip(xs, ys))


def is_same_graph(var1, var2, givens: Optional[Dict] = None, debug: bool = False) -> bool:
    """True when ``var1`` and ``var2`` compute the same thing, after substituting ``givens``
    (``{var in var1's graph: var in var2's graph}``). ``debug`` changes nothing: Theano used
    it to test its two ways of comparing graphs against each other; symgraph has one."""
    givens = dict(givens or {})
    if givens:
        var1 = clone_replace([var1], {k: v for k, v in givens.items()
                                      if k in set(_ancestors([var1]))})[0]
    return equal_computations([var1], [var2])


is_same_graph_with_merge = is_same_graph


def view_roots(r: Variable) -> List[Variable]:
    """The variables whose memory ``r`` may be a view of (following ops' ``view_map``)."""
    owner = r.owner
    if owner is None:
        return [r]
    vm = getattr(owner.op, "view_map", {}) or {}
    if r.index in vm:
        out = []
        for k in vm[r.index]:
            out.extend(view_roots(owner.inputs[k]))
        return out
    return [r]


def io_connection_pattern(inputs_, outputs_) -> List[List[bool]]:
    """``pattern[i][o]``: whether output ``o`` depends on input ``i``."""
    return [[i in set(_ancestors([o])) for o in outputs_] for i in inputs_]


def as_string(i, o, leaf_formatter=str, node_formatter=None) -> List[str]:
    """A string per output describing the computation from the inputs ``i``: each leaf (an
    input, or a variable without owner) written by ``leaf_formatter(variable)``, each Apply
    node by ``node_formatter(node, argument_strings)`` (default: ``op(arg, ...)``)."""
    node_formatter = node_formatter or default_node_formatter
    stop = set(i)
    memo: Dict = {}

    def visit(v, leaf):
        memo[v] = leaf_formatter(v) if leaf else \
            node_formatter(v.owner, [memo[a] for a in v.owner.inputs])
    for v in o:  # without recursion: graphs of any depth
        fill_memo(v, memo, visit, stop.__contains__)
    return [memo[v] for v in o]


def op_as_string(i, op, leaf_formatter=str, node_formatter=None) -> str:
    """The string of the Apply node ``op`` (Theano's name) over its inputs, as
    :func:`as_string` writes it."""
    node_formatter = node_formatter or default_node_formatter
    return node_formatter(op, as_string(i, op.inputs, leaf_formatter, node_formatter))


def default_node_formatter(op, argstrings) -> str:
    """``op(arg, ...)`` for the Apply node ``op`` (Theano's name for it)."""
    return f"{getattr(op, 'op', op)}({', '.join(argstrings)})"


def nodes_constructed():
    raise NotImplementedError("nodes_constructed: symgraph does not track node creation")


class NoParams:
    """Marker of ops without parameters."""


class OrderedSet:
    """A set that remembers insertion order."""

    def __init__(self, iterable=()):
        self._d = dict.fromkeys(iterable)

    def add(self, x):
        self._d[x] = None

    def update(self, xs):
        self._d.update(dict.fromkeys(xs))

    def discard(self, x):
        self._d.pop(x, None)

    def remove(self, x):
        del self._d[x]

    def __contains__(self, x):
        return x in self._d

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)
