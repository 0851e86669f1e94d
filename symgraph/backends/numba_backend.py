"""The numba back end (the ``[fast]`` extra): each fused program of at least
:data:`MIN_STEPS` steps becomes one compiled loop for large operands (NumPy below
:data:`~symgraph.backends.numba_loops.NUMBA_MIN_SIZE` elements), and each chain of in-place
updates one loop that loads every element once, at any size."""
from __future__ import annotations

from typing import List, Optional

from symgraph.backends import numba_loops
from symgraph.backends.numba_windows import NUMBA_LOOPS
from symgraph.backends.numpy_backend import NumpyBackend
from symgraph.rewrite.fusion import not_smaller

#: a single step is one NumPy pass too: a compiled loop gains nothing there. Two steps are two
#: passes and often a temporary (``gz * (out > 0)``, the rectifier's gradient: a bool array,
#: then the product), which one loop halves (measured: 0.77 against 0.51 ms on 1.25e6 float32,
#: 0.018 against 0.006 ms on 5e4) when its operands have the result's shape or are vectors
#: broadcast along its rows (a bias): the loop then runs from the native kernel cache without
#: numba. Other broadcast operands need numba's own loop, whose start-up (0.3-0.4 s) and
#: memory a process would pay for two passes: programs shorter than MIN_STEPS_BROADCAST run
#: those in NumPy
MIN_STEPS = 2
#: programs of fewer steps than this run in NumPy when an operand is broadcast other than
#: along the rows
MIN_STEPS_BROADCAST = 3
#: longer programs (an unrolled chain fused whole) stay in NumPy: compiling a loop costs time
#: that grows with its body (seconds for a few hundred steps), which a loop cannot win back
MAX_STEPS = 128
#: programs of more operands than this stay in NumPy too: the sum of an unrolled loop's
#: gradients (thousands of products) made one loop of thousands of arguments, whose one
#: expression Python could not parse and whose typing took numba minutes
MAX_INPUTS = 64


def _compilable(node) -> bool:
    program = node.op.program
    if len(program) > MAX_STEPS or len(node.inputs) > MAX_INPUTS:
        return False
    return all(sop.compiles for sop, _, _ in program) and numba_loops.numba_types_ok(
        [x.dtype for x in node.inputs] + [dtype for _, _, dtype in program])


class NumbaBackend(NumpyBackend):
    """Compiled loops (:mod:`symgraph.backends.numba_loops`); ``parallel`` spreads them over
    threads (``'numba-parallel'``)."""

    name = "numba"
    group_label = "one loop"
    parallel = False
    recompute_into_updates = True
    window_loops = NUMBA_LOOPS

    def cluster_lines(self, node, names, out, result, temp, indent, aliased=None) -> List[str]:
        lines = super().cluster_lines(node, names, out, result, temp, indent, aliased=aliased)
        steps = len(node.op.program)
        # an array operand statically smaller than the result is broadcast to it
        broadcast = any(x.ndim and not not_smaller(x, node.outputs[0]) for x in node.inputs)
        if steps < MIN_STEPS or not _compilable(node):
            return lines
        # inputs holding each element's flat position: the flat loop counts them itself
        index = tuple(q for q, x in enumerate(node.inputs) if x.owner is not None
                      and getattr(x.owner.op, "flat_index", False))
        kernel = self._kernel(
            (node.op, tuple(x.type for x in node.inputs), index),
            lambda: numba_loops.NumbaKernel(
                node.op.program, [x.dtype for x in node.inputs], [x.ndim for x in node.inputs],
                node.outputs[0].dtype, node.outputs[0].ndim, self.parallel, index,
                broadcast_numpy=broadcast and steps < MIN_STEPS_BROADCAST),
            "_kernel")
        # one compiled loop for large operands; small ones stay in NumPy (no call overhead)
        size = " * ".join(f"_shp[{d}]" for d in range(node.outputs[0].ndim))
        call = f"{kernel}({out or 'None'}, _shp, {', '.join(names)})"
        return [f"{indent}if {size} >= {numba_loops.NUMBA_MIN_SIZE}:",
                f"{indent}    {result} = {call}", f"{indent}else:",
                *["    " + ln for ln in lines]]

    def joins_group(self, node) -> bool:
        return _compilable(node)

    def group_kernel(self, key, members, dtypes, scalar) -> Optional[str]:
        if sum(len(program) for program, _, _ in members) > MAX_STEPS:
            return None  # too long to compile: each member runs on its own
        return self._kernel(key, lambda: numba_loops.GroupKernel(members, dtypes, scalar,
                                                                 self.parallel), "_group")

    def lone_group(self, node) -> bool:
        return False  # a single update is one loop already

    def group_condition(self, kernel, names, target) -> str:
        return f"{kernel}({', '.join(names)})"

    def group_late(self, kernel, same, names) -> Optional[str]:
        if self.parallel:
            return None  # its loop runs on numba's threads, not as one call of native code
        group = self.kernels[kernel]
        late = self._kernel(("late", kernel, tuple(same)), lambda: group.late(same), "_late_group")
        return f"{late}({', '.join(names)})" if late is not None else None


class NumbaParallelBackend(NumbaBackend):
    """Loops whose outer iterations run on several threads (numba's ``prange``)."""

    name = "numba-parallel"
    parallel = True
