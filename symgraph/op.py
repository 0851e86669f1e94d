"""The ``Op`` base class: one place for an operation's type inference, NumPy code, shape
inference, gradient and emitted source.

Identity comes from ``props``: two ops of the same class with equal props are equal and hash
equal, so the merge pass unifies equal applications without any per-op code.

An op also tells the linker what it needs to know (the linker knows no op class by name): how
its outputs alias its inputs (``view_map``, ``copies``), which helpers its emitted code names
(``emit_helpers``), whether its output can be written into a planned buffer (``emit_into``),
whether it is a fused elementwise program (``program``) and whether it can accumulate into
one of its inputs (``accumulates_into``, ``emit_update``).
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

from symgraph.graph import Apply, Variable


#: functions called with every node built through ``Op.__call__``; empty in ordinary use (the
#: Theano compatibility layer adds one that computes test values, ``compute_test_value``)
NODE_HOOKS: List[Callable[[Apply], None]] = []


class Op:
    """Base class of every operation.

    Subclasses set ``props`` (names of the attributes that define identity) and implement
    ``make_node`` and ``perform``; they usually also implement ``infer_shape``, ``grad`` and
    ``emit``.
    """

    props: tuple = ()
    #: output index -> the inputs it may be a view of (``{0: [0]}``: output 0 may share input
    #: 0's memory); readers of a view read its base
    view_map: dict = {}
    #: ops with side effects or randomness must not be merged or folded
    deterministic: bool = True
    #: False for an op whose result is better computed at run time than embedded as a
    #: constant, even from constant inputs (a cached array the back ends recognise)
    foldable: bool = True

    # -- what the linker asks --------------------------------------------------------------
    #: True when every output is new memory and the inputs are read only while the op runs:
    #: a planned buffer feeding it may be reused as soon as it returns
    copies: bool = False
    #: helpers (name -> object) that the code of ``emit``, ``emit_into`` and ``emit_update``
    #: names; the linker puts them in the generated function's namespace
    emit_helpers: dict = {}
    #: the scalar program of a fused elementwise op, which the back ends turn into ufunc calls
    #: or compiled loops (see :mod:`symgraph.ops.composite`); None for every other op
    program = None
    #: input ``k`` when the output is ``input k + something`` that the linker may compute at
    #: commit time, starting from a copy of ``k`` in a private buffer (a BLAS ``?gemm`` with
    #: ``beta = 1``): see :meth:`emit_update`
    accumulates_into: Optional[int] = None

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
        for hook in NODE_HOOKS:
            hook(node)
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    def perform(self, *inputs) -> Any:
        """NumPy reference implementation: arrays in, one array (or a tuple) out."""
        raise NotImplementedError(f"{type(self).__name__}.perform")

    def runner(self, node: Apply) -> Callable[..., Any]:
        """The callable the linker runs for ``node`` when the op emits no code: arrays in, one
        array (or a tuple) out. :meth:`perform` unless the computation needs the node itself
        (the types of its outputs: Theano-style ops written against ``perform(node, inputs,
        output_storage)``)."""
        return self.perform

    def infer_shape(self, node: Apply, input_shapes: List[tuple]) -> Optional[List[tuple]]:
        """Symbolic output shapes (tuples of int64 scalar variables or ints), or None."""
        return None

    def grad(self, inputs: List[Variable], outputs: List[Variable],
             output_grads: List[Optional[Variable]]) -> List[Optional[Variable]]:
        """Symbolic vector-Jacobian product: one entry per input, ``None`` = no gradient."""
        raise NotImplementedError(f"{self} has no gradient rule")

    def vjp(self, node: Apply, output_grads: List[Optional[Variable]]
            ) -> List[Optional[Variable]]:
        """What :func:`symgraph.grad` calls for ``node``: :meth:`grad` of its inputs and
        outputs (an op family with another gradient convention adapts here)."""
        return self.grad(list(node.inputs), list(node.outputs), output_grads)

    def emit(self, names: Sequence[str]) -> Optional[str]:
        """A Python expression over the input names computing the output(s), or ``None`` to
        have the linker call ``perform``."""
        return None

    def can_emit_into(self, node: Apply) -> bool:
        """True when :meth:`emit_into` can compute ``node``'s single output into a planned
        buffer (which the linker then reuses across calls)."""
        return False

    def emit_into(self, node: Apply, names: Sequence[str], buffer) -> str:
        """An expression computing the output into a planned buffer and evaluating to it.
        ``buffer(shape)`` gives the expression of the buffer for the shape expression
        ``shape`` (a tuple of the output's dimensions); ``buffer.work`` names a dict the
        compiled function keeps between calls, where the code may keep work arrays that are
        dead once the node returned (every node of the function shares it); ``buffer.loops``
        names the back end's window loops (:mod:`symgraph.backends.windows`)."""
        raise NotImplementedError(f"{self} does not write into buffers")

    def emit_update_check(self, names: Sequence[str]) -> str:
        """(``accumulates_into`` ops) An expression that raises if the update over the input
        ``names`` is ill-formed and is True when it can be computed by :meth:`emit_update`
        into a buffer of the accumulated input's shape; it runs before anything else of the
        update."""
        raise NotImplementedError(f"{self} does not accumulate")

    def emit_update(self, names: Sequence[str], out: str) -> str:
        """(``accumulates_into`` ops) An expression computing the output into the array that
        the expression ``out`` gives (a private buffer of the accumulated input's shape and
        dtype, which no input aliases) or, when ``out`` is None, into new memory, and
        evaluating to the result."""
        raise NotImplementedError(f"{self} does not accumulate")

    def emit_update_late(self, names: Sequence[str], loops: str) -> Optional[str]:
        """(``accumulates_into`` ops, optional) An expression giving a callable without
        arguments, run by C (no Python code of its own), that accumulates the update into the
        accumulated input's own storage, or None when it cannot be made for these values;
        None (the default) when the op has no such form. ``loops`` names the back end's
        loops, as ``buffer.loops`` does for :meth:`emit_into`. The commit runs it right before it
        assigns the updates, in the same C-level loop (:func:`symgraph.compile.commit.
        commit`), so nothing can fail or be interrupted between the two, and the accumulated
        input needs no copy into a spare buffer."""
        return None


def _short(v) -> str:
    if isinstance(v, tuple) and len(v) > 8:
        return f"({len(v)} entries)"
    return str(v)
