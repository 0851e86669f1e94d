"""The NumPy back end (always available): fused programs as ufunc calls into planned buffers;
chains of in-place updates of large arrays in cache-sized chunks."""
from __future__ import annotations

from typing import List, Optional, Sequence

from symgraph.backends import chunked, numpy_expr
from symgraph.backends.base import Backend


class NumpyBackend(Backend):
    """Ufunc calls with ``out=`` (:mod:`symgraph.backends.numpy_expr`) and chunked groups
    (:mod:`symgraph.backends.chunked`)."""

    name = "numpy"
    group_label = "chunks"

    def cluster_lines(self, node, names, out, result, temp, indent, aliased=None) -> List[str]:
        return numpy_expr.numpy_lines(node.op.program, names, [x.dtype for x in node.inputs],
                                      out, result, temp, indent, aliased=aliased)

    def scalar_expr(self, program, names: Sequence[str]) -> str:
        if numpy_expr.program_depth(program) > numpy_expr.MAX_SCALAR_DEPTH:
            kernel = self._kernel(("scalar", program, len(names)),
                                  lambda: numpy_expr.scalar_function(program, len(names)),
                                  "_scalar")
            return f"{kernel}({', '.join(names)})"
        return numpy_expr.scalar_expr(program, names)

    def joins_group(self, node) -> bool:
        return True

    def lone_group(self, node) -> bool:
        # one update of several steps: its chunks keep the intermediates in the cache
        return len(node.op.program) > 1

    def group_kernel(self, key, members, dtypes, scalar) -> Optional[str]:
        def make():
            try:
                return chunked.ChunkedGroup(members, dtypes, scalar)
            except ValueError:  # a member would read an old value another overwrote
                return None
        return self._kernel(key, make, "_group")

    def group_condition(self, kernel, names, target) -> str:
        # small operands fit in the cache already: not worth the chunk loop
        return f"{target}.size >= {chunked.MIN_SIZE} and {kernel}({', '.join(names)})"
