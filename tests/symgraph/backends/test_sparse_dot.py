"""The numba back end's products over the nonzeros of a sparse left operand
(symgraph/backends/sparse_dot.py): the dense product's value up to rounding (within the
summation bound, against float64 NumPy), for every layout and remainder; the dense product
wherever they do not apply (dense, small or narrow operands, a non-finite right operand);
the in-place accumulation of a commit; and the compiled train step of a sparse input layer,
which takes them, against the NumPy back end."""
import ctypes
import functools

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends.windows import NUMPY_LOOPS
from symgraph.compile.mode import FAST_RUN

from product_checks import assert_product_close, left_layout

pytest.importorskip("numba")
from symgraph.backends import sparse_dot  # noqa: E402
from symgraph.backends.numba_windows import NUMBA_LOOPS  # noqa: E402

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

NUMBA = FAST_RUN.__class__("NUMBA-test", backend="numba")
NUMPY = FAST_RUN.__class__("NUMPY-test", backend="numpy")


def _sparse(rng, shape, density, dtype):
    """Entries nonzero with probability ``density``, of either sign."""
    a = rng.standard_normal(shape) * (rng.random(shape) < density)
    return a.astype(dtype)


def _refused_fairly(a):
    """Why the loops may refuse a sparse-looking ``a``: its exact count passes the limit, or
    the sample of clearly dense operands says so."""
    m, kk = a.shape
    sample = a[::max(1, m // sparse_dot.SAMPLE_ROWS), ::max(1, kk // sparse_dot.SAMPLE_COLUMNS)]
    return np.count_nonzero(a) > sparse_dot.DENSITY * a.size or \
        np.count_nonzero(sample) > sparse_dot.SAMPLE_DENSITY * sample.size


# (m, kk, n, density): the study's first layer forward and its weight gradient, a wide layer,
# remainders of the unrolled loop (n and nonzeros per row not multiples of anything), rows of
# zeros only
CASES = [(100, 784, 500, 0.17), (784, 100, 500, 0.17), (64, 300, 1000, 0.05),
         (37, 513, 257, 0.2), (50, 400, 300, 0.0)]


@pytest.mark.parametrize("m,kk,n,density", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["C", "T", "strided"])
def test_product_is_the_dense_product(rng, m, kk, n, density, dtype, layout):
    a = left_layout(_sparse(rng, (m, kk), density, dtype), layout)
    b = rng.standard_normal((kk, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)
    assert sparse_dot.product(a, b, out) is out
    assert_product_close(out, a, b)
    if density == 0.0:
        assert not out.any()
    assert NUMBA_LOOPS.sparse_product(a, b, np.empty_like(out)) is not None


@pytest.mark.parametrize("m,kk,n,density", CASES[:3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_accumulate_late_adds_into_its_target(rng, m, kk, n, density, dtype):
    a = left_layout(_sparse(rng, (m, kk), density, dtype), "T")
    b = rng.standard_normal((kk, n)).astype(dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    before = c.copy()
    late = sparse_dot.accumulate_late(c, -0.25, a, b)
    np.testing.assert_array_equal(c, before)  # nothing written before the call
    # one call of native code: a partial of a ctypes function, no Python frame of its own
    assert isinstance(late, functools.partial) and isinstance(late.func, ctypes._CFuncPtr)
    late()
    assert_product_close(c, a, b, before, -0.25)


def test_dense_small_narrow_and_odd_operands_are_left_to_blas(rng):
    out = np.zeros((100, 500), np.float32)
    sentinel = out.copy()
    a = _sparse(rng, (100, 784), 0.1, "float32")
    b = rng.standard_normal((784, 500)).astype(np.float32)
    cases = {
        "dense": (_sparse(rng, (100, 784), 0.9, "float32"), b, out),
        "narrow": (a, b[:, :100], np.empty((100, 100), np.float32)),
        "small": (a[:8, :64], b[:64], np.empty((8, 500), np.float32)),
        "dtypes": (a.astype(np.float64), b, out),
        "integers": (a.astype(np.int32), b.astype(np.int32), out.astype(np.int32)),
        "b columns strided": (a, np.asfortranarray(b), out),
        "out aliases b": (a[:, :500], b[:500], b[:100]),
        "read-only out": (a, b, np.zeros((100, 500), np.float32)),
    }
    cases["read-only out"][2].flags.writeable = False
    for name, (x, y, z) in cases.items():
        assert sparse_dot.product(x, y, z) is None, name
    np.testing.assert_array_equal(out, sentinel)
    # the NumPy back end leaves out all-zero slices only, and a has none
    assert NUMPY_LOOPS.sparse_product(a, b, out) is None


def test_a_dense_operand_the_sample_misses_stops_the_compaction(rng):
    """The rows the first estimate reads are zeros, the others dense: the compaction counts
    past the limit, and the product is left to BLAS with ``out`` untouched."""
    a = _sparse(rng, (100, 784), 0.9, "float32")
    a[::100 // sparse_dot.SAMPLE_ROWS] = 0
    b = rng.standard_normal((784, 500)).astype(np.float32)
    out = np.full((100, 500), 7.0, np.float32)
    assert sparse_dot.product(a, b, out) is None
    assert (out == 7.0).all()
    assert sparse_dot.accumulate_late(out, 1.0, a, b) is None


def test_the_decision_is_the_exact_count_not_the_sample(rng):
    """Entries the sample reads are a third nonzero, the operand as a whole a tenth: the
    loops take it (the count decides, not which entries the sample happens to read). Past
    the limit they refuse it whatever the sample says."""
    a = _sparse(rng, (100, 784), 0.1, "float32")
    rows, cols = slice(None, None, 100 // sparse_dot.SAMPLE_ROWS), \
        slice(None, None, 784 // sparse_dot.SAMPLE_COLUMNS)
    grid = a[rows, cols]
    grid[...] = rng.standard_normal(grid.shape) * (rng.random(grid.shape) < 0.33)
    assert sparse_dot.DENSITY < np.count_nonzero(grid) / grid.size < sparse_dot.SAMPLE_DENSITY
    b = rng.standard_normal((784, 500)).astype(np.float32)
    out = np.empty((100, 500), np.float32)
    assert sparse_dot.product(a, b, out) is out
    assert_product_close(out, a, b)
    dense = _sparse(rng, (100, 784), 0.3, "float32")  # over the limit, under the sample's
    dense[rows, cols] = 0
    assert sparse_dot.product(dense, b, out) is None


@pytest.mark.parametrize("cap", [0, 783, 784, 1000, 1567, 1568])
def test_the_compaction_never_stores_past_its_capacity(rng, cap):
    """It stops before a row that could store past ``cap`` pairs (then ``ptr[m] = -1``),
    whatever the limit on the count: the entries past ``cap`` keep their values."""
    compact = sparse_dot._loops("float32")[0]
    a = rng.standard_normal((4, 784)).astype(np.float32)  # dense: every entry a pair
    ptr = np.zeros(5, np.int64)
    idx = np.full(4 * 784 + 16, -7, np.int32)
    val = np.full(4 * 784 + 16, -7.0, np.float32)
    address = sparse_dot._address
    compact(address(a), address(ptr), address(idx), address(val), 4, 784, 784, 1, 4 * 784,
            cap)
    rows = cap // 784  # whole rows that fit
    assert (ptr[4] == -1) == (rows < 4)
    assert (idx[cap:] == -7).all() and (val[cap:] == -7.0).all()
    np.testing.assert_array_equal(idx[:rows * 784], np.tile(np.arange(784), rows))
    np.testing.assert_array_equal(val[:rows * 784], a[:rows].reshape(-1))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_right_operand_not_finite_goes_to_blas(rng, bad, dtype):
    """``0 * inf`` is nan: skipping the zeros of ``a`` would change the dense result."""
    a = _sparse(rng, (100, 784), 0.1, dtype)
    b = rng.standard_normal((784, 500)).astype(dtype)
    b[783, 499] = bad  # the very last entry: every one is checked
    out = np.zeros((100, 500), dtype)
    assert sparse_dot.product(a, b, out) is None
    assert not out.any()
    assert sparse_dot.accumulate_late(out, 1.0, a, b) is None


def test_nan_and_inf_of_the_left_operand_propagate_as_in_the_dense_product(rng):
    a = _sparse(rng, (100, 784), 0.1, "float32")
    a[3, 5], a[7, 9] = np.nan, np.inf
    b = rng.standard_normal((784, 500)).astype(np.float32)
    b[9, :3] = 0  # inf * 0: nan in row 7 too
    out = np.empty((100, 500), np.float32)
    assert sparse_dot.product(a, b, out) is out
    with np.errstate(invalid="ignore"):
        want = a @ b
    np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(out), np.isinf(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(out[finite], want[finite], rtol=1e-4, atol=1e-4)


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(m=st.integers(1, 9), kk=st.integers(1, 40), n=st.integers(1, 70),
                  density=st.sampled_from([0.0, 0.05, 0.2, 0.25]),
                  seed=st.integers(0, 2 ** 32 - 1), transposed=st.booleans(),
                  accumulate=st.booleans())
def test_any_shape_and_pattern(m, kk, n, density, seed, transposed, accumulate):
    """Shapes down to one row, column or entry, every count of nonzeros per row (the unrolled
    loop's remainders), with the size limits lifted."""
    rng = np.random.default_rng(seed)
    a = left_layout(_sparse(rng, (m, kk), density, "float32"), "T" if transposed else "C")
    b = rng.standard_normal((kk, n)).astype(np.float32)
    limits = sparse_dot.MIN_WORK, sparse_dot.MIN_COLUMNS
    sparse_dot.MIN_WORK = sparse_dot.MIN_COLUMNS = 1
    try:
        if accumulate:
            c = rng.standard_normal((m, n)).astype(np.float32)
            before = c.copy()
            late = sparse_dot.accumulate_late(c, 0.5, a, b)
            if late is not None:
                late()
                assert_product_close(c, a, b, before, 0.5)
            else:
                assert _refused_fairly(a)
                np.testing.assert_array_equal(c, before)
        else:
            out = np.full((m, n), np.nan, np.float32)
            if sparse_dot.product(a, b, out) is not None:
                assert_product_close(out, a, b)
            else:
                assert _refused_fairly(a)
    finally:
        sparse_dot.MIN_WORK, sparse_dot.MIN_COLUMNS = limits


def _mlp_step(mode, optimizer, seed=0):
    """A one-hidden-layer ReLU network's train step (784-300-10, float32) in ``mode``, and its
    parameters."""
    import optimizers
    rng = np.random.default_rng(seed)
    W1 = symgraph.shared((rng.standard_normal((784, 300)) * 0.05).astype("float32"), "W1")
    b1 = symgraph.shared(np.zeros(300, "float32"), "b1")
    W2 = symgraph.shared((rng.standard_normal((300, 10)) * 0.05).astype("float32"), "W2")
    x, y = T.fmatrix("x"), T.ivector("y")
    h = T.nnet.relu(T.dot(x, W1) + b1)
    cost = T.nnet.categorical_crossentropy(T.nnet.softmax(T.dot(h, W2)), y).mean()
    params = [W1, b1, W2]
    f = symgraph.function([x, y], cost, updates=optimizers.get(optimizer).updates(cost, params),
                          mode=mode)
    return f, params


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_sparse_input_layer_trains_as_on_numpy(rng, monkeypatch, optimizer):
    """Images four-fifths zeros (as MNIST's): the numba step takes the sparse products
    (forward, and the weight gradient: into a buffer for Adam, accumulated into the weights
    by the commit for SGD) and follows the NumPy back end's dense step within float32
    rounding over five steps."""
    taken = []
    product, late = sparse_dot.product, sparse_dot.accumulate_late

    def spy_product(a, b, out):
        got = product(a, b, out)
        taken.append(("product", a.shape, got is not None))
        return got

    def spy_late(c, alpha, a, b):
        got = late(c, alpha, a, b)
        taken.append(("late", a.shape, got is not None))
        return got
    monkeypatch.setattr(sparse_dot, "product", spy_product)
    monkeypatch.setattr(sparse_dot, "accumulate_late", spy_late)
    f, params = _mlp_step(NUMBA, optimizer)
    g, ref_params = _mlp_step(NUMPY, optimizer)
    xs = [np.maximum(_sparse(rng, (128, 784), 0.2, "float32"), 0) for _ in range(5)]
    ys = [rng.integers(0, 10, 128).astype("int32") for _ in range(5)]
    for x, y in zip(xs, ys):
        np.testing.assert_allclose(f(x, y), g(x, y), rtol=2e-5)
    for p, q in zip(params, ref_params):
        np.testing.assert_allclose(p.get_value(), q.get_value(), rtol=1e-4, atol=1e-6,
                                   err_msg=p.name)
    sparse = {(kind, shape) for kind, shape, ok in taken if ok}
    assert ("product", (128, 784)) in sparse  # x @ W1
    gradient = ("late", (784, 128)) if optimizer == "sgd" else ("product", (784, 128))
    assert gradient in sparse  # x.T @ g, the weight gradient
