"""Winograd's F(4x4, 3x3) convolutions of the numba back end (symgraph/backends/numba_winograd.py)
against the float64 definition (the exact kernels of symgraph/ops/conv_kernels.py in float64,
themselves checked against direct loops and scipy in test_conv_kernels.py).

Tolerance: the transforms' coefficients (up to 8 and 1/24) round in float32, so results agree
with the float64 definition to 3e-5 of the largest output entry (measured 2.4e-6 to 9.3e-6 on
the DeepConvNet layers by ``python -m benchmarks.conv_layers``), where the exact float32
kernels stay within 1e-6; relative to the
largest entry, since an entry near zero is the difference of larger ones.
"""
import numpy as np
import pytest

pytest.importorskip("numba")

import symgraph  # noqa: E402
import symgraph.tensor as T  # noqa: E402
from symgraph.backends import numba_winograd as W  # noqa: E402
from symgraph.backends.numba_windows import NUMBA_LOOPS  # noqa: E402
from symgraph.backends.windows import NUMPY_LOOPS  # noqa: E402
from symgraph.ops import conv_kernels as K  # noqa: E402
from symgraph.ops.conv import conv2d  # noqa: E402

REL = 3e-5

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


def close(a, ref):
    assert a.dtype == np.float32 and a.shape == ref.shape
    scale = np.abs(ref).max()
    assert np.abs(a - ref).max() <= REL * scale, np.abs(a - ref).max() / scale


def exact(fn, *arrays, **kw):
    """``fn`` of the float64 copies of ``arrays`` (the exact kernels)."""
    return fn(*[a.astype(np.float64) if isinstance(a, np.ndarray) else a for a in arrays], **kw)


@hypothesis.settings(max_examples=30, deadline=None)
@hypothesis.given(n=st.integers(1, 7), c=st.integers(8, 12), o=st.integers(8, 12),
                  h=st.integers(1, 13), w=st.integers(1, 13), ph=st.integers(0, 2),
                  pw=st.integers(0, 2), flip=st.booleans(),
                  chunk=st.sampled_from(["one image", "two images", "whole batch"]),
                  seed=st.integers(0, 2**31 - 1))
def test_three_directions_match_the_definition(n, c, o, h, w, ph, pw, flip, chunk, seed):
    """Any image size (tiles cut by the image's edge, images of one row of tiles), padding 0-2
    per axis, flip, chunks of one image, of two (a shorter last chunk when the batch is odd)
    or the whole batch: forward, input and filter gradients through the kernels with the
    numba loops equal the float64 definition."""
    if h + 2 * ph < 3 or w + 2 * pw < 3:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    k = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
    pad = (ph, pw)
    args = ((1, 1), flip, (1, 1))
    old = W.CHUNK_BYTES
    # the chunk of the forward's layout (the gradients' chunks follow the same rule)
    per_image = 36 * (c + o) * -(-(h + 2 * ph - 2) // 4) * (w + pw)
    W.CHUNK_BYTES = {"one image": 1, "two images": 2 * per_image, "whole batch": 1 << 30}[chunk]
    try:
        work = {}
        z = K.forward(x, k, pad, *args, None, work, NUMBA_LOOPS)
        assert any(name.startswith("wino_") for name, _ in work)  # it ran here
        close(z, exact(K.forward, x, k, pad, *args))
        gz = rng.standard_normal(z.shape).astype(np.float32)
        gx = K.grad_inputs(gz, k, x.shape, pad, *args, None, work, NUMBA_LOOPS)
        close(gx, exact(K.grad_inputs, gz, k, x.shape, pad, *args))
        gw = K.grad_weights(x, gz, k.shape, pad, *args, None, work, NUMBA_LOOPS)
        close(gw, exact(K.grad_weights, x, gz, k.shape, pad, *args))
    finally:
        W.CHUNK_BYTES = old


@pytest.mark.parametrize("case", [
    dict(dtype="float64"),                      # float64 stays exact
    dict(channels=4),                           # too few channels for the products
    dict(kernel=(5, 5)), dict(stride=(2, 2)), dict(dilation=(2, 1)), dict(pad=(3, 1)),
])
def test_other_cases_keep_the_exact_kernels(rng, case):
    """Where Winograd does not apply the loops decline, and the result is bit-identical to the
    back end without loops."""
    dtype, c = case.get("dtype", "float32"), case.get("channels", 8)
    kh, kw = case.get("kernel", (3, 3))
    pad, stride, dil = case.get("pad", (1, 1)), case.get("stride", (1, 1)), \
        case.get("dilation", (1, 1))
    x = rng.standard_normal((3, c, 11, 10)).astype(dtype)
    k = rng.standard_normal((9, c, kh, kw)).astype(dtype)
    work = {}
    z = K.forward(x, k, pad, stride, False, dil, None, work, NUMBA_LOOPS)
    np.testing.assert_array_equal(z, K.forward(x, k, pad, stride, False, dil, None, {},
                                               NUMPY_LOOPS))
    gz = rng.standard_normal(z.shape).astype(dtype)
    for fn, a, b in ((K.grad_weights, x, k.shape), (K.grad_inputs, gz, x.shape)):
        first = (gz, k) if fn is K.grad_inputs else (x, gz)
        np.testing.assert_array_equal(
            fn(*first, b, pad, stride, False, dil, None, work, NUMBA_LOOPS),
            fn(*first, b, pad, stride, False, dil, None, {}))
    assert not any(name.startswith("wino_") for name, _ in work)


def test_filter_tiles_are_g_k_gt(rng):
    k = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    u = W.filter_tiles(k)
    for o in range(3):
        for c in range(2):
            ref = W._G @ k[o, c].astype(np.float64) @ W._G.T
            np.testing.assert_allclose(u[:, o, c].reshape(6, 6), ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("border_mode", ["valid", "half", "full", (2, 0)])
def test_compiled_network_uses_winograd_and_matches_numpy(rng, border_mode):
    """A float32 3x3 layer compiled with the numba back end runs Winograd in all three
    directions (its work arrays appear) and agrees with the NumPy back end's exact kernels;
    the NumPy back end has no such work arrays."""
    X = T.tensor("float32", (None,) * 4, "x")
    Wt = T.tensor("float32", (None,) * 4, "w")
    z = conv2d(X, Wt, border_mode=border_mode, filter_shape=(16, 8, 3, 3))
    cost = T.sum(T.tanh(z) ** 2)
    gx, gw = T.grad(cost, [X, Wt])
    x = rng.standard_normal((6, 8, 10, 9)).astype("float32")
    w = (rng.standard_normal((16, 8, 3, 3)) / 8).astype("float32")
    vals = {}
    for backend in ("numba", "numpy"):
        mode = symgraph.compile.mode.FAST_RUN.__class__("t", backend=backend)
        # the results doubled (exact): the convolutions are then inner nodes, which write
        # planned buffers (a function's outputs are its own arrays)
        f = symgraph.function([X, Wt], [2 * z, 2 * gx, 2 * gw], mode=mode)
        vals[backend] = f(x, w)
        names = {name for name, _ in f._fn.__globals__["_work"]}
        assert ({"wino_v", "wino_acc"} <= names) == (backend == "numba")
    for a, b in zip(vals["numba"], vals["numpy"]):
        close(a, b.astype(np.float64))


def test_output_shape_is_checked(rng):
    x = rng.standard_normal((2, 8, 6, 6)).astype(np.float32)
    k = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="expected"):
        W.correlate(x, k, (1, 1), np.empty((2, 8, 5, 6), np.float32), {})
    with pytest.raises(ValueError, match="expected"):
        W.correlate_grad_weights(x, np.zeros((2, 8, 6, 5), np.float32), (1, 1), {})
