"""``theano.OpFromGraph``: a graph packaged as an op.

Calling the op inlines its graph (its inputs replaced by the arguments), which is what
Theano's ``OpFromGraph(..., inline=True)`` does; the values and gradients are those of the
graph, and symgraph's rewrites see through it. ``grad_overrides`` (a function of the inputs and
output gradients, or a list of gradient expressions per input) replaces the gradient.
"""
from __future__ import annotations

from typing import Sequence

from symgraph import gradient as _gradient
from symgraph.graph import Variable, clone_replace, graph_inputs
from symgraph.ops.variable import as_tensor_variable
from symgraph.shared import SharedVariable
from symgraph.compat.theano.gof.op import Op


class OpFromGraph:
    """``OpFromGraph(inputs, outputs, inline=False, grad_overrides='default', ...)``."""

    def __init__(self, inputs: Sequence[Variable], outputs, inline: bool = False,
                 lop_overrides="default", grad_overrides="default", rop_overrides="default",
                 connection_pattern=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"OpFromGraph: unexpected arguments {sorted(kwargs)}")
        if rop_overrides != "default" or lop_overrides != "default":
            raise NotImplementedError("OpFromGraph: rop_overrides/lop_overrides are not "
                                      "supported; symgraph derives R_op from the gradient "
                                      "(use grad_overrides)")
        if connection_pattern is not None:
            raise NotImplementedError("OpFromGraph(connection_pattern=...) is not supported")
        self.inputs = list(inputs)
        self.single = not isinstance(outputs, (list, tuple))
        self.outputs = [outputs] if self.single else list(outputs)
        for v in self.inputs:
            if not isinstance(v, Variable) or v.owner is not None:
                raise TypeError(f"OpFromGraph: inputs must be input variables, got {v}")
            if isinstance(v, SharedVariable):
                raise TypeError(f"OpFromGraph: the shared variable {v} cannot be an input")
        needed = [v for v in graph_inputs(self.outputs, stop=self.inputs)
                  if v.owner is None and v not in self.inputs]
        free = [v for v in needed if not isinstance(v, SharedVariable) and
                not hasattr(v, "data")]
        if free:
            raise ValueError(f"OpFromGraph: the outputs depend on {free}, which are not inputs")
        self.grad_overrides = grad_overrides
        self.inline = inline
        self.name = name

    def __call__(self, *args):
        if len(args) != len(self.inputs):
            raise TypeError(f"OpFromGraph: expected {len(self.inputs)} arguments, got "
                            f"{len(args)}")
        args = [as_tensor_variable(a) for a in args]
        for a, v in zip(args, self.inputs):
            if a.dtype != v.dtype or a.ndim != v.ndim:
                raise TypeError(f"OpFromGraph: argument {a} of type {a.type} does not match "
                                f"input {v} of type {v.type}")
        outs = clone_replace(self.outputs, dict(zip(self.inputs, args)))
        if self.grad_overrides != "default":
            outs = self._override(args, outs)
        # one output gives a variable, as Theano's Op.__call__ did, even from a list
        return outs[0] if len(outs) == 1 else outs

    def _override(self, args, outs):
        n = len(outs)
        return [_GradOverride(self, k, n)(o, *outs, *args) for k, o in enumerate(outs)]

    def make_node(self, *args):
        raise NotImplementedError("OpFromGraph builds no node of its own: call it")

    def override_grads(self, args, output_grads):
        override = self.grad_overrides
        if callable(override):
            return list(override(args, output_grads))
        return [g(args, output_grads) if callable(g) else g for g in override]


class _GradOverride(Op):
    """Output ``k`` of an :class:`OpFromGraph` with overridden gradients: the identity on the
    value, whose gradient goes to the arguments through the override (a vector-Jacobian
    product is linear in the output gradients, so one output at a time, the others zero,
    sums to the override of all of them)."""

    __props__ = ("ofg", "k", "n")
    view_map = {0: [0]}

    def __init__(self, ofg: OpFromGraph, k: int, n: int):
        self.ofg, self.k, self.n = ofg, k, n

    def make_node(self, value, *rest):
        from symgraph.graph import Apply
        return Apply(self, [value] + list(rest), [value.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, output_grads):
        from symgraph.ops.elemwise import zeros_like
        outs, args = inputs[1:1 + self.n], inputs[1 + self.n:]
        ogs = [output_grads[0] if j == self.k else zeros_like(o) for j, o in enumerate(outs)]
        grads = self.ofg.override_grads(list(args), ogs)
        if len(grads) != len(args):
            raise ValueError(f"OpFromGraph: grad_overrides gave {len(grads)} gradients for "
                             f"{len(args)} inputs")
        return [_gradient.disconnected] * (1 + self.n) + [
            _gradient.disconnected if g is None else g for g in grads]
