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

from symgraph.fgraph import FunctionGraph
from symgraph.graph import Constant, Variable
from symgraph.ops.scalar import NAMESPACE as _SCALAR_NS
from symgraph.ops.shape import NAMESPACE as _SHAPE_NS
from symgraph.ops.subtensor import NAMESPACE as _SUBTENSOR_NS
from symgraph.ops.softmax_xent import NAMESPACE as _XENT_NS
from symgraph.ops.join import NAMESPACE as _JOIN_NS
from symgraph.compile import checks, kernels, schedule
from symgraph.compile.planned import Planned, describe
from symgraph.compile.schedule import alias_root
from symgraph.rewrite.fusion import NAMESPACE as _FUSION_NS

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: helpers every generated function may name
BASE_NAMESPACE = {"np": np, "_ndarray": np.ndarray, "_asarray": np.asarray,
                  **_SCALAR_NS, **_SHAPE_NS, **_JOIN_NS, **_SUBTENSOR_NS, **_FUSION_NS,
                  **_XENT_NS, **kernels.NAMESPACE}


class Namer:
    """Unique, readable Python identifiers for variables."""

    def __init__(self, reserved: Sequence[str] = ()):
        self.taken = set(reserved) | set(BASE_NAMESPACE) | set(dir(__builtins__))
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
             fuse: bool = False, backend: str = "numpy") -> Tuple[str, dict]:
    """Return ``(source, namespace)`` of a function ``name(*explicit_inputs)``.

    ``fgraph.outputs[:n_outputs]`` are returned to the caller; ``fgraph.outputs[n_outputs:]``
    are the new values of ``shared[update_targets[k]]``. The function returns the list of
    output values. With ``fuse`` (and no ``check``), storage is planned
    (:mod:`symgraph.compile.schedule`): fused kernels write reused buffers, and eligible
    updates are computed in place into shared storage at commit time; ``backend`` ``'numba'``
    (or ``'auto'`` when numba is importable) compiles each fused kernel into one loop.
    """
    ns: dict = dict(BASE_NAMESPACE)
    namer = Namer()
    lines: List[str] = []
    arg_names = [namer(v) for v in explicit]
    lines.append(f"def {name}({', '.join(arg_names)}):")

    # inputs: the fast path accepts an ndarray of the exact dtype and rank (and static dims)
    for k, (v, arg) in enumerate(zip(explicit, arg_names)):
        ns[f"_dt{k}"] = v.type.numpy_dtype
        # one flag for all inputs, or one per input (``In(x, allow_downcast=...)``)
        own = allow_downcast[k] if isinstance(allow_downcast, (list, tuple)) else allow_downcast
        ns[f"_filter{k}"] = _bind_filter(v, own)
        cond = [f"{arg}.__class__ is not _ndarray", f"{arg}.dtype is not _dt{k}",
                f"{arg}.ndim != {v.ndim}"]
        cond += [f"{arg}.shape[{i}] != {s}" for i, s in enumerate(v.type.shape) if s is not None]
        lines.append(f"    if {' or '.join(cond)}:")
        lines.append(f"        {arg} = _filter{k}({arg})")
    for k, v in enumerate(shared):
        ns[f"_sv{k}"] = v.container
        lines.append(f"    {namer(v)} = _sv{k}.value  # shared {v}")

    plan = schedule.plan(fgraph, shared, n_outputs, update_targets) \
        if fuse and not check else None
    order = plan.order if plan else fgraph.toposort()
    protected = set(explicit) | set(shared) | set(fgraph.outputs)
    last_use: Dict[Variable, int] = {}
    if plan:
        last_use = {v: i for v, i in plan.last_use.items()}
    else:
        for i, node in enumerate(order):
            for inp in node.inputs:
                last_use[inp] = i

    def ref(var: Variable) -> str:
        if var in namer.names:
            return namer.names[var]
        if isinstance(var, Constant):
            cname = namer(var, "_c")
            ns[cname] = var.data[()] if var.ndim == 0 else var.data
            return cname
        raise KeyError(f"variable {var} used before it was computed (graph not closed over "
                       f"its inputs)")

    linker = Planned(plan, ns, namer, backend, shared) if plan else None
    for i, node in enumerate(order):
        in_names = [ref(v) for v in node.inputs]
        planned = linker.node_lines(node, in_names) if linker else None
        if planned is not None:
            lines.extend(planned)
            dead = [n for v, n in zip(node.inputs, in_names)
                    if last_use.get(v) == i and v not in protected and v.owner is not None]
            dead = list(dict.fromkeys(dead))
            if dead:
                lines.append(f"    del {', '.join(dead)}")
            continue
        expr = node.op.emit(in_names)
        if expr is None:
            pname = namer.fresh(f"_perform_{type(node.op).__name__}")
            ns[pname] = node.op.perform
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
        dead = [n for v, n in zip(node.inputs, in_names)
                if last_use.get(v) == i and v not in protected and v.owner is not None]
        dead = list(dict.fromkeys(dead))
        if dead:
            lines.append(f"    del {', '.join(dead)}")

    # outputs: never hand out storage the caller could see change later
    results = []
    # storage already handed out (results, new shared values): a second alias to it is copied
    handed_out: set = set()
    for j, out in enumerate(fgraph.outputs[:n_outputs]):
        r = ref(out)
        root = alias_root(out)
        if root in set(explicit) or root in set(shared) or isinstance(root, Constant) or \
                root in handed_out:
            # inputs, shared storage, constants and a value already returned (merged duplicate
            # outputs, or views of one) must not be aliased by a result
            r = f"np.array({r})"
        elif out.ndim == 0:
            r = f"_asarray({r})"
        handed_out.add(root)
        results.append(r)
    commits = []
    deferred = {node.outputs[0] for node, _ in plan.deferred} if plan else set()
    for j, (out, k) in enumerate(zip(fgraph.outputs[n_outputs:], update_targets)):
        if out in deferred:
            continue  # computed in place at commit time
        r = ref(out)
        root = alias_root(out)
        if root in set(explicit) or root in set(shared) or isinstance(root, Constant) or \
                root in handed_out:
            # new storage must not be visible through a result or another shared variable
            r = f"np.array({r})"
        elif out.ndim == 0:
            r = f"_asarray({r})"
        handed_out.add(root)
        new = namer.fresh(f"_new{k}")
        lines.append(f"    {new} = {r}")
        target = shared[k]
        loose = [(i, d) for i, (d, e) in enumerate(zip(target.type.shape, out.type.shape))
                 if d is not None and e is None]
        if loose:
            # the value's type does not guarantee the target's static dims: check before commit
            ns["_check_update_shape"] = _check_update_shape
            ns[f"_target{k}"] = target
            lines.append(f"    _check_update_shape({new}, _target{k})")
        commits.append(f"    _sv{k}.value = {new}")
    if plan and plan.deferred:
        lines.append("    # checks of the in-place updates: anything that can fail fails here")
        lines.extend(linker.precheck_lines(plan.deferred, shared, ref))
        # storage written in place must be private: an input may be a borrowed view of it
        # (f(W.get_value(borrow=True))), or two shared variables may share borrowed memory
        ns["_alias_counts"], ns["_alone"] = _alias_counts, _alone
        every = list(arg_names) + [namer(v) for v in shared]
        if len(every) > 1:
            lines.append(f"    _aliases = _alias_counts({', '.join(every)})")
            for node, k in plan.deferred:
                lines.append(f"    _ok{k} = _ok{k} and _alone({namer(shared[k])}, _aliases)")
    lines.append("    _out = [" + ", ".join(results) + "]")
    lines.append("    # commit: every output and update exists, so no call leaves a half-update")
    lines.extend(commits)
    if plan:
        lines.extend(linker.commit_section(plan.deferred, ref))
    lines.append("    return _out")
    return "\n".join(lines) + "\n", ns


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
