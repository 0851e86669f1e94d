"""The NumPy back end's products without the all-zero columns or rows of their left operand
(symgraph/backends/zero_slices.py): the dense product's value up to rounding (within the
summation bound, against float64 NumPy) for every layout and pattern of zero slices; the
dense product (``out`` untouched) wherever they do not apply, including a right operand
that is not finite where the left-out terms would read it; and the compiled train step of a
network on MNIST-like images, which takes them, against the same step without them."""
import hypothesis
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgraph
import symgraph.tensor as T
from symgraph.backends import zero_slices as Z
from symgraph.backends.windows import WindowLoops
from symgraph.compile.mode import FAST_RUN

from product_checks import assert_product_close, left_layout

NUMPY = FAST_RUN.__class__("NUMPY-zero-slices", backend="numpy")


def _images(rng, m, kk, zero_cols, dtype, density=0.5):
    """``m`` rows of ``kk`` pixels, the columns ``zero_cols`` zero in every row, the others
    nonzero with probability ``density``."""
    a = rng.standard_normal((m, kk)) * (rng.random((m, kk)) < density)
    a[:, zero_cols] = 0
    return a.astype(dtype)


def _border(kk, share):
    """The first and last columns, ``share`` of them in all: an image's border."""
    n = int(round(share * kk))
    return np.r_[0:n // 2, kk - (n - n // 2):kk]


# (m, kk, n, share of zero columns): the study's forward product, wider and narrower ones, a
# share at the limit, every column zero
CASES = [(100, 784, 500, 0.34), (64, 300, 1000, 0.5), (37, 513, 257, Z.ZERO_FRACTION + 0.01),
         (50, 400, 300, 1.0)]


@pytest.mark.parametrize("m,kk,n,share", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["C", "T", "strided"])
def test_without_zero_columns_the_product_is_the_dense_one(m, kk, n, share, dtype, layout,
                                                           rng):
    a = left_layout(_images(rng, m, kk, _border(kk, share), dtype), layout)
    b = rng.standard_normal((kk, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)
    assert Z.product(a, b, out) is out
    assert_product_close(out, a, b)


@pytest.mark.parametrize("m,kk,n,share", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_without_zero_rows_the_product_is_the_dense_one(m, kk, n, share, dtype, rng):
    """The weight gradient ``x.T @ g``: the rows of ``x.T`` that are zero give zero rows."""
    x = _images(rng, n, m, _border(m, share), dtype)  # n images of m pixels
    a = x.T  # (m, n): its zero rows are the pixels zero in every image
    g = rng.standard_normal((n, kk)).astype(dtype)
    out = np.full((m, kk), np.nan, dtype)
    if m * n * kk < Z.MIN_WORK:
        pytest.skip("too small a product")
    assert Z.product(a, g, out) is out
    assert_product_close(out, a, g)
    assert not out[_border(m, share)].any()


def test_dense_small_and_odd_operands_are_left_to_blas(rng):
    a = _images(rng, 100, 784, _border(784, 0.34), "float32")
    b = rng.standard_normal((784, 500)).astype(np.float32)
    out = np.full((100, 500), 7.0, np.float32)
    sentinel = out.copy()
    few = _images(rng, 100, 784, _border(784, Z.ZERO_FRACTION - 0.02), "float32", 1.0)
    cases = {
        "no zero slices": (rng.standard_normal((100, 784)).astype(np.float32), b, out),
        "too few zero columns": (few, b, out),
        "small": (a[:8, :64], b[:64], np.empty((8, 500), np.float32)),
        "dtypes": (a.astype(np.float64), b, out),
        "integers": (a.astype(np.int32), b.astype(np.int32), out.astype(np.int32)),
        "out aliases b": (a[:, :500], b[:500], b[:100]),
        "read-only out": (a, b, np.zeros((100, 500), np.float32)),
        "vector": (a[0], b, out[0]),
    }
    cases["read-only out"][2].flags.writeable = False
    for name, (x, y, z) in cases.items():
        before = z.copy()
        assert Z.product(x, y, z) is None, name
        np.testing.assert_array_equal(z, before)
    np.testing.assert_array_equal(out, sentinel)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("where", ["a left-out row", "a kept row"])
def test_a_right_operand_not_finite_gives_the_dense_products_nan(value, where, rng):
    """``0 * inf`` is nan: a left-out term that reads an inf or a nan would change the value,
    so the product is left to BLAS (a non-finite entry in a kept row refuses as well, which
    only costs time); the weight gradient's ``g`` likewise."""
    zero = _border(784, 0.34)
    a = _images(rng, 100, 784, zero, "float32")
    b = rng.standard_normal((784, 500)).astype(np.float32)
    kept = np.setdiff1d(np.arange(784), zero)
    b[zero[3] if where == "a left-out row" else kept[3], 7] = value
    out = np.full((100, 500), 7.0, np.float32)
    assert Z.product(a, b, out) is None
    assert (out == 7.0).all()
    g = rng.standard_normal((100, 500)).astype(np.float32)
    g[5, 9] = value
    out = np.full((784, 500), 7.0, np.float32)
    assert Z.product(a.T, g, out) is None and (out == 7.0).all()


def test_the_sample_refuses_a_dense_operand_before_counting(rng, monkeypatch):
    """A ReLU layer's output, half zeros at random, has no zero slices: the sample says so
    and the exact count never runs."""
    a = np.maximum(rng.standard_normal((100, 784)), 0).astype(np.float32)
    b = rng.standard_normal((784, 500)).astype(np.float32)
    calls = []
    real_any = np.ndarray.any
    monkeypatch.setattr(Z, "_zero_share", lambda x, axis: calls.append(axis) or
                        (1.0 - np.count_nonzero(real_any(x[::6] if axis == 0 else x[:, ::6],
                                                         axis=axis)) / x.shape[1 - axis]))
    assert Z.product(a, b, np.empty((100, 500), np.float32)) is None
    assert calls == [0, 1]


def test_the_decision_is_the_exact_count(rng):
    """Zero columns the sample reads as zero but the full count does not: dense."""
    a = _images(rng, 96, 784, _border(784, 0.5), "float32")
    # one nonzero in each border column, in rows the sample does not read
    a[1, _border(784, 0.5)] = 1.0
    b = rng.standard_normal((784, 500)).astype(np.float32)
    out = np.full((96, 500), 7.0, np.float32)
    assert Z._zero_share(a, 0) >= 0.49  # the sample sees the border as zeros
    assert Z.product(a, b, out) is None and (out == 7.0).all()


@pytest.fixture
def any_size(monkeypatch):
    monkeypatch.setattr(Z, "MIN_WORK", 1)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@given(m=st.integers(1, 70), kk=st.integers(1, 90), n=st.integers(1, 80),
       zero_cols=st.floats(0, 1), zero_rows=st.floats(0, 1), seed=st.integers(0, 2 ** 16),
       transposed=st.booleans(), b_order=st.sampled_from(["C", "F", "reversed"]))
def test_any_shape_and_pattern(m, kk, n, zero_cols, zero_rows, seed, transposed, b_order,
                               any_size):
    """Down to one entry, zero slices along either axis or both, any layout of the right
    operand, MIN_WORK out of the way."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, kk)).astype(np.float32)
    a[:, rng.random(kk) < zero_cols] = 0
    a[rng.random(m) < zero_rows] = 0
    if transposed:
        a = np.ascontiguousarray(a.T).T
    b = rng.standard_normal((kk, n)).astype(np.float32)
    if b_order == "F":
        b = np.asfortranarray(b)
    elif b_order == "reversed":
        b = np.ascontiguousarray(b[::-1])[::-1]
    out = np.full((m, n), np.nan, np.float32)
    got = Z.product(a, b, out)
    if got is None:
        assert np.isnan(out).all()
    else:
        assert_product_close(out, a, b)


def _mlp_step(loops):
    """Five SGD steps of a 784-300-10 ReLU network on images with a zero border, compiled
    for the NumPy back end; its weights after them, and the products the loops took."""
    rng = np.random.default_rng(0)
    x = _images(rng, 100, 784, _border(784, 0.34), "float32")
    y = rng.integers(0, 10, 100).astype(np.int32)
    W1 = symgraph.shared((rng.standard_normal((784, 300)) * 0.05).astype(np.float32))
    W2 = symgraph.shared((rng.standard_normal((300, 10)) * 0.05).astype(np.float32))
    xv, yv = T.fmatrix("x"), T.ivector("y")
    h = T.nnet.relu(T.dot(xv, W1))
    cost = T.nnet.categorical_crossentropy(T.nnet.softmax(T.dot(h, W2)), yv).mean()
    gW1, gW2 = T.grad(cost, [W1, W2])
    f = symgraph.function([xv, yv], cost, updates=[(W1, W1 - 0.1 * gW1),
                                                   (W2, W2 - 0.1 * gW2)], mode=NUMPY)
    f._fn.__globals__["_loops"] = loops
    for _ in range(5):
        f(x, y)
    return W1.get_value(), W2.get_value()


class _Counting(WindowLoops):
    def __init__(self):
        self.taken = 0

    def sparse_product(self, a, b, out):
        got = super().sparse_product(a, b, out)
        self.taken += got is not None
        return got


class _Dense(WindowLoops):
    def sparse_product(self, a, b, out):
        return None


def test_a_train_step_takes_them_and_learns_the_same(rng):
    counting = _Counting()
    w_sparse = _mlp_step(counting)
    w_dense = _mlp_step(_Dense())
    assert counting.taken >= 5  # the forward product of each step, at least
    for got, want in zip(w_sparse, w_dense):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
