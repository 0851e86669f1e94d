"""The commit section: the one place that writes how updates reach shared storage.

After every node ran, the generated function prepares each :class:`~symgraph.compile.storage.
Update` (a copy where its value could alias storage a later call changes, a shape check where
its type does not guarantee the target's static dimensions), runs every check of the in-place
updates, and only then commits: a call that raises before this point changes no shared
variable. Deferred updates (``Update.node`` set) are computed here, in place into their
target's storage, when the checks allow it, else into new memory; chains of them (Adam's
``m``, ``v`` and parameter) run as one kernel of the back end.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

from symgraph.compile.nodes import PlannedNodes, describe, shape_expr
from symgraph.compile.storage import Update
from symgraph.graph import Variable


class CommitWriter:
    """Writes the lines from the results to ``return``.

    Parameters
    ----------
    updates : the updates, in the order of ``function(updates=...)``
    ns, namer, ref : the generated function's namespace, variable names, and ``ref(var)``
        (the name of a computed variable or constant)
    planned : the planned-node writer (with the back end), or None without a storage plan
    """

    def __init__(self, updates: Sequence[Update], ns: dict, namer, ref: Callable,
                 planned: Optional[PlannedNodes]):
        self.updates, self.ns, self.namer, self.ref = list(updates), ns, namer, ref
        self.planned = planned
        # deferred updates run in the plan's order: an update may read another's new value
        by_node = {u.node: u for u in updates if u.node is not None}
        self.deferred = [by_node[node] for node, _ in planned.plan.deferred] if planned else []

    def lines(self, results: Sequence[str], every_input: Sequence[str]) -> List[str]:
        """The whole tail of the function: ``results`` are the expressions of the returned
        values, ``every_input`` the names of the explicit inputs and shared values."""
        lines: List[str] = []
        commits: List[str] = []
        for u in self.updates:
            if u.node is not None:
                continue
            lines.extend(self._prepare(u))
            commits.append(f"    _sv{u.index}.value = _new{u.index}")
        if self.deferred:
            lines.append("    # checks of the in-place updates: anything that can fail fails here")
            lines.extend(self._checks(every_input))
        lines.append("    _out = [" + ", ".join(results) + "]")
        lines.append("    # commit: every output and update exists, so no call leaves a "
                     "half-update")
        lines.extend(commits)
        lines.extend(self._deferred_section())
        return lines

    # -- updates computed before the commit -----------------------------------------------
    def _prepare(self, u: Update) -> List[str]:
        r = self.ref(u.value)
        if u.copy:
            r = f"np.array({r})"  # new storage must not be visible through anything else
        elif u.value.ndim == 0:
            r = f"_asarray({r})"
        lines = [f"    _new{u.index} = {r}"]
        if u.check_dims:
            self.ns["_check_update_shape"] = _check_update_shape
            self.ns[f"_target{u.index}"] = u.target
            lines.append(f"    _check_update_shape(_new{u.index}, _target{u.index})")
        return lines

    # -- checks of the deferred updates ----------------------------------------------------
    def _storage(self, u: Update) -> str:
        return self.namer(u.target)

    def _input_names(self, u: Update) -> List[str]:
        """Names of the node's inputs; a deferred value is read from its target's storage."""
        storage = {d.value: self._storage(d) for d in self.deferred}
        return [storage.get(x) or self.ref(x) for x in u.node.inputs]

    def _checks(self, every_input: Sequence[str]) -> List[str]:
        lines = []
        oks: Dict[Variable, str] = {}
        for u in self.deferred:
            ok, s, op = f"_ok{u.index}", self._storage(u), u.node.op
            oks[u.value] = ok
            names = self._input_names(u)
            if op.accumulates_into is not None:
                lines.append(f"    {ok} = {op.emit_update_check(names)}")
                continue
            deps = [oks[x] for x in u.node.inputs if x in oks]
            arrays = [n for x, n in zip(u.node.inputs, names) if x.ndim > 0]
            cond = [f"_bshape({', '.join(arrays)}) == {s}.shape" if arrays
                    else f"{s}.ndim == 0", f"{s}.flags.writeable"] + deps
            lines.append(f"    {ok} = {' and '.join(cond)}")
        # storage written in place must be private: an input may be a borrowed view of it
        # (f(W.get_value(borrow=True))), or two shared variables may share borrowed memory
        self.ns["_alias_counts"], self.ns["_alone"] = _alias_counts, _alone
        if len(every_input) > 1:
            lines.append(f"    _aliases = _alias_counts({', '.join(every_input)})")
            for u in self.deferred:
                lines.append(f"    _ok{u.index} = _ok{u.index} and "
                             f"_alone({self._storage(u)}, _aliases)")
        return lines

    # -- the deferred updates themselves ---------------------------------------------------
    def _deferred_section(self) -> List[str]:
        """Every deferred update; chains run as one group kernel where the back end has one."""
        lines: List[str] = []
        if not self.deferred:
            return lines
        groups = self._groups()
        # a group runs where its last member stood: every member's inputs exist by then
        last = {g[-1].node: g for g in groups}
        grouped = {u.node for g in groups for u in g}
        for u in self.deferred:
            if u.node in last:
                lines.extend(self._group_lines(last[u.node]))
            elif u.node not in grouped:
                lines.extend(self._single(u))
        return lines

    def _groups(self) -> List[List[Update]]:
        """Connected chains of deferred fused programs (one reads another's new value) of one
        rank that the back end runs as one kernel."""
        backend = self.planned.backend
        members = {u.node: u for u in self.deferred if u.node.op.program is not None
                   and u.value.ndim > 0 and backend.joins_group(u.node)}
        parent = {node: node for node in members}

        def find(n):
            while parent[n] is not n:
                n = parent[n]
            return n
        for node in members:
            for x in node.inputs:
                if x.owner in members and x.ndim == node.outputs[0].ndim:
                    parent[find(node)] = find(x.owner)
        comps: Dict[object, List[Update]] = {}
        for u in self.deferred:
            if u.node in members:
                comps.setdefault(find(u.node), []).append(u)
        order = [u.node for u in self.deferred]
        groups = []
        for g in comps.values():
            nodes = {u.node for u in g}
            values = {u.value for u in g}
            lo, hi = order.index(g[0].node), order.index(g[-1].node)
            # moving the early members down to the last one must not starve a node between
            between = [n for n in order[lo + 1:hi] if n not in nodes]
            if (len(g) > 1 or backend.lone_group(g[0].node)) and \
                    not any(x in values for n in between for x in n.inputs) and \
                    self._group_kernel(g) is not None:
                groups.append(g)
        return groups

    @staticmethod
    def _operands(group: List[Update]) -> List[Variable]:
        values = {u.value for u in group}
        ext: Dict[Variable, None] = {}  # ordered and constant-time membership (long chains)
        for u in group:
            for x in list(u.node.inputs) + [u.target]:
                if x not in values:
                    ext.setdefault(x)
        return list(ext)

    def _group_kernel(self, group: List[Update]) -> Optional[str]:
        values = {u.value: i for i, u in enumerate(group)}
        ext = self._operands(group)
        position = {x: i for i, x in enumerate(ext)}
        members = []
        for u in group:
            refs = [("r", values[x]) if x in values else ("e", position[x])
                    for x in u.node.inputs]
            members.append((u.node.op.program, refs, position[u.target]))
        key = ("group", tuple((u.node.op, tuple(x.type for x in u.node.inputs)) for u in group),
               tuple(x.type for x in ext), tuple(tuple(m[1]) for m in members))
        return self.planned.backend.group_kernel(key, members, [x.dtype for x in ext],
                                                 [x.ndim == 0 for x in ext])

    def _group_lines(self, group: List[Update]) -> List[str]:
        backend = self.planned.backend
        kernel = self._group_kernel(group)
        oks = " and ".join(f"_ok{u.index}" for u in group)
        names = [self.ref(x) for x in self._operands(group)]
        cond = f"{oks} and {backend.group_condition(kernel, names, self.ref(group[0].target))}"
        nodes = "; ".join(describe(u.node) for u in group)
        lines = [f"    # in place at commit, {backend.group_label}: {nodes}", f"    if {cond}:"]
        for u in group:
            result = self.namer(u.value, "v")
            lines.append(f"        {result} = {self.namer.names[u.target]}")
            lines.append(f"        _sv{u.index}.value = {result}")
        lines.append("    else:")
        for u in group:
            lines += ["    " + ln for ln in self._single(u)]
        return lines

    def _single(self, u: Update) -> List[str]:
        node, k = u.node, u.index
        names = [self.ref(v) for v in node.inputs]
        result = self.namer(u.value, "v")
        lines = [f"    # in place at commit: {describe(node)}"]
        if node.op.accumulates_into is not None:
            lines.append(f"    {result} = {node.op.emit_update(names, f'_ok{k}')}")
        else:
            storage = self.namer.names[u.target]
            lines.append(f"    _shp = {shape_expr(node, names)}")
            inplace = node.inputs.index(u.target) if u.target in node.inputs else None
            lines.append(f"    if _ok{k}:")
            # the storage is private (checked), so only the target itself aliases it
            aliased = [q for q, x in enumerate(node.inputs) if x is u.target]
            lines += self.planned.fused(node, names, storage, result, "        ", inplace,
                                        aliased)
            lines.append("    else:")
            lines += self.planned.fused(node, names, None, result, "        ")
        lines.append(f"    _sv{k}.value = {result}")
        return lines


def _memory_root(a):
    """The object owning ``a``'s memory (views lead to the array they were taken from)."""
    base = getattr(a, "base", None)
    while base is not None:
        a, base = base, getattr(base, "base", None)
    return a


def _alias_counts(*arrays) -> dict:
    """How many of ``arrays`` live in each memory owner (one pass per call, O(n))."""
    counts: dict = {}
    for a in arrays:
        key = id(_memory_root(a))
        counts[key] = counts.get(key, 0) + 1
    return counts


def _alone(storage, counts: dict) -> bool:
    """True when no other input or shared value lives in ``storage``'s memory."""
    return counts.get(id(_memory_root(storage)), 0) <= 1


def _check_update_shape(value, target) -> None:
    """Refuse a new value whose shape contradicts the static dims of the shared variable."""
    for axis, want in enumerate(target.type.shape):
        if want is not None and value.shape[axis] != want:
            raise ValueError(f"update of shared variable {target}: dimension {axis} of the new "
                             f"value is {value.shape[axis]}, its type {target.type} says {want}")
