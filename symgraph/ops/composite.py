"""``Composite``: several elementwise scalar ops fused into one elementwise op.

The fusion pass (:mod:`symgraph.rewrite.fusion`) builds composites; the back ends
(:mod:`symgraph.backends`) turn their scalar programs into ufunc calls or compiled loops.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from symgraph.graph import Apply, Variable, toposort
from symgraph.op import Op
from symgraph.ops import scalar as S
from symgraph.ops.elemwise import Elemwise, zeros_like
from symgraph.ops.variable import TensorVariable, as_tensor_variable, constant
from symgraph.types import TensorType, broadcast_shapes

#: a reference inside a composite program: ("i", k) input k, ("s", j) step j,
#: ("c", dtype, value) a scalar constant baked into the program
Ref = tuple
Step = Tuple[S.ScalarOp, Tuple[Ref, ...], str]  # (scalar op, arguments, output dtype)


class Composite(Op):
    """Several elementwise scalar ops evaluated as one fused elementwise op.

    ``program`` is a tuple of steps ``(scalar_op, args, dtype)`` in evaluation order; the last
    step is the output. Scalar constants are part of the program, so equal programs over equal
    inputs merge. The gradient is never needed: fusion runs after differentiation, but for
    completeness it is the chain rule through the unfused graph (:meth:`expand`).
    """

    @property
    def emit_helpers(self) -> dict:
        return S.helpers_of(sop for sop, _, _ in self.program)

    copies = True

    props = ("program", "n_inputs")

    def __init__(self, program: Sequence[Step], n_inputs: Optional[int] = None):
        self.program = tuple(program)
        if not self.program:
            raise ValueError("Composite: empty program")
        used = 1 + max((a[1] for _, args, _ in self.program for a in args if a[0] == "i"),
                       default=-1)
        # inputs the program does not read still shape the result (broadcasting)
        self.n_inputs = used if n_inputs is None else n_inputs

    def __str__(self) -> str:
        return f"Composite{{{self.expression()}}}"

    # -- description ----------------------------------------------------------------------
    #: a sub-expression longer than this many characters is shown as ``name(...)``
    EXPRESSION_WIDTH = 120

    def expression(self, names: Optional[Sequence[str]] = None) -> str:
        """The program as one nested, readable expression (``mul(i0, add(i1, 2.0))``); the
        arguments of a sub-expression longer than :attr:`EXPRESSION_WIDTH` characters are
        elided (``tanh(...)``), so a program of any size gives a short line."""
        names = list(names) if names is not None else None
        done: List[str] = []
        for sop, args, _ in self.program:
            parts = []
            for a in args:
                if a[0] == "i":
                    parts.append(names[a[1]] if names else f"i{a[1]}")
                elif a[0] == "s":
                    parts.append(done[a[1]])
                else:
                    parts.append(repr(a[2]))
            text = f"{sop.name}({', '.join(parts)})"
            done.append(text if len(text) <= self.EXPRESSION_WIDTH else f"{sop.name}(...)")
        return done[-1]

    # -- the contract ---------------------------------------------------------------------
    def make_node(self, *inputs) -> Apply:
        inputs = [as_tensor_variable(x) for x in inputs]
        if len(inputs) != self.n_inputs:
            raise TypeError(f"{self}: takes {self.n_inputs} inputs, got {len(inputs)}")
        shape = broadcast_shapes([x.type.shape for x in inputs], what=str(self))
        return Apply(self, inputs, [TensorVariable(TensorType(self.program[-1][2], shape))])

    def perform(self, *arrays):
        vals: List[object] = []
        for sop, args, dtype in self.program:
            ins = [arrays[a[1]] if a[0] == "i" else vals[a[1]] if a[0] == "s"
                   else np.asarray(a[2], dtype=a[1]) for a in args]
            out = sop.impl(*ins)
            vals.append(np.asarray(out, dtype=dtype))
        shape = np.broadcast_shapes(*[np.shape(a) for a in arrays])
        return np.array(np.broadcast_to(vals[-1], shape)) if vals[-1].shape != shape \
            else vals[-1]

    #: programs nested deeper than this many steps run through :meth:`perform` rather than
    #: as one expression (Python's parser refuses 200 nested parentheses)
    MAX_EMIT_DEPTH = 32

    def emit(self, names: Sequence[str]) -> Optional[str]:
        """One nested NumPy expression (used when the linker does not plan buffers), or None
        (the linker calls :meth:`perform`) for a program nested too deep to be one."""
        depth: List[int] = []
        for _, args, _ in self.program:
            depth.append(1 + max((depth[a[1]] for a in args if a[0] == "s"), default=0))
        if depth[-1] > self.MAX_EMIT_DEPTH:
            return None
        done: List[str] = []
        for sop, args, dtype in self.program:
            parts = [names[a[1]] if a[0] == "i" else done[a[1]] if a[0] == "s"
                     else f"np.{a[1]}({a[2]!r})" for a in args]
            expr = sop.emit(parts)
            done.append(expr)
        expr = f"np.asarray({done[-1]}, dtype='{self.program[-1][2]}')"
        if self.n_inputs > len({a for _, args, _ in self.program for a in args if a[0] == "i"}):
            shape = f"np.broadcast_shapes({', '.join(f'np.shape({n})' for n in names)})"
            expr = f"np.array(np.broadcast_to({expr}, {shape}))"
        return expr

    def infer_shape(self, node: Apply, input_shapes: List[tuple]) -> List[tuple]:
        return Elemwise.infer_shape(self, node, input_shapes)

    def expand(self, inputs: Sequence[Variable]) -> Variable:
        """Rebuild the unfused graph of Elemwise nodes over ``inputs``."""
        vals: List[Variable] = []
        for sop, args, dtype in self.program:
            ins = [inputs[a[1]] if a[0] == "i" else vals[a[1]] if a[0] == "s"
                   else constant(np.asarray(a[2], dtype=a[1])) for a in args]
            vals.append(Elemwise(sop)(*ins))
        return vals[-1]

    def grad(self, inputs, outputs, output_grads):
        """The chain rule through the program's steps, last to first (each step's gradient
        is its ``Elemwise`` rule), over the unfused graph of :meth:`expand`."""
        out = self.expand(inputs)
        grads = {out: output_grads[0]}
        for node in reversed(toposort([out], stop=inputs)):
            gz = grads.pop(node.outputs[0], None)
            if gz is None:
                continue
            for x, g in zip(node.inputs, node.op.grad(node.inputs, node.outputs, [gz])):
                if g is not None and x.dtype not in S.discrete_dtypes:
                    grads[x] = grads[x] + g if x in grads else g
        result = []
        for x in inputs:
            if x.dtype in S.discrete_dtypes:
                result.append(None)
            else:
                result.append(grads.get(x, zeros_like(x)))
        return result


def inline_producer(node: Apply, var: Variable) -> Variable:
    """The output of ``node`` (a :class:`Composite`) recomputed with its input ``var``, the
    output of another composite, computed inside the program: a new composite over the
    producer's inputs followed by ``node``'s other inputs (each once). The producer's inputs
    that its program does not read stay inputs, so the broadcast shape is unchanged; the steps
    and their order are the same as before, so the values are too."""
    producer = var.owner
    if not isinstance(node.op, Composite) or producer is None or \
            not isinstance(producer.op, Composite) or var not in node.inputs:
        raise ValueError(f"inline_producer: {var} is not a composite's output read by the "
                         f"composite {node.op}")
    inputs: List[Variable] = []
    index = {}

    def leaf(x: Variable) -> Ref:
        if x not in index:
            index[x] = len(inputs)
            inputs.append(x)
        return ("i", index[x])
    inner = [leaf(x) for x in producer.inputs]
    steps: List[Step] = []
    for sop, args, dtype in producer.op.program:
        steps.append((sop, tuple(inner[a[1]] if a[0] == "i" else a for a in args), dtype))
    made = ("s", len(steps) - 1)
    outer = [made if x is var else leaf(x) for x in node.inputs]
    offset = len(steps)
    for sop, args, dtype in node.op.program:
        steps.append((sop, tuple(outer[a[1]] if a[0] == "i" else ("s", a[1] + offset)
                                 if a[0] == "s" else a for a in args), dtype))
    return Composite(steps, len(inputs))(*inputs)

