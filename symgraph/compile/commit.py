"""The commit section: the one place that writes how updates reach shared storage.

After every node ran, the generated function prepares each :class:`~symgraph.compile.storage.
Update` (a copy where its value could alias storage a later call changes, a shape check where
its type does not guarantee the target's static dimensions), and computes the deferred ones
(``Update.node`` set) into the spare buffer of their target (``Container.spare``: the value
before the last commit, which nothing else holds), chains of them (Adam's ``m``, ``v`` and
parameter) as one kernel of the back end. Nothing before the last line of the section writes
memory a shared variable holds, so a call that raises anywhere up to it changes no shared
variable. The last line commits every update in one C-level loop (:func:`commit`), which no
signal handler can split: Ctrl-C lands before it or after it. Where nothing else of the call
holds a target's memory, that loop also computes some updates over their targets themselves,
before its assignments: a product accumulated into a parameter (``Op.emit_update_late``) and
a chain the back end runs as one native loop (``Backend.group_late``).
"""
from __future__ import annotations

from collections import deque
from itertools import chain
from operator import methodcaller
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from symgraph.backends.buffers import memory_root
from symgraph.compile.nodes import PlannedNodes, describe, shape_expr
from symgraph.compile.storage import Update, alias_root
from symgraph.graph import Variable
from symgraph.types import TensorType


#: the comment that opens the section in the generated source
SECTION = "# -- results and updates: nothing below writes shared storage before _commit"


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
        self._by_value = {u.value: u for u in self.deferred}
        # accumulating updates the commit may run in their target's own storage: those whose
        # value no other deferred update reads (it is computed last, by the commit)
        read = {x for u in self.deferred for x in u.node.inputs}
        #: update index -> the expression of its late callable (``Op.emit_update_late``)
        self.late: Dict[int, str] = {}
        for u in self.deferred:
            if u.node.op.accumulates_into is not None and u.value not in read:
                # the back end's loops, as planned nodes reach them (``buffer.loops``)
                ns.setdefault("_loops", planned.backend.window_loops)
                expr = u.node.op.emit_update_late(self._input_names(u), "_loops")
                if expr is not None:
                    self.late[u.index] = expr
        self._group_list: Optional[List[List[Update]]] = None
        #: index of a group's first member -> the expression of its late callable
        #: (``Backend.group_late``), for the groups the commit may run in their targets
        self.late_groups: Dict[int, str] = {}
        if planned is not None:
            for g in self._groups():
                expr = self._group_late(g)
                if expr is not None:
                    self.late_groups[g[0].index] = expr
        self._one_writer_per_target()
        #: update index -> the name of the late callable that computes it (its own, or its
        #: group's)
        self._late_name = {k: f"_late{k}" for k in self.late}
        self._late_name.update({u.index: f"_lateg{g[0].index}" for g in self._groups()
                                if g[0].index in self.late_groups for u in g})

    def _group_late(self, group: List[Update]) -> Optional[str]:
        """The late expression of ``group`` when the commit may run it over its targets: no
        deferred update outside it reads a member's new value (the commit computes those
        last), and the back end has such a loop."""
        values = {u.value for u in group}
        nodes = {u.node for u in group}
        if any(x in values for u in self.deferred if u.node not in nodes
               for x in u.node.inputs):
            return None
        reads = self._reads(group)
        position = {x: i for i, x in enumerate(reads)}
        same = [position.get(u.target) for u in group]
        names = [self.ref(x) for x in reads] + [self.namer(u.target) for u in group]
        return self.planned.backend.group_late(self._group_kernel(group), same, names)

    def _one_writer_per_target(self) -> None:
        """Drop the late run of updates whose target another late update reads: the commit
        runs late callables one after another, so that reader would see the new value. The
        update then goes to its spare, and its target keeps the old value until the
        assignments (which follow every late call)."""
        units = [([u], u.index, self.late) for u in self.deferred if u.index in self.late]
        units += [(g, g[0].index, self.late_groups) for g in self._groups()
                  if g[0].index in self.late_groups]
        readers = [(n, {alias_root(x) for u in us for x in u.node.inputs})
                   for n, (us, _, _) in enumerate(units)]
        for n, (us, key, table) in enumerate(units):
            targets = {u.target for u in us}
            if any(other != n and not targets.isdisjoint(roots) for other, roots in readers):
                del table[key]

    def lines(self, results: Sequence[str], every_input: Sequence[str]) -> List[str]:
        """The whole tail of the function: ``results`` are the expressions of the returned
        values, ``every_input`` the names of the explicit inputs and shared values."""
        lines: List[str] = [f"    {SECTION}"]
        for u in self.updates:
            if u.node is None:
                lines.extend(self._prepare(u))
        if self.deferred:
            lines.append("    # updates computed now, each into its target's spare buffer")
            lines.extend(self._checks(every_input))
            lines.extend(self._deferred_section())
        lines.append("    _out = [" + ", ".join(results) + "]")
        if self.updates:
            lines.append("    # commit: every update at once, after everything that can fail")
            lines.append(self._commit_line())
        return lines

    # -- updates computed before the commit -----------------------------------------------
    def _prepare(self, u: Update) -> List[str]:
        r = self.ref(u.value)
        if u.copy and not isinstance(u.value.type, TensorType):
            r = f"{r}.copy()"  # a sparse matrix: its own copy
        elif u.copy:
            r = f"np.array({r})"  # new storage must not be visible through anything else
        elif u.value.ndim == 0:
            r = f"_asarray({r})"
        lines = [f"    _new{u.index} = {r}"]
        if u.check_dims:
            self.ns["_check_update_shape"] = _check_update_shape
            self.ns[f"_target{u.index}"] = u.target
            lines.append(f"    _check_update_shape(_new{u.index}, _target{u.index})")
        return lines

    def _commit_line(self) -> str:
        self.ns["_commit"] = commit
        cells, attrs, values = [], [], []
        for u in self.updates:
            cells.append(f"_sv{u.index}")
            attrs.append("'value'")
            values.append(f"_new{u.index}" if u.node is None else self.namer.names[u.value])
        for u in self.deferred:  # the value before this commit becomes the next spare
            cells.append(f"_sv{u.index}")
            attrs.append("'spare'")
            old = self.namer.names[u.target]
            # an update run in its target's own storage keeps the spare it had
            late = self._late_name.get(u.index)
            values.append(f"({old} if {late} is None else _sv{u.index}.spare)"
                          if late else old)
        # no late callable reads what another writes (_one_writer_per_target): any order
        late = "".join(f"{name}, " for name in dict.fromkeys(
            self._late_name[u.index] for u in self.deferred if u.index in self._late_name))
        return (f"    _commit(({', '.join(cells)},), ({', '.join(attrs)},), "
                f"({', '.join(values)},){f', ({late})' if late else ''})")

    # -- checks of the deferred updates ----------------------------------------------------
    def _checks(self, every_input: Sequence[str]) -> List[str]:
        """``_ok<k>``: the update can be computed into a buffer of its target's shape (else
        into new memory); ``_spare<k>``: that buffer, aliasing no input and no shared value."""
        lines = []
        oks: Dict[Variable, str] = {}
        for u in self.deferred:
            ok, s, op = f"_ok{u.index}", self.namer(u.target), u.node.op
            oks[u.value] = ok
            # a deferred value has its target's shape when its own check passed
            names = self._input_names(u)
            if op.accumulates_into is not None:
                lines.append(f"    {ok} = {op.emit_update_check(names)}")
                continue
            deps = [oks[x] for x in u.node.inputs if x in oks]
            arrays = [n for x, n in zip(u.node.inputs, names) if x.ndim > 0]
            cond = [f"_bshape({', '.join(arrays)}) == {s}.shape" if arrays
                    else f"{s}.ndim == 0"] + deps
            lines.append(f"    {ok} = {' and '.join(cond)}")
        self.ns["_alias_counts"], self.ns["_spare"] = _alias_counts, spare_for
        lines.append(f"    _aliases = _alias_counts({', '.join(every_input)})")
        for g in self._groups():
            if g[0].index in self.late_groups:
                # in the targets' own storage when nothing else holds their memory
                self.ns["_owned"] = owned
                cond = " and ".join([f"_ok{u.index}" for u in g] +
                                    [f"_owned({self.namer(u.target)}, _aliases)" for u in g])
                lines.append(f"    {self._late_name[g[0].index]} = "
                             f"{self.late_groups[g[0].index]} if {cond} else None")
        for u in self.deferred:
            k, target = u.index, self.namer(u.target)
            ok, late = f"_ok{k}", self._late_name.get(k)
            if k in self.late:
                # in the target's own storage when nothing else holds that memory
                self.ns["_owned"] = owned
                lines.append(f"    {late} = {self.late[k]} if {ok} and "
                             f"_owned({target}, _aliases) else None")
            if late:
                ok = f"{ok} and {late} is None"
            lines.append(f"    _spare{k} = _spare(_sv{k}, {target}, _aliases) if {ok} else None")
        return lines

    def _input_names(self, u: Update) -> List[str]:
        """The names of a deferred node's inputs (a deferred input: its target's)."""
        return [self.namer(d.target) if x is d.value else self.ref(x)
                for x in u.node.inputs for d in [self._deferred_of(x) or u]]

    def _deferred_of(self, x: Variable) -> Optional[Update]:
        return self._by_value.get(x)

    # -- the deferred updates themselves ---------------------------------------------------
    def _deferred_section(self) -> List[str]:
        """Every deferred update; chains run as one group kernel where the back end has one."""
        lines: List[str] = []
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
        if self._group_list is None:
            self._group_list = self._find_groups() if self.planned is not None else []
        return self._group_list

    def _find_groups(self) -> List[List[Update]]:
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
        position = {node: i for i, node in enumerate(order)}
        groups = []
        for g in comps.values():
            nodes = {u.node for u in g}
            values = {u.value for u in g}
            lo, hi = position[g[0].node], position[g[-1].node]
            # moving the early members down to the last one must not starve a node between
            between = [n for n in order[lo + 1:hi] if n not in nodes]
            if (len(g) > 1 or backend.lone_group(g[0].node)) and \
                    not any(x in values for n in between for x in n.inputs) and \
                    self._group_kernel(g) is not None:
                groups.append(g)
        return groups

    @staticmethod
    def _reads(group: List[Update]) -> List[Variable]:
        """The operands a group reads: its members' inputs that no member computes."""
        values = {u.value for u in group}
        ext: Dict[Variable, None] = {}  # ordered and constant-time membership (long chains)
        for u in group:
            for x in u.node.inputs:
                if x not in values:
                    ext.setdefault(x)
        return list(ext)

    def _group_kernel(self, group: List[Update]) -> Optional[str]:
        """The group kernel's name: it reads :meth:`_reads`, then writes one spare buffer per
        member (operands ``len(reads) + i``)."""
        values = {u.value: i for i, u in enumerate(group)}
        reads = self._reads(group)
        position = {x: i for i, x in enumerate(reads)}
        members = []
        for i, u in enumerate(group):
            refs = [("r", values[x]) if x in values else ("e", position[x])
                    for x in u.node.inputs]
            members.append((u.node.op.program, refs, len(reads) + i))
        dtypes = [x.dtype for x in reads] + [u.target.dtype for u in group]
        scalar = [x.ndim == 0 for x in reads] + [False] * len(group)
        key = ("group", tuple((u.node.op, tuple(x.type for x in u.node.inputs)) for u in group),
               tuple(x.type for x in reads), tuple(tuple(m[1]) for m in members))
        return self.planned.backend.group_kernel(key, members, dtypes, scalar)

    def _group_lines(self, group: List[Update]) -> List[str]:
        backend = self.planned.backend
        kernel = self._group_kernel(group)
        oks = " and ".join(f"_ok{u.index}" for u in group)
        names = [self.ref(x) for x in self._reads(group)] + [f"_spare{u.index}" for u in group]
        cond = f"{oks} and {backend.group_condition(kernel, names, self.ref(group[0].target))}"
        nodes = "; ".join(describe(u.node) for u in group)
        lines = [f"    # {backend.group_label}: {nodes}"]
        late = self._late_name.get(group[0].index)
        if late is not None:
            # the commit computes the group over its targets: their names stand for the values
            lines.append(f"    if {late} is not None:")
            for u in group:
                lines.append(f"        {self.namer(u.value, 'v')} = {self.namer(u.target)}")
            lines.append(f"    elif {cond}:")
        else:
            lines.append(f"    if {cond}:")
        for u in group:
            lines.append(f"        {self.namer(u.value, 'v')} = _spare{u.index}")
        lines.append("    else:")
        for u in group:
            lines += ["    " + ln for ln in self._single(u)]
        return lines

    def _single(self, u: Update) -> List[str]:
        node, k = u.node, u.index
        names = [self.ref(v) for v in node.inputs]
        result = self.namer(u.value, "v")
        lines = [f"    # {describe(node)}"]
        if node.op.accumulates_into is not None:
            update = f"{result} = {node.op.emit_update(names, f'_spare{k}')}"
            if k in self.late:
                target = self.namer(u.target)
                lines += [f"    if {self._late_name[k]} is not None:",
                          f"        {result} = {target}",
                          "    else:", f"        {update}"]
            else:
                lines.append(f"    {update}")
            return lines
        lines.append(f"    _shp = {shape_expr(node, names)}")
        lines.append(f"    if _ok{k}:")
        # the spare aliases no input: it serves as a temporary from the first step
        lines += self.planned.fused(node, names, f"_spare{k}", result, "        ", aliased=[])
        lines.append("    else:")
        lines += self.planned.fused(node, names, None, result, "        ")
        return lines


#: consumes an iterator in C (a deque that keeps nothing)
_consume = deque(maxlen=0).extend


_call = methodcaller("__call__")


def commit(cells: tuple, attrs: tuple, values: tuple, late: tuple = ()) -> None:
    """``setattr(cells[i], attrs[i], values[i])`` for every ``i``, in ONE loop run by C: no
    Python code runs between two assignments, so no signal handler (Ctrl-C's
    KeyboardInterrupt) can fall between them. ``late``: callables run by C (or None, skipped)
    that write updates into their shared variables' own storage, called first in the same
    loop; one that raises does so before writing, so nothing is changed."""
    late = [fn for fn in late if fn is not None]
    if late:
        _consume(chain(map(_call, late), map(setattr, cells, attrs, values)))
    else:
        _consume(map(setattr, cells, attrs, values))


def owned(value, aliases: dict) -> bool:
    """True when ``value``'s memory is held by nothing else among the call's inputs, shared
    values and spares (``aliases``, from :func:`_alias_counts`)."""
    return isinstance(value, np.ndarray) and aliases.get(id(memory_root(value))) == 1


def spare_for(cell, live: np.ndarray, aliases: dict) -> np.ndarray:
    """The buffer an update of ``cell`` (whose value is ``live``) is computed into: the cell's
    spare when it has ``live``'s shape and dtype, is C-contiguous and writeable, and shares
    memory with no input, shared value or other spare of this call (``aliases``, which the
    chosen buffer joins); else a new array."""
    spare = cell.spare
    if spare is None or spare.shape != live.shape or spare.dtype != live.dtype or \
            not spare.flags.c_contiguous or not spare.flags.writeable or \
            id(memory_root(spare)) in aliases:
        spare = np.empty(live.shape, live.dtype)
    aliases[id(memory_root(spare))] = 1  # no other update of this call may take it
    return spare


def _alias_counts(*arrays) -> dict:
    """How many of ``arrays`` live in each memory owner (one pass per call, O(n))."""
    counts: dict = {}
    for a in arrays:
        key = id(memory_root(a))
        counts[key] = counts.get(key, 0) + 1
    return counts


def _check_update_shape(value, target) -> None:
    """Refuse a new value whose shape contradicts the static dims of the shared variable."""
    for axis, want in enumerate(target.type.shape):
        if want is not None and value.shape[axis] != want:
            raise ValueError(f"update of shared variable {target}: dimension {axis} of the new "
                             f"value is {value.shape[axis]}, its type {target.type} says {want}")
