"""symgraph.sparse against SciPy and NumPy: values of every op from a table, gradients w.r.t.
dense operands and stored values against central differences, shared sparse variables, and the
errors of bad input."""
import numpy as np
import pytest
import scipy.sparse as sp

import symgraph
import symgraph.sparse as S
import symgraph.tensor as T


@pytest.fixture
def mats(rng):
    a = sp.random(4, 5, density=0.5, format="csr", random_state=rng.integers(1 << 30))
    b = sp.random(4, 5, density=0.5, format="csr", random_state=rng.integers(1 << 30))
    d = rng.standard_normal((5, 3))
    e = rng.standard_normal((4, 5))
    return a, b, d, e


CASES = [
    # name, symbolic (x, y sparse csr; d 5x3, e 4x5 dense), reference
    ("dot", lambda x, y, d, e: S.dot(x, d), lambda a, b, d, e: a @ d),
    ("dot_dense_left", lambda x, y, d, e: S.dot(d.T, x.T), lambda a, b, d, e: d.T @ a.T),
    ("structured_dot", lambda x, y, d, e: S.structured_dot(x, d), lambda a, b, d, e: a @ d),
    ("true_dot", lambda x, y, d, e: S.true_dot(x, y.T), lambda a, b, d, e: a @ b.T),
    ("add_ss", lambda x, y, d, e: x + y, lambda a, b, d, e: a + b),
    ("add_sd", lambda x, y, d, e: S.add(x, e), lambda a, b, d, e: a + e),
    ("sub_ss", lambda x, y, d, e: x - y, lambda a, b, d, e: a - b),
    ("mul_ss", lambda x, y, d, e: x * y, lambda a, b, d, e: a.multiply(b)),
    ("mul_sd", lambda x, y, d, e: S.mul(x, e), lambda a, b, d, e: a.multiply(e)),
    ("neg", lambda x, y, d, e: -x, lambda a, b, d, e: -a),
    ("transpose", lambda x, y, d, e: x.T, lambda a, b, d, e: a.T),
    ("sp_sum", lambda x, y, d, e: S.sp_sum(x), lambda a, b, d, e: a.sum()),
    ("sp_sum1", lambda x, y, d, e: S.sp_sum(x, 1), lambda a, b, d, e: np.ravel(a.sum(1))),
    ("dense", lambda x, y, d, e: S.dense_from_sparse(x), lambda a, b, d, e: a.toarray()),
    ("from_dense", lambda x, y, d, e: S.csc_from_dense(e), lambda a, b, d, e: sp.csc_matrix(e)),
    ("sqrt", lambda x, y, d, e: S.sqrt(x * x), lambda a, b, d, e: abs(a)),
    ("sp_ones_like", lambda x, y, d, e: S.sp_ones_like(x), lambda a, b, d, e: (a != 0) * 1.0),
    ("row_scale", lambda x, y, d, e: S.row_scale(x, e[:, 0]),
     lambda a, b, d, e: a.multiply(e[:, :1])),
    ("hstack", lambda x, y, d, e: S.hstack([x, y]), lambda a, b, d, e: sp.hstack([a, b])),
    ("vstack", lambda x, y, d, e: S.vstack([x, y]), lambda a, b, d, e: sp.vstack([a, b])),
    ("lt_sd", lambda x, y, d, e: S.lt(x, e), lambda a, b, d, e: a.toarray() < e),
    ("item", lambda x, y, d, e: x[1, 2], lambda a, b, d, e: a[1, 2]),
    ("rows", lambda x, y, d, e: x[[3, 0]], lambda a, b, d, e: a[[3, 0]]),
    ("block", lambda x, y, d, e: x[1:3, 2:], lambda a, b, d, e: a[1:3, 2:]),
    ("square_diagonal", lambda x, y, d, e: S.square_diagonal(e[0]),
     lambda a, b, d, e: np.diag(e[0])),
]


def _dense(v):
    return v.toarray() if sp.issparse(v) else np.asarray(v)


@pytest.mark.parametrize("name,fn,ref", CASES, ids=[c[0] for c in CASES])
def test_values_match_scipy(mats, name, fn, ref):
    a, b, d, e = mats
    x, y = S.csr_matrix("x"), S.csr_matrix("y")
    dd, ee = T.dmatrix("d"), T.dmatrix("e")
    out = fn(x, y, dd, ee)
    got = symgraph.function([x, y, dd, ee], out, on_unused_input="ignore")(a, b, d, e)
    np.testing.assert_allclose(_dense(got), _dense(ref(a, b, d, e)), rtol=1e-12, atol=1e-12)
    if isinstance(out.type, S.SparseType):
        assert sp.issparse(got) and got.format == out.type.format


def _fd_check(f_value, f_grad, point, rng, eps=1e-6):
    """Directional derivative of a scalar function against its gradient."""
    u = rng.standard_normal(point.shape)
    num = (f_value(point + eps * u) - f_value(point - eps * u)) / (2 * eps)
    np.testing.assert_allclose(np.sum(f_grad(point) * u), num, rtol=1e-6, atol=1e-8)


GRADS = [
    # cost of s (a 4x5 csr matrix built from its data), d (5x3) and e (4x5)
    ("structured_dot", lambda s, d, e: (S.structured_dot(s, d) ** 2).sum()),
    ("dot", lambda s, d, e: T.tanh(S.dot(s, d)).sum()),
    ("true_dot", lambda s, d, e: S.sp_sum(S.true_dot(s, S.csr_from_dense(e).T) * 2.0)),
    ("mul_sd", lambda s, d, e: S.sp_sum(S.mul(s, e)) ** 2),
    ("add_sd", lambda s, d, e: (S.add(s, e) ** 2).sum()),
    ("dense", lambda s, d, e: (S.dense_from_sparse(s * s) * e).sum()),
    ("sqrt", lambda s, d, e: S.sp_sum(S.sqrt(s * s + s * s))),
    ("item_and_block", lambda s, d, e: s[1, 2] * 3 + S.sp_sum(s[0:2, 1:4]) ** 2),
]


@pytest.mark.parametrize("name,cost", GRADS, ids=[g[0] for g in GRADS])
def test_gradients_wrt_stored_values_and_dense_operands(mats, rng, name, cost):
    a, _, d, e = mats
    data = T.dvector("data")
    dd, ee = T.dmatrix("d"), T.dmatrix("e")
    x = S.csr_matrix("x")
    _, ind, ptr, shp = S.csm_properties(x)
    s = S.CSR(data, ind, ptr, shp)
    c = cost(s, dd, ee)
    grads = T.grad(c, [data, dd, ee], disconnected_inputs="ignore")
    value = symgraph.function([data, x, dd, ee], c, on_unused_input="ignore")
    gfun = symgraph.function([data, x, dd, ee], grads, on_unused_input="ignore")
    point = [a.data.copy(), d, e]
    for k in range(3):
        def at(v, k=k):
            args = list(point)
            args[k] = v
            return args
        _fd_check(lambda v: value(at(v)[0], a, *at(v)[1:]),
                  lambda v: gfun(at(v)[0], a, *at(v)[1:])[k], point[k], rng)


def test_gradient_wrt_a_sparse_input_is_dense_and_structured(mats):
    a, _, d, _ = mats
    x, dd = S.csr_matrix("x"), T.dmatrix("d")
    g = T.grad(S.structured_dot(x, dd).sum(), x)
    got = symgraph.function([x, dd], g)(a, d)
    want = (a != 0).toarray() * (np.ones((4, 3)) @ d.T)
    np.testing.assert_allclose(got, want)


def test_shared_sparse_variable_updates(mats):
    a, b, _, _ = mats
    w = S.shared(a, name="w")
    f = symgraph.function([], S.sp_sum(w), updates=[(w, w + w)])
    np.testing.assert_allclose(f(), a.sum())
    np.testing.assert_allclose(w.get_value().toarray(), 2 * a.toarray())
    w.set_value(b)
    np.testing.assert_allclose(f(), b.sum())


def test_constants_and_formats(mats):
    a, _, d, _ = mats
    c = S.as_sparse_variable(a.tocsc())
    assert c.type == S.SparseType("csc", "float64")
    np.testing.assert_allclose(symgraph.function([], S.dot(c, d))(), a @ d)
    assert str(S.csr_matrix("q", dtype="float32").type) == "Sparse[float32, csr]"


def test_bad_input_is_refused_clearly(mats):
    a, _, d, _ = mats
    x = S.csr_matrix("x")
    f = symgraph.function([x], S.sp_sum(x))
    with pytest.raises(TypeError, match="scipy.sparse csr"):
        f(a.toarray())
    with pytest.raises(TypeError, match="sparse"):
        S.as_sparse_variable(T.dmatrix())
    with pytest.raises(TypeError, match="format"):
        S.SparseType("coo", "float64")
