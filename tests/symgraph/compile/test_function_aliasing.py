"""No observable aliasing: results, inputs and shared storage stay independent whatever the
linker does in place, and simultaneous updates hold."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T


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
