"""Semantics of ``symgraph.function``: updates, givens, inputs, outputs, modes and errors."""
import copy
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import In, Out
from symgraph.graph import Apply, Variable, as_tensor_variable
from symgraph.op import Op


# ---------------------------------------------------------------------------------------
# updates
# ---------------------------------------------------------------------------------------

def test_swap_updates_use_pre_call_values(rng):
    va, vb = rng.standard_normal(3), rng.standard_normal(3)
    a, b = symgraph.shared(va, "a"), symgraph.shared(vb, "b")
    f = symgraph.function([], [], updates=[(a, b), (b, a)])
    f()
    np.testing.assert_array_equal(a.get_value(), vb)
    np.testing.assert_array_equal(b.get_value(), va)
    f()
    np.testing.assert_array_equal(a.get_value(), va)
    np.testing.assert_array_equal(b.get_value(), vb)


def test_outputs_see_pre_call_values_of_updated_shared():
    s = symgraph.shared(np.float64(1.0), "s")
    f = symgraph.function([], [s * 10, s], updates=[(s, s + 1)])
    out, cur = f()
    assert float(out) == 10.0 and float(cur) == 1.0
    assert float(s.get_value()) == 2.0
    out, cur = f()
    assert float(out) == 20.0 and float(cur) == 2.0


def test_chained_updates_read_old_values(rng):
    # u <- u + v, v <- u * 2: both from the values before the call
    u = symgraph.shared(np.array([1.0, 2.0]), "u")
    v = symgraph.shared(np.array([10.0, 20.0]), "v")
    symgraph.function([], [], updates=OrderedDict([(u, u + v), (v, u * 2)]))()
    np.testing.assert_array_equal(u.get_value(), [11.0, 22.0])
    np.testing.assert_array_equal(v.get_value(), [2.0, 4.0])


def test_failing_call_changes_no_shared_variable(rng):
    W = symgraph.shared(rng.standard_normal((2, 2)), "W")
    c = symgraph.shared(np.int64(0), "count")
    before_w, before_c = W.get_value(), c.get_value()
    x = T.vector("x")
    # the update of W is computable, but the dot output fails for a length-3 x
    f = symgraph.function([x], [x.sum(), T.dot(W, x)], updates=[(W, W + 1), (c, c + 1)])
    with pytest.raises(ValueError):
        f(np.ones(3))
    np.testing.assert_array_equal(W.get_value(), before_w)
    assert int(c.get_value()) == int(before_c)
    f(np.ones(2))  # a good call then commits both
    np.testing.assert_array_equal(W.get_value(), before_w + 1)
    assert int(c.get_value()) == 1


def test_failing_update_after_successful_update_changes_nothing(rng):
    a = symgraph.shared(np.zeros(2), "a")
    b = symgraph.shared(np.zeros(2), "b")
    x = T.vector("x")
    M = symgraph.shared(np.ones((2, 2)), "M")
    f = symgraph.function([x], [], updates=[(a, a + 1), (b, T.dot(M, x))])
    with pytest.raises(ValueError):
        f(np.ones(5))
    np.testing.assert_array_equal(a.get_value(), [0.0, 0.0])
    np.testing.assert_array_equal(b.get_value(), [0.0, 0.0])


@pytest.mark.parametrize("kind", ["list", "tuple", "dict", "ordered"])
def test_updates_containers(kind):
    a = symgraph.shared(np.float64(1.0), "a")
    b = symgraph.shared(np.float64(5.0), "b")
    pairs = [(a, a * 2), (b, b - 1)]
    updates = {"list": pairs, "tuple": tuple(pairs), "dict": dict(pairs),
               "ordered": OrderedDict(pairs)}[kind]
    f = symgraph.function([], [], updates=updates)
    f()
    f()
    assert float(a.get_value()) == 4.0
    assert float(b.get_value()) == 3.0


def test_update_with_python_number_value():
    a = symgraph.shared(np.float32(1.0), "a")
    symgraph.function([], [], updates=[(a, 0.5)])()
    assert a.get_value().dtype == np.float32 and float(a.get_value()) == 0.5


def test_update_dtype_mismatch_rejected_at_compile_time():
    a = symgraph.shared(np.zeros(3, dtype=np.float32), "a")
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"update of shared variable a.*float64.*cast"):
        symgraph.function([x], [], updates=[(a, a + x)])


def test_update_rank_mismatch_rejected_at_compile_time():
    a = symgraph.shared(np.zeros(3), "acc")
    with pytest.raises(TypeError, match=r"update of shared variable acc.*0-d"):
        symgraph.function([], [], updates=[(a, a.sum())])


def test_update_static_shape_mismatch_rejected():
    a = symgraph.shared(np.zeros((1, 3)), "row", broadcastable=(True, False))
    x = T.matrix("x", shape=(2, 3))
    with pytest.raises(ValueError, match="update of row: dimension 0"):
        symgraph.function([x], [], updates=[(a, x)])


def test_update_target_not_shared():
    x = T.vector("x")
    with pytest.raises(TypeError, match="update target x is not a shared variable"):
        symgraph.function([x], x, updates=[(x, x * 2)])


def test_update_twice_rejected():
    a = symgraph.shared(np.zeros(2), "a")
    with pytest.raises(ValueError, match="a is updated twice"):
        symgraph.function([], [], updates=[(a, a + 1), (a, a + 2)])


def test_update_shape_may_change():
    # shared dims are unknown: an update may grow the value
    a = symgraph.shared(np.arange(2.0), "a")
    f = symgraph.function([], [], updates=[(a, T.concatenate([a, a]))])
    f()
    np.testing.assert_array_equal(a.get_value(), [0.0, 1.0, 0.0, 1.0])
    f()
    assert a.get_value().shape == (8,)


def test_default_update_applies_unless_overridden():
    s = symgraph.shared(np.float64(0.0), "s")
    s.default_update = s + 1
    f = symgraph.function([], s * 1)
    f()
    f()
    assert float(s.get_value()) == 2.0
    g = symgraph.function([], s * 1, no_default_updates=True)
    g()
    assert float(s.get_value()) == 2.0
    h = symgraph.function([], s * 1, updates=[(s, s + 10)])
    h()
    assert float(s.get_value()) == 12.0


# ---------------------------------------------------------------------------------------
# givens
# ---------------------------------------------------------------------------------------

def test_givens_replace_input_by_expression(rng):
    x = T.matrix("x")
    y = T.vector("y")
    f = symgraph.function([x], (y * 2).sum(), givens={y: x.flatten()})
    xv = rng.standard_normal((2, 3))
    np.testing.assert_allclose(f(xv), 2 * xv.sum(), rtol=1e-12)


def test_givens_replace_intermediate_variable(rng):
    x = T.matrix("x")
    h = T.exp(x)
    out = (h * 2).sum()
    f = symgraph.function([x], out, givens={h: x + 1})
    xv = rng.standard_normal((2, 2))
    np.testing.assert_allclose(f(xv), 2 * (xv + 1).sum(), rtol=1e-12)


def test_givens_replace_shared_variable_by_input(rng):
    W = symgraph.shared(np.ones(3), "W")
    v = T.vector("v")
    vv = rng.standard_normal(3)
    for givens in ({W: v}, [(W, v)]):
        f = symgraph.function([v], (W * 2).sum(), givens=givens)
        np.testing.assert_allclose(f(vv), 2 * vv.sum(), rtol=1e-12)
    np.testing.assert_array_equal(W.get_value(), np.ones(3))


def test_givens_apply_to_updates(rng):
    acc = symgraph.shared(np.zeros(2), "acc")
    x = T.vector("x")
    z = T.vector("z")
    f = symgraph.function([x], [], updates=[(acc, acc + z)], givens={z: x * 3})
    f(np.array([1.0, 2.0]))
    np.testing.assert_allclose(acc.get_value(), [3.0, 6.0])


def test_givens_type_mismatch_rejected():
    x = T.vector("x")
    m = T.matrix("m")
    with pytest.raises(TypeError, match="givens"):
        symgraph.function([m], x * 2, givens={x: m})


def test_givens_minibatch_of_shared_dataset_by_reshape(rng):
    # minibatch i of a shared dataset, without indexing: view it as (n_batches, bs * d)
    data = rng.standard_normal((6, 2))
    dataset = symgraph.shared(data, "dataset")
    bs = 2
    mask = T.vector("mask")  # one-hot over batches selects batch i
    x = T.matrix("x")
    cost = (x ** 2).sum()
    batches = dataset.reshape((3, bs * 2))
    chosen = T.dot(mask, batches).reshape((bs, 2))
    f = symgraph.function([mask], cost, givens={x: chosen})
    for i in range(3):
        onehot = np.eye(3)[i]
        np.testing.assert_allclose(f(onehot), (data[i * bs:(i + 1) * bs] ** 2).sum(),
                                   rtol=1e-12)


def test_givens_minibatch_of_shared_dataset_by_slice(rng):
    data = rng.standard_normal((6, 2))
    dataset = symgraph.shared(data, "dataset")
    i = T.lscalar("i")
    bs = 2
    x = T.matrix("x")
    try:
        batch = dataset[i * bs:(i + 1) * bs]
    except NotImplementedError:
        pytest.skip("symbolic slicing is not implemented yet")
    f = symgraph.function([i], (x ** 2).sum(), givens={x: batch})
    for k in range(3):
        np.testing.assert_allclose(f(k), (data[k * bs:(k + 1) * bs] ** 2).sum(), rtol=1e-12)


# ---------------------------------------------------------------------------------------
# inputs: defaults, keywords, call-time checks
# ---------------------------------------------------------------------------------------

def test_in_default_and_keyword_calls(rng):
    x = T.vector("x")
    y = T.scalar("y")
    f = symgraph.function([x, In(y, value=2.0, name="scale")], x * y)
    xv = rng.standard_normal(3)
    np.testing.assert_allclose(f(xv), xv * 2.0)
    np.testing.assert_allclose(f(xv, 3.0), xv * 3.0)
    np.testing.assert_allclose(f(xv, scale=4.0), xv * 4.0)
    np.testing.assert_allclose(f(scale=5.0, x=xv), xv * 5.0)


def test_keyword_errors():
    x = T.vector("x")
    y = T.scalar("y")
    f = symgraph.function([x, In(y, value=1.0)], x * y)
    with pytest.raises(TypeError, match="unknown keyword input 'nope'"):
        f(np.ones(2), nope=1.0)
    with pytest.raises(TypeError, match="'x' given twice"):
        f(np.ones(2), x=np.ones(2))
    with pytest.raises(TypeError, match="missing value for input x"):
        f(y=2.0)
    a, b = T.vector("v"), T.vector("v")
    g = symgraph.function([a, b], a - b)
    np.testing.assert_array_equal(g(np.ones(1), np.zeros(1)), [1.0])
    with pytest.raises(TypeError, match="'v' is ambiguous"):
        g(np.ones(1), v=np.zeros(1))


def test_wrong_number_of_inputs_names_inputs():
    x, y = T.vector("x"), T.vector("y")
    f = symgraph.function([x, y], x + y)
    with pytest.raises(TypeError, match="missing value for input y"):
        f(np.ones(2))
    with pytest.raises(TypeError, match=r"takes 2 inputs \(x, y\), got 3"):
        f(np.ones(2), np.ones(2), np.ones(2))


def _counting_function():
    x = T.vector("x")
    c = symgraph.shared(np.int64(0), "calls")
    return x, c, symgraph.function([x], x * 2, updates=[(c, c + 1)])


def test_wrong_rank_names_input_and_changes_nothing():
    x, c, f = _counting_function()
    with pytest.raises(TypeError, match=r"input x: expected a 1-d array.*2-d"):
        f(np.ones((2, 2)))
    assert int(c.get_value()) == 0


def test_unsafe_downcast_rejected_names_input():
    x = T.fvector("fx")
    c = symgraph.shared(np.int64(0), "calls")
    f = symgraph.function([x], x * 2, updates=[(c, c + 1)])
    with pytest.raises(TypeError, match="input fx: .*float64.*float32"):
        f(np.ones(2))
    assert int(c.get_value()) == 0
    # allowed explicitly
    g = symgraph.function([x], x * 2, allow_input_downcast=True)
    assert g(np.ones(2)).dtype == np.float32


def test_safe_casts_and_python_floats_accepted():
    x = T.fvector("fx")
    f = symgraph.function([x], x * 2)
    out = f([1.5, 2.5])  # Python floats into float32: accepted
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [3.0, 5.0])
    d = T.dvector("d")
    g = symgraph.function([d], d * 2)
    out = g(np.array([1, 2], dtype=np.int32))  # int32 into float64: safe
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [2.0, 4.0])
    s = T.fscalar("s")
    assert symgraph.function([s], s + 1)(0.5).dtype == np.float32


def test_int_input_rejects_fractional_values():
    i = T.iscalar("i")
    f = symgraph.function([i], i * 2)
    assert int(f(3)) == 6
    with pytest.raises(TypeError, match="input i"):
        f(2.5)


def test_static_dims_checked_at_call_time():
    x = T.vector("sx", shape=(3,))
    c = symgraph.shared(np.int64(0), "calls")
    f = symgraph.function([x], x * 2, updates=[(c, c + 1)])
    with pytest.raises(ValueError, match="input sx: dimension 0 must have length 3"):
        f(np.ones(4))
    assert int(c.get_value()) == 0
    np.testing.assert_array_equal(f(np.ones(3)), 2 * np.ones(3))


def test_non_numeric_input_rejected():
    x = T.vector("x")
    f = symgraph.function([x], x * 2)
    with pytest.raises(TypeError, match="input x"):
        f("hello")


# ---------------------------------------------------------------------------------------
# compile-time errors
# ---------------------------------------------------------------------------------------

def test_unused_input_policies():
    x, z = T.vector("x"), T.scalar("z")
    with pytest.raises(ValueError, match="input z is not used"):
        symgraph.function([x, z], x * 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = symgraph.function([x, z], x * 2, on_unused_input="warn")
    assert any("input z is not used" in str(w.message) for w in caught)
    np.testing.assert_array_equal(f(np.ones(2), 1.0), [2.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = symgraph.function([x, z], x * 2, on_unused_input="ignore")
    np.testing.assert_array_equal(g(np.ones(2), 1.0), [2.0, 2.0])
    with pytest.raises(ValueError, match="on_unused_input"):
        symgraph.function([x], x, on_unused_input="sometimes")


def test_shared_variable_as_explicit_input_rejected():
    W = symgraph.shared(np.ones(3), "W")
    with pytest.raises(TypeError, match="shared variable W cannot be an explicit input"):
        symgraph.function([W], W * 2)


def test_missing_input_named():
    x, y = T.vector("x"), T.vector("yy")
    with pytest.raises(ValueError, match="needs input yy"):
        symgraph.function([x], x + y)


def test_duplicate_input_rejected():
    x = T.vector("x")
    with pytest.raises(ValueError, match="input x appears twice"):
        symgraph.function([x, x], x)


# ---------------------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------------------

def test_single_vs_list_outputs(rng):
    x = T.vector("x")
    xv = rng.standard_normal(3)
    single = symgraph.function([x], x * 2)(xv)
    assert isinstance(single, np.ndarray)
    lst = symgraph.function([x], [x * 2])(xv)
    assert isinstance(lst, list) and len(lst) == 1
    two = symgraph.function([x], [x * 2, x + 1])(xv)
    np.testing.assert_allclose(two[0], xv * 2)
    np.testing.assert_allclose(two[1], xv + 1)
    tup = symgraph.function([x], (x * 2, x + 1))(xv)
    assert len(tup) == 2
    assert symgraph.function([x], [], on_unused_input="ignore")(xv) == []
    np.testing.assert_allclose(symgraph.function([x], Out(x * 3, borrow=True))(xv), xv * 3)


def test_zero_d_outputs_are_0d_ndarrays(rng):
    x = T.vector("x")
    s = symgraph.shared(np.float64(3.0), "s")
    f = symgraph.function([x], [x.sum(), s, s * 2, T.constant(2.0), x.max(), x.shape[0]])
    outs = f(rng.standard_normal(4))
    for o in outs:
        assert type(o) is np.ndarray and o.ndim == 0, (type(o), o)
    assert int(outs[-1]) == 4


def test_results_never_alias_shared_storage(rng):
    W = symgraph.shared(rng.standard_normal((2, 3)), "W")
    before = W.get_value()
    for expr in (W, W.T, W.dimshuffle("x", 0, 1), W.reshape((3, 2))):
        r = symgraph.function([], expr)()
        r[...] = 123.0
        np.testing.assert_array_equal(W.get_value(), before)


def test_results_never_alias_inputs(rng):
    x = T.vector("x")
    xv = rng.standard_normal(3)
    keep = xv.copy()
    for expr in (x, x.dimshuffle("x", 0), T.stop_gradient(x)):
        r = symgraph.function([x], expr)(xv)
        r[...] = 0.0
        np.testing.assert_array_equal(xv, keep)


def test_results_never_alias_new_shared_values(rng):
    s = symgraph.shared(np.zeros(3), "s")
    x = T.vector("x")
    f = symgraph.function([x], [s + x, (s + x).dimshuffle("x", 0)], updates=[(s, s + x)])
    r0, r1 = f(np.ones(3))
    r0[...] = 1000.0
    r1[...] = 2000.0
    np.testing.assert_array_equal(s.get_value(), np.ones(3))


def test_duplicate_outputs_are_distinct_arrays(rng):
    x = T.vector("x")
    f = symgraph.function([x], [x * 2, x * 2])
    a, b = f(np.ones(3))
    a[0] = 99.0
    np.testing.assert_array_equal(b, [2.0, 2.0, 2.0])


def test_results_of_successive_calls_are_independent(rng):
    x = T.vector("x")
    f = symgraph.function([x], T.exp(x) + 1)
    r1 = f(np.zeros(3))
    r2 = f(np.ones(3))
    np.testing.assert_allclose(r1, 2.0)
    np.testing.assert_allclose(r2, np.e + 1)


def test_two_shared_variables_never_share_storage():
    a = symgraph.shared(np.zeros(2), "a")
    b = symgraph.shared(np.zeros(2), "b")
    x = T.vector("x")
    symgraph.function([x], [], updates=[(a, x * 1), (b, x * 1)])(np.ones(2))
    a.get_value(borrow=True)[0] = 5.0
    np.testing.assert_array_equal(b.get_value(), [1.0, 1.0])


# ---------------------------------------------------------------------------------------
# source, modes, eval
# ---------------------------------------------------------------------------------------

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


class _WrongEmit(Op):
    """exp whose emitted code is deliberately wrong (adds one)."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [Variable(x.type)])

    def perform(self, x):
        return np.exp(x)

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


def test_eval(rng):
    x = T.vector("x")
    xv = rng.standard_normal(3)
    np.testing.assert_allclose((x * 2).eval({x: xv}), xv * 2)
    np.testing.assert_allclose(x.eval({x: xv}), xv)
    assert float(T.constant(3.0).eval()) == 3.0
    s = symgraph.shared(np.arange(3.0), "s")
    np.testing.assert_allclose((s + 1).eval(), np.arange(3.0) + 1)
    np.testing.assert_allclose((s + x).eval({x: xv, s: np.ones(3)}), xv + 1)
    np.testing.assert_array_equal(s.get_value(), np.arange(3.0))


# ---------------------------------------------------------------------------------------
# copies
# ---------------------------------------------------------------------------------------

def test_deepcopy_of_function_runs_on_its_own_storage():
    W = symgraph.shared(np.zeros(3), "W")
    x = T.vector("x")
    f = symgraph.function([x], (W * x).sum(), updates={W: W + x})
    f(np.ones(3))
    g = copy.deepcopy(f)
    assert float(g(np.ones(3))) == 3.0
    np.testing.assert_array_equal(W.get_value(), np.ones(3))  # g has its own copy of W
    assert float(f(np.ones(3))) == 3.0
    np.testing.assert_array_equal(W.get_value(), 2 * np.ones(3))


def test_function_copy_shares_storage():
    W = symgraph.shared(np.zeros(2), "W")
    f = symgraph.function([], [], updates=[(W, W + 1)])
    g = f.copy()
    g()
    f()
    np.testing.assert_array_equal(W.get_value(), [2.0, 2.0])


def test_pickled_function_runs():
    W = symgraph.shared(np.ones(2), "W")
    x = T.vector("x")
    k = T.scalar("k")
    f = symgraph.function([x, In(k, value=3.0)], (W * x).sum() * k, updates=[(W, W * 2)])
    g = pickle.loads(pickle.dumps(f))
    assert float(g(np.ones(2))) == 6.0
    assert float(g(np.ones(2), k=1.0)) == 4.0
    np.testing.assert_array_equal(W.get_value(), [1.0, 1.0])  # the original is untouched


# ---------------------------------------------------------------------------------------
# no observable aliasing or in-place damage, whatever the linker does to go fast
# ---------------------------------------------------------------------------------------

def test_inputs_are_never_modified(rng):
    x = T.matrix("x")
    W = T.matrix("W")
    h = T.tanh(T.dot(x, W) + 1) * 2 - x.sum()
    out = T.exp(h) + T.sigmoid(x).sum(axis=1).dimshuffle(0, "x")
    f = symgraph.function([x, W], [out, T.grad(out.sum(), W)])
    xv, Wv = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    xk, Wk = xv.copy(), Wv.copy()
    f(xv, Wv)
    np.testing.assert_array_equal(xv, xk)
    np.testing.assert_array_equal(Wv, Wk)


def test_results_survive_later_calls(rng):
    x = T.matrix("x")
    W = symgraph.shared(rng.standard_normal((3, 3)), "W")
    y = T.sigmoid(T.dot(x, W)) * 2 + 1
    f = symgraph.function([x], [y, y.sum(axis=0), T.grad(y.sum(), W)],
                          updates=[(W, W * 0.5)])
    x1 = rng.standard_normal((2, 3))
    first = [np.array(o) for o in f(x1)]
    kept = f(x1)
    snapshot = [np.array(o) for o in kept]
    f(rng.standard_normal((2, 3)))
    f(x1)
    for got, want in zip(kept, snapshot):
        np.testing.assert_array_equal(got, want)
    assert not np.allclose(first[0], snapshot[0])  # W changed between the first two calls


def test_outputs_reading_updated_shared_see_old_value_in_any_order(rng):
    W = symgraph.shared(rng.standard_normal((2, 3)), "W")
    Wv = W.get_value()
    f = symgraph.function([], [W * 1, W.T, (W + 1).sum(), W], updates=[(W, W * 2 + 1)])
    a, b, c, d = f()
    np.testing.assert_array_equal(a, Wv)
    np.testing.assert_array_equal(b, Wv.T)
    np.testing.assert_allclose(c, (Wv + 1).sum())
    np.testing.assert_array_equal(d, Wv)
    np.testing.assert_array_equal(W.get_value(), Wv * 2 + 1)


def test_sgd_steps_match_numpy(rng):
    X = rng.standard_normal((8, 3))
    t = rng.standard_normal(8)
    W0, b0 = rng.standard_normal(3), np.float64(0.1)
    W, b = symgraph.shared(W0, "W"), symgraph.shared(b0, "b")
    x, y = T.matrix("x"), T.vector("y")
    err = T.dot(x, W) + b - y
    cost = (err ** 2).mean()
    gW, gb = T.grad(cost, [W, b])
    step = symgraph.function([x, y], cost, updates=[(W, W - 0.1 * gW), (b, b - 0.1 * gb)])
    Wn, bn = W0.copy(), float(b0)
    for _ in range(3):
        e = X @ Wn + bn - t
        want = (e ** 2).mean()
        got = step(X, t)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        Wn, bn = Wn - 0.1 * (2 / len(t)) * X.T @ e, bn - 0.1 * (2 / len(t)) * e.sum()
        np.testing.assert_allclose(W.get_value(), Wn, rtol=1e-12)
        np.testing.assert_allclose(b.get_value(), bn, rtol=1e-12)


def test_python_float_that_overflows_float32_input_rejected():
    x = T.fvector("fx")
    f = symgraph.function([x], x * 2)
    with pytest.raises(TypeError, match="input fx"):
        f([1e300])


class _LyingShape(Op):
    """Claims a static output length of 3 whatever its input (a broken type inference)."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [Variable(symgraph.TensorType(x.dtype, (3,)))])

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


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_cross_reading_updates_in_either_order(order, rng):
    av, bv = rng.standard_normal(3), rng.standard_normal(3)
    a, b = symgraph.shared(av, "a"), symgraph.shared(bv, "b")
    pairs = {"a": (a, a + b), "b": (b, (a - b) * 2)}
    symgraph.function([], [], updates=[pairs[k] for k in order])()
    np.testing.assert_allclose(a.get_value(), av + bv, rtol=1e-12)
    np.testing.assert_allclose(b.get_value(), (av - bv) * 2, rtol=1e-12)


def test_update_failing_at_run_time_commits_nothing(rng):
    a = symgraph.shared(np.zeros(3), "a")
    W = symgraph.shared(np.zeros(3), "W")
    x = T.vector("x")
    f = symgraph.function([x], [], updates=[(a, a + 1), (W, W + x)])
    with pytest.raises(ValueError):
        f(np.ones(2))  # W + x cannot broadcast
    np.testing.assert_array_equal(a.get_value(), np.zeros(3))
    np.testing.assert_array_equal(W.get_value(), np.zeros(3))
    f(np.ones(3))
    np.testing.assert_array_equal(a.get_value(), np.ones(3))
    np.testing.assert_array_equal(W.get_value(), np.ones(3))


def test_update_that_broadcasts_to_a_new_shape_commits_new_shape():
    W = symgraph.shared(np.zeros((1, 3)), "W")  # dims unknown: the update may grow it
    x = T.matrix("x")
    f = symgraph.function([x], [], updates=[(W, W + x)])
    f(np.ones((2, 3)))
    np.testing.assert_array_equal(W.get_value(), np.ones((2, 3)))


def test_update_of_a_readonly_value(rng):
    v = np.zeros(2)
    v.setflags(write=False)
    s = symgraph.shared(v, borrow=True)
    symgraph.function([], [], updates=[(s, s + 1)])()
    np.testing.assert_array_equal(s.get_value(), [1.0, 1.0])
    np.testing.assert_array_equal(v, [0.0, 0.0])


class _SneakyInplace(Op):
    """exp that also writes into its input without declaring it (a broken op)."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [Variable(x.type)])

    def perform(self, x):
        return np.exp(x)

    def emit(self, names):
        return f"np.exp({names[0]}, out={names[0]})"


def test_debug_mode_reports_undeclared_inplace_write():
    x = T.vector("x")
    y = _SneakyInplace()(x * 2)
    f = symgraph.function([x], [y, (x * 2).sum()], mode="DebugMode")
    with pytest.raises(AssertionError, match=r"DebugMode: _SneakyInplace.*modified its input 0"):
        f(np.ones(2))


def test_function_copy_without_shared_memory_and_with_swap():
    W = symgraph.shared(np.zeros(2), "W")
    x = T.vector("x")
    f = symgraph.function([x], (W * 2).sum(), updates=[(W, W + x)])
    own = f.copy(share_memory=False)
    own(np.ones(2))
    np.testing.assert_array_equal(W.get_value(), [0.0, 0.0])
    V = symgraph.shared(np.full(2, 10.0), "V")
    swapped = f.copy(swap={W: V})
    assert float(swapped(np.ones(2))) == 40.0
    np.testing.assert_array_equal(V.get_value(), [11.0, 11.0])
    np.testing.assert_array_equal(W.get_value(), [0.0, 0.0])
    assert float(f(np.ones(2))) == 0.0
    np.testing.assert_array_equal(W.get_value(), [1.0, 1.0])
    with pytest.raises(TypeError, match="cannot swap"):
        f.copy(swap={W: symgraph.shared(np.zeros((2, 2)), "M")})


def test_ndarray_subclass_inputs_become_plain_arrays():
    x = T.matrix("x")
    f = symgraph.function([x], x * x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    out = f(m)  # elementwise, not np.matrix's matrix product
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, [[1.0, 4.0], [9.0, 16.0]])


def test_intermediates_returned_with_gradients_match_numpy(rng):
    # outputs that are also inputs of later nodes, gradients reusing them, and batch sizes
    # that change between calls: whatever buffers the linker plans, values must be exact
    x = T.matrix("x")
    W1 = symgraph.shared(rng.standard_normal((3, 4)), "W1")
    W2 = symgraph.shared(rng.standard_normal((4, 2)), "W2")
    h = T.tanh(T.dot(x, W1))
    y = T.sigmoid(T.dot(h, W2))
    cost = (y ** 2).mean()
    gW1, gW2 = T.grad(cost, [W1, W2])
    f = symgraph.function([x], [h, y, cost, gW1, gW2])
    w1, w2 = W1.get_value(), W2.get_value()
    kept = []
    for n in (5, 2, 7, 5):
        xv = rng.standard_normal((n, 3))
        hv = np.tanh(xv @ w1)
        yv = 1 / (1 + np.exp(-(hv @ w2)))
        dy = 2 * yv / yv.size * yv * (1 - yv)
        dh = dy @ w2.T * (1 - hv ** 2)
        want = [hv, yv, (yv ** 2).mean(), xv.T @ dh, hv.T @ dy]
        got = f(xv)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-14)
        kept.append((got, want))
    for got, want in kept:  # earlier results were not overwritten by later calls
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-14)


def test_update_contradicting_static_shape_refused_at_run_time():
    b = symgraph.shared(np.zeros((1, 3)), "b", broadcastable=(True, False))
    a = symgraph.shared(np.zeros(3), "a")
    x = T.matrix("x")
    f = symgraph.function([x], [], updates=[(a, a + 1), (b, x * 1)])
    with pytest.raises(ValueError, match="update of shared variable b: dimension 0"):
        f(np.ones((2, 3)))
    np.testing.assert_array_equal(a.get_value(), np.zeros(3))
    np.testing.assert_array_equal(b.get_value(), np.zeros((1, 3)))
    f(np.ones((1, 3)))
    np.testing.assert_array_equal(b.get_value(), np.ones((1, 3)))


def test_nanguard_names_non_finite_inputs_and_shared_values():
    x = T.vector("x")
    W = symgraph.shared(np.ones(2), "W")
    f = symgraph.function([x], T.exp(x * W).sum(), mode="NanGuardMode")
    with pytest.raises(AssertionError, match=r"NanGuardMode: nan in input x"):
        f(np.array([1.0, np.nan]))
    W.set_value(np.array([np.inf, 1.0]))
    with pytest.raises(AssertionError, match=r"NanGuardMode: inf in shared variable W"):
        f(np.ones(2))


def test_random_simultaneous_update_programs_match_numpy(rng):
    # k shared vectors, each updated to an elementwise/linear mix of all of them and an input;
    # whatever the linker does in place, the result is the simultaneous update
    for trial in range(12):
        k = int(rng.integers(2, 5))
        vals = [rng.standard_normal(3) for _ in range(k)]
        svs = [symgraph.shared(v.copy(), f"s{i}") for i, v in enumerate(vals)]
        M = rng.standard_normal((3, 3))
        x = T.vector("x")
        coef = rng.standard_normal((k, k))
        kinds = rng.integers(0, 3, size=k)
        updates, refs = [], []
        for i in range(k):
            expr = sum(float(coef[i, j]) * svs[j] for j in range(k))
            ref = sum(coef[i, j] * vals[j] for j in range(k))
            if kinds[i] == 1:
                expr = T.tanh(expr) + svs[i] * x
                ref = np.tanh(ref) + vals[i] * 0.5
            elif kinds[i] == 2:
                expr = svs[i] - 0.1 * T.dot(T.constant(M), expr)
                ref = vals[i] - 0.1 * M @ ref
            updates.append((svs[i], expr))
            refs.append(ref)
        order = rng.permutation(k)
        outs = [svs[int(order[0])] * 2, sum(svs).sum()]
        f = symgraph.function([x], outs, updates=[updates[int(i)] for i in order],
                              on_unused_input="ignore")
        o0, o1 = f(np.full(3, 0.5))
        np.testing.assert_allclose(o0, vals[int(order[0])] * 2, rtol=1e-12)
        np.testing.assert_allclose(o1, sum(vals).sum(), rtol=1e-12)
        for sv, ref in zip(svs, refs):
            np.testing.assert_allclose(sv.get_value(), ref, rtol=1e-10, atol=1e-12,
                                       err_msg=f"trial {trial}")


def test_in_allow_downcast_and_strict_per_input():
    a, b, c = T.fvector("a"), T.fvector("b"), T.fvector("c")
    f = symgraph.function([In(a, allow_downcast=True), b, In(c, strict=True)], a + b + c)
    f32 = np.ones(2, dtype=np.float32)
    out = f(np.ones(2), f32, f32)  # float64 into a: allowed for a only
    assert out.dtype == np.float32 and float(out[0]) == 3.0
    with pytest.raises(TypeError, match="input b"):
        f(f32, np.ones(2), f32)
    with pytest.raises(TypeError, match="input c: strict"):
        f(f32, f32, [1.0, 1.0])  # even a lossless conversion is refused
    g = symgraph.function([In(a, allow_downcast=False), b], a + b, allow_input_downcast=True)
    assert g(f32, np.ones(2)).dtype == np.float32
    with pytest.raises(TypeError, match="input a"):
        g(np.ones(2), f32)


def test_inputs_aliasing_shared_storage_do_not_corrupt_in_place_updates(rng):
    W0 = rng.standard_normal((3, 3))
    W = symgraph.shared(W0.copy(), "W")
    x = T.matrix("x")
    cases = [(W - 0.1 * T.dot(x.T, x), lambda w: w - 0.1 * w.T @ w),
             (W - 0.1 * T.dot(x, W), lambda w: w - 0.1 * w @ w),
             (W + x.T, lambda w: w + w.T),
             ((W + x.T) * 2 - x, lambda w: (w + w.T) * 2 - w)]
    for expr, ref in cases:
        W.set_value(W0.copy())
        f = symgraph.function([x], [], updates={W: expr})
        f(W.get_value(borrow=True))  # the input is the shared storage itself
        np.testing.assert_allclose(W.get_value(), ref(W0), rtol=1e-12)


def test_in_place_commits_never_change_values_other_updates_read():
    # an input that is a borrowed view of V: V's in-place commit must not change what the
    # update of W reads
    V = symgraph.shared(np.ones(3), "V")
    W = symgraph.shared(np.zeros(3), "W")
    x = T.vector("x")
    f = symgraph.function([x], [], updates=[(V, V * 2), (W, W + x)])
    f(V.get_value(borrow=True))
    np.testing.assert_array_equal(V.get_value(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(W.get_value(), [1.0, 1.0, 1.0])
    M = symgraph.shared(np.ones((2, 2)), "M")
    N = symgraph.shared(np.zeros((2, 2)), "N")
    y = T.matrix("y")
    g = symgraph.function([y], [], updates=[(M, M - T.dot(y, y)), (N, N + y)])
    g(M.get_value(borrow=True)[:, :])  # a view of M's storage
    np.testing.assert_array_equal(M.get_value(), -np.ones((2, 2)))
    np.testing.assert_array_equal(N.get_value(), np.ones((2, 2)))


def test_shared_variables_borrowing_one_array_update_simultaneously():
    a = np.ones(3)
    A = symgraph.shared(a, "A", borrow=True)
    B = symgraph.shared(a, "B", borrow=True)
    h = symgraph.function([], [], updates=[(A, A * 2), (B, B + 1)])
    h()
    np.testing.assert_array_equal(A.get_value(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(B.get_value(), [2.0, 2.0, 2.0])
    h()
    np.testing.assert_array_equal(A.get_value(), [4.0, 4.0, 4.0])
    np.testing.assert_array_equal(B.get_value(), [3.0, 3.0, 3.0])


def _random_program(rng, x, svs):
    """A random mix of elementwise, reduction, view and dot nodes over ``x`` and ``svs``."""
    pool = [x] + list(svs)
    for _ in range(int(rng.integers(4, 10))):
        a = pool[int(rng.integers(len(pool)))]
        b = pool[int(rng.integers(len(pool)))]
        kind = int(rng.integers(8))
        if kind == 0:
            new = a + b
        elif kind == 1:
            new = a * b - 0.5
        elif kind == 2:
            new = T.tanh(a) * 2
        elif kind == 3:
            new = a.T
        elif kind == 4:
            new = T.dot(a, b)
        elif kind == 5:
            new = a.sum(axis=0, keepdims=True) + b
        elif kind == 6:
            new = T.maximum(a, b.T)
        else:
            new = T.exp(-a * a) + b
        pool.append(new)
    return pool


def test_random_programs_fast_run_matches_fast_compile_with_mutated_results(rng):
    # results are mutated by the caller after every call: if any result aliased shared storage,
    # an input or a buffer reused by the next call, the two modes would drift apart
    for trial in range(8):
        vals = [rng.standard_normal((3, 3)) for _ in range(3)]
        runs = []
        for mode in ("FAST_COMPILE", "FAST_RUN"):
            svs = [symgraph.shared(v.copy(), f"s{i}") for i, v in enumerate(vals)]
            x = T.matrix("x")
            prog = _random_program(np.random.default_rng(trial), x, svs)
            pick = np.random.default_rng(trial + 100)
            outs = [prog[int(i)] for i in pick.integers(len(prog), size=3)]
            ups = [(svs[i], prog[int(pick.integers(len(prog)))] * 0.5 + svs[i] * 0.1)
                   for i in pick.permutation(3)[:2]]
            f = symgraph.function([x], outs, updates=ups, mode=mode, on_unused_input="ignore")
            xv = np.random.default_rng(trial + 200).standard_normal((3, 3))
            history = []
            for _ in range(3):
                res = f(xv)
                history.append([np.array(r) for r in res])
                for r in res:
                    r[...] = 1e6  # the caller scribbles over every result
            history.append([s.get_value() for s in svs])
            np.testing.assert_array_equal(xv, np.random.default_rng(trial + 200)
                                          .standard_normal((3, 3)))
            runs.append(history)
        for got, want in zip(runs[1], runs[0]):
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12,
                                           err_msg=f"trial {trial}")


def test_run_time_errors_name_the_generated_line_and_op():
    W = symgraph.shared(np.ones((2, 2)), "W")
    x = T.vector("x")
    f = symgraph.function([x], T.tanh(T.dot(W, x)) + 1)
    with pytest.raises(ValueError) as info:
        f(np.ones(3))
    notes = " ".join(getattr(info.value, "__notes__", []))
    if hasattr(info.value, "add_note"):
        assert "Dot" in notes and "f.source" in notes


class _UndeclaredView(Op):
    """Returns a reversed view of its input without declaring ``view_map`` (a broken op)."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [Variable(x.type)])

    def perform(self, x):
        return x[::-1]


def test_debug_mode_reports_undeclared_views():
    x = T.vector("x")
    f = symgraph.function([x], _UndeclaredView()(x * 2), mode="DebugMode")
    with pytest.raises(AssertionError, match=r"_UndeclaredView.*without declaring it in view_map"):
        f(np.arange(3.0))


def test_sum_to_shape_no_op_result_does_not_alias_input():
    from symgraph.ops.shape import sum_to_shape
    x, y = T.vector("x"), T.vector("y")
    f = symgraph.function([x, y], sum_to_shape(x, y.shape))
    a = np.ones(3)
    r = f(a, np.ones(3))
    r[0] = 5.0
    np.testing.assert_array_equal(a, np.ones(3))
    np.testing.assert_array_equal(symgraph.function([x, y], sum_to_shape(x, y.shape),
                                                    mode="DebugMode")(a, np.ones(3)), a)
