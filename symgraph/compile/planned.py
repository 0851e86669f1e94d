"""Source for the nodes the storage plan handles (the fused linker).

Fused kernels write reused buffers, products write reused buffers, and eligible shared updates
are computed in place into shared storage at commit time, chains of them in one loop (numba) or
one chunked pass (NumPy, :mod:`symgraph.compile.chunked`).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from symgraph.graph import Variable
from symgraph.ops.blas import Dot
from symgraph.ops import scalar as S
from symgraph.compile import chunked, kernels, numba_kernels, schedule
from symgraph.rewrite.fusion import Composite, Gemm


def describe(node) -> str:
    outs = ", ".join(f"{o.type.dtype}{_shape_str(o.type.shape)}" for o in node.outputs)
    return f"{node.op} -> {outs}"


def _shape_str(shape) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"


#: shorter clusters are single passes in NumPy too: a compiled loop gains nothing there
_NUMBA_MIN_STEPS = 3


class Planned:
    """Source for the nodes the storage plan handles: fused kernels into reused buffers,
    products into reused buffers, and updates computed in place at commit time."""

    def __init__(self, plan: schedule.Plan, ns: dict, namer, backend: str,
                 shared: Sequence[Variable]):
        self.plan, self.ns, self.namer, self.shared = plan, ns, namer, list(shared)
        if backend == "auto":
            backend = "numba" if numba_kernels.numba_available() else "numpy"
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
            kern = numba_kernels.NumbaKernel(node.op.program, [x.dtype for x in node.inputs],
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
                not numba_kernels.numba_types_ok(dtypes + [dt for _, _, dt in program]):
            return lines
        # one compiled loop for large operands; small ones stay in NumPy (no call overhead)
        size = " * ".join(f"_shp[{d}]" for d in range(node.outputs[0].ndim))
        call = f"{self._kernel(node, inplace)}({out or 'None'}, _shp, {', '.join(names)})"
        return [f"{indent}if {size} >= {numba_kernels.NUMBA_MIN_SIZE}:",
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
        """Lines of every deferred update; chains of composites run as one loop (numba) or one
        chunked pass (NumPy)."""
        lines: List[str] = []
        groups = self._groups(deferred)
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
        rank. numba: with loop types for every dtype, singletons left alone (one kernel each
        already). NumPy: singletons of two steps or more too (chunks keep them in cache)."""
        numba = self.backend == "numba"
        members = {node: k for node, k in deferred if isinstance(node.op, Composite)
                   and node.outputs[0].ndim > 0 and (not numba or numba_kernels.numba_types_ok(
                       [x.dtype for x in node.inputs] + [d for _, _, d in node.op.program])
                       and all(type(sop) in (S.ScalarOp, S.CastScalar)
                               for sop, _, _ in node.op.program))}
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
            single = len(g) == 1 and not numba and len(g[0][0].op.program) > 1
            if (len(g) > 1 or single) and \
                    not any(x in outs for n in between for x in n.inputs) and \
                    self._group_kernel(g) is not None:
                groups.append(g)
        return groups

    def _group_operands(self, group) -> List[Variable]:
        values = {node.outputs[0] for node, _ in group}
        ext: List[Variable] = []
        for node, k in group:
            for x in list(node.inputs) + [self.shared[k]]:
                if x not in values and x not in ext:
                    ext.append(x)
        return ext

    def _group_kernel(self, group) -> Optional[str]:
        """Name of the one-loop (numba) or chunked (NumPy) kernel of ``group``, or None when
        the group cannot run as one (a member reads the old value of an earlier target)."""
        values = {node.outputs[0]: i for i, (node, _) in enumerate(group)}
        ext = self._group_operands(group)
        members = []
        for node, k in group:
            refs = [("r", values[x]) if x in values else ("e", ext.index(x))
                    for x in node.inputs]
            members.append((node.op.program, refs, ext.index(self.shared[k])))
        key = ("group", tuple((node.op, tuple(x.type for x in node.inputs)) for node, _ in group),
               tuple(x.type for x in ext), tuple(tuple(m[1]) for m in members))
        if key not in self._kernels:
            dtypes, scalar = [x.dtype for x in ext], [x.ndim == 0 for x in ext]
            try:
                kern = numba_kernels.GroupKernel(members, dtypes, scalar, self.parallel) \
                    if self.backend == "numba" else chunked.ChunkedGroup(members, dtypes, scalar)
            except ValueError:
                kern = None
            name = None
            if kern is not None:
                name = self.namer.fresh("_group")
                self.ns[name] = kern
            self._kernels[key] = name
        return self._kernels[key]

    def _group_lines(self, group, ref) -> List[str]:
        ext = self._group_operands(group)
        kernel = self._group_kernel(group)
        oks = " and ".join(f"_ok{k}" for _, k in group)
        names = ", ".join(ref(x) for x in ext)
        what = "one loop" if self.backend == "numba" else "chunks"
        cond = f"{oks} and {kernel}({names})"
        if self.backend != "numba":  # small operands: not worth a call
            cond = f"{oks} and {ref(self.shared[group[0][1]])}.size >= {chunked.MIN_SIZE} " \
                f"and {kernel}({names})"
        nodes = "; ".join(describe(node) for node, _ in group)
        lines = [f"    # in place at commit, {what}: {nodes}", f"    if {cond}:"]
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
