"""Higher-order derivatives: grad of grad, Hessians, Jacobians (static and run-time length),
Lop and Rop, against explicit formulas and finite differences."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.gradient import DisconnectedInputError


def _fn(inputs, outputs, **kw):
    return symgraph.function(inputs, outputs, on_unused_input="ignore", **kw)


def _fd_jacobian(f, x, eps=1e-6):
    """Central-difference Jacobian of the vector function ``f`` at ``x`` (float64)."""
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for i in range(x.size):
        d = np.zeros_like(x)
        d.flat[i] = eps
        cols.append((np.asarray(f(x + d)) - np.asarray(f(x - d))).ravel() / (2 * eps))
    return np.stack(cols, axis=-1)


def test_grad_of_grad_elementwise(rng):
    x = T.vector("x")
    g = T.grad(T.sin(x).sum(), x)
    gg = T.grad(g.sum(), x)
    xv = rng.standard_normal(4)
    np.testing.assert_allclose(_fn([x], gg)(xv), -np.sin(xv), rtol=1e-12)
    ggg = T.grad(T.grad(T.tanh(x).sum(), x).sum(), x)
    t = np.tanh(xv)
    np.testing.assert_allclose(_fn([x], ggg)(xv), -2 * t * (1 - t * t), rtol=1e-10)


def test_hessian_matches_explicit_formula(rng):
    a = rng.standard_normal(3)
    x = T.vector("x", shape=(3,))
    cost = (x ** 3).sum() + T.dot(x, a) ** 2
    xv = rng.standard_normal(3)
    H = _fn([x], T.hessian(cost, x))(xv)
    np.testing.assert_allclose(H, np.diag(6 * xv) + 2 * np.outer(a, a), rtol=1e-10)


def test_hessian_of_unknown_length(rng):
    a = rng.standard_normal(4)
    x = T.vector("x")
    cost = (T.exp(x) * a).sum() + (x.sum()) ** 2
    xv = rng.standard_normal(4)
    H = _fn([x], T.hessian(cost, x))(xv)
    np.testing.assert_allclose(H, np.diag(a * np.exp(xv)) + 2, rtol=1e-10)


def test_jacobian_static_length(rng):
    x = T.vector("x", shape=(3,))
    A = rng.standard_normal((2, 3))
    y = T.tanh(T.dot(T.constant(A), x))
    xv = rng.standard_normal(3)
    J = _fn([x], T.jacobian(y, x))(xv)
    np.testing.assert_allclose(J, (1 - np.tanh(A @ xv) ** 2)[:, None] * A, rtol=1e-10)
    assert isinstance(T.jacobian(y, [x]), list)


def test_jacobian_unknown_length_matches_finite_differences(rng):
    x = T.vector("x")
    A = T.matrix("A")
    y = T.sigmoid(T.dot(A, x)) * x.sum()
    Av, xv = rng.standard_normal((3, 2)), rng.standard_normal(2)
    JA, Jx = _fn([A, x], T.jacobian(y, [A, x]))(Av, xv)
    fwd = _fn([A, x], y)
    np.testing.assert_allclose(Jx, _fd_jacobian(lambda v: fwd(Av, v), xv), rtol=1e-6, atol=1e-8)
    fdA = _fd_jacobian(lambda m: fwd(m.reshape(3, 2), xv), Av.ravel())
    np.testing.assert_allclose(JA, fdA.reshape(3, 3, 2), rtol=1e-6, atol=1e-8)
    # another length at run time, with shared variables in the expression
    W = symgraph.shared(rng.standard_normal((5, 2)), "W")
    Jw = _fn([x], T.jacobian(T.dot(W, x) ** 2, x))(xv)
    Wv = W.get_value()
    np.testing.assert_allclose(Jw, 2 * (Wv @ xv)[:, None] * Wv, rtol=1e-10)


def test_jacobian_unknown_length_errors():
    x, y = T.vector("x"), T.vector("y")
    with pytest.raises(DisconnectedInputError):
        T.jacobian(T.exp(x), y)
    with pytest.raises(TypeError, match="scalar or a vector"):
        T.jacobian(T.matrix(), x)
    J = T.jacobian(T.exp(x), x)
    with pytest.raises(NotImplementedError, match="static shape"):
        T.grad(J.sum(), x)


def test_jacobian_of_scalar_is_grad(rng):
    x = T.vector("x")
    xv = rng.standard_normal(3)
    np.testing.assert_allclose(_fn([x], T.jacobian((x ** 2).sum(), x))(xv), 2 * xv)


def _vector_fn():
    x = T.vector("x")
    A = T.matrix("A")
    y = T.tanh(T.dot(A, x)) * T.exp(x.sum())
    return x, A, y


def test_lop_and_rop_match_finite_difference_jacobian(rng):
    x, A, y = _vector_fn()
    Av, xv = rng.standard_normal((4, 3)), rng.standard_normal(3) * 0.3
    fwd = _fn([A, x], y)
    J = _fd_jacobian(lambda v: fwd(Av, v), xv)  # (4, 3)
    u, v = T.vector("u"), T.vector("v")
    uv, vv = rng.standard_normal(4), rng.standard_normal(3)
    lop = _fn([A, x, u], T.Lop(y, x, u))(Av, xv, uv)
    rop = _fn([A, x, v], T.Rop(y, x, v))(Av, xv, vv)
    np.testing.assert_allclose(lop, uv @ J, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(rop, J @ vv, rtol=1e-6, atol=1e-8)


def test_rop_several_wrt_and_outputs(rng):
    x, W = T.vector("x"), T.matrix("W")
    y1 = T.dot(W, x)
    y2 = T.exp(x)
    vx, vW = T.vector("vx"), T.matrix("vW")
    r1, r2 = T.Rop([y1, y2], [x, W], [vx, vW])
    xv, Wv = rng.standard_normal(3), rng.standard_normal((2, 3))
    dx, dW = rng.standard_normal(3), rng.standard_normal((2, 3))
    o1, o2 = _fn([x, W, vx, vW], [r1, r2])(xv, Wv, dx, dW)
    np.testing.assert_allclose(o1, Wv @ dx + dW @ xv, rtol=1e-12)
    np.testing.assert_allclose(o2, np.exp(xv) * dx, rtol=1e-12)


def test_hessian_vector_product_via_rop_of_gradient(rng):
    a = rng.standard_normal(3)
    x = T.vector("x")
    cost = (x ** 3).sum() + T.dot(x, a) ** 2
    v = T.vector("v")
    hv = T.Rop(T.grad(cost, x), x, v)
    xv, vv = rng.standard_normal(3), rng.standard_normal(3)
    H = np.diag(6 * xv) + 2 * np.outer(a, a)
    np.testing.assert_allclose(_fn([x, v], hv)(xv, vv), H @ vv, rtol=1e-10)


def test_lop_errors():
    x = T.vector("x")
    with pytest.raises(ValueError, match="eval_points"):
        T.Lop([x * 2, x * 3], x, [T.vector()])
    with pytest.raises(TypeError, match="dims"):
        T.Lop(x * 2, x, T.matrix())


def _fd_hessian(f, x0, eps=1e-4):
    n = len(x0)
    H = np.zeros((n, n))
    E = np.eye(n) * eps
    for i in range(n):
        for j in range(n):
            H[i, j] = (f(x0 + E[i] + E[j]) - f(x0 + E[i] - E[j]) - f(x0 - E[i] + E[j])
                       + f(x0 - E[i] - E[j])) / (4 * eps * eps)
    return H


@pytest.mark.parametrize("cost", [
    lambda v: T.log(T.exp(v).sum()),
    lambda v: (v[1:] * v[:-1]).sum() + v[0] ** 3,
    lambda v: (T.concatenate([v, v ** 2]) ** 2).sum(),
    lambda v: T.sigmoid(v).prod() + T.dot(v, v) ** 2,
])
@pytest.mark.parametrize("static", [True, False])
def test_hessian_matches_finite_differences(cost, static, rng):
    x = T.vector("x", shape=(3,) if static else (None,))
    x0 = rng.standard_normal(3)
    fc = _fn([x], cost(x))
    H = _fn([x], T.hessian(cost(x), x))(x0)
    np.testing.assert_allclose(H, H.T, atol=1e-10)
    np.testing.assert_allclose(H, _fd_hessian(lambda a: float(fc(a)), x0), atol=1e-5)


def test_rop_disconnected_outputs_and_bad_eval_points():
    x, y = T.vector("x"), T.vector("y")
    v = T.vector("v")
    with pytest.raises(DisconnectedInputError, match="does not depend"):
        T.Rop(T.exp(y), x, v)
    r = T.Rop(T.exp(y), x, v, disconnected_outputs="ignore")
    np.testing.assert_array_equal(_fn([y, v], r)(np.ones(3), np.ones(2)), np.zeros(3))
    with pytest.raises(TypeError, match="eval point"):
        T.Rop(T.exp(x), x, T.matrix())


def test_jacobian_static_length_edge_cases(rng):
    x = T.vector("x", shape=(3,))
    y = T.vector("y")
    with pytest.raises(DisconnectedInputError):
        T.jacobian(T.exp(x), y)
    Jx, Jy = T.jacobian(T.exp(x), [x, y], disconnected_inputs="ignore")
    vx, vy = _fn([x, y], [Jx, Jy])(np.zeros(3), np.ones(2))
    np.testing.assert_allclose(vx, np.eye(3))
    np.testing.assert_array_equal(vy, np.zeros((3, 2)))
    empty = T.vector("e", shape=(0,))
    J0 = _fn([empty, y], T.jacobian(empty * 2, y, disconnected_inputs="ignore"))(
        np.zeros(0), np.ones(4))
    assert J0.shape == (0, 4)
