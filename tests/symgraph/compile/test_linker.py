"""The fusing linker: fused kernels equal the unfused graph, planned buffers never leak into
results, in-place updates keep all-or-nothing semantics, BLAS gemm updates, numba kernels."""
from collections import OrderedDict

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import buffers, numba_loops, numpy_expr
from symgraph.compile.mode import FAST_RUN
from symgraph.ops.blas import Gemm, gemm_into
from symgraph.ops.composite import Composite

from linker_helpers import adam_like, assert_one_storage, assert_two_buffers

NUMBA = FAST_RUN.__class__("NUMBA", backend="numba")


def _ops(f):
    return [type(n.op) for n in f.fgraph.toposort()]


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)


# expression builders over (x, y, z); shapes are given per case
EXPRESSIONS = {
    "chain": lambda x, y, z: T.exp(x * 2 + y) - T.log(x * x + 1),
    "tree": lambda x, y, z: (x + y) * (y - z) / (T.abs(z) + 1),
    "reuse": lambda x, y, z: T.tanh(x) * T.tanh(x) + y,
    "nary": lambda x, y, z: x + y + z + x * y * z,
    "compare": lambda x, y, z: T.switch(x > y, x * 3, z - 1) + (x >= 0) * y,
    "sigmoid": lambda x, y, z: T.sigmoid(x) * (1 - T.sigmoid(y)) + T.softplus(z),
    "cast": lambda x, y, z: T.cast(x * 3, "int32") + T.cast(y, "float32") * z,
    "second": lambda x, y, z: T.ones_like(x) * y + T.zeros_like(z),
    "clip": lambda x, y, z: T.clip(x, -0.5, 0.5) * T.maximum(y, z) + T.minimum(x, 0),
    "sqrt_pow": lambda x, y, z: T.sqrt(T.abs(x) + 1) ** 2 + y ** 3 - T.abs(z) ** 0.5,
}
SHAPES = {
    "same": [(3, 4), (3, 4), (3, 4)],
    "row": [(3, 4), (4,), (1, 4)],
    "col": [(3, 1), (1, 4), (3, 4)],
    "scalar": [(5,), (), (5,)],
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shapes", list(SHAPES))
@pytest.mark.parametrize("expr", list(EXPRESSIONS))
@pytest.mark.parametrize("static", [False, True])
def test_fused_equals_unfused(expr, shapes, dtype, static, rng):
    shps = SHAPES[shapes]
    ins = [T.tensor(dtype, s if static else [None if d != 1 else 1 for d in s], name=n)
           for s, n in zip(shps, "xyz")]
    out = EXPRESSIONS[expr](*ins)
    vals = [rng.uniform(-2, 2, s).astype(dtype) for s in shps]
    fused = symgraph.function(ins, out, on_unused_input="ignore")
    plain = symgraph.function(ins, out, mode="FAST_COMPILE", on_unused_input="ignore")
    got, want = fused(*vals), plain(*vals)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **_tol(dtype))
    # and a second call with other values (buffers are reused) is still right
    vals = [rng.uniform(-2, 2, s).astype(dtype) for s in shps]
    np.testing.assert_allclose(fused(*vals), plain(*vals), **_tol(dtype))


def test_integer_and_bool_clusters(rng):
    a, b = T.imatrix("a"), T.ivector("b")
    out = (a * 3 + b) // 2 - (a % 5) * (a > b)
    av = rng.integers(-50, 50, (4, 6)).astype("int32")
    bv = rng.integers(-50, 50, 6).astype("int32")
    fused, plain = symgraph.function([a, b], out), symgraph.function([a, b], out,
                                                                     mode="FAST_COMPILE")
    np.testing.assert_array_equal(fused(av, bv), plain(av, bv))


def test_chain_becomes_one_composite():
    x, y = T.matrix("x"), T.vector("y")
    f = symgraph.function([x, y], T.exp(x * 2 + y) - T.log(x * x + 1))
    comps = [n for n in f.fgraph.toposort() if isinstance(n.op, Composite)]
    assert len(comps) == 1 and len(f.fgraph.apply_nodes) == 1
    assert "out=" in f.source  # intermediates written into buffers


def test_intermediate_with_two_clients_is_not_fused_away(rng):
    x = T.vector("x")
    e = T.exp(x)
    f = symgraph.function([x], [e * 2, e + 1])
    v = rng.standard_normal(5)
    a, b = f(v)
    np.testing.assert_allclose(a, 2 * np.exp(v))
    np.testing.assert_allclose(b, np.exp(v) + 1)


# ---------------------------------------------------------------------------------------
# buffers never leak into results
# ---------------------------------------------------------------------------------------

def test_results_are_not_overwritten_by_later_calls(rng):
    x, W = T.matrix("x"), T.matrix("W")
    h = T.maximum(T.dot(x, W) + 1, 0)          # internal, planned
    outs = [h.sum(axis=1), T.dot(h, W.T) * 2, (h * 3).T, h[0]]
    f = symgraph.function([x, W], outs)
    x1, W1 = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    first = f(x1, W1)
    kept = [np.array(r) for r in first]
    second = f(rng.standard_normal((4, 3)), rng.standard_normal((3, 3)))
    for r, k in zip(first, kept):
        np.testing.assert_array_equal(r, k)
    for r, s in zip(first, second):
        assert not np.shares_memory(r, s)


def test_output_view_of_intermediate_is_fresh(rng):
    x = T.matrix("x")
    y = T.exp(x) + 1
    f = symgraph.function([x], [(y * 2).T, y.sum()])
    a = rng.standard_normal((3, 2))
    r1, _ = f(a)
    keep = r1.copy()
    f(a * 5)
    np.testing.assert_array_equal(r1, keep)


def test_inputs_are_never_written(rng):
    x, y = T.matrix("x"), T.matrix("y")
    f = symgraph.function([x, y], (x * 2 + y) * (x - y))
    a, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    a0, b0 = a.copy(), b.copy()
    f(a, b)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


# ---------------------------------------------------------------------------------------
# shared updates: in place, atomic, gemm
# ---------------------------------------------------------------------------------------

def _sgd_model(rng, mode=None):
    W = symgraph.shared(rng.standard_normal((5, 4)), "W")
    b = symgraph.shared(np.zeros(4), "b")
    x, y = T.matrix("x"), T.matrix("y")
    cost = T.mean(T.sqr(T.tanh(T.dot(x, W) + b) - y))
    gW, gb = T.grad(cost, [W, b])
    f = symgraph.function([x, y], cost, updates=OrderedDict([(W, W - 0.1 * gW),
                                                              (b, b - 0.1 * gb)]), mode=mode)
    return f, W, b


def test_gemm_update_in_place_matches_unfused(rng):
    f, W, b = _sgd_model(np.random.default_rng(0))
    g, W2, b2 = _sgd_model(np.random.default_rng(0), mode="FAST_COMPILE")
    assert Gemm in _ops(f)

    storage = [W.get_value(borrow=True)]

    def step():
        x, y = rng.standard_normal((7, 5)), rng.standard_normal((7, 4))
        np.testing.assert_allclose(f(x, y), g(x, y), rtol=1e-12)
        storage.append(W.get_value(borrow=True))
    assert_two_buffers([b], step)
    # W's product is accumulated into W's own storage by the commit: no copy, no spare
    assert all(a is storage[0] for a in storage)
    np.testing.assert_allclose(W.get_value(), W2.get_value(), rtol=1e-12)
    np.testing.assert_allclose(b.get_value(), b2.get_value(), rtol=1e-12)


def test_gemm_update_of_storage_held_elsewhere_goes_to_a_spare(rng):
    """When W's storage is also an input of the call, the commit cannot write it: the update
    is computed into a spare buffer, the input stays as it was, the values are the same."""
    W = symgraph.shared(rng.standard_normal((6, 6)), "W")
    X, Y = T.matrix("X"), T.matrix("Y")
    f = symgraph.function([X, Y], [], updates=[(W, W - 0.1 * T.dot(X, Y))])
    assert Gemm in _ops(f)
    for _ in range(3):
        arg = W.get_value(borrow=True)
        kept = arg.copy()
        y = rng.standard_normal((6, 6))
        f(arg, y)
        np.testing.assert_array_equal(arg, kept)  # X was W's own storage
        assert W.get_value(borrow=True) is not arg
        np.testing.assert_allclose(W.get_value(), kept - 0.1 * kept @ y, rtol=1e-12)


def test_failing_call_changes_nothing(rng):
    W = symgraph.shared(rng.standard_normal((3, 3)), "W")
    m = symgraph.shared(np.zeros((3, 3)), "m")
    x, M = T.matrix("x"), T.matrix("M")
    g = T.dot(x.T, x)
    ups = OrderedDict([(m, 0.9 * m + 0.1 * g), (W, W - 0.5 * T.dot(x.T, x))])
    # the output fails at run time when M has the wrong shape
    f = symgraph.function([x, M], T.dot(x, M).sum(), updates=ups)
    f(rng.standard_normal((2, 3)), rng.standard_normal((3, 2)))
    before = W.get_value(), m.get_value()
    with pytest.raises(ValueError):
        f(rng.standard_normal((2, 3)), rng.standard_normal((4, 2)))
    np.testing.assert_array_equal(W.get_value(), before[0])
    np.testing.assert_array_equal(m.get_value(), before[1])


def test_update_shape_mismatch_fails_before_any_commit(rng):
    W = symgraph.shared(rng.standard_normal((3, 3)), "W")
    b = symgraph.shared(np.ones(3), "b")
    a, c = T.matrix("a"), T.matrix("c")
    f = symgraph.function([a, c], [], updates=OrderedDict([(b, b * 2),
                                                          (W, W - 0.1 * T.dot(a, c))]))
    assert Gemm in _ops(f)
    W0, b0 = W.get_value(), b.get_value()
    with pytest.raises(ValueError):
        f(rng.standard_normal((2, 4)), rng.standard_normal((4, 3)))  # (2, 3) != W's (3, 3)
    np.testing.assert_array_equal(W.get_value(), W0)
    np.testing.assert_array_equal(b.get_value(), b0)


def test_update_that_changes_shape_is_not_written_in_place(rng):
    v = symgraph.shared(np.ones((1, 3)), "v")
    x = T.matrix("x")
    f = symgraph.function([x], [], updates=[(v, v * 2 + x)])
    old = v.get_value(borrow=True)
    f(np.ones((4, 3)))
    np.testing.assert_array_equal(v.get_value(), np.full((4, 3), 3.0))
    np.testing.assert_array_equal(old, np.ones((1, 3)))


def test_update_reading_another_updated_shared(rng):
    # simultaneous semantics: b's new value uses a's OLD value, a's uses b's old value
    a = symgraph.shared(np.arange(4.0), "a")
    b = symgraph.shared(np.arange(4.0) * 10, "b")
    f = symgraph.function([], [], updates=OrderedDict([(a, b + 1), (b, a * 2)]))
    f()
    np.testing.assert_array_equal(a.get_value(), np.arange(4.0) * 10 + 1)
    np.testing.assert_array_equal(b.get_value(), np.arange(4.0) * 2)


def test_update_chain_uses_new_values_in_order(rng):
    # Adam-like: p's update reads m's new value, computed in place first
    p = symgraph.shared(rng.standard_normal(6), "p")
    m = symgraph.shared(rng.standard_normal(6), "m")
    g = T.vector("g")
    m1 = 0.9 * m + 0.1 * g
    f = symgraph.function([g], [], updates=OrderedDict([(p, p - 0.5 * m1 / (T.abs(m1) + 1)),
                                                        (m, m1)]))
    p0, m0, gv = p.get_value(), m.get_value(), rng.standard_normal(6)
    f(gv)
    mn = 0.9 * m0 + 0.1 * gv
    np.testing.assert_allclose(m.get_value(), mn)
    np.testing.assert_allclose(p.get_value(), p0 - 0.5 * mn / (np.abs(mn) + 1))


def test_output_equal_to_update_value_is_copied(rng):
    w = symgraph.shared(np.ones(3), "w")
    new = w * 2
    f = symgraph.function([], new, updates=[(w, new)])
    r = f()
    np.testing.assert_array_equal(r, [2, 2, 2])
    f()
    np.testing.assert_array_equal(r, [2, 2, 2])
    np.testing.assert_array_equal(w.get_value(), [4, 4, 4])


def test_gemm_into_matches_numpy(rng):
    for dtype in ("float32", "float64"):
        c = rng.standard_normal((4, 5)).astype(dtype)
        a = rng.standard_normal((3, 4)).astype(dtype).T  # Fortran-ordered view
        b = rng.standard_normal((3, 5)).astype(dtype)
        want = c + 0.3 * a @ b
        got = gemm_into(c, 0.3, a, b)
        assert got is c
        np.testing.assert_allclose(got, want, **_tol(dtype))


def test_debug_mode_with_fusion(rng):
    x = T.matrix("x")
    f = symgraph.function([x], T.exp(x) * 2 + 1, mode="DebugMode")
    a = rng.standard_normal((2, 3))
    np.testing.assert_allclose(f(a), np.exp(a) * 2 + 1)


# ---------------------------------------------------------------------------------------
# numba kernels equal the NumPy path
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", ["same", "row", "scalar"])
def test_numba_equals_numpy(shapes, rng, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    shps = SHAPES[shapes]
    ins = [T.tensor("float32", [None if d != 1 else 1 for d in s], name=n)
           for s, n in zip(shps, "xyz")]
    out = T.exp(ins[0] * 0.5 + ins[1]) * T.sqrt(T.abs(ins[2]) + 1) - ins[1]
    vals = [rng.uniform(-2, 2, s).astype("float32") for s in shps]
    fast = symgraph.function(ins, out, mode=NUMBA)
    ref = symgraph.function(ins, out)
    assert "_kernel" in fast.source
    np.testing.assert_allclose(fast(*vals), ref(*vals), rtol=1e-5, atol=1e-6)


def test_numba_in_place_updates(rng, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)

    def build(mode):
        r = np.random.default_rng(3)
        p = symgraph.shared(r.standard_normal((8, 5)).astype("float32"), "p")
        m = symgraph.shared(np.zeros((8, 5), "float32"), "m")
        g = T.fmatrix("g")
        m1 = 0.9 * m + 0.1 * g
        ups = OrderedDict([(m, m1), (p, p - 0.01 * m1 / (T.sqrt(T.abs(m1)) + 1e-3))])
        return symgraph.function([g], [], updates=ups, mode=mode), p, m
    (f, p, m), (h, p2, m2) = build(NUMBA), build(None)

    def step():
        gv = rng.standard_normal((8, 5)).astype("float32")
        f(gv)
        h(gv)
    # the chain is one loop, which the commit runs over the variables' own storage
    assert_one_storage([p, m], step)
    np.testing.assert_allclose(p.get_value(), p2.get_value(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.get_value(), m2.get_value(), rtol=1e-5, atol=1e-6)


def test_numpy_function_kernel(rng):
    x, y = T.matrix("x"), T.vector("y")
    f = symgraph.function([x, y], T.exp(x - y) * 2 + T.sigmoid(x))
    (node,) = f.fgraph.toposort()
    fn = numpy_expr.numpy_function(node.op.program, ["float64", "float64"], "float64")
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    out = np.empty((3, 4))
    assert fn(out, (3, 4), a, b) is out
    np.testing.assert_allclose(out, f(a, b))
    np.testing.assert_allclose(fn(None, (3, 4), a, b), f(a, b))


# ---------------------------------------------------------------------------------------
# storage planning on random graphs: buffers shared across dead values and in place must
# never change a value (square matrices make transposed views alias-prone)
# ---------------------------------------------------------------------------------------

def _random_graph(rng, x, y, n_nodes=14):
    pool = [x, y]
    unary = [T.exp, T.tanh, lambda a: a.T, lambda a: T.maximum(a, 0), lambda a: a * 0.5,
             lambda a: a.sum(axis=0, keepdims=True) + a, T.sqr]
    binary = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b.T,
              lambda a, b: T.dot(a, b) * 0.1, lambda a, b: T.switch(a > b, a, b)]
    for _ in range(n_nodes):
        if rng.random() < 0.5:
            fn = unary[rng.integers(len(unary))]
            pool.append(fn(pool[rng.integers(len(pool))]))
        else:
            fn = binary[rng.integers(len(binary))]
            pool.append(fn(pool[rng.integers(len(pool))], pool[rng.integers(len(pool))]))
    k = int(rng.integers(1, 4))
    return [pool[-1]] + [pool[int(i)] for i in rng.integers(2, len(pool), k)]


def test_random_graphs_fused_equal_unfused(rng):
    for _ in range(25):
        x, y = T.matrix("x"), T.matrix("y")
        outs = _random_graph(rng, x, y)
        fused = symgraph.function([x, y], outs, on_unused_input="ignore")
        plain = symgraph.function([x, y], outs, mode="FAST_COMPILE", on_unused_input="ignore")
        results = []
        for _ in range(2):  # the second call reuses every buffer
            a, b = rng.uniform(-1, 1, (4, 4)), rng.uniform(-1, 1, (4, 4))
            got, want = fused(a, b), plain(a, b)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
            results.append((got, [np.array(g) for g in got]))
        for got, kept in results:  # earlier results were not overwritten
            for g, k in zip(got, kept):
                np.testing.assert_array_equal(g, k)


def test_in_place_never_through_a_transposed_view(rng):
    x, W = T.matrix("x"), T.matrix("W")
    h = T.exp(T.dot(x, W))          # planned buffer, dies in the next kernel
    out = (h * 2 + h.T).sum()        # reads h directly and through a view
    f = symgraph.function([x, W], out)
    a, b = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    e = np.exp(a @ b)
    np.testing.assert_allclose(f(a, b), (e * 2 + e.T).sum())


def test_parallel_numba_backend(rng, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    x = T.fvector("x")
    mode = FAST_RUN.__class__("NUMBA-P", backend="numba-parallel")
    f = symgraph.function([x], T.exp(x * 0.5) * 2 - x, mode=mode)
    v = rng.standard_normal(100).astype("float32")
    np.testing.assert_allclose(f(v), np.exp(v * 0.5) * 2 - v, rtol=1e-5)


def test_unknown_backend_is_named():
    x = T.vector("x")
    with pytest.raises(ValueError, match="backend"):
        symgraph.function([x], T.exp(x) + 1, mode=FAST_RUN.__class__("X", backend="cuda"))


def test_numba_update_with_input_aliasing_the_storage(rng, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    W0 = rng.standard_normal((4, 4)).astype("float32")
    W = symgraph.shared(W0.copy(), "W")
    x = T.fmatrix("x")
    f = symgraph.function([x], [], updates={W: (W + x.T) * 2 - T.exp(x * 0.1)}, mode=NUMBA)
    f(W.get_value(borrow=True))  # the input is the storage the update writes
    np.testing.assert_allclose(W.get_value(), (W0 + W0.T) * 2 - np.exp(W0 * 0.1), rtol=1e-5)


@pytest.mark.parametrize("expr", ["compare", "cast", "clip", "tree"])
def test_numba_kernels_over_the_expression_table(expr, rng, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    ins = [T.fmatrix(n) for n in "xyz"]
    out = EXPRESSIONS[expr](*ins)
    vals = [rng.uniform(-2, 2, (3, 4)).astype("float32") for _ in ins]
    fast = symgraph.function(ins, out, mode=NUMBA, on_unused_input="ignore")
    ref = symgraph.function(ins, out, mode="FAST_COMPILE", on_unused_input="ignore")
    assert "_kernel" in fast.source
    got, want = fast(*vals), ref(*vals)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_integer_clusters_in_numba(rng, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    a, b = T.imatrix("a"), T.ivector("b")
    out = (a * 3 + b) // 2 - (a % 5) * (a > b)
    av = rng.integers(-50, 50, (4, 6)).astype("int32")
    bv = rng.integers(-50, 50, 6).astype("int32")
    fast = symgraph.function([a, b], out, mode=NUMBA)
    assert "_kernel" in fast.source
    np.testing.assert_array_equal(fast(av, bv), symgraph.function([a, b], out,
                                                                  mode="FAST_COMPILE")(av, bv))


def test_numba_group_kernel_for_chained_updates(rng, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    (f, fast), (h, ref) = adam_like(NUMBA), adam_like(None)
    assert "_group(" in f.source and "_late_group(" in f.source

    def step():
        gv = rng.standard_normal((6, 7)).astype("float32")
        f(gv, np.float32(0.5))
        h(gv, np.float32(0.5))
    assert_one_storage(fast, step)
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=2e-5, atol=1e-6)


def test_numba_group_runs_even_for_small_operands(rng):
    """One compiled call beats a dozen ufunc calls at any size: a 42-element Adam group runs
    as the loop without lowering any threshold."""
    pytest.importorskip("numba")
    (f, fast), (h, ref) = adam_like(NUMBA, 9), adam_like("FAST_COMPILE", 9)
    ns = f._fn.__globals__
    group, late, made = ns["_group"], ns["_late_group"], []

    def spy_group(*args):
        made.append(("spares", group(*args)))
        return made[-1][1]

    def spy_late(*args):
        result = late(*args)
        made.append(("late", result is not None))
        return result
    ns["_group"], ns["_late_group"] = spy_group, spy_late
    gv = rng.standard_normal((6, 7)).astype("float32")
    f(gv, np.float32(0.5))
    h(gv, np.float32(0.5))
    assert made == [("late", True)]
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=2e-5, atol=1e-6)
    # with a target's storage also passed in, the commit may not write it: the loop is not
    # made, and the group (which would read what it wrote) runs as single updates
    arg = fast[0].get_value(borrow=True)
    kept = arg.copy()
    f(arg, np.float32(0.5))
    h(ref[0].get_value(borrow=True), np.float32(0.5))
    assert made[1:] == [("spares", False)]
    np.testing.assert_array_equal(arg, kept)
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=2e-5, atol=1e-6)
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=2e-5, atol=1e-6)


def test_numba_group_falls_back_on_overlap(rng, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    (f, fast), (h, ref) = adam_like(NUMBA, 7), adam_like(None, 7)
    # the gradient passed in is the storage of m itself: no in-place loop may run
    f(fast[1].get_value(borrow=True), np.float32(2.0))
    h(ref[1].get_value(borrow=True), np.float32(2.0))
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=2e-5, atol=1e-6)


def test_buffers_of_changing_shapes_do_not_pile_up(rng):
    x = T.matrix("x")
    f = symgraph.function([x], (T.exp(x) * 2 + 1).sum(axis=1))
    for n in range(1, 80):
        a = rng.standard_normal((n, 3))
        np.testing.assert_allclose(f(a), (np.exp(a) * 2 + 1).sum(axis=1))
    slots = [v for k, v in f._fn.__globals__.items() if k.startswith(("_slot", "_tmp_"))]
    assert slots and all(len(s) <= buffers.SLOT_SHAPES for s in slots)


@pytest.mark.parametrize("backend, words", [
    ("numba", ["for k in range(", "@njit"]),           # compiled loops over the elements
    ("numpy", ["for _s in range(0, _size,", "np."]),   # chunk loops of ufunc calls
])
def test_source_shows_every_kernel_the_function_calls(backend, words):
    """``f.source`` is the function and then the source of each kernel it names; printing
    shows the same text."""
    if backend == "numba":
        pytest.importorskip("numba")
    shape = (600, 500)  # large enough for the NumPy back end's chunked group
    f, _ = adam_like(FAST_RUN.__class__("M", backend=backend), shape=shape)
    assert f.kernels
    main, *kernels = f.source.split("\n# ---- kernel ")
    assert len(kernels) == len(f.kernels)
    for (name, kernel), text in zip(f.kernels.items(), kernels):
        assert f"{name}(" in main  # the function calls it by that name
        assert text.startswith(f"{name}: {type(kernel).__name__} ----")
        assert kernel.source.strip() in text
    for word in words:
        assert word in "".join(kernels)
    import io
    from symgraph.printing import show_source
    buf = io.StringIO()
    show_source(f, file=buf)
    assert buf.getvalue().rstrip() == f.source.rstrip()


def test_gemm_path_names_the_blas_route_taken(rng, monkeypatch):
    """With SciPy, Gemm is one in-place ?gemm; without it, NumPy's dot and an add. Both give
    the product to float rounding, and gemm_path() says which one ran."""
    import sys
    from symgraph.ops import blas
    c, a, b = (rng.standard_normal(s) for s in ((4, 3), (4, 5), (5, 3)))
    want = c + 0.5 * a @ b
    routes = {}
    for scipy_present in (True, False):
        blas._blas_gemm.cache_clear()
        if not scipy_present:
            monkeypatch.setitem(sys.modules, "scipy.linalg", None)  # import fails
        elif blas._blas_gemm(np.dtype("float64")) is None:
            continue  # this machine has no SciPy: only the NumPy route exists
        routes[scipy_present] = blas.gemm_path("float64")
        np.testing.assert_allclose(blas.gemm_into(c.copy(), 0.5, a, b), want, rtol=1e-12)
    blas._blas_gemm.cache_clear()
    monkeypatch.undo()
    assert routes[False] == "numpy dot + add"
    assert routes.get(True, "scipy ?gemm") == "scipy ?gemm"


@pytest.mark.parametrize("env, installed, want", [
    (None, True, "numba"), (None, False, "numpy"), ("numpy", True, "numpy"),
    ("numba", True, "numba"), ("auto", False, "numpy"),
])
def test_fast_run_picks_the_fastest_installed_back_end(env, installed, want, monkeypatch):
    """FAST_RUN's back end is 'auto': numba when installed, else NumPy, unless the
    environment names one; the generated source says which ran (and where kernels live)."""
    from symgraph import backends
    if env is None:
        monkeypatch.delenv("SYMGRAPH_BACKEND", raising=False)
    else:
        monkeypatch.setenv("SYMGRAPH_BACKEND", env)
    monkeypatch.setattr(backends, "numba_available", lambda: installed)
    assert FAST_RUN.backend == "auto"
    assert backends.resolve("auto") == want
    if want == "numba":
        pytest.importorskip("numba")
    x = T.vector("x")
    f = symgraph.function([x], T.exp(x) * 2 + 1)
    assert f.source.splitlines()[0].startswith(f"# back end: {want}")
    assert ("kernel cache" in f.source.splitlines()[0]) == (want != "numpy")
    assert f.backend == want
    for mode in ("FAST_COMPILE", "DebugMode"):  # the unfused linker: no back end runs
        assert symgraph.function([x], T.exp(x) * 2 + 1, mode=mode).backend is None
    monkeypatch.setenv("SYMGRAPH_BACKEND", "cuda")
    with pytest.raises(ValueError, match="SYMGRAPH_BACKEND='cuda'"):
        backends.resolve("auto")


def test_numba_compiles_no_loop_for_a_very_long_program(monkeypatch):
    """An unrolled chain fused whole is hundreds of steps: compiling it as one loop would cost
    seconds, so the numba back end leaves programs over MAX_STEPS to NumPy."""
    pytest.importorskip("numba")
    from symgraph.backends import numba_backend
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    x = T.vector("x")
    y = x
    for _ in range(numba_backend.MAX_STEPS):
        y = T.tanh(y) + x
    f = symgraph.function([x], y, mode=NUMBA)
    assert not f.kernels and "_kernel" not in f.source
    xv = np.linspace(-1, 1, 7)
    want = xv
    for _ in range(numba_backend.MAX_STEPS):
        want = np.tanh(want) + xv
    np.testing.assert_allclose(f(xv), want, rtol=1e-12)


def test_numba_compiles_no_loop_of_very_many_operands(monkeypatch):
    """The sum of an unrolled loop's gradients is one short program of thousands of operands:
    as one loop it was one expression Python could not parse (3,000 products: a
    RecursionError) and a signature numba took minutes to type, so programs of more than
    MAX_INPUTS operands stay in NumPy, here as a deferred update."""
    pytest.importorskip("numba")
    from symgraph.backends import numba_backend
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    n = numba_backend.MAX_INPUTS + 1
    x = T.matrix("x")
    W = symgraph.shared(np.zeros((3, 3)), name="W")
    total = T.dot(x, x * 1)
    for k in range(2, n + 1):
        total = total + T.dot(x, x * k)
    f = symgraph.function([x], [], updates=[(W, W - 0.5 * total)], mode=NUMBA)
    assert not any(getattr(k, "source", "").count(" + ") >= n - 1 for k in f.kernels.values())
    xv = np.arange(9.0).reshape(3, 3) / 10
    f(xv)
    want = -0.5 * sum(xv @ (xv * k) for k in range(1, n + 1))
    np.testing.assert_allclose(W.get_value(), want, rtol=1e-12)
