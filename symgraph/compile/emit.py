"""Generate the source of ONE Python function for a whole ``FunctionGraph``.

The function validates its inputs, reads shared storage, runs every node as a straight line of
NumPy calls (one comment per node naming its op and type), deletes intermediates after their
last use, and commits shared-variable updates only after every output and update value exists.
Each op supplies its expression through ``Op.emit``; ops without one are called through their
bound ``perform``.
"""
from __future__ import annotations

import keyword
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from symgraph import backends
from symgraph.backends.buffers import RUNTIME
from symgraph.compile import checks, storage
from symgraph.compile.commit import CommitWriter
from symgraph.compile.nodes import PlannedNodes, describe
from symgraph.compile.profile import clock as profile_clock
from symgraph.fgraph import FunctionGraph
from symgraph.graph import Constant, Variable
from symgraph.rewrite import update_chains
from symgraph.types import TensorType

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: names every generated function may use; each op adds the helpers its code names
#: (``Op.emit_helpers``)
BASE_NAMESPACE = {"np": np, "_ndarray": np.ndarray, "_asarray": np.asarray, **RUNTIME}


class Namer:
    """Unique, readable Python identifiers for variables."""

    def __init__(self, reserved: Sequence[str] = ()):
        self.taken = set(reserved) | set(dir(__builtins__))
        self.names: Dict[Variable, str] = {}
        # next suffix to try per base: naming stays linear in the number of nodes
        self._next: Dict[str, int] = {}

    def fresh(self, base: str) -> str:
        base = base if _IDENT.match(base or "") and not keyword.iskeyword(base) else "v"
        name, k = base, self._next.get(base, 0)
        if k:
            name = f"{base}_{k}"
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self._next[base] = k + 1
        self.taken.add(name)
        return name

    def __call__(self, var: Variable, base: Optional[str] = None) -> str:
        if var not in self.names:
            self.names[var] = self.fresh(base or var.name or "v")
        return self.names[var]


def generate(fgraph: FunctionGraph, explicit: Sequence[Variable], shared: Sequence[Variable],
             n_outputs: int, update_targets: Sequence[int], check: Optional[str] = None,
             name: str = "compiled", allow_downcast: Optional[bool] = None,
             fuse: bool = False, backend: str = "numpy", profile=None
             ) -> Tuple[str, dict, Dict[str, object]]:
    """Return ``(source, namespace, kernels)`` of a function ``name(*explicit_inputs)``.

    ``fgraph.outputs[:n_outputs]`` are returned to the caller; ``fgraph.outputs[n_outputs:]``
    are the new values of ``shared[update_targets[k]]``. The function returns the list of
    output values. With ``fuse`` (and no ``check``), storage is planned
    (:mod:`symgraph.compile.storage`): fused programs write reused buffers through the
    ``backend`` (:mod:`symgraph.backends`), and eligible updates are computed in the commit
    section into their variables' spare buffers (:mod:`symgraph.compile.commit`). With
    ``profile`` (a :class:`~symgraph.compile.profile.ProfileStats`), the code reads the clock
    after every node and around the commit, and adds the times into the profile (only around
    the call when the profile's ``flag_time_thunks`` is False). ``kernels``
    maps the namespace names of the back end's kernels to the kernels (each with a
    ``.source``).
    """
    if fuse and not check and backends.get(backend).recompute_into_updates:
        update_chains.inline_into_updates(fgraph, n_outputs)
    ns: dict = dict(BASE_NAMESPACE)
    for node in fgraph.toposort():
        ns.update(node.op.emit_helpers)
    namer = Namer(reserved=ns)
    lines: List[str] = []
    arg_names = [namer(v) for v in explicit]
    lines.append(f"def {name}({', '.join(arg_names)}):")

    # inputs: the fast path accepts an ndarray of the exact dtype and rank (and static dims)
    for k, (v, arg) in enumerate(zip(explicit, arg_names)):
        ns[f"_dt{k}"] = v.type.numpy_dtype
        # one flag for all inputs, or one per input (``In(x, allow_downcast=...)``)
        own = allow_downcast[k] if isinstance(allow_downcast, (list, tuple)) else allow_downcast
        ns[f"_filter{k}"] = _bind_filter(v, own)
        if not isinstance(v.type, TensorType):  # another kind of value: always checked
            lines.append(f"    {arg} = _filter{k}({arg})")
            continue
        cond = [f"{arg}.__class__ is not _ndarray", f"{arg}.dtype is not _dt{k}",
                f"{arg}.ndim != {v.ndim}"]
        cond += [f"{arg}.shape[{i}] != {s}" for i, s in enumerate(v.type.shape) if s is not None]
        lines.append(f"    if {' or '.join(cond)}:")
        lines.append(f"        {arg} = _filter{k}({arg})")
    for k, v in enumerate(shared):
        ns[f"_sv{k}"] = v.container
        lines.append(f"    {namer(v)} = _sv{k}.value  # shared {v}")

    plan = storage.plan(fgraph, shared, n_outputs, update_targets) \
        if fuse and not check else None
    order = plan.order if plan else storage.schedule(fgraph)
    protected = set(explicit) | set(shared) | set(fgraph.outputs)
    last_use: Dict[Variable, int] = {}
    if plan:
        last_use = {v: i for v, i in plan.last_use.items()}
    else:
        for i, node in enumerate(order):
            for inp in node.inputs:
                last_use[inp] = i
    # the variables each position is the last to read: its inputs, and the values whose
    # views it reads (a value read only through views dies with its last view's reader)
    dies: Dict[int, List[Variable]] = {}
    for v, i in last_use.items():
        if v.owner is not None and v not in protected:
            dies.setdefault(i, []).append(v)

    def ref(var: Variable) -> str:
        if var in namer.names:
            return namer.names[var]
        if isinstance(var, Constant):
            cname = namer(var, "_c")
            ns[cname] = var.data[()] if var.ndim == 0 else var.data
            return cname
        raise KeyError(f"variable {var} used before it was computed (graph not closed over "
                       f"its inputs)")

    def add(obj, hint: str) -> str:
        fresh = namer.fresh(hint)
        ns[fresh] = obj
        return fresh

    kernel_maker = backends.get(backend)(add) if plan else None
    planned = PlannedNodes(plan, ns, namer, kernel_maker) if plan else None
    if kernel_maker is not None:
        where = f", kernel cache {backends.cache_dir()}" if kernel_maker.name != "numpy" else ""
        lines.insert(0, f"# back end: {kernel_maker.name}{where}")
    # the nodes and the commit are timed unless the profile asks for the calls only
    timed = profile is not None and profile.flag_time_thunks
    if profile is not None:
        ns["_clock"], ns["_ptimes"], ns["_profile"] = profile_clock, profile.times, profile
        start = next(k for k, line in enumerate(lines) if line.startswith("def ")) + 1
        lines.insert(start, "    _tstart = _clock()")  # before the input checks
    if timed:
        lines.append("    _t = _clock()")
    for i, node in enumerate(order):
        in_names = [ref(v) for v in node.inputs]
        node_lines = planned.node_lines(node, in_names) if planned else None
        if node_lines is not None:
            lines.extend(node_lines)
        else:
            lines.extend(_node_lines(node, i, in_names, namer, ns, check))
        dead = list(dict.fromkeys(namer.names[v] for v in dies.get(i, ())
                                  if v in namer.names))
        if dead:
            lines.append(f"    del {', '.join(dead)}")
        if timed:
            k = profile.add_node(type(node.op).__name__, str(node.op), describe(node))
            lines.append(f"    _t1 = _clock(); _ptimes[{k}] += _t1 - _t; _t = _t1")

    copy_output, updates = storage.handed_out(fgraph, explicit, shared, n_outputs,
                                              update_targets, plan)
    results = []
    for out, copy in zip(fgraph.outputs[:n_outputs], copy_output):
        r = ref(out)
        if not isinstance(out.type, TensorType):
            ns["_copy_value"] = _copy_value
            results.append(f"_copy_value({r})" if copy else r)
            continue
        results.append(f"np.array({r})" if copy else f"_asarray({r})" if out.ndim == 0 else r)
    if planned:
        # before the commit section: a failure there (MemoryError) commits nothing, and the
        # values the section reads keep the memory they were computed in
        lines.extend(planned.pack_lines())
    writer = CommitWriter(updates, ns, namer, ref, planned)
    lines.extend(writer.lines(results, list(arg_names) + [namer(v) for v in shared]))
    if timed:
        k = profile.add_node("Commit", "commit", "outputs and updates (copies, checks, commits)")
        lines.append(f"    _t1 = _clock(); _ptimes[{k}] += _t1 - _t")
        lines.append("    _profile.record_call(_t1 - _tstart)")
    elif profile is not None:
        lines.append("    _profile.record_call(_clock() - _tstart)")
    lines.append("    return _out")
    return "\n".join(lines) + "\n", ns, (kernel_maker.kernels if kernel_maker else {})


def _node_lines(node, i: int, in_names: List[str], namer: Namer, ns: dict,
                check: Optional[str]) -> List[str]:
    """One node as one line (``op.emit``, else a call of its ``perform``), with the run-time
    check of the debug and NaN-guard modes."""
    lines = []
    expr = node.op.emit(in_names)
    if expr is None:
        pname = namer.fresh(f"_perform_{type(node.op).__name__}")
        ns[pname] = node.op.runner(node)
        expr = f"{pname}({', '.join(in_names)})"
    outs = [namer(o, "v") for o in node.outputs]
    target = outs[0] if len(outs) == 1 else ", ".join(outs)
    pre = None
    if check == "debug" and in_names:
        # copies of the inputs: an undeclared in-place write is reported, not propagated
        pre = namer.fresh(f"_pre{i}")
        ns["_snapshot"] = checks.snapshot
        lines.append(f"    {pre} = _snapshot(({', '.join(in_names)},))")
    lines.append(f"    {target} = {expr}  # {describe(node)}")
    if check:
        hook = namer.fresh(f"_check{i}")
        ns[hook] = checks.make_hook(check, node)
        extra = f", {pre}" if pre else ""
        lines.append(f"    {hook}(({', '.join(outs)},), ({', '.join(in_names)},){extra})")
        if pre:
            lines.append(f"    del {pre}")
    return lines


def _copy_value(value):
    """A copy of a value that is not an ndarray (a sparse matrix): its own ``copy``."""
    return value.copy()


def _bind_filter(var: Variable, allow_downcast):
    label = f"input {var.name or var}"
    typ = var.type
    if allow_downcast == "strict":
        def _strict(value):
            # In(x, strict=True): no conversion at all (the fast path took exact arrays)
            raise TypeError(f"{label}: strict input needs an ndarray of dtype {typ.dtype}, "
                            f"{typ.ndim}-d (type {typ}), got {type(value).__name__} "
                            f"{getattr(value, 'dtype', '')} of shape {np.shape(value)}")
        return _strict

    def _filter(value):
        return typ.filter(value, name=label, allow_downcast=allow_downcast)
    return _filter
