"""Stabilization: the stable forms appear, values agree where both are finite, and the
rewritten graphs (and their gradients) stay finite where the naive ones overflow."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T

from rewrite_helpers import assert_same, op_counts


def _v(rng, n=5, scale=3.0):
    return rng.standard_normal(n) * scale


def test_log1p(rng):
    x = T.vector("x")
    f = assert_same([x], T.log(1 + x), [np.abs(_v(rng))])
    counts = op_counts(f)
    assert counts["log1p"] == 1 and "log" not in counts and "add" not in counts
    tiny = np.array([1e-20])
    assert f(tiny)[0] == 1e-20  # log(1 + 1e-20) would be 0


def test_log1p_nary_add(rng):
    x, y = T.vector("x"), T.vector("y")
    f = assert_same([x, y], T.log(x + 1 + y), [np.abs(_v(rng)), np.abs(_v(rng))])
    assert op_counts(f)["log1p"] == 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log of the wrapped -32768
def test_log1p_not_for_integers():
    i = T.wvector("i")
    out = T.log(i + 1)
    f = assert_same([i], out, [np.array([32767, 1], dtype="int16")], rtol=1e-6)
    assert "log1p" not in op_counts(f)  # 32767 + 1 wraps in int16: log1p would change it


def test_expm1(rng):
    x = T.vector("x")
    f = assert_same([x], [T.exp(x) - 1, T.exp(x) + (-1)], [_v(rng)])
    counts = op_counts(f)
    assert counts["expm1"] == 1 and "exp" not in counts
    assert f(np.array([1e-20]))[0][0] == 1e-20


def test_log_sigmoid(rng):
    x = T.vector("x")
    f = assert_same([x], T.log(T.sigmoid(x)), [_v(rng)])
    counts = op_counts(f)
    assert counts["softplus"] == 1 and "log" not in counts and "sigmoid" not in counts
    out = f(np.array([-1000.0, 0.0, 1000.0]))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [-1000.0, -np.log(2.0), 0.0], atol=1e-12)


def test_log_sigmoid_gradient_finite(rng):
    x = T.vector("x")
    g = T.grad(T.log(T.sigmoid(x)).sum(), x)
    f = symgraph.function([x], g)
    got = f(np.array([-1000.0, 0.0, 30.0]))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, [1.0, 0.5, 1 / (1 + np.exp(30.0))], rtol=1e-9)


def test_log_one_minus_sigmoid(rng):
    x = T.vector("x")
    f = assert_same([x], T.log(1 - T.sigmoid(x)), [_v(rng)])
    counts = op_counts(f)
    assert counts["softplus"] == 1 and "log" not in counts
    out = f(np.array([1000.0, -1000.0]))
    np.testing.assert_allclose(out, [-1000.0, 0.0], atol=1e-12)


def test_softplus_from_log_one_plus_exp(rng):
    x = T.vector("x")
    f = assert_same([x], T.log(1 + T.exp(x)), [_v(rng)])
    counts = op_counts(f)
    assert counts["softplus"] == 1 and "exp" not in counts and "log" not in counts
    out = f(np.array([1000.0, -1000.0]))
    np.testing.assert_allclose(out, [1000.0, 0.0], atol=1e-12)


def test_softplus_gradient_finite_at_1000():
    x = T.vector("x")
    cost = T.log(1 + T.exp(x)).sum()
    g = T.grad(cost, x)
    f = symgraph.function([x], [cost, g])
    c, gv = f(np.array([1000.0, 0.0, -1000.0]))
    assert np.isfinite(c) and np.all(np.isfinite(gv))
    np.testing.assert_allclose(gv, [1.0, 0.5, 0.0], atol=1e-12)
    ref = symgraph.function([x], g, mode="FAST_COMPILE")
    with np.errstate(all="ignore"):
        assert np.isnan(ref(np.array([1000.0]))[0])  # what the naive graph gives


def test_softplus_gradient_matches_finite_differences(rng):
    T.verify_grad(lambda x: T.log(1 + T.exp(x)), [rng.standard_normal(4)], rng=rng)


def test_log_exp(rng):
    x = T.vector("x")
    f = assert_same([x], T.log(T.exp(x)) * 2, [_v(rng)])
    counts = op_counts(f)
    assert "exp" not in counts and "log" not in counts
    np.testing.assert_allclose(f(np.array([1000.0])), [2000.0])


def test_log_exp_of_integer_casts():
    i = T.ivector("i")
    out = T.log(T.exp(i))
    f = assert_same([i], out, [np.arange(3, dtype="int32")])
    assert f(np.arange(3, dtype="int32")).dtype == np.dtype(out.dtype)


def test_one_minus_sigmoid(rng):
    x = T.vector("x")
    f = assert_same([x], (1 - T.sigmoid(x)) * 3, [_v(rng)])
    counts = op_counts(f)
    assert counts["sigmoid"] == 1 and "sub" not in counts
    assert f(np.array([40.0]))[0] > 0  # 1 - sigmoid(40) cancels to 0 in float64


def test_mul_cancel_div(rng):
    x, y = T.vector("x"), T.vector("y")
    ey = T.exp(y)
    f = assert_same([x, y], (x / ey) * ey, [_v(rng), _v(rng)])
    counts = op_counts(f)
    assert "true_div" not in counts and "mul" not in counts


def test_mul_cancel_div_keeps_broadcast_shape(rng):
    x, y = T.vector("x"), T.matrix("y")
    f = assert_same([x, y], (x / y) * y, [_v(rng, 3), np.abs(rng.standard_normal((2, 3))) + 1])
    assert f(_v(rng, 3), np.ones((2, 3))).shape == (2, 3)


def test_sigmoid_from_exp_div(rng):
    x = T.vector("x")
    f = assert_same([x], T.exp(x) / (1 + T.exp(x)), [_v(rng)])
    counts = op_counts(f)
    assert counts["sigmoid"] == 1 and "exp" not in counts
    np.testing.assert_allclose(f(np.array([1000.0])), [1.0])


def test_binary_crossentropy_stable_with_gradient(rng):
    z, t = T.vector("z"), T.vector("t")
    s = T.sigmoid(z)
    cost = -(t * T.log(s) + (1 - t) * T.log(1 - s)).mean()
    g = T.grad(cost, z)
    f = symgraph.function([z, t], [cost, g])
    zv = np.array([-1000.0, 1000.0, 0.5])
    tv = np.array([1.0, 0.0, 1.0])
    c, gv = f(zv, tv)
    assert np.isfinite(c) and np.all(np.isfinite(gv))
    np.testing.assert_allclose(gv, (1 / (1 + np.exp(-np.clip(zv, -700, 700))) - tv) / 3,
                               atol=1e-12)
    T.verify_grad(lambda a, b: -(b * T.log(T.sigmoid(a)) + (1 - b) * T.log(1 - T.sigmoid(a))),
                  [rng.standard_normal(4), rng.uniform(size=4)], rng=rng)


def test_log_one_minus_exp(rng):
    x = T.vector("x")
    xv = -np.abs(_v(rng)) - 0.1
    f = assert_same([x], T.log(1 - T.exp(x)), [xv])
    counts = op_counts(f)
    assert counts["expm1"] == 1 and "exp" not in counts and "sub" not in counts
    np.testing.assert_allclose(f(np.array([-1e-20])), [np.log(1e-20)], rtol=1e-12)


def test_sigmoid_from_exp_ratio(rng):
    x, a = T.vector("x"), T.vector("a")
    e = T.exp(x)
    f = assert_same([x, a], (a / (1 + e)) * e, [_v(rng), _v(rng)])
    counts = op_counts(f)
    assert counts["sigmoid"] == 1 and "exp" not in counts and "true_div" not in counts
    assert f(np.zeros(3), np.ones(1)).shape == (3,)  # a of length 1 still broadcasts
    np.testing.assert_allclose(f(np.array([1000.0]), np.array([2.0])), [2.0])


def test_distribute_cancel_div(rng):
    a, b, y, z = [T.tensor("float64", (5,), name) for name in "abyz"]
    ey, ez = T.exp(y), T.exp(z)
    out = (a / ey - b / ez) * ey * ez
    f = assert_same([a, b, y, z], out, [_v(rng), _v(rng), _v(rng), _v(rng)])
    counts = op_counts(f)
    assert "true_div" not in counts and counts["sub"] == 1 and counts["mul"] == 2
