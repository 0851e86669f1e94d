"""Modes and run-time checks: FAST_COMPILE, DebugMode, NanGuardMode, error notes, ``f.source``."""
import warnings

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.graph import Apply, Variable
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.op import Op


def test_source_has_one_def():
    x = T.matrix("x")
    W = symgraph.shared(np.ones((3, 3)), "W")
    f = symgraph.function([x], T.tanh(T.dot(x, W)).sum(), updates=[(W, W * 0.5)])
    assert f.source.count("def ") == 1
    compile(f.source, "<test>", "exec")


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE", "DebugMode", "NanGuardMode"])
def test_modes_agree_with_numpy(mode, rng):
    x = T.matrix("x")
    W = symgraph.shared(rng.standard_normal((3, 2)), "W")
    before = W.get_value()
    y = T.sigmoid(T.dot(x, W)).sum(axis=1)
    f = symgraph.function([x], [y, T.exp(x).mean()], updates=[(W, W * 0.5)], mode=mode)
    xv = rng.standard_normal((4, 3))
    got_y, got_m = f(xv)
    np.testing.assert_allclose(got_y, (1 / (1 + np.exp(-xv @ before))).sum(axis=1), rtol=1e-10)
    np.testing.assert_allclose(got_m, np.exp(xv).mean(), rtol=1e-12)
    np.testing.assert_array_equal(W.get_value(), before * 0.5)


def test_fast_compile_runs_no_rewrites():
    x = T.vector("x")
    y = x * 2
    f = symgraph.function([x], [y, x * 2], mode="FAST_COMPILE")
    # without merge both products stay
    assert f.source.count("np.multiply") == 2
    np.testing.assert_array_equal(f(np.ones(2))[1], [2.0, 2.0])


class _SameType(Op):
    """A unary test op whose output has its input's type."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorVariable(x.type)])


class _Exp(_SameType):
    """exp, correct in ``perform``; the broken ops below get its code wrong."""

    def perform(self, x):
        return np.exp(x)


class _WrongEmit(_Exp):
    """exp whose emitted code is deliberately wrong (adds one)."""

    def emit(self, names):
        return f"np.exp({names[0]}) + 1"


def test_debug_mode_names_op_with_wrong_emit():
    x = T.vector("x")
    s = symgraph.shared(np.float64(0.0), "s")
    y = _WrongEmit()(x)
    f = symgraph.function([x], y.sum(), updates=[(s, s + 1)], mode="DebugMode")
    with pytest.raises(AssertionError, match="DebugMode: _WrongEmit"):
        f(np.zeros(2))
    assert float(s.get_value()) == 0.0
    # the same graph compiled normally runs the (wrong) emitted code without complaint
    assert float(symgraph.function([x], y.sum())(np.zeros(2))) == 4.0


def test_nanguard_names_node_producing_nan_or_inf():
    x = T.vector("x")
    s = symgraph.shared(np.float64(0.0), "s")
    f = symgraph.function([x], T.log(x).sum(), updates=[(s, s + 1)], mode="NanGuardMode")
    assert np.isfinite(f(np.ones(2)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(AssertionError, match=r"NanGuardMode: inf produced by \S*log"):
            f(np.zeros(2))
        with pytest.raises(AssertionError, match=r"NanGuardMode: nan produced by \S*log"):
            f(-np.ones(2))
    assert float(s.get_value()) == 1.0


def test_unknown_mode_rejected():
    x = T.vector("x")
    with pytest.raises(ValueError, match="unknown mode"):
        symgraph.function([x], x, mode="TURBO")


class _LyingShape(Op):
    """Claims a static output length of 3 whatever its input (a broken type inference)."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorVariable(symgraph.TensorType(x.dtype, (3,)))])

    def perform(self, x):
        return x * 2

    def emit(self, names):
        return f"{names[0]} * 2"


def test_debug_mode_checks_static_shapes_and_dtypes():
    x = T.vector("x")
    f = symgraph.function([x], _LyingShape()(x), mode="DebugMode")
    np.testing.assert_array_equal(f(np.ones(3)), [2.0, 2.0, 2.0])
    with pytest.raises(AssertionError, match=r"DebugMode: _LyingShape.*shape \(4,\)"):
        f(np.ones(4))


class _SneakyInplace(_Exp):
    """exp that also writes into its input without declaring it (a broken op)."""

    def emit(self, names):
        return f"np.exp({names[0]}, out={names[0]})"


def test_debug_mode_reports_undeclared_inplace_write():
    x = T.vector("x")
    y = _SneakyInplace()(x * 2)
    f = symgraph.function([x], [y, (x * 2).sum()], mode="DebugMode")
    with pytest.raises(AssertionError, match=r"DebugMode: _SneakyInplace.*modified its input 0"):
        f(np.ones(2))


def test_nanguard_names_non_finite_inputs_and_shared_values():
    x = T.vector("x")
    W = symgraph.shared(np.ones(2), "W")
    f = symgraph.function([x], T.exp(x * W).sum(), mode="NanGuardMode")
    with pytest.raises(AssertionError, match=r"NanGuardMode: nan in input x"):
        f(np.array([1.0, np.nan]))
    W.set_value(np.array([np.inf, 1.0]))
    with pytest.raises(AssertionError, match=r"NanGuardMode: inf in shared variable W"):
        f(np.ones(2))


def test_run_time_errors_name_the_generated_line_and_op():
    W = symgraph.shared(np.ones((2, 2)), "W")
    x = T.vector("x")
    f = symgraph.function([x], T.tanh(T.dot(W, x)) + 1)
    with pytest.raises(ValueError) as info:
        f(np.ones(3))
    notes = " ".join(getattr(info.value, "__notes__", []))
    if hasattr(info.value, "add_note"):
        assert "Dot" in notes and "f.source" in notes


class _UndeclaredView(_SameType):
    """Returns a reversed view of its input without declaring ``view_map`` (a broken op)."""

    def perform(self, x):
        return x[::-1]


def test_debug_mode_reports_undeclared_views():
    x = T.vector("x")
    f = symgraph.function([x], _UndeclaredView()(x * 2), mode="DebugMode")
    with pytest.raises(AssertionError, match=r"_UndeclaredView.*without declaring it in view_map"):
        f(np.arange(3.0))
