"""Jacobians and Hessians.

:func:`jacobian` builds one ``grad`` per row when the length of the expression is static: the
result is an ordinary graph that can be differentiated again. Otherwise the number of rows is a
run-time fact and a graph cannot be unrolled over it; :class:`JacobianRows` then holds the
expression as a template, compiles its vector-Jacobian product ``u -> J^T u`` once (on first
use) into an ordinary symgraph function, and calls it for each basis vector ``u = e_i`` at run
time. It costs one VJP per row, like the unrolled graph, but the rows are not fused or shared
with the rest of the graph, and the result cannot be differentiated again (a Hessian of unknown
size is fine, a third derivative is not). Compiling at run time puts this module above
:mod:`symgraph.compile`.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from symgraph.compile.function import function
from symgraph.gradient import Lop, _as_list, disconnected_grad, grad
from symgraph.graph import Apply, Constant, Variable, clone_replace, graph_inputs
from symgraph.op import Op
from symgraph.ops.join import stack
from symgraph.ops.shape import alloc, shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable, constant
from symgraph.types import TensorType


class JacobianRows(Op):
    """Stack of ``d expression[i] / d wrt`` over the rows ``i`` of a 1-d ``expression``.

    Inputs are the variables the expression is computed from (its graph inputs, shared
    variables included, and the ``wrt`` variables); output ``k`` has shape
    ``(len(expression),) + wrt[k].shape``. Each instance is its own op (equality is identity):
    two templates are never merged.

    Gradient: not defined (raises).
    """

    def __init__(self, expression: Variable, wrt: Sequence[Variable],
                 inputs: Sequence[Variable]):
        self.expression = expression
        self.wrt = list(wrt)
        self.template_inputs = list(inputs)
        self._compiled = None

    # identity semantics: the template graph is the op's parameter
    def __eq__(self, other) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __str__(self) -> str:
        return f"JacobianRows{{{self.expression} wrt {', '.join(map(str, self.wrt))}}}"

    __repr__ = __str__

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_compiled"] = None  # compiled functions are rebuilt on first use
        return state

    def make_node(self, *inputs) -> Apply:
        if len(inputs) != len(self.template_inputs):
            raise TypeError(f"{self}: expected {len(self.template_inputs)} inputs, got "
                            f"{len(inputs)}")
        for new, old in zip(inputs, self.template_inputs):
            if not isinstance(new, Variable) or new.dtype != old.dtype or new.ndim != old.ndim:
                raise TypeError(f"{self}: input {new} cannot stand for {old} of type {old.type}")
        n = self.expression.type.shape[0]
        outs = [TensorVariable(TensorType(w.dtype, (n,) + w.type.shape)) for w in self.wrt]
        return Apply(self, list(inputs), outs)

    def _functions(self):
        if self._compiled is None:
            clones = [TensorVariable(TensorType(v.dtype, (None,) * v.ndim), name=v.name)
                      for v in self.template_inputs]
            memo = dict(zip(self.template_inputs, clones))
            (expr,) = clone_replace([self.expression], memo)
            wrt = [memo[w] for w in self.wrt]
            u = TensorVariable(TensorType(expr.dtype, (None,)), name="row_selector")
            vjp = Lop(expr, wrt, u, disconnected_inputs="ignore")
            forward = function(clones, expr, on_unused_input="ignore")
            backward = function(clones + [u], vjp, on_unused_input="ignore")
            self._compiled = (forward, backward)
        return self._compiled

    def perform(self, *values):
        forward, backward = self._functions()
        n = int(np.shape(forward(*values))[0])
        rows: List[List[np.ndarray]] = [[] for _ in self.wrt]
        selector = np.zeros(n, dtype=self.expression.dtype)
        for i in range(n):
            selector[:] = 0
            selector[i] = 1
            for k, g in enumerate(backward(*values, selector)):
                rows[k].append(g)
        index = {v: i for i, v in enumerate(self.template_inputs)}
        results = []
        for k, w in enumerate(self.wrt):
            if rows[k]:
                results.append(np.stack(rows[k]).astype(w.dtype, copy=False))
            else:
                shape = np.shape(values[index[w]])
                results.append(np.zeros((0,) + shape, dtype=w.dtype))
        return results[0] if len(results) == 1 else tuple(results)

    def grad(self, inputs, outputs, output_grads):
        raise NotImplementedError(
            f"{self}: the Jacobian of an expression of unknown length cannot be differentiated "
            f"again; give the input a static shape (e.g. T.vector(shape=(3,))) so the rows are "
            f"built symbolically")


def jacobian_rows(expression: Variable, wrt: Sequence[Variable]) -> List[Variable]:
    """The Jacobian of the 1-d ``expression`` w.r.t. each of ``wrt``, computed row by row at
    run time (see :class:`JacobianRows`)."""
    wrt = list(wrt)
    inputs = [v for v in graph_inputs([expression], stop=wrt) if not isinstance(v, Constant)]
    for w in wrt:
        if w not in inputs:
            inputs.append(w)
    op = JacobianRows(expression, wrt, inputs)
    node = op.make_node(*inputs)
    return list(node.outputs)


def jacobian(expression: Variable, wrt, consider_constant=None,
             disconnected_inputs: str = "raise"):
    """Jacobian of a vector (or scalar) ``expression``: one row per element of it.

    With a static length (``T.vector(shape=(n,))``, a constant-size computation, ...) the rows
    are built symbolically, one ``grad`` each, and the result is an ordinary graph that can be
    differentiated again. With an unknown length the rows are computed at run time by
    :class:`JacobianRows`, which calls a compiled vector-Jacobian
    product once per row (its result cannot be differentiated again).
    """
    ws, container = _as_list(wrt)
    expression = as_tensor_variable(expression)
    if expression.ndim == 0:
        rows = grad(expression, ws, consider_constant, disconnected_inputs)
        return rows if container is not None else rows[0]
    if expression.ndim != 1:
        raise TypeError(f"jacobian: expression must be a scalar or a vector, got "
                        f"{expression.type}; flatten it first")
    n = expression.type.shape[0]
    for w in ws:
        if not isinstance(w, Variable):
            raise TypeError(f"jacobian: wrt must be symbolic variables, got {type(w).__name__}")
    if disconnected_inputs == "raise":
        # rows are built with 'ignore'; a wrt the whole expression misses is refused once here
        grad(expression.sum(), ws, consider_constant, disconnected_inputs="raise")
    if n is None:
        if consider_constant:
            (expression,) = clone_replace(
                [expression], {c: disconnected_grad(c) for c in consider_constant})
        result = jacobian_rows(expression, ws)
        return result if container is not None else result[0]
    per_w: List[List[Variable]] = [[] for _ in ws]
    for i in range(n):
        gs = grad(expression[i], ws, consider_constant, disconnected_inputs="ignore")
        for k, g in enumerate(gs):
            per_w[k].append(g)
    result = [stack(rows) if rows else
              alloc(constant(0, dtype=w.dtype), 0, *[shape_i(w, k) for k in range(w.ndim)])
              for w, rows in zip(ws, per_w)]
    return result if container is not None else result[0]


def hessian(cost: Variable, wrt, consider_constant=None, disconnected_inputs: str = "raise"):
    """Hessian of a scalar ``cost`` w.r.t. each vector in ``wrt`` (the Jacobian of its
    gradient)."""
    ws, container = _as_list(wrt)
    out = []
    for w in ws:
        if w.ndim != 1:
            raise TypeError(f"hessian: wrt must be vectors, got {w} of type {w.type}")
        g = grad(cost, w, consider_constant, disconnected_inputs)
        out.append(jacobian(g, w, consider_constant, disconnected_inputs="ignore"))
    return out if container is not None else out[0]
