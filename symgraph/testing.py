"""Helpers for testing ops: gradients against finite differences (``check_grad``), symbolic
shape inference against real shapes (``check_infer``) and emitted code against ``perform``
(``check_emit``), and :func:`verify_grad`, the directional finite-difference check they build
on. Every failure raises ``AssertionError`` naming the op."""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence

import numpy as np

from symgraph.compile.function import function
from symgraph.gradient import grad
from symgraph.graph import Apply, Constant, Variable, toposort
from symgraph.op import Op
from symgraph.ops.shape import shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType

__all__ = ["check_grad", "check_infer", "check_emit", "default_tolerance", "verify_grad",
           "GradientError"]


def default_tolerance(dtype) -> float:
    """Relative/absolute tolerance used when comparing values of ``dtype``."""
    dt = np.dtype(dtype)
    if dt.kind not in "fc":
        return 0.0
    return {2: 1e-2, 4: 1e-4, 8: 1e-7}.get(dt.itemsize if dt.kind == "f" else dt.itemsize // 2,
                                           1e-7)


def check_grad(fn: Callable, points: Sequence, rng: np.random.Generator, **kwargs) -> None:
    """Check the gradient of ``fn`` at ``points`` against central finite differences.

    Wraps :func:`verify_grad` (one random projection and one random direction
    per test; extra keyword arguments such as ``eps``, ``tol``, ``n_tests``, ``mode`` are passed
    through), and first checks that every gradient has the shape and dtype of its input: a
    directional derivative alone would not notice a gradient that still carries broadcast
    dimensions.
    """
    if rng is None:
        raise TypeError("check_grad: pass an explicit rng (np.random.default_rng(seed))")
    points = [np.asarray(p) for p in points]
    inputs = _inputs_for(points, static=False)
    out = as_tensor_variable(fn(*inputs))
    cost = out.sum() if out.ndim else out
    grads = grad(cost, inputs, disconnected_inputs="ignore")
    values = function(inputs, grads, mode=kwargs.get("mode"), on_unused_input="ignore")(*points)
    for i, (g, p) in enumerate(zip(values, points)):
        g = np.asarray(g)
        if g.shape != p.shape or g.dtype != p.dtype:
            op = out.owner.op if out.owner is not None else out
            raise AssertionError(f"{op}: the gradient of input {i} has shape {g.shape} and dtype "
                                 f"{g.dtype}, but the input has shape {p.shape} and dtype "
                                 f"{p.dtype}")
    verify_grad(fn, points, rng=rng, **kwargs)


def _inputs_for(values: Sequence, static: bool) -> List[Variable]:
    out = []
    for i, v in enumerate(values):
        if isinstance(v, Variable):
            out.append(v)
            continue
        arr = np.asarray(v)
        shape = arr.shape if static else (None,) * arr.ndim
        out.append(TensorVariable(TensorType(arr.dtype, shape), name=f"x{i}"))
    return out


def _feed(inputs: Sequence[Variable], values: Sequence) -> tuple:
    keep = [(i, np.asarray(v)) for i, v in zip(inputs, values) if not isinstance(v, Variable)]
    return [i for i, _ in keep], [v for _, v in keep]


def _symbolic_dim(d) -> Variable:
    if isinstance(d, Variable):
        return d
    return as_tensor_variable(np.int64(d))


def check_infer(fn: Callable, values: Sequence, static: bool = False,
                mode: str = "FAST_COMPILE") -> None:
    """Check every node's ``infer_shape`` in the graph ``fn(*inputs)`` against real shapes.

    Inputs are fresh variables of the values' dtypes and ranks (all dimensions unknown unless
    ``static``); values that are already variables (constants) are used as they are. For each
    node whose op implements ``infer_shape``, the symbolic shapes it returns (built from the
    symbolic shapes of its inputs) are compiled and compared with the shapes of the values the
    node actually computes; the first difference raises, naming the op.
    """
    inputs = _inputs_for(values, static)
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    outs = [as_tensor_variable(o) for o in outs]
    feed_vars, feed_vals = _feed(inputs, values)
    checks = []
    for node in toposort(outs):
        in_shapes = [tuple(shape_i(v, i) for i in range(v.ndim)) for v in node.inputs]
        inferred = node.op.infer_shape(node, in_shapes)
        if inferred is None:
            continue
        if len(inferred) != len(node.outputs):
            raise AssertionError(f"{node.op}.infer_shape returned {len(inferred)} shapes for "
                                 f"{len(node.outputs)} outputs")
        for var, shp in zip(node.outputs, inferred):
            if len(shp) != var.ndim:
                raise AssertionError(f"{node.op}.infer_shape gives {len(shp)} dimensions for "
                                     f"output {var} of type {var.type}")
            checks.append((node, var, [_symbolic_dim(d) for d in shp]))
    if not checks:
        return
    targets = [c[1] for c in checks]
    dims = [d for c in checks for d in c[2]]
    f = function(feed_vars, targets + dims, mode=mode, on_unused_input="ignore")
    results = f(*feed_vals)
    actual, inferred_vals = results[:len(targets)], results[len(targets):]
    k = 0
    for (node, var, shp), value in zip(checks, actual):
        got = tuple(int(np.asarray(d)) for d in inferred_vals[k:k + len(shp)])
        k += len(shp)
        real = np.shape(value)
        if got != real:
            raise AssertionError(f"{node.op}: infer_shape gives {got} but the output {var} has "
                                 f"shape {real} (node {node})")
        for axis, s in enumerate(var.type.shape):
            if s is not None and s != real[axis]:
                raise AssertionError(f"{node.op}: static shape {var.type.shape} of output {var} "
                                     f"contradicts its value's shape {real}")


def _compare(label: str, got, want, rtol: Optional[float], atol: Optional[float]) -> None:
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise AssertionError(f"{label}: shape {got.shape}, expected {want.shape}")
    if got.dtype != want.dtype:
        raise AssertionError(f"{label}: dtype {got.dtype}, expected {want.dtype}")
    if got.dtype.kind in "fc":
        tol = default_tolerance(got.dtype)
        ok = np.allclose(got, want, rtol=tol if rtol is None else rtol,
                         atol=tol if atol is None else atol, equal_nan=True)
    else:
        ok = np.array_equal(got, want)
    if not ok:
        diff = np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))) if got.size \
            else 0.0
        raise AssertionError(f"{label}: values differ (max abs diff {diff:.3g})")


def check_emit(op: Op, values: Sequence, rtol: Optional[float] = None,
               atol: Optional[float] = None) -> None:
    """Check that the code the linker emits for ``op`` computes what ``op.perform`` does.

    ``op`` is applied to fresh inputs of the values' exact types (static shapes; values that
    are variables are used as they are), compiled with ``mode='FAST_COMPILE'`` (no rewrites, so
    the node runs through ``op.emit``) and run on ``values``; each output must match
    ``op.perform(*values)`` in shape, dtype and value.
    """
    inputs = _inputs_for(values, static=True)
    node: Apply = op.make_node(*inputs)
    feed_vars, feed_vals = _feed(inputs, values)
    f = function(feed_vars, list(node.outputs), mode="FAST_COMPILE", on_unused_input="ignore")
    got = f(*[v.copy() for v in feed_vals])
    args = [v.data if isinstance(v, Constant) else np.asarray(v) for v in values]
    ref = op.perform(*[a.copy() for a in args])
    refs = ref if len(node.outputs) > 1 else (ref,)
    if len(refs) != len(node.outputs):
        raise AssertionError(f"{op}: perform returned {len(refs)} values for "
                             f"{len(node.outputs)} outputs")
    for i, (g, r, var) in enumerate(zip(got, refs, node.outputs)):
        r = np.asarray(r)
        if r.dtype != np.dtype(var.dtype):
            raise AssertionError(f"{op}: perform returned dtype {r.dtype} for output {i}, whose "
                                 f"type is {var.type}")
        _compare(f"{op}: emitted code vs perform (output {i})", g, r, rtol, atol)


def numeric_grad_direction(f, points: List[np.ndarray], directions: List[np.ndarray],
                           eps: float) -> float:
    """Central difference of the scalar ``f`` along ``directions``."""
    plus = f(*[p + eps * d for p, d in zip(points, directions)])
    minus = f(*[p - eps * d for p, d in zip(points, directions)])
    return float((plus - minus) / (2 * eps))


def verify_grad(fun, pt, n_tests: int = 2, rng=None, eps: Optional[float] = None,
                out_type=None, abs_tol: Optional[float] = None,
                rel_tol: Optional[float] = None, mode=None, cast_to_output_type=False,
                no_debug_ref=True, tol: Optional[float] = None):
    """Check the symbolic gradient of ``fun`` against central finite differences.

    ``fun`` maps symbolic inputs (one per array in ``pt``) to a symbolic output. The output is
    projected on a random tensor to a scalar ``c``; along a random direction ``d`` per input,
    the directional derivative ``sum_i <dc/dx_i, d_i>`` must equal
    ``(c(x + eps d) - c(x - eps d)) / (2 eps)``. One scalar comparison per test, whatever the
    sizes (the approach of Theano/PyTensor and autograd).

    Raises ``AssertionError`` with both values when they differ beyond tolerance.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    if isinstance(rng, np.random.RandomState):
        rng = np.random.default_rng(rng.randint(2 ** 31))
    pt = [np.array(p) for p in pt]
    for p in pt:
        if p.dtype.kind != "f":
            raise TypeError(f"verify_grad: points must be float arrays, got {p.dtype}")
    low = any(p.dtype in (np.float32, np.float16) for p in pt)
    if eps is None:
        eps = 1e-2 if low else 1e-6
    tol = tol if tol is not None else (3e-2 if low else 1e-4)
    abs_tol = abs_tol if abs_tol is not None else tol
    rel_tol = rel_tol if rel_tol is not None else tol
    inputs = [TensorVariable(TensorType(p.dtype, (None,) * p.ndim), name=f"x{i}")
              for i, p in enumerate(pt)]
    out = fun(*inputs)
    if isinstance(out, (list, tuple)):
        raise TypeError("verify_grad: fun must return a single variable")
    out = as_tensor_variable(out)
    value = np.asarray(function(inputs, out, mode=mode, on_unused_input="ignore")(*pt))
    proj_val = rng.uniform(0.1, 1.0, size=value.shape).astype(out.dtype)
    proj = TensorVariable(TensorType(out.dtype, (None,) * out.ndim), name="projection")
    cost = (out * proj).sum() if out.ndim else out * proj
    cost_fn = function(inputs + [proj], cost, mode=mode, on_unused_input="ignore")
    grads = grad(cost, inputs, disconnected_inputs="ignore")
    grad_fn = function(inputs + [proj], grads, mode=mode, on_unused_input="ignore")
    for _ in range(n_tests):
        dirs = [rng.standard_normal(p.shape).astype(p.dtype) for p in pt]
        analytic = float(sum(np.sum(np.asarray(g, dtype=np.float64) * d)
                             for g, d in zip(grad_fn(*pt, proj_val), dirs)))
        numeric = numeric_grad_direction(
            lambda *xs: np.asarray(cost_fn(*xs, proj_val), dtype=np.float64), pt, dirs, eps)
        err = abs(analytic - numeric)
        if err > abs_tol and err > rel_tol * max(abs(analytic), abs(numeric)):
            raise GradientError(f"verify_grad: symbolic directional derivative {analytic!r} "
                                f"!= finite difference {numeric!r} (abs err {err:.3g}, "
                                f"eps={eps})")


class GradientError(AssertionError):
    """``verify_grad`` found a symbolic gradient that disagrees with finite differences."""


verify_grad.E_grad = GradientError  # Theano's spelling: ``except verify_grad.E_grad``
