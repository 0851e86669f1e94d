"""Misuse that used to give a silently wrong answer now raises, naming the variable and the rule
(and a call that raises changes no shared variable)."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.compile.mode import FAST_RUN

MODES = ["FAST_RUN", "FAST_COMPILE", "DebugMode", "NanGuardMode",
         FAST_RUN.__class__("NUMBA", backend="numba")]


# ---------------------------------------------------------------------------------------
# givens whose value contradicts the static shape of the variable it replaces
# ---------------------------------------------------------------------------------------

def test_givens_with_a_constant_of_another_static_shape_is_refused_at_compile_time():
    xs = T.matrix("xs", shape=(None, 3))
    with pytest.raises(ValueError, match=r"givens: the value for xs.*\(2, 4\).*\(\?, 3\)"):
        symgraph.function([], xs.shape[1], givens={xs: np.arange(8.0).reshape(2, 4)})
    with pytest.raises(ValueError, match=r"givens: the value for xs.*\(\?, 4\)"):
        symgraph.function([T.matrix("m", shape=(None, 4))], xs.sum(),
                          givens={xs: T.matrix("m2", shape=(None, 4))}, on_unused_input="ignore")


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE", "DebugMode"])
def test_givens_with_a_value_of_another_run_time_shape_raises_at_call(mode):
    xs = T.matrix("xs", shape=(None, 3))
    data = symgraph.shared(np.arange(8.0).reshape(2, 4), "data")
    i = T.lscalar("i")
    W = symgraph.shared(np.zeros(3), "W")
    f = symgraph.function([i], [xs.shape[1], (xs * 2).sum()], updates=[(W, W + xs.sum(axis=0))],
                          givens={xs: data[i:i + 2]}, mode=mode)
    with pytest.raises(ValueError, match=r"givens: the value for xs: .*\(2, 4\).*\(\?, 3\)"):
        f(0)
    np.testing.assert_array_equal(W.get_value(), np.zeros(3))
    # a value of the declared shape computes as before
    data.set_value(np.arange(6.0).reshape(2, 3))
    width, total = f(0)
    assert int(width) == 3 and float(total) == 2 * 15.0
    np.testing.assert_array_equal(W.get_value(), [3.0, 5.0, 7.0])


def test_specify_shape_passes_values_and_gradients_through():
    x = T.matrix("x")
    y = T.specify_shape(x, (None, 2), "x of two columns")
    assert y.type.shape == (None, 2)
    assert T.specify_shape(y, (None, 2)) is y  # nothing left to state
    cost = (y ** 2).sum()
    f = symgraph.function([x], [cost, symgraph.grad(cost, x)])
    xv = np.arange(6.0).reshape(3, 2)
    c, g = f(xv)
    assert float(c) == (xv ** 2).sum()
    np.testing.assert_array_equal(g, 2 * xv)
    with pytest.raises(ValueError, match=r"x of two columns: a value of shape \(2, 3\)"):
        f(np.ones((2, 3)))


# ---------------------------------------------------------------------------------------
# an update broadcast past the static dims of its shared variable
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES, ids=str)
@pytest.mark.parametrize("expr", ["Wb + x", "Wb * 2 + x * 3", "T.exp(Wb) - x"])
def test_update_broadcast_past_the_static_dims_is_refused_in_every_mode(mode, expr):
    if getattr(mode, "backend", "") == "numba":
        pytest.importorskip("numba")
    x = T.matrix("x")
    w0 = np.arange(3.0).reshape(1, 3)
    Wb = symgraph.shared(w0.copy(), "Wb", shape=(1, None))
    value = eval(expr, {"T": T, "Wb": Wb, "x": x})
    f = symgraph.function([x], [], updates=[(Wb, value)], mode=mode)
    with pytest.raises(ValueError, match=r"update of shared variable Wb: dimension 0 .* is 2"):
        f(np.ones((2, 3)))
    np.testing.assert_array_equal(Wb.get_value(), w0)
    f(np.full((1, 3), 0.5))  # a value of the declared shape is committed
    want = eval(expr, {"T": np, "Wb": w0, "x": np.full((1, 3), 0.5)})
    np.testing.assert_allclose(Wb.get_value(), want, rtol=1e-12)


def test_update_of_a_large_broadcastable_variable_is_refused_too():
    # sizes where the NumPy path would run deferred updates cache-blocked
    x = T.matrix("x")
    Wb = symgraph.shared(np.zeros((1, 300_000)), "Wb", shape=(1, None))
    f = symgraph.function([x], [], updates=[(Wb, Wb * 0.5 + x)])
    with pytest.raises(ValueError, match="update of shared variable Wb"):
        f(np.ones((2, 300_000)))
    assert not Wb.get_value().any()


# ---------------------------------------------------------------------------------------
# two updates of one storage
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_updating_a_shared_variable_and_its_clone_is_refused(mode):
    W = symgraph.shared(np.ones(3), "W")
    V = W.clone()
    for updates in ([(W, W + 1), (V, V + 10)], [(V, V + 10), (W, W + 1)]):
        with pytest.raises(ValueError, match="shared variables W and W are one storage"):
            symgraph.function([], [], updates=updates, mode=mode)
    np.testing.assert_array_equal(W.get_value(), np.ones(3))
    # reading both and updating one is fine: the update sees the value before the call
    f = symgraph.function([], V * 2, updates=[(W, W + 1)], mode=mode)
    np.testing.assert_array_equal(f(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(V.get_value(), [2.0, 2.0, 2.0])


def test_a_clone_does_not_add_a_default_update_to_an_updated_storage():
    s = symgraph.shared(np.float64(0.0), "s")
    s.default_update = s + 1
    c = s.clone()  # shares the storage and the default update
    f = symgraph.function([], c * 1, updates=[(s, s + 10)])
    assert float(f()) == 0.0 and float(s.get_value()) == 10.0
    g = symgraph.function([], c * 1)  # alone, the clone's default update runs once
    g()
    assert float(s.get_value()) == 11.0


def test_a_copy_whose_swap_sends_two_updates_to_one_storage_is_refused():
    W, V = symgraph.shared(np.ones(2), "W"), symgraph.shared(np.ones(2), "V")
    f = symgraph.function([], [], updates=[(W, W + 1), (V, V * 3)])
    with pytest.raises(ValueError, match="shared variable V is updated twice"):
        f.copy(swap={W: V})
    g = f.copy(swap={W: symgraph.shared(np.zeros(2), "W2")})
    g()
    np.testing.assert_array_equal(V.get_value(), [3.0, 3.0])
