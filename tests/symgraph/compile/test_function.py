"""Semantics of ``symgraph.function``: updates, givens, inputs, outputs, copies and errors.

Aliasing and in-place safety: test_function_aliasing.py; modes and checks: test_function_checks.py.
"""
import copy
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import In, Out


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


def test_givens_of_another_type_with_rebuild_strict_false(rng):
    # the graph after the replacement is rebuilt with the types that follow
    m, v = T.matrix("m"), T.vector("v")
    f = symgraph.function([v], T.exp(m * 2), givens={m: v}, rebuild_strict=False)
    x = rng.standard_normal(3)
    out = f(x)
    assert out.shape == (3,)
    np.testing.assert_allclose(out, np.exp(2 * x))
    xi = T.ivector("xi")
    g = symgraph.function([xi], [v * v, v.sum()], givens={v: xi}, rebuild_strict=False)
    sq, total = g(np.arange(4, dtype="int32"))
    assert sq.dtype == np.int32 and total.dtype == np.int64
    np.testing.assert_array_equal(sq, [0, 1, 4, 9])
    # a constant value keeps its own dtype when the type may change
    h = symgraph.function([], v * v, givens={v: np.arange(3, dtype="int32")},
                          rebuild_strict=False)
    assert h().dtype == np.int32


@pytest.mark.parametrize("givens,outputs,updates,message", [
    # an op that cannot take the new type is named
    (lambda m, v, w: {v: m}, lambda m, v, w: v.dimshuffle(0, "x"), None, "cannot take"),
    (lambda m, v, w: {m: v}, lambda m, v, w: m.sum(axis=1), None, "Sum.*cannot take"),
    # an update must keep its shared variable's type
    (lambda m, v, w: {v: w}, lambda m, v, w: [], lambda s, v: [(s, s + v)],
     "update of shared variable"),
])
def test_rebuild_strict_false_still_refuses_what_cannot_be_built(givens, outputs, updates,
                                                                 message):
    m, v, w = T.matrix("m"), T.fvector("v"), T.dvector("w")
    s = symgraph.shared(np.zeros(3, dtype="float32"), "s")
    kwargs = {} if updates is None else {"updates": updates(s, v)}
    with pytest.raises(TypeError, match=message):
        symgraph.function([m, w], outputs(m, v, w), givens=givens(m, v, w),
                          rebuild_strict=False, on_unused_input="ignore", **kwargs)


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


# ---------------------------------------------------------------------------------------
# eval
# ---------------------------------------------------------------------------------------


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


def test_python_float_that_overflows_float32_input_rejected():
    x = T.fvector("fx")
    f = symgraph.function([x], x * 2)
    with pytest.raises(TypeError, match="input fx"):
        f([1e300])


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
