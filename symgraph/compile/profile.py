"""Profiles of compiled functions: ``function(..., profile=True)`` then ``f.profile.summary()``.

A profiled function is generated with a clock reading after each node (each fused kernel is
one node) and around the commit of the updates; a function compiled without ``profile`` has
none of it, so profiling costs nothing when off. The summary gives, per op class, per op and
per node: the time, its share of the function's time, the calls and the time per call.
"""
from __future__ import annotations

import io
import time
from collections import defaultdict
from typing import IO, List, Optional

clock = time.perf_counter


class ProfileStats:
    """The time of every call of one (or several) compiled functions and of each node.

    Attributes
    ----------
    calls : int
        Calls of the profiled function(s).
    call_time : float
        Seconds spent inside them.
    compile_time : float
        Seconds spent compiling them.
    flag_time_thunks : bool
        Whether the nodes are timed (True, the default). False: the functions compiled with
        this profile read the clock only at the start and the end of a call, so only the
        calls and their time are recorded.
    """

    def __init__(self, name: Optional[str] = None, flag_time_thunks: bool = True):
        self.name = name
        self.flag_time_thunks = bool(flag_time_thunks)
        self.calls = 0
        self.call_time = 0.0
        self.compile_time = 0.0
        self.labels: List[str] = []     # one per node: "op -> types"
        self.classes: List[str] = []    # the op class of each node
        self.ops: List[str] = []        # str(op) of each node
        self.times: List[float] = []    # accumulated seconds per node (filled by the code)

    # -- called by the linker ------------------------------------------------------------
    def add_node(self, op_class: str, op: str, label: str) -> int:
        """Register a timed section; returns its index in :attr:`times`."""
        self.labels.append(label)
        self.classes.append(op_class)
        self.ops.append(op)
        self.times.append(0.0)
        return len(self.times) - 1

    def record_call(self, seconds: float) -> None:
        self.calls += 1
        self.call_time += seconds

    # -- reading -------------------------------------------------------------------------
    @property
    def node_time(self) -> float:
        return sum(self.times)

    def _table(self, keys: List[str], title: str, limit: int) -> List[str]:
        total = self.call_time or 1e-30
        per, count = defaultdict(float), defaultdict(int)
        for key, t in zip(keys, self.times):
            per[key] += t
            count[key] += 1
        rows = sorted(per.items(), key=lambda kv: -kv[1])
        out = [title, "-" * len(title),
               "  <% time> <sum %> <time (s)> <time per call> <#call> <#apply> <name>"]
        acc = 0.0
        for key, t in rows[:limit]:
            acc += t
            calls = max(self.calls, 1)
            out.append(f"  {100 * t / total:6.1f}%  {100 * acc / total:6.1f}%  {t:9.3e}s  "
                       f"{t / calls:11.3e}s  {self.calls:6d}  {count[key]:6d}  {key}")
        if len(rows) > limit:
            rest = sum(t for _, t in rows[limit:])
            out.append(f"  ... (remaining {len(rows) - limit} take {100 * rest / total:.1f}% "
                       f"of the time)")
        return out

    def summary(self, file: Optional[IO[str]] = None, n_ops_to_print: int = 20,
                n_apply_to_print: int = 20) -> str:
        """The profile as text (printed to ``file`` when given)."""
        total = self.call_time
        lines = ["Function profiling", "==================",
                 f"  Message: {self.name or 'symgraph function'}",
                 f"  Time in {self.calls} calls to Function.__call__: {total:.6e}s"]
        if self.calls:
            lines.append(f"  Time per call: {total / self.calls:.6e}s")
        inside = self.node_time
        if self.flag_time_thunks:
            lines.append(f"  Time in nodes and commits: {inside:.6e}s "
                         f"({100 * inside / (total or 1e-30):.1f}% of the calls; the rest is "
                         f"the checks of the inputs)")
        lines.append(f"  Total compile time: {self.compile_time:.6e}s")
        lines.append("")
        if self.flag_time_thunks:
            lines += self._table(self.classes, "Class", n_ops_to_print)
            lines.append("")
            lines += self._table(self.ops, "Ops", n_ops_to_print)
            lines.append("")
            indexed = [f"{k:3d} {label}" for k, label in enumerate(self.labels)]
            lines += self._table(indexed, "Apply (nodes, in execution order numbers)",
                                 n_apply_to_print)
        else:
            lines.append("  The nodes were not timed (flag_time_thunks=False).")
        text = "\n".join(lines) + "\n"
        if file is not None:
            file.write(text)
        return text

    def __str__(self) -> str:
        return self.summary(io.StringIO())
