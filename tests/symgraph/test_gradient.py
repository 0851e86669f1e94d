"""Reverse-mode gradients: structure, blocking, errors, finite differences, graph hygiene
(higher order, Jacobians and Lop/Rop: test_gradient_higher.py)."""
import warnings

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.gradient import DisconnectedInputError, NullGradError, is_zero_gradient
from symgraph.graph import ancestors, toposort
from symgraph.ops.variable import TensorVariable
from symgraph.ops.elemwise import Elemwise


def _fn(inputs, outputs, **kw):
    return symgraph.function(inputs, outputs, on_unused_input="ignore", **kw)


# ---------------------------------------------------------------------------------------
# the cost and the wrt structure
# ---------------------------------------------------------------------------------------

def test_cost_must_be_scalar():
    x = T.vector("x")
    with pytest.raises(TypeError, match="cost must be a scalar.*sum"):
        T.grad(x * 2, x)
    with pytest.raises(TypeError, match="integer/bool"):
        T.grad(T.cast(x, "int64").sum(), x)
    with pytest.raises(TypeError, match="cost must be a symbolic variable"):
        T.grad(1.0, x)
    with pytest.raises(ValueError, match="known_grads"):
        T.grad(None, x)


def test_wrt_must_be_float_variables():
    x = T.vector("x")
    i = T.ivector("i")
    with pytest.raises(TypeError, match="wrt must be symbolic"):
        T.grad(x.sum(), np.ones(2))
    with pytest.raises(TypeError, match="integer/bool"):
        T.grad((x * i).sum(), i)


def test_wrt_structure(rng):
    x, y = T.vector("x"), T.vector("y")
    cost = (x * y).sum() + (x ** 2).sum()
    single = T.grad(cost, x)
    assert isinstance(single, symgraph.Variable)
    as_list = T.grad(cost, [x, y])
    assert isinstance(as_list, list) and len(as_list) == 2
    as_tuple = T.grad(cost, (x, y))
    assert isinstance(as_tuple, tuple) and len(as_tuple) == 2
    xv, yv = rng.standard_normal(3), rng.standard_normal(3)
    gx, gy = _fn([x, y], as_list)(xv, yv)
    np.testing.assert_allclose(gx, yv + 2 * xv, rtol=1e-12)
    np.testing.assert_allclose(gy, xv, rtol=1e-12)
    np.testing.assert_allclose(_fn([x, y], single)(xv, yv), yv + 2 * xv, rtol=1e-12)
    assert single.name == "(d cost / d x)"


def test_intermediate_and_input_wrt_give_total_derivatives():
    x = T.scalar("x")
    h = x * 2
    cost = h * h + x
    gh, gx = T.grad(cost, [h, x])
    vh, vx = _fn([x], [gh, gx])(3.0)
    assert float(vh) == 12.0  # d cost / d h = 2 h
    assert float(vx) == 25.0  # the path through h counts: 2 h * 2 + 1
    assert float(_fn([x], T.grad(cost, x))(3.0)) == 25.0


def test_grad_wrt_shared_and_broadcast(rng):
    W = symgraph.shared(rng.standard_normal((3, 2)), "W")
    b = symgraph.shared(np.zeros((1, 2)), "b", broadcastable=(True, False))
    c = symgraph.shared(np.zeros(2), "c")  # unknown dims: broadcast resolved at run time
    x = T.matrix("x")
    out = T.tanh(T.dot(x, W) + b + c)
    gW, gb, gc = T.grad(out.sum(), [W, b, c])
    xv = rng.standard_normal((4, 3))
    vW, vb, vc = _fn([x], [gW, gb, gc])(xv)
    d = 1 - np.tanh(xv @ W.get_value()) ** 2
    np.testing.assert_allclose(vW, xv.T @ d, rtol=1e-10)
    np.testing.assert_allclose(vb, d.sum(axis=0, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(vc, d.sum(axis=0), rtol=1e-10)


# ---------------------------------------------------------------------------------------
# blocking gradients
# ---------------------------------------------------------------------------------------

def test_consider_constant(rng):
    x = T.vector("x")
    h = x * x
    g = T.grad((h * x).sum(), x, consider_constant=[h])
    xv = rng.standard_normal(3)
    np.testing.assert_allclose(_fn([x], g)(xv), xv * xv, rtol=1e-12)  # d(h x)/dx with h fixed


@pytest.mark.parametrize("block", [T.disconnected_grad, T.stop_gradient, T.zero_grad])
def test_disconnected_grad(block, rng):
    x = T.vector("x")
    g = T.grad((x * block(x)).sum(), x)
    xv = rng.standard_normal(3)
    np.testing.assert_allclose(_fn([x], g)(xv), xv, rtol=1e-12)
    # the forward value is unchanged
    np.testing.assert_allclose(_fn([x], block(x) * 2)(xv), 2 * xv)
    # a wrt reached only through the block is disconnected
    with pytest.raises(DisconnectedInputError):
        T.grad(block(x).sum(), x)


def test_known_grads(rng):
    x = T.vector("x")
    h = T.exp(x)
    gh = T.vector("gh")
    g = T.grad(None, x, known_grads={h: gh})
    xv, ghv = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(_fn([x, gh], g)(xv, ghv), ghv * np.exp(xv), rtol=1e-12)
    # together with a cost, the contributions add
    g2 = T.grad(x.sum(), x, known_grads={h: gh})
    np.testing.assert_allclose(_fn([x, gh], g2)(xv, ghv), 1 + ghv * np.exp(xv), rtol=1e-12)
    with pytest.raises(TypeError, match="known gradient"):
        T.grad(None, x, known_grads={h: T.matrix()})


def test_disconnected_wrt():
    x, y = T.vector("x"), T.vector("y")
    cost = (x * 2).sum()
    with pytest.raises(DisconnectedInputError, match="y"):
        T.grad(cost, y)
    with pytest.raises(DisconnectedInputError):
        T.grad(cost, [x, y])
    gx, gy = T.grad(cost, [x, y], disconnected_inputs="ignore")
    vx, vy = _fn([x, y], [gx, gy])(np.ones(2), np.ones(4))
    np.testing.assert_array_equal(vx, [2.0, 2.0])
    np.testing.assert_array_equal(vy, np.zeros(4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        T.grad(cost, y, disconnected_inputs="warn")
    assert any("not part of the computational graph" in str(w.message) for w in caught)
    assert T.grad(cost, y, disconnected_inputs="ignore", return_disconnected="None") is None
    with pytest.raises(ValueError, match="disconnected_inputs"):
        T.grad(cost, y, disconnected_inputs="maybe")


def test_integer_only_path_raises_null_grad():
    x = T.vector("x")
    cost = T.cast(T.cast(x, "int64"), "float64").sum()
    with pytest.raises(NullGradError, match="non-differentiable"):
        T.grad(cost, x)
    cost2 = T.cast(x.argmax(), "float64") * 1.0
    with pytest.raises(NullGradError):
        T.grad(cost2, x)
    # a differentiable path alongside the integer one defines the gradient
    g = T.grad(cost + x.sum(), x)
    np.testing.assert_array_equal(_fn([x], g)(np.array([0.3, 1.7])), [1.0, 1.0])


def test_shape_only_dependence_is_disconnected():
    x, W = T.vector("x"), T.vector("W")
    with pytest.raises(DisconnectedInputError):
        T.grad(T.cast(x.shape[0], "float64"), x)
    cost = (W ** 2).sum() / x.shape[0]
    gW, gx = T.grad(cost, [W, x], disconnected_inputs="ignore")
    vW, vx = _fn([W, x], [gW, gx])(np.ones(2), np.ones(4))
    np.testing.assert_allclose(vW, [0.5, 0.5])
    np.testing.assert_array_equal(vx, np.zeros(4))


def test_comparisons_give_zero_gradient(rng):
    x = T.vector("x")
    xv = np.array([-1.0, 0.2, 0.7, 3.0])
    g = T.grad(((x < 0.5) * x).sum(), x)
    np.testing.assert_array_equal(_fn([x], g)(xv), (xv < 0.5).astype(float))
    # reached only through a comparison: a defined zero, not an error
    g0 = T.grad(T.cast(x > 0, "float64").sum(), x)
    np.testing.assert_array_equal(_fn([x], g0)(xv), np.zeros(4))
    gf = T.grad(T.switch(x, 1.0, 2.0).sum(), x)  # a float condition: zero, not undefined
    np.testing.assert_array_equal(_fn([x], gf)(xv), np.zeros(4))
    gs = T.grad(T.switch(x > 0.5, x * 3, x * x).sum(), x)
    np.testing.assert_allclose(_fn([x], gs)(xv), np.where(xv > 0.5, 3.0, 2 * xv))


def test_max_routes_gradient_to_argmax(rng):
    x = T.vector("x")
    xv = np.array([1.0, 5.0, 2.0])
    np.testing.assert_array_equal(_fn([x], T.grad(x.max(), x))(xv), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(_fn([x], T.grad(x.min(), x))(xv), [1.0, 0.0, 0.0])
    m = T.matrix("m")
    mv = rng.standard_normal((3, 4))
    w = rng.standard_normal(3)
    g = T.grad((m.max(axis=1) * w).sum(), m)
    ref = np.zeros_like(mv)
    ref[np.arange(3), mv.argmax(axis=1)] = w
    np.testing.assert_allclose(_fn([m], g)(mv), ref)


# ---------------------------------------------------------------------------------------
# finite differences
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fun, shapes", [
    (lambda x: T.exp(x).sum(), [(3,)]),
    (lambda x: T.log(x * x + 1).sum(), [(4,)]),
    (lambda x: T.sigmoid(x) * T.tanh(x), [(2, 3)]),
    (lambda x, y: T.dot(x, y), [(2, 3), (3, 4)]),
    (lambda x, y: (x / (y * y + 1)).sum(axis=0), [(3, 2), (2,)]),
    (lambda x: T.softplus(x).mean(), [(5,)]),
    (lambda x: (x ** 3).prod(), [(3,)]),
    (lambda x: T.maximum(x, 0.1) + abs(x), [(4,)]),
    (lambda x, y: x.reshape((3, 2)) * y.dimshuffle("x", 0), [(2, 3), (2,)]),
    (lambda x: T.sqrt(x * x + 1).max(axis=0), [(3, 4)]),
])
def test_verify_grad(fun, shapes, rng):
    points = [rng.standard_normal(s) for s in shapes]
    T.verify_grad(fun, points, rng=rng)


def test_verify_grad_catches_a_wrong_gradient(rng):
    from symgraph.graph import Apply
    from symgraph.op import Op
    from symgraph.ops.variable import TensorVariable, as_tensor_variable

    class WrongSquare(Op):
        def make_node(self, x):
            x = as_tensor_variable(x)
            return Apply(self, [x], [TensorVariable(x.type)])

        def perform(self, x):
            return x * x

        def grad(self, inputs, outputs, output_grads):
            return [output_grads[0] * inputs[0]]  # should be 2 x gz

    with pytest.raises(T.verify_grad.E_grad, match="finite difference"):
        T.verify_grad(lambda x: WrongSquare()(x), [rng.standard_normal(3)], rng=rng)


# ---------------------------------------------------------------------------------------
# graph hygiene
# ---------------------------------------------------------------------------------------

def _zero_terms(outputs):
    """Nodes that multiply by, or add, an identically-zero value."""
    bad = []
    for node in toposort(outputs):
        if isinstance(node.op, Elemwise) and node.op.scalar_op.name in ("mul", "add", "sub"):
            if any(is_zero_gradient(i) for i in node.inputs):
                bad.append(node)
    return bad


def test_gradient_graphs_have_no_zero_terms():
    x = T.vector("x", shape=(3,))
    y = T.vector("y")
    W = T.matrix("W")
    graphs = [
        T.grad((x * y).sum(), x),
        T.hessian((x ** 3).sum() + x.sum() ** 2, x),
        T.grad(T.switch(x < 0, x, 2 * x).sum(), x),
        T.grad(T.maximum(x, 0).sum() + T.clip(x, 0, 1).sum(), x),
        T.grad(T.sigmoid(T.dot(W, x)).sum(), W),
        T.grad(T.grad(T.tanh(x).sum(), x).sum(), x),
        T.grad(((x > 0) * x).sum() + abs(x).sum(), x),
        T.grad(T.grad(x.max(), x).sum(), x, disconnected_inputs="ignore"),
    ]
    for g in graphs:
        assert _zero_terms([g]) == [], g


def test_gradient_reuses_forward_results():
    x = T.vector("x")
    for fn, name in ((T.exp, "exp"), (T.tanh, "tanh"), (T.sigmoid, "sigmoid"),
                     (T.sqrt, "sqrt")):
        y = fn(x)
        g = T.grad(y.sum(), x)
        assert y in ancestors([g]), name
        assert sum(1 for n in toposort([g]) if str(n.op) == name) == 1, name
    e = T.exp(x)
    f = symgraph.function([x], [e.sum(), T.grad(e.sum(), x)])
    assert f.source.count("np.exp(") == 1
    v, gv = f(np.array([0.0, 1.0]))
    np.testing.assert_allclose(gv, np.exp([0.0, 1.0]))


def test_float32_graphs_keep_float32_gradients(rng):
    with symgraph.config.change_flags(floatX="float32"):
        x = T.matrix("x")
        W = symgraph.shared(rng.standard_normal((3, 2)).astype(np.float32), "W")
        cost = (T.tanh(T.dot(x, W)) ** 2 * 0.5).mean() + 1e-3 * (W ** 2).sum() \
            + T.softplus(x).max()
        assert cost.dtype == "float32"
        g = T.grad(cost, [x, W])
        assert [v.dtype for v in g] == ["float32", "float32"]
        outs = _fn([x], g)(rng.standard_normal((2, 3)).astype(np.float32))
        assert [o.dtype for o in outs] == [np.float32, np.float32]
        T.verify_grad(lambda a: (T.tanh(a) ** 2).mean(),
                      [rng.standard_normal((3, 3)).astype(np.float32)], rng=rng)


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "FAST_RUN"])
def test_gradient_of_a_variable_with_hundreds_of_clients(mode):
    # the accumulated gradient is one n-ary add of 300 terms: its source must still compile
    x = T.vector("x")
    cost = sum(((x * float(i)) ** 2).sum() for i in range(300))
    g = _fn([x], T.grad(cost, x), mode=mode)(np.ones(2))
    np.testing.assert_allclose(g, 2 * sum(i * i for i in range(300)) * np.ones(2), rtol=1e-12)


def test_gradient_of_a_deep_chain_compiles_and_matches(rng):
    x = T.vector("x")
    y = x
    for i in range(300):
        y = T.tanh(y) * 1.0001 + 0.001 if i % 2 else y + 0.5
    g = T.grad(y.sum(), x)
    xv = rng.standard_normal(2)
    fast = _fn([x], [y, g])(xv)
    ref = _fn([x], [y, g], mode="FAST_COMPILE")(xv)
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    T.verify_grad(lambda v: (T.tanh(T.tanh(v) * 2) * 3).sum(), [xv], rng=rng)


def test_null_gradients_return():
    x, y = T.vector("x"), T.vector("y")
    cost = T.cast(T.cast(x, "int64"), "float64").sum() + y.sum()
    gx, gy = T.grad(cost, [x, y], null_gradients="return")
    vx, vy = _fn([x, y], [gx, gy])(np.ones(3), np.ones(2))
    np.testing.assert_array_equal(vx, np.zeros(3))
    np.testing.assert_array_equal(vy, [1.0, 1.0])
    gx, gy = T.grad(cost, [x, y], null_gradients="return", return_disconnected="None")
    assert gx is None
    np.testing.assert_array_equal(_fn([y], gy)(np.ones(2)), [1.0, 1.0])  # no need for x
    with pytest.raises(ValueError, match="null_gradients"):
        T.grad(cost, x, null_gradients="sometimes")


def test_gradient_graph_does_not_compute_the_cost():
    x = T.vector("x")
    cost = (T.exp(x) ** 2).sum()
    g = T.grad(cost, x)
    assert cost not in ancestors([g])
    e = cost.owner.inputs[0].owner.inputs[0]
    assert e.owner.op == T.exp and e in ancestors([g])  # the forward exp(x) is reused


def _random_cost(seed, xs):
    """A random graph over ``xs`` (3x3 matrices) whose nodes are reused by several clients."""
    pick = np.random.default_rng(seed)
    pool = list(xs)
    for _ in range(8):
        a, b = (pool[int(i)] for i in pick.integers(len(pool), size=2))
        kind = int(pick.integers(7))
        pool.append([a + b, a * b - 0.5, T.tanh(a) * 2, a.T, T.dot(a, b) * 0.3,
                     a.sum(axis=0, keepdims=True) + b, T.exp(-a * a) + b][kind])
    used = [pool[int(i)] for i in pick.integers(len(xs), len(pool), size=3)]
    return sum((u * float(w)).sum() for u, w in zip(used, pick.standard_normal(3)))


def test_random_graphs_with_shared_subexpressions_match_finite_differences(rng):
    for seed in range(10):
        points = [rng.standard_normal((3, 3)) for _ in range(3)]
        T.verify_grad(lambda a, b, c, s=seed: _random_cost(s, [a, b, c]), points, rng=rng)


def test_random_graphs_hessian_vector_products_match_differences_of_gradients(rng):
    # Rop of the gradient (second order through every op of the random graphs) against a
    # central difference of the compiled gradient along the same direction
    for seed in range(4):
        xs = [T.matrix(f"x{i}") for i in range(3)]
        vs = [T.matrix(f"v{i}") for i in range(3)]
        gs = T.grad(_random_cost(seed, xs), xs, disconnected_inputs="ignore")
        hv = _fn(xs + vs, T.Rop(gs, xs, vs, disconnected_outputs="ignore"))
        g = _fn(xs, gs)
        pts = [rng.standard_normal((3, 3)) for _ in range(3)]
        dirs = [rng.standard_normal((3, 3)) for _ in range(3)]
        eps = 1e-5
        plus = g(*[p + eps * d for p, d in zip(pts, dirs)])
        minus = g(*[p - eps * d for p, d in zip(pts, dirs)])
        for got, p, m in zip(hv(*pts, *dirs), plus, minus):
            np.testing.assert_allclose(got, (p - m) / (2 * eps), rtol=1e-4, atol=1e-5)
