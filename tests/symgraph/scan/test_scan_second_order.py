"""Second and higher derivatives through scan, against finite differences (float64)."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.scan import scan
from symgraph.scan.bptt import bptt
from symgraph.scan.op import ScanGrad


def _rnn(X, H0, W, U, b, **kw):
    step = lambda x_t, h, W, U, b: T.tanh(T.dot(x_t, W) + T.dot(h, U) + b)  # noqa: E731
    hs, _ = scan(step, sequences=X, outputs_info=H0, non_sequences=[W, U, b], **kw)
    return hs


def _rnn_points(rng, steps=4, batch=2, n=3):
    return [rng.standard_normal((steps, batch, n)), rng.standard_normal((batch, n)),
            rng.standard_normal((n, n)) * 0.5, rng.standard_normal((n, n)) * 0.5,
            rng.standard_normal(n) * 0.5]


def _grad_norm_cost(wrt_index, **kw):
    """cost = sum(grad(sum(h_T**2), inputs[wrt_index])**2): a gradient penalty."""
    def cost(*args):
        c = (_rnn(*args, **kw)[-1] ** 2).sum()
        return (T.grad(c, args[wrt_index]) ** 2).sum()
    return cost


@pytest.mark.parametrize("wrt_index", [0, 1, 2, 4], ids=["sequence", "h0", "W", "b"])
def test_gradient_penalty_through_rnn(rng, wrt_index):
    T.verify_grad(_grad_norm_cost(wrt_index), _rnn_points(rng), rng=rng)


@pytest.mark.parametrize("kw", [dict(go_backwards=True), dict(truncate_gradient=6)],
                         ids=["go_backwards", "truncation_longer_than_loop"])
def test_gradient_penalty_with_loop_options(rng, kw):
    T.verify_grad(_grad_norm_cost(2, **kw), _rnn_points(rng), rng=rng)


def test_symbolic_bptt_equals_scan_grad(rng):
    """The graph ScanGrad.grad differentiates computes what ScanGrad.perform computes."""
    X, H0, W, U, b = (T.tensor3("X"), T.matrix("H0"), T.matrix("W"), T.matrix("U"),
                      T.vector("b"))
    hs = _rnn(X, H0, W, U, b, truncate_gradient=3)
    grads = T.grad((hs ** 2).sum() + hs[1].sum(), [X, H0, W, U, b])
    node = next(v.owner for v in symgraph.graph.ancestors(grads)
                if v.owner is not None and isinstance(v.owner.op, ScanGrad))
    n_outer = 5
    sym = bptt(node.op.scan, node.inputs[0], node.inputs[1:1 + n_outer],
               node.inputs[1 + n_outer:2 + n_outer], node.inputs[2 + n_outer:])
    f = symgraph.function([X, H0, W, U, b], list(node.outputs) + sym)
    res = f(*_rnn_points(rng, steps=5))
    for numeric, symbolic in zip(res[:n_outer], res[n_outer:]):
        np.testing.assert_allclose(symbolic, numeric, rtol=1e-12, atol=1e-14)


def test_hessian_vector_product_matches_differences_of_the_gradient(rng):
    X, H0, W, U, b = (T.tensor3("X"), T.matrix("H0"), T.matrix("W"), T.matrix("U"),
                      T.vector("b"))
    v = T.matrix("v")
    c = (_rnn(X, H0, W, U, b) ** 2).sum()
    gW = T.grad(c, W)
    hv_grad = T.grad((gW * v).sum(), W)
    hv_rop = T.Rop(gW, W, v)
    f = symgraph.function([X, H0, W, U, b, v], [hv_grad, hv_rop])
    fg = symgraph.function([X, H0, W, U, b], gW)
    Xv, H0v, Wv, Uv, bv = _rnn_points(rng, steps=5)
    V = rng.standard_normal(Wv.shape)
    eps = 1e-5
    num = (fg(Xv, H0v, Wv + eps * V, Uv, bv) - fg(Xv, H0v, Wv - eps * V, Uv, bv)) / (2 * eps)
    for hv in f(Xv, H0v, Wv, Uv, bv, V):
        np.testing.assert_allclose(hv, num, rtol=1e-6, atol=1e-8)


def test_rop_through_scan_outputs(rng):
    """A Jacobian-vector product of the histories (Rop transposes BPTT, a second derivative)."""
    X, H0, W, U, b = (T.tensor3("X"), T.matrix("H0"), T.matrix("W"), T.matrix("U"),
                      T.vector("b"))
    V = T.matrix("V")
    hs = _rnn(X, H0, W, U, b)
    f = symgraph.function([X, H0, W, U, b, V], T.Rop(hs, U, V))
    fh = symgraph.function([X, H0, W, U, b], hs)
    Xv, H0v, Wv, Uv, bv = _rnn_points(rng)
    Vv = rng.standard_normal(Uv.shape)
    eps = 1e-6
    num = (fh(Xv, H0v, Wv, Uv + eps * Vv, bv) - fh(Xv, H0v, Wv, Uv - eps * Vv, bv)) / (2 * eps)
    np.testing.assert_allclose(f(Xv, H0v, Wv, Uv, bv, Vv), num, rtol=1e-6, atol=1e-8)


def test_several_output_and_sequence_taps(rng):
    def cost(x, init, w):
        out, _ = scan(lambda xm, x0, xp, a, b, w: T.tanh(a * w + b * x0 + xp * xm),
                      sequences=dict(input=x, taps=[-1, 0, 2]),
                      outputs_info=dict(initial=init, taps=[-3, -1]), non_sequences=w)
        g = T.grad((out ** 2).sum() + out[-1].sum(), [x, init, w])
        return sum((gi ** 2).sum() for gi in g)
    T.verify_grad(cost, [rng.standard_normal(8) * 0.7, rng.standard_normal(3) * 0.7,
                         np.array(0.8)], rng=rng)


def test_go_backwards_with_sequence_and_output_taps_in_debug_mode(rng):
    """DebugMode also checks every inner function of the derived loops (shapes against types)."""
    def cost(x, init, w):
        out, _ = scan(lambda xm, x0, a, b, w: T.tanh(a * w + b * x0 + xm), go_backwards=True,
                      sequences=dict(input=x, taps=[-1, 0]), mode="DebugMode",
                      outputs_info=dict(initial=init, taps=[-2, -1]), non_sequences=w)
        return sum((g ** 2).sum() for g in T.grad((out ** 2).sum(), [x, init, w]))
    T.verify_grad(cost, [rng.standard_normal(6) * 0.7, rng.standard_normal(2) * 0.7,
                         np.array(0.8)], rng=rng, mode="DebugMode")


def test_float32_hessian_vector_product_keeps_float32(rng):
    X, H0, W, v = T.ftensor3("X"), T.fmatrix("H0"), T.fmatrix("W"), T.fmatrix("v")
    hs, _ = scan(lambda x, h, W: T.tanh(T.dot(x, W) + h * 0.5), sequences=X, outputs_info=H0,
                 non_sequences=W)
    g = T.grad((hs ** 2).sum(), W)
    hv = T.grad((g * v).sum(), W)
    assert hv.dtype == "float32"
    f = symgraph.function([X, H0, W, v], [g, hv])
    Xv, H0v, Wv, V = (a.astype("float32") for a in (
        rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 3)),
        rng.standard_normal((3, 3)) * 0.5, rng.standard_normal((3, 3))))
    hv_val = f(Xv, H0v, Wv, V)[1]
    assert hv_val.dtype == np.float32
    eps = 1e-2
    num = (f(Xv, H0v, Wv + eps * V, V)[0] - f(Xv, H0v, Wv - eps * V, V)[0]) / (2 * eps)
    np.testing.assert_allclose(hv_val, num, rtol=1e-2, atol=1e-2 * np.abs(num).max())


def test_zero_steps_give_zero_second_derivative():
    w, k = T.scalar("w"), T.iscalar("k")
    hs, _ = scan(lambda h, w: T.tanh(h * w + 1.0), outputs_info=T.constant(0.5),
                 non_sequences=w, n_steps=k)
    f = symgraph.function([w, k], T.grad(T.grad(hs.sum(), w), w))
    assert f(0.7, 0) == 0.0
    eps, g = 1e-5, symgraph.function([w, k], T.grad(hs.sum(), w))
    np.testing.assert_allclose(f(0.7, 3), (g(0.7 + eps, 3) - g(0.7 - eps, 3)) / (2 * eps),
                               rtol=1e-6)


# With truncate_gradient, every backward pass through the loop is truncated, also the one that
# carries a change of the histories into a second derivative (as in Theano): finite differences
# of a truncated gradient see the full dependence on the histories. The derivative of
# Lop(outputs, wrt, u) with respect to the seed u does not pass there and is exact.

def test_truncated_gradient_differentiated_through_its_seed(rng):
    Xv, H0v, Wv, Uv, bv = _rnn_points(rng, steps=5)
    X, H0, W = (symgraph.shared(Xv, name="X"), symgraph.shared(H0v, name="H0"),
                symgraph.shared(Wv, name="W"))

    def cost(u):
        hs = _rnn(X, H0, W, T.constant(Uv), T.constant(bv), truncate_gradient=2)
        return sum((g ** 2).sum() for g in T.Lop(hs, [X, H0, W], u))
    T.verify_grad(cost, [rng.standard_normal((5, 2, 3))], rng=rng)


def test_several_taps_truncated_through_the_seed(rng):
    init, w = symgraph.shared(rng.standard_normal(3) * 0.7), symgraph.shared(np.array(0.8))

    def cost(u):
        out, _ = scan(lambda a, b, w: T.tanh(a * w + b), n_steps=5, non_sequences=w,
                      outputs_info=dict(initial=init, taps=[-3, -1]), truncate_gradient=4)
        return sum((g ** 2).sum() for g in T.Lop(out, [init, w], u))
    T.verify_grad(cost, [rng.standard_normal(5)], rng=rng)


def test_outputs_without_feedback_and_integer_sequence(rng):
    def cost(x, w):
        idx = T.constant(np.array([0, 2, 1, 1], dtype="int64"))
        ys, _ = scan(lambda i, r, w: T.sin(r[i] * w), sequences=[idx, x], non_sequences=w)
        return (T.grad((ys ** 3).sum(), w) ** 2).sum() + (T.grad(ys.sum(), x) ** 2).sum()
    T.verify_grad(cost, [rng.standard_normal((4, 3)), rng.standard_normal(3)], rng=rng)


def test_float_shared_state_updated_in_the_loop(rng):
    """A shared state threaded through the steps: its trajectory is recomputed symbolically."""
    def cost(x, w):
        s = symgraph.shared(np.array([0.3, -0.2]), name="s")
        hs, upd = scan(lambda x_t, w: (T.tanh(x_t * w + s), {s: s * 0.5 + T.tanh(x_t * w)}),
                       sequences=x, non_sequences=w)
        c = (hs ** 2).sum() + (upd[s] ** 2).sum()
        return (T.grad(c, w) ** 2).sum()
    T.verify_grad(cost, [rng.standard_normal((4, 2)), rng.standard_normal(2)], rng=rng)


def test_random_draws_in_the_loop_use_the_same_masks(rng):
    """The second-order loop replays the random stream of the forward loop."""
    from symgraph.tensor.shared_randomstreams import RandomStreams
    srng = RandomStreams(seed=int(rng.integers(2 ** 31)))
    x, w, v = T.matrix("x"), T.vector("w"), T.vector("v")

    def step(x_t, h, w):
        mask = srng.binomial(size=(2,), p=0.5, dtype="float64")
        return T.tanh(x_t * w * mask + h)

    hs, updates = scan(step, sequences=x, outputs_info=T.zeros(2), non_sequences=w)
    g = T.grad((hs ** 2).sum(), w)
    hv = T.grad((g * v).sum(), w)
    state = [(s, s.get_value()) for s in updates]
    f = symgraph.function([x, w, v], [g, hv], no_default_updates=True)
    X, Wv, V = rng.standard_normal((5, 2)), rng.standard_normal(2), rng.standard_normal(2)
    eps = 1e-6
    g_plus, _ = f(X, Wv + eps * V, V)
    g_minus, _ = f(X, Wv - eps * V, V)
    _, hv_val = f(X, Wv, V)
    assert all(np.array_equal(s.get_value(), v0) for s, v0 in state)
    np.testing.assert_allclose(hv_val, (g_plus - g_minus) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_third_derivative_of_a_scalar_recurrence():
    """h_t = tanh(w h_{t-1} + 1): d3 h_T / dw3 against differences of the second derivative."""
    w = T.scalar("w")
    hs, _ = scan(lambda h, w: T.tanh(w * h + 1.0), outputs_info=T.constant(0.5),
                 non_sequences=w, n_steps=4)
    d1 = T.grad(hs[-1], w)
    d2 = T.grad(d1, w)
    d3 = T.grad(d2, w)
    f = symgraph.function([w], [d2, d3])
    eps = 1e-5
    num = (f(0.7 + eps)[0] - f(0.7 - eps)[0]) / (2 * eps)
    np.testing.assert_allclose(f(0.7)[1], num, rtol=1e-6)


def test_shape_of_a_scan_gradient_does_not_run_the_backward_loop(rng):
    """ScanGrad.infer_shape: the seed of a second derivative only needs the gradient's shape."""
    X, H0, W, U, b = (T.tensor3("X"), T.matrix("H0"), T.matrix("W"), T.matrix("U"),
                      T.vector("b"))
    gU = T.grad((_rnn(X, H0, W, U, b) ** 2).sum(), U)
    f = symgraph.function([X, H0, W, U, b], gU.shape)
    assert "ScanGrad" not in f.source
    pts = _rnn_points(rng)
    np.testing.assert_array_equal(f(*pts), pts[3].shape)


def test_hessian_through_scan_matches_differences_of_the_gradient(rng):
    x, w = T.matrix("x"), T.vector("w")
    hs, _ = scan(lambda x_t, h, w: T.tanh(x_t * w + h * w), sequences=x,
                 outputs_info=T.zeros(3), non_sequences=w)
    c = (hs ** 2).sum()
    f, g = symgraph.function([x, w], T.hessian(c, w)), symgraph.function([x, w], T.grad(c, w))
    X, W = rng.standard_normal((4, 3)), rng.standard_normal(3)
    eps = 1e-6
    num = np.stack([(g(X, W + eps * e) - g(X, W - eps * e)) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(f(X, W), num, rtol=1e-6, atol=1e-8)


def test_gradient_penalty_through_nested_scans(rng):
    def cost(x, w):
        def outer_step(row, h, w):
            inner, _ = scan(lambda a, s, w: T.tanh(a * w + s), sequences=row, outputs_info=h,
                            non_sequences=w)
            return inner[-1]
        hs, _ = scan(outer_step, sequences=x, outputs_info=T.constant(0.1), non_sequences=w)
        return (T.grad((hs ** 2).sum(), w) ** 2).sum()
    T.verify_grad(cost, [rng.standard_normal((3, 4)), np.array(0.7)], rng=rng)


def test_third_order_through_an_rnn(rng):
    """verify_grad of a Hessian-vector product: the derived loops are differentiated again."""
    V = rng.standard_normal((3, 3))

    def cost(X, H0, W, U, b):
        gU = T.grad((_rnn(X, H0, W, U, b) ** 2).sum(), U)
        return (T.grad((gU * T.constant(V)).sum(), U) ** 2).sum()
    T.verify_grad(cost, _rnn_points(rng, steps=3), rng=rng)
