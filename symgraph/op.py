"""The ``Op`` base class: one place for an operation's type inference, NumPy code, shape
inference, gradient and emitted source.

Identity comes from ``props``: two ops of the same class with equal props are equal and hash
equal, so the merge pass unifies equal applications without any per-op code.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

from symgraph.graph import Apply, Variable


class Op:
    """Base class of every operation.

    Subclasses set ``props`` (names of the attributes that define identity) and implement
    ``make_node`` and ``perform``; they usually also implement ``infer_shape``, ``grad`` and
    ``emit``.
    """

    props: tuple = ()
    #: the op never produces a value that aliases an input (views must say False)
    view_map: dict = {}
    #: ops with side effects or randomness must not be merged or folded
    deterministic: bool = True

    # -- identity --------------------------------------------------------------------------
    def _props_values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.props)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._props_values() == other._props_values()

    def __hash__(self) -> int:
        return hash((type(self), self._props_values()))

    def __str__(self) -> str:
        vals = self._props_values()
        if not vals:
            return type(self).__name__
        return f"{type(self).__name__}{{{', '.join(map(_short, vals))}}}"

    __repr__ = __str__

    # -- the contract ----------------------------------------------------------------------
    def make_node(self, *inputs) -> Apply:
        """Check and convert inputs, infer output types, return the ``Apply``."""
        raise NotImplementedError(f"{type(self).__name__}.make_node")

    def __call__(self, *inputs, **kwargs):
        node = self.make_node(*inputs, **kwargs)
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    def perform(self, *inputs) -> Any:
        """NumPy reference implementation: arrays in, one array (or a tuple) out."""
        raise NotImplementedError(f"{type(self).__name__}.perform")

    def infer_shape(self, node: Apply, input_shapes: List[tuple]) -> Optional[List[tuple]]:
        """Symbolic output shapes (tuples of int64 scalar variables or ints), or None."""
        return None

    def grad(self, inputs: List[Variable], outputs: List[Variable],
             output_grads: List[Optional[Variable]]) -> List[Optional[Variable]]:
        """Symbolic vector-Jacobian product: one entry per input, ``None`` = no gradient."""
        raise NotImplementedError(f"{self} has no gradient rule")

    def emit(self, names: Sequence[str]) -> Optional[str]:
        """A Python expression over the input names computing the output(s), or ``None`` to
        have the linker call ``perform``."""
        return None


def _short(v) -> str:
    if isinstance(v, tuple) and len(v) > 8:
        return f"({len(v)} entries)"
    return str(v)
