"""Source for the nodes the storage plan places in buffers: fused elementwise programs (through
the back end) and ops that write into a planned buffer (``Op.emit_into``: matrix products)."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from symgraph.backends.buffers import Arena
from symgraph.compile import storage


def describe(node) -> str:
    """``op -> dtype(shape), ...``: the comment a generated line carries."""
    outs = ", ".join(f"{o.type.dtype}{_shape_str(o.type.shape)}" for o in node.outputs)
    return f"{node.op} -> {outs}"


def _shape_str(shape) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def shape_expr(node, names: Sequence[str]) -> str:
    """An expression for the broadcast shape of an elementwise ``node``'s inputs."""
    out = node.outputs[0]
    arrays = [(x, n) for x, n in zip(node.inputs, names) if x.ndim > 0]
    if len(arrays) == 1 and arrays[0][0].ndim == out.ndim:
        return f"{arrays[0][1]}.shape"
    return f"_bshape({', '.join(n for _, n in arrays)})"


class PlannedNodes:
    """Lines for the nodes the storage plan handles, and the temporaries of fused programs."""

    def __init__(self, plan: storage.Plan, ns: dict, namer, backend):
        self.plan, self.ns, self.namer, self.backend = plan, ns, namer, backend
        self.arena = None
        if plan.slot_dtype:
            # the slots' memory: regions of one array, placed by the slots' spans and the
            # sizes a call measures (packed after a call that asked for more)
            self.arena = ns["_arena"] = Arena(plan.slot_dtype, plan.span)
            ns["_stale"] = self.arena.flag
            for k, slot in enumerate(self.arena.slots):
                ns[f"_slot{k}"] = slot

    def pack_lines(self) -> List[str]:
        """The lines, before the commit section of a call, that pack the arena when a slot
        outgrew it (the new regions serve the next call)."""
        return ["    if _stale[0]:", "        _arena.pack()"] if self.arena else []

    def temporaries(self):
        """``temp(dtype)`` for one fused program: temporary buffers of its full shape
        (``_shp``), in slots shared by every program of the function."""
        counts: Dict[str, int] = {}

        def temp(dtype: str) -> str:
            j = counts[dtype] = counts.get(dtype, -1) + 1
            slot = f"_tmp_{dtype}_{j}"
            self.ns.setdefault(slot, {})
            return f"_getbuf({slot}, _shp, '{dtype}')"
        return temp

    def fused(self, node, names: Sequence[str], out: Optional[str], result: str, indent: str,
              aliased: Optional[List[int]] = None) -> List[str]:
        """The back end's lines for the fused ``node`` (``_shp`` already holds its shape)."""
        return self.backend.cluster_lines(node, names, out, result, self.temporaries(), indent,
                                          aliased)

    def node_lines(self, node, names: Sequence[str]) -> Optional[List[str]]:
        """Lines for ``node`` if the plan handles it, else ``None``."""
        op, out = node.op, node.outputs[0]
        slot = self.plan.slot.get(out)
        if op.program is not None and out.ndim > 0:
            result = self.namer(out, "v")
            lines = [f"    # {describe(node)}", f"    _shp = {shape_expr(node, names)}"]
            buf = None
            aliased = None
            if slot is not None:
                # only a dying input planned in the same slot can be this very buffer (and is,
                # when it has the result's shape; else the result gets memory of its own)
                aliased = [q for q, x in enumerate(node.inputs) if self.plan.slot.get(x) == slot]
                if aliased:
                    ins = ", ".join(names[q] for q in aliased)
                    lines.append(f"    {result} = _getbuf_in(_slot{slot}, _shp, "
                                 f"'{out.dtype}', {ins})")
                else:
                    lines.append(f"    {result} = _getbuf(_slot{slot}, _shp, '{out.dtype}')")
                buf = result
            return lines + self.fused(node, names, buf, result, "    ", aliased=aliased)
        if op.program is not None:  # a 0-d program: one expression of NumPy scalars
            result = self.namer(out, "v")
            return [f"    {result} = {self.backend.scalar_expr(op.program, names)}  "
                    f"# {describe(node)}"]
        if slot is not None:
            result = self.namer(out, "v")

            def buffer(shape: str) -> str:
                return f"_getbuf(_slot{slot}, {shape}, '{out.dtype}')"
            # work arrays an op keeps between calls (column matrices of a convolution): one
            # dict per function, shared by its nodes, since a work array is dead once its node
            # returned (calls of one function run one at a time)
            self.ns.setdefault("_work", {})
            buffer.work = "_work"
            # the back end's window loops (compiled pooling with numba)
            self.ns.setdefault("_loops", self.backend.window_loops)
            buffer.loops = "_loops"
            return [f"    {result} = {op.emit_into(node, names, buffer)}  # {describe(node)}"]
        return None
