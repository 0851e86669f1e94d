"""Property test: on random well-typed graphs, the rewritten compiled function equals the
unrewritten one (FAST_COMPILE), and the gradients of the rewritten graph match finite
differences.

Graphs are drawn from an op table (elementwise with broadcasting, the patterns the rewrites
target, reductions, dot, shape ops and indexing) over float32/float64 inputs of random shapes,
some dimensions static. About 200 examples run by default; ``--runslow`` runs thousands.
"""
from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import symgraph  # noqa: E402
import symgraph.tensor as T  # noqa: E402
from symgraph.compile.mode import FAST_RUN  # noqa: E402
from symgraph.graph import Constant, Variable, clone_replace, toposort  # noqa: E402
from symgraph.ops.variable import TensorVariable
from symgraph.types import TensorType  # noqa: E402

# -----------------------------------------------------------------------------------------
# the op table: (name, arity, build, precondition on operand values, differentiable)
# -----------------------------------------------------------------------------------------


def _pos(x):
    return x * x + 1


def _small(limit):
    return lambda *vals: all(np.all(np.abs(v) < limit) for v in vals)


def _always(*vals):
    return True


UNARY = [
    ("neg", lambda x: -x, _always, True),
    ("exp", T.exp, _small(4), True),
    ("tanh", T.tanh, _always, True),
    ("sigmoid", T.sigmoid, _always, True),
    ("log1p_pattern", lambda x: T.log(1 + x * x), _always, True),
    ("sqrt_pos", lambda x: T.sqrt(_pos(x)), _always, True),
    ("softplus_pattern", lambda x: T.log(1 + T.exp(x)), _small(30), True),
    ("log_sigmoid", lambda x: T.log(T.sigmoid(x)), _small(30), True),
    ("log1m_sigmoid", lambda x: T.log(1 - T.sigmoid(x)), _small(30), True),
    ("expm1_pattern", lambda x: T.exp(x) - 1, _small(4), True),
    ("log_exp", lambda x: T.log(T.exp(x)), _small(30), True),
    ("log1mexp", lambda x: T.log(1 - T.exp(-_pos(x))), _small(30), True),
    ("pow2", lambda x: x ** 2, _small(100), True),
    ("pow_half", lambda x: _pos(x) ** 0.5, _always, True),
    ("pow_minus_one", lambda x: _pos(x) ** -1, _always, True),
    ("pow_one", lambda x: x ** 1, _always, True),
    ("pow3", lambda x: x ** 3, _small(10), True),
    ("const_chain", lambda x: ((x + 1) * 2.0 + 3) * 0.5 - 1, _always, True),
    ("neg_sub", lambda x: -(x - 2.0) * -1, _always, True),
    ("fill_zero_add", lambda x: x + T.zeros_like(x) * x, _always, True),
    ("sub_sigmoid", lambda x: (1 - T.sigmoid(x)) * T.sigmoid(x), _always, True),
    ("self_mul", lambda x: x * x, _small(100), True),
    ("exp_ratio", lambda x: T.exp(x) / (1 + T.exp(x)), _small(30), True),
    ("double_transpose", lambda x: x.T.T + 1, _always, True),
    ("sum_unit_dim", lambda x: x.dimshuffle(*(["x"] + list(range(x.ndim)))).sum(axis=0),
     _always, True),
    ("reshape_twice", lambda x: x.flatten().reshape((-1, 1)).flatten() if x.ndim else x,
     _always, True),
    ("neutral", lambda x: (x * 1 + 0) / 1 - 0, _always, True),
    ("mul_zero", lambda x: x * 0 + x, _always, True),
    ("double_neg", lambda x: -(-x) * 2, _always, True),
    ("cast_roundtrip", lambda x: T.cast(T.cast(x, "float64"), x.dtype), _always, True),
    ("ones_like", lambda x: T.ones_like(x) * 3 + x, _always, True),
    ("shape_fill", lambda x: T.alloc(T.constant(np.asarray(0.5, x.dtype)), *[x.shape[i] for i
                                                                            in range(x.ndim)])
     + x, _always, True),
    ("transpose", lambda x: x.T, _always, True),
    ("sum_scalar_mul", lambda x: (x * 0.5).sum(axis=-1) if x.ndim else x * 0.5, _always, True),
    ("sum_all", lambda x: x.sum(), _always, True),
    ("mean_all", lambda x: x.mean(), _always, True),
    ("max_last", lambda x: x.max(axis=-1) if x.ndim else x, _always, False),
    ("relu", lambda x: T.maximum(x, 0), _always, False),
    ("flatten", lambda x: x.flatten() if x.ndim > 1 else x, _always, True),
    ("reshape_back", lambda x: x.flatten().reshape(x.shape) if x.ndim > 1 else x, _always,
     True),
    ("expand", lambda x: x.dimshuffle(*(["x"] + list(range(x.ndim)))) if x.ndim < 3 else x,
     _always, True),
    ("index0", lambda x: x[0] if x.ndim else x, _always, True),
    ("reverse", lambda x: x[::-1] if x.ndim else x, _always, True),
]

BINARY = [
    ("add", lambda x, y: x + y, _always, True),
    ("sub", lambda x, y: x - y, _always, True),
    ("mul", lambda x, y: x * y, _always, True),
    ("div", lambda x, y: x / _pos(y), _always, True),
    ("add_neg", lambda x, y: x + (-y), _always, True),
    ("cancel", lambda x, y: (x / _pos(y)) * _pos(y), _always, True),
    ("maximum", T.maximum, _always, False),
    ("second", T.second, _always, True),
    # boolean masks converted to a float (NumPy code folds the conversion into the ufunc)
    ("mask", lambda x, y: x * T.cast(y > 0, x.dtype), _always, False),
    ("two_masks", lambda x, y: (T.cast(x > 0, x.dtype) + T.cast(y < 0, x.dtype)) * x, _always,
     False),
]


def _evaluate(out: Variable, known: dict) -> np.ndarray:
    """The value of ``out`` by running each node's ``perform`` (the reference semantics)."""
    values = dict(known)
    for node in toposort([out], stop=list(known)):
        args = [v.data if isinstance(v, Constant) else values[v] for v in node.inputs]
        res = node.op.perform(*args)
        res = res if len(node.outputs) > 1 else (res,)
        for o, r in zip(node.outputs, res):
            values[o] = np.asarray(r)
    return values[out] if out.owner is not None or out in values else np.asarray(out.data)


def _broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


@st.composite
def graphs(draw):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    ndim = draw(st.integers(0, 3))
    base = [draw(st.integers(1, 4)) for _ in range(ndim)]
    n_inputs = draw(st.integers(1, 3))
    inputs, values = [], {}
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    for k in range(n_inputs):
        drop = draw(st.integers(0, ndim))
        shape = [1 if draw(st.booleans()) and draw(st.booleans()) else d for d in base[drop:]]
        static = [d if draw(st.integers(0, 3)) == 0 or d == 1 and draw(st.booleans()) else None
                  for d in shape]
        # now and then an input of the other float dtype: rewrites must keep the upcasts
        dt = dtype if draw(st.integers(0, 4)) else ({"float32", "float64"} - {dtype}).pop()
        var = TensorVariable(TensorType(dt, static), name=f"x{k}")
        inputs.append(var)
        values[var] = (rng.uniform(-2, 2, size=shape)).astype(dt)
    pool = list(inputs)
    differentiable = True
    ops = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "dot"]))
        try:
            if kind == "unary":
                name, build, pre, diff = draw(st.sampled_from(UNARY))
                x = draw(st.sampled_from(pool))
                if not pre(_evaluate(x, values)):
                    continue
                out = build(x)
            elif kind == "binary":
                name, build, pre, diff = draw(st.sampled_from(BINARY))
                x, y = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
                xv, yv = _evaluate(x, values), _evaluate(y, values)
                if not _broadcastable(xv.shape, yv.shape) or max(xv.ndim, yv.ndim) > 3:
                    continue
                out = build(x, y)
            else:
                name, diff = "dot", True
                x, y = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
                xv, yv = _evaluate(x, values), _evaluate(y, values)
                if not (1 <= xv.ndim <= 2 and 1 <= yv.ndim <= 2) or xv.shape[-1] != yv.shape[0]:
                    continue
                out = T.dot(x, y)
        except (TypeError, ValueError):
            continue  # static shapes refused the combination at build time
        val = _evaluate(out, values)
        if not np.all(np.isfinite(val)) or np.max(np.abs(val), initial=0) > 1e4:
            continue
        pool.append(out)
        ops.append(name)
        differentiable = differentiable and diff
    out = pool[-1]
    return inputs, [values[v] for v in inputs], out, ops, differentiable


def _tolerance(dtype):
    return (2e-4, 2e-4) if dtype == "float32" else (1e-9, 1e-10)


#: the rewrite phases without fusion, then the whole pipeline: a failure names the culprit
PIPELINES = (("rewrites", FAST_RUN.excluding("fuse")), ("FAST_RUN", FAST_RUN))


def check_graph(inputs, vals, out, ops, differentiable, rng, grads=True):
    """Compiled (rewritten) == FAST_COMPILE; gradients of the rewritten graph == finite
    differences (float64, differentiable ops only)."""
    ref = symgraph.function(inputs, out, mode="FAST_COMPILE", on_unused_input="ignore")
    want = np.asarray(ref(*vals))
    # a float32 anywhere limits the precision of everything computed from it
    low = "float32" if any(v.dtype == np.float32 for v in vals) else out.dtype
    rtol, atol = _tolerance(low)
    for label, mode in PIPELINES:
        fast = symgraph.function(inputs, out, mode=mode, on_unused_input="ignore")
        got = np.asarray(fast(*vals))
        assert got.dtype == want.dtype, (label, ops, got.dtype, want.dtype)
        assert got.shape == want.shape, (label, ops, got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"{label} {ops}")
    if grads and differentiable and out.dtype == "float64" and \
            all(v.dtype == "float64" for v in vals) and out.owner is not None:
        def rebuilt(*new):
            return clone_replace([out], dict(zip(inputs, new)))[0]
        for label, mode in PIPELINES:
            try:
                T.verify_grad(rebuilt, [v.astype("float64") for v in vals], rng=rng,
                              n_tests=1, mode=mode)
            except AssertionError as exc:
                raise AssertionError(f"{label} {ops}: {exc}") from None


_FAST = settings(max_examples=200, deadline=None, derandomize=True,
                 suppress_health_check=list(HealthCheck))


@_FAST
@given(graphs())
def test_rewrites_preserve_values_and_gradients(example):
    rng = np.random.default_rng(0)
    check_graph(*example, rng=rng)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(graphs())
def test_rewrites_preserve_values_and_gradients_many(example):
    rng = np.random.default_rng(1)
    check_graph(*example, rng=rng)


# -----------------------------------------------------------------------------------------
# regressions found by the property test
# -----------------------------------------------------------------------------------------

def _vars(*specs):
    return [TensorVariable(TensorType(dtype, shape), name=f"x{k}")
            for k, (dtype, shape) in enumerate(specs)]


def test_regression_cancel_keeps_broadcast_of_scalar_product(rng):
    """(d / y) * y with a 0-d d and a length-1 vector y is a length-1 vector, not a scalar."""
    x0, x1 = _vars(("float32", (None,)), ("float32", (None,)))
    d = T.dot(x0, x1)
    pos = x0 * x0 + 1
    out = (-d / pos) * pos
    vals = [np.array([0.54784673], "float32"), np.array([-0.92085314], "float32")]
    check_graph([x0, x1], vals, out, ["dot", "neg", "cancel"], True, rng)


def test_regression_gradient_of_division_by_broadcast_tanh(rng):
    """x0 / (tanh(x1)**2 + 1) with x0 of shape (1, 1, 1) and x1 of shape (1,)."""
    x0, x1 = _vars(("float64", (None, None, None)), ("float64", (None,)))
    t = T.tanh(x1)
    out = x0 / (t * t + 1)
    vals = [np.array([[[0.54784675]]]), np.array([-0.92085314])]
    check_graph([x0, x1], vals, out, ["tanh", "div"], True, rng)


def test_regression_float32_softplus_into_float64_sum(rng):
    """A float32 softplus (rewritten: exact) added to float64 differs from the float32
    log(1 + exp(x)) reference by float32 rounding only."""
    x0, x1 = _vars(("float64", (None,)), ("float32", (None,)))
    out = x0 + -T.log(1 + T.exp(-(-x1)))
    vals = [np.array([0.54784675]), np.array([-0.92085314], dtype="float32")]
    check_graph([x0, x1], vals, out, ["neg", "neg", "softplus_pattern", "neg", "add"], True, rng)
