"""scan: forward results against explicit NumPy loops, BPTT against finite differences."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.scan import scan


def _rnn_ref(X, H0, W):
    h, hist = H0, []
    for x_t in X:
        h = np.tanh(h @ W + x_t)
        hist.append(h)
    return np.array(hist)


@pytest.fixture
def rnn(rng):
    W = symgraph.shared(rng.standard_normal((3, 3)) * 0.5, name="W")
    x, h0 = T.matrix("x"), T.vector("h0")
    hs, updates = scan(lambda x_t, h: T.tanh(T.dot(h, W) + x_t), sequences=x, outputs_info=h0)
    return W, x, h0, hs, updates


def test_recurrence_matches_numpy_loop(rng, rnn):
    W, x, h0, hs, updates = rnn
    assert not updates
    X, H0 = rng.standard_normal((6, 3)), rng.standard_normal(3)
    np.testing.assert_allclose(symgraph.function([x, h0], hs)(X, H0),
                               _rnn_ref(X, H0, W.get_value()), rtol=1e-12)


def test_bptt_wrt_shared_weights_matches_finite_differences(rng, rnn):
    W, x, h0, hs, _ = rnn
    X, H0 = rng.standard_normal((5, 3)), rng.standard_normal(3)
    gW = symgraph.function([x, h0], T.grad((hs ** 2).sum(), W))(X, H0)
    Wv, eps, num = W.get_value(), 1e-6, np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            d = np.zeros((3, 3))
            d[i, j] = eps
            num[i, j] = ((_rnn_ref(X, H0, Wv + d) ** 2).sum()
                         - (_rnn_ref(X, H0, Wv - d) ** 2).sum()) / (2 * eps)
    np.testing.assert_allclose(gW, num, rtol=1e-5, atol=1e-7)


def test_bptt_wrt_sequences_and_initial_state(rng, rnn):
    W, *_ = rnn
    step = lambda x_t, h: T.tanh(T.dot(h, W) + x_t)  # noqa: E731
    T.verify_grad(lambda xx, hh: scan(step, sequences=xx, outputs_info=hh)[0],
                  [rng.standard_normal((4, 3)), rng.standard_normal(3)], rng=rng)


def test_truncated_gradient_ignores_early_steps(rng):
    x = T.vector("x")
    hs, _ = scan(lambda x_t, h: h * 0.5 + x_t, sequences=x, outputs_info=T.constant(0.0),
                 truncate_gradient=2)
    g = symgraph.function([x], T.grad(hs[-1], x))(np.ones(5))
    # h_4 = sum_k 0.5**(4-k) x_k; only the last two steps are backpropagated
    np.testing.assert_allclose(g, [0, 0, 0, 0.5, 1.0])


def test_go_backwards_and_outputs_without_feedback(rng):
    x = T.matrix("x")
    ys, _ = scan(lambda a: a * 2, sequences=x, go_backwards=True)
    X = rng.standard_normal((4, 2))
    np.testing.assert_allclose(symgraph.function([x], ys)(X), X[::-1] * 2)
    T.verify_grad(lambda a: scan(lambda r: T.sin(r), sequences=a, go_backwards=True)[0],
                  [X], rng=rng)


def test_n_steps_with_non_sequences():
    a, k = T.vector("a"), T.iscalar("k")
    res, _ = scan(lambda prev, a: prev * a, outputs_info=T.ones_like(a), non_sequences=a,
                  n_steps=k)
    out = symgraph.function([a, k], res)(np.array([1.0, 2.0, 3.0]), 4)
    np.testing.assert_allclose(out, [[1, 2, 3], [1, 4, 9], [1, 8, 27], [1, 16, 81]])


def test_several_taps_and_their_gradient(rng):
    init = T.vector("init")
    fib, _ = scan(lambda a, b: a + b, outputs_info=dict(initial=init, taps=[-2, -1]), n_steps=8)
    np.testing.assert_allclose(symgraph.function([init], fib)(np.array([0.0, 1.0])),
                               [1, 2, 3, 5, 8, 13, 21, 34])
    T.verify_grad(lambda i: scan(lambda a, b: a * b + 0.5,
                                 outputs_info=dict(initial=i, taps=[-2, -1]), n_steps=5)[0],
                  [np.array([0.3, 0.8])], rng=rng)


def test_sequence_taps(rng):
    x = T.vector("x")
    d, _ = scan(lambda prev, cur: cur - prev, sequences=dict(input=x, taps=[-1, 0]))
    X = rng.standard_normal(6)
    np.testing.assert_allclose(symgraph.function([x], d)(X), np.diff(X))


def test_shared_update_inside_step_is_returned():
    count = symgraph.shared(np.int64(0), name="count")
    x = T.vector("x")
    out, updates = scan(lambda v: (v * 2, {count: count + 1}), sequences=x)
    assert list(updates) == [count]
    f = symgraph.function([x], out, updates=updates)
    f(np.ones(4))
    assert count.get_value() == 4


def test_step_output_type_mismatch_is_a_clear_error():
    x = T.vector("x")
    with pytest.raises(TypeError, match="initial state"):
        scan(lambda v, h: T.cast(h + v, "float32"), sequences=x, outputs_info=T.constant(0.0))
    with pytest.raises(ValueError, match="n_steps"):
        scan(lambda h: h, outputs_info=T.constant(0.0))
