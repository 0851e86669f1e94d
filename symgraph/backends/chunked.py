"""Cache-blocked NumPy kernels: fused clusters run chunk by chunk.

NumPy cannot fuse loops, so a cluster of ``n`` steps streams its operands through memory ``n``
times; on arrays larger than the cache every pass costs a trip to main memory. Run the same
ufunc calls on consecutive slices of the flattened operands instead (what numexpr does inside
its virtual machine) and every intermediate of a slice stays in the cache: main memory sees each
operand read once and each result written once, like a compiled loop.

:class:`ChunkedGroup` runs one or more programs per chunk: a single cluster, or a chain of
in-place updates where one reads another's new value (Adam's ``m``, ``v`` and parameter).
Measured on the 1.8 M float32 parameters of the speed benchmark's MLP, an Adam update took
5.4 ms as whole-array passes and 3.0 ms in chunks of 64 K elements (chunks of 16 K: 3.4 ms,
more Python calls; 256 K: the slices stop fitting in the 2 MiB L2 cache).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from symgraph.backends import numpy_expr
from symgraph.backends.buffers import RUNTIME, overlap_free
from symgraph.ops import scalar as S

#: elements per chunk (256 KiB of float32 per operand)
CHUNK = 1 << 16
#: smaller clusters run whole: their operands fit in the cache already
MIN_SIZE = 1 << 18


class ChunkedGroup:
    """``group(*ext) -> bool``: programs run over chunks of the flattened external operands.

    ``members`` is a list of ``(program, refs, target)`` as for
    :class:`~symgraph.backends.numba_loops.GroupKernel`: ``refs[q]`` is ``("e", j)``, external
    operand ``j``, or ``("r", i)``, the result of member ``i``; the member's result is written
    into external operand ``target``, which no member reads (the linker writes each update
    into a buffer of its own and commits it afterwards). The constructor refuses with
    ``ValueError`` a group that writes an operand twice or reads one it writes.

    A call returns False and does nothing unless every array operand is C-contiguous, all have
    one shape of at least ``min_size`` elements (default :data:`MIN_SIZE`), and no two overlap;
    the caller then runs whole-array code.
    """

    def __init__(self, members, ext_dtypes: Sequence[str], ext_scalar: Sequence[bool],
                 chunk: Optional[int] = None, min_size: Optional[int] = None):
        self.scalar = list(ext_scalar)
        self.chunk = CHUNK if chunk is None else chunk
        self.min_size = MIN_SIZE if min_size is None else min_size
        self._arrays = [j for j, sc in enumerate(ext_scalar) if not sc]
        self.targets = [target for _, _, target in members]
        if len(set(self.targets)) != len(self.targets):
            raise ValueError("ChunkedGroup: two members write the same operand")
        for i, (_, refs, _) in enumerate(members):
            for r in refs:
                if r[0] == "e" and r[1] in self.targets:
                    raise ValueError(f"ChunkedGroup: member {i} reads operand {r[1]}, which "
                                     f"the group writes")
        self.source, self._fn = self._build(members, ext_dtypes)

    def _build(self, members, ext_dtypes) -> Tuple[str, object]:
        ns: dict = {"np": np, **S.helpers_of(sop for program, _, _ in members
                                                for sop, _, _ in program), **RUNTIME}
        counter = [0]

        def temp(dtype: str) -> str:
            counter[0] += 1
            ns[f"_t{counter[0]}"] = np.empty(self.chunk, dtype)
            return f"_t{counter[0]}[:_n]"

        args = ", ".join(f"e{j}" for j in range(len(ext_dtypes)))
        body: List[str] = []
        ind = "        "
        chunk_of = {j: (f"e{j}" if self.scalar[j] else f"c{j}") for j in range(len(ext_dtypes))}
        body += [f"{ind}c{j} = e{j}[_s:_s + _n]" for j in self._arrays]
        for i, (program, refs, target) in enumerate(members):
            names = [chunk_of[r[1]] if r[0] == "e" else chunk_of[self.targets[r[1]]]
                     for r in refs]
            dtypes = [ext_dtypes[r[1]] if r[0] == "e" else members[r[1]][0][-1][2]
                      for r in refs]
            # a target is no member's input: it serves as a temporary from the first step
            body += numpy_expr.numpy_lines(program, names, dtypes, f"c{target}", f"r{i}", temp,
                                           ind, shape="(_n,)", aliased=[])
        first = self._arrays[0]
        src = [f"def group({args}):", f"    _size = e{first}.shape[0]",
               f"    for _s in range(0, _size, {self.chunk}):",
               f"        _n = min({self.chunk}, _size - _s)", *body, ""]
        source = "\n".join(src)
        exec(compile(source, "<symgraph chunked kernel>", "exec"), ns)
        return source, ns["group"]

    def __call__(self, *ext) -> bool:
        arrays = [ext[j] for j in self._arrays]
        shape = arrays[0].shape
        size = arrays[0].size
        if size < self.min_size:
            return False
        for a in arrays:
            if a.shape != shape or not a.flags.c_contiguous:
                return False
        if not overlap_free(arrays):
            return False
        args = [e if sc else e.reshape(-1) for e, sc in zip(ext, self.scalar)]
        self._fn(*args)
        return True
