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
from symgraph.ops.blas import Dot
from symgraph.ops import scalar as S
from symgraph.ops.scalar import NAMESPACE as _SCALAR_NS
from symgraph.ops.shape import NAMESPACE as _SHAPE_NS
from symgraph.ops.subtensor import NAMESPACE as _SUBTENSOR_NS
from symgraph.ops.softmax_xent import NAMESPACE as _XENT_NS
from symgraph.ops.join import NAMESPACE as _JOIN_NS
from symgraph.compile import checks, kernels, schedule
from symgraph.compile.schedule import alias_root
from symgraph.rewrite.fusion import NAMESPACE as _FUSION_NS, Composite, Gemm

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


def describe(node) -> str:
    outs = ", ".join(f"{o.type.dtype}{_shape_str(o.type.shape)}" for o in node.outputs)
    return f"{node.op} -> {outs}"


def _shape_str(shape) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"


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

    linker = _Planned(plan, ns, namer, backend, shared) if plan else None
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


#: shorter clusters are single passes in NumPy too: a compiled loop gains nothing there
_NUMBA_MIN_STEPS = 3


class _Planned:
    """Source for the nodes the storage plan handles: fused kernels into reused buffers,
    products into reused buffers, and updates computed in place at commit time."""

    def __init__(self, plan: schedule.Plan, ns: dict, namer: Namer, backend: str,
                 shared: Sequence[Variable]):
        self.plan, self.ns, self.namer, self.shared = plan, ns, namer, list(shared)
        if backend == "auto":
            backend = "numba" if kernels.numba_available() else "numpy"
        if backend not in ("numpy", "numba", "numba-parallel"):
            raise ValueError(f"unknown backend {backend!r}: expected 'numpy', 'numba', "
                             f"'numba-parallel' or 'auto'")
        self.parallel = backend == "numba-parallel"
        self.backend = "numba" if self.parallel else backend
        self._kernels: Dict[tuple, str] = {}
        for k, dtype in enumerate(plan.slot_dtype):
            ns[f"_slot{k}"] = {}

    # -- helpers --------------------------------------------------------------------------
    def _temp(self):
        counts: Dict[str, int] = {}

        def temp(dtype: str) -> str:
            j = counts[dtype] = counts.get(dtype, -1) + 1
            slot = f"_tmp_{dtype}_{j}"
            self.ns.setdefault(slot, {})
            return f"_getbuf({slot}, _shp, '{dtype}')"
        return temp

    @staticmethod
    def _shape_expr(node, names: Sequence[str]) -> str:
        out = node.outputs[0]
        arrays = [(x, n) for x, n in zip(node.inputs, names) if x.ndim > 0]
        if len(arrays) == 1 and arrays[0][0].ndim == out.ndim:
            return f"{arrays[0][1]}.shape"
        return f"_bshape({', '.join(n for _, n in arrays)})"

    def _kernel(self, node, inplace: Optional[int] = None) -> str:
        key = (node.op, tuple(x.type for x in node.inputs), inplace)
        if key not in self._kernels:
            kern = kernels.NumbaKernel(node.op.program, [x.dtype for x in node.inputs],
                                       [x.ndim for x in node.inputs], node.outputs[0].dtype,
                                       node.outputs[0].ndim, self.parallel, inplace)
            name = self.namer.fresh("_kernel")
            self.ns[name] = kern
            self._kernels[key] = name
        return self._kernels[key]

    def _composite(self, node, names, out: Optional[str], result: str, indent: str,
                   inplace: Optional[int] = None, aliased: Optional[List[int]] = None
                   ) -> List[str]:
        dtypes = [x.dtype for x in node.inputs]
        program = node.op.program
        lines = kernels.numpy_lines(program, names, dtypes, out, result, self._temp(), indent,
                                    aliased=aliased)
        if self.backend != "numba" or len(program) < _NUMBA_MIN_STEPS or \
                any(type(sop) not in (S.ScalarOp, S.CastScalar) for sop, _, _ in program) or \
                not kernels.numba_types_ok(dtypes + [dt for _, _, dt in program]):
            return lines
        # one compiled loop for large operands; small ones stay in NumPy (no call overhead)
        size = " * ".join(f"_shp[{d}]" for d in range(node.outputs[0].ndim))
        call = f"{self._kernel(node, inplace)}({out or 'None'}, _shp, {', '.join(names)})"
        return [f"{indent}if {size} >= {kernels.NUMBA_MIN_SIZE}:",
                f"{indent}    {result} = {call}", f"{indent}else:",
                *["    " + ln for ln in lines]]

    # -- the three kinds of code ----------------------------------------------------------
    def node_lines(self, node, names: Sequence[str]) -> Optional[List[str]]:
        """Lines for ``node`` if the plan handles it, else ``None``."""
        op, out = node.op, node.outputs[0]
        slot = self.plan.slot.get(out)
        if isinstance(op, Composite) and out.ndim > 0:
            result = self.namer(out, "v")
            lines = [f"    # {describe(node)}", f"    _shp = {self._shape_expr(node, names)}"]
            buf = None
            aliased = None
            if slot is not None:
                lines.append(f"    {result} = _getbuf(_slot{slot}, _shp, '{out.dtype}')")
                buf = result
                # only a dying input planned in the same slot can be this very buffer
                aliased = [q for q, x in enumerate(node.inputs) if self.plan.slot.get(x) == slot]
            return lines + self._composite(node, names, buf, result, "    ", aliased=aliased)
        if isinstance(op, Composite) and op.n_inputs == len(names):
            result = self.namer(out, "v")
            return [f"    {result} = {kernels.scalar_expr(op.program, names)}  "
                    f"# {describe(node)}"]
        if slot is not None and isinstance(op, Dot):
            result = self.namer(out, "v")
            a, b = names
            # matmul: NumPy's dot with out= may take a slow non-BLAS path
            return [f"    {result} = np.matmul({a}, {b}, out=_getbuf(_slot{slot}, "
                    f"({a}.shape[0], {b}.shape[1]), '{out.dtype}'))  # {describe(node)}"]
        return None

    def precheck_lines(self, deferred, shared, ref) -> List[str]:
        lines = []
        storage = {node.outputs[0]: self.namer(shared[k]) for node, k in deferred}
        oks = {}
        for node, k in deferred:
            s = self.namer(shared[k])
            ok = f"_ok{k}"
            oks[node.outputs[0]] = ok
            names = [storage.get(x) or ref(x) for x in node.inputs]
            if isinstance(node.op, Gemm):
                lines.append(f"    {ok} = _gemm_check({', '.join(names[:1] + names[2:])})")
                continue
            deps = [oks[x] for x in node.inputs if x in oks]
            arrays = [n for x, n in zip(node.inputs, names) if x.ndim > 0]
            cond = [f"_bshape({', '.join(arrays)}) == {s}.shape" if arrays
                    else f"{s}.ndim == 0", f"{s}.flags.writeable"] + deps
            lines.append(f"    {ok} = {' and '.join(cond)}")
        return lines

    def commit_section(self, deferred, ref) -> List[str]:
        """Lines of every deferred update, chains of composites fused into one loop."""
        lines: List[str] = []
        groups = self._groups(deferred) if self.backend == "numba" else []
        # a group runs where its last member stood: every member's inputs exist by then
        last = {g[-1][0]: g for g in groups}
        grouped = {node for g in groups for node, _ in g}
        for node, k in deferred:
            if node in last:
                lines.extend(self._group_lines(last[node], ref))
            elif node not in grouped:
                lines.extend(self.commit_lines(node, k, [ref(v) for v in node.inputs]))
        return lines

    def _groups(self, deferred) -> List[list]:
        """Connected chains of deferred composites (one reads another's new value) of one
        rank, with numba loop types for every dtype; singletons are left alone."""
        members = {node: k for node, k in deferred if isinstance(node.op, Composite)
                   and node.outputs[0].ndim > 0 and kernels.numba_types_ok(
                       [x.dtype for x in node.inputs] + [d for _, _, d in node.op.program])
                   and all(type(sop) in (S.ScalarOp, S.CastScalar)
                           for sop, _, _ in node.op.program)}
        parent = {node: node for node in members}

        def find(n):
            while parent[n] is not n:
                n = parent[n]
            return n
        for node in members:
            for x in node.inputs:
                if x.owner in members and x.ndim == node.outputs[0].ndim:
                    parent[find(node)] = find(x.owner)
        comps: Dict[object, list] = {}
        for node, k in deferred:
            if node in members:
                comps.setdefault(find(node), []).append((node, k))
        order = [node for node, _ in deferred]
        groups = []
        for g in comps.values():
            nodes = {node for node, _ in g}
            outs = {node.outputs[0] for node in nodes}
            lo, hi = order.index(g[0][0]), order.index(g[-1][0])
            # moving the early members down to the last one must not starve a node between
            between = [n for n in order[lo + 1:hi] if n not in nodes]
            if len(g) > 1 and not any(x in outs for n in between for x in n.inputs):
                groups.append(g)
        return groups

    def _group_lines(self, group, ref) -> List[str]:
        values = {node.outputs[0]: i for i, (node, _) in enumerate(group)}
        ext: List[Variable] = []
        for node, k in group:
            for x in list(node.inputs) + [self.shared[k]]:
                if x not in values and x not in ext:
                    ext.append(x)
        members = []
        for node, k in group:
            refs = [("r", values[x]) if x in values else ("e", ext.index(x))
                    for x in node.inputs]
            members.append((node.op.program, refs, ext.index(self.shared[k])))
        key = ("group", tuple((node.op, tuple(x.type for x in node.inputs)) for node, _ in group),
               tuple(x.type for x in ext), tuple(tuple(m[1]) for m in members))
        if key not in self._kernels:
            kern = kernels.GroupKernel(members, [x.dtype for x in ext], [x.ndim == 0 for x in ext],
                                       self.parallel)
            self._kernels[key] = self.namer.fresh("_group")
            self.ns[self._kernels[key]] = kern
        oks = " and ".join(f"_ok{k}" for _, k in group)
        names = ", ".join(ref(x) for x in ext)
        lines = [f"    # in place at commit, one loop for {len(group)} updates",
                 f"    if {oks} and {self._kernels[key]}({names}):"]
        for node, k in group:
            lines.append(f"        {self.namer(node.outputs[0], 'v')} = "
                         f"{self.namer.names[self.shared[k]]}")
            lines.append(f"        _sv{k}.value = {self.namer.names[node.outputs[0]]}")
        lines.append("    else:")
        for node, k in group:
            lines += ["    " + ln for ln in self.commit_lines(node, k,
                                                               [ref(v) for v in node.inputs])]
        return lines

    def commit_lines(self, node, k: int, names: Sequence[str]) -> List[str]:
        out = node.outputs[0]
        result = self.namer(out, "v")
        lines = [f"    # in place at commit: {describe(node)}"]
        if isinstance(node.op, Gemm):
            c, alpha, a, b = names
            lines.append(f"    {result} = _gemm_into({c} if _ok{k} else np.array({c}), {alpha}, "
                         f"{a}, {b})")
        else:
            storage = self.namer.names[self.shared[k]]
            lines.append(f"    _shp = {self._shape_expr(node, names)}")
            target = self.shared[k]
            inplace = node.inputs.index(target) if target in node.inputs else None
            lines.append(f"    if _ok{k}:")
            # the storage is private (checked), so only the target itself aliases it
            aliased = [q for q, x in enumerate(node.inputs) if x is target]
            lines += self._composite(node, names, storage, result, "        ", inplace, aliased)
            lines.append("    else:")
            lines += self._composite(node, names, None, result, "        ")
        lines.append(f"    _sv{k}.value = {result}")
        return lines
