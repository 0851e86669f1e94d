"""conv2d and pool_2d against independent references (scipy.signal, explicit loops), their
inferred shapes, and their gradients by finite differences."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops.conv import conv2d
from symgraph.ops.pool import pool_2d

signal = pytest.importorskip("scipy.signal")


def _ref_conv(x, w, mode, flip, stride=(1, 1), pad=None):
    """Sum over channels of scipy's 2-d convolution/correlation of every (image, filter)."""
    if pad is not None:
        x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
        mode = "valid"
    fn = signal.convolve2d if flip else signal.correlate2d
    out = []
    for n in range(x.shape[0]):
        maps = []
        for o in range(w.shape[0]):
            maps.append(sum(fn(x[n, c], w[o, c], mode=mode) for c in range(x.shape[1])))
        out.append(maps)
    return np.array(out)[:, :, ::stride[0], ::stride[1]]


@pytest.mark.parametrize("mode", ["valid", "full", "half", 1, (2, 1)])
@pytest.mark.parametrize("flip", [True, False])
def test_conv2d_matches_scipy(rng, mode, flip):
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    X, W = T.tensor4("x"), T.tensor4("w")
    f = symgraph.function([X, W], conv2d(X, W, filter_shape=w.shape, border_mode=mode,
                                         filter_flip=flip))
    if mode == "half":
        ref = _ref_conv(x, w, "same", flip)
    elif isinstance(mode, str):
        ref = _ref_conv(x, w, mode, flip)
    else:
        pad = (mode, mode) if isinstance(mode, int) else mode
        ref = _ref_conv(x, w, "valid", flip, pad=pad)
    np.testing.assert_allclose(f(x, w), ref, rtol=1e-10, atol=1e-10)


def test_conv2d_stride_static_shape_and_infer(rng):
    x = rng.standard_normal((2, 1, 9, 8))
    w = rng.standard_normal((2, 1, 3, 2))
    X = T.tensor("float64", (None, 1, 9, 8), "x")
    out = conv2d(X, T.constant(w), subsample=(2, 3))
    ref = _ref_conv(x, w, "valid", True, stride=(2, 3))
    assert out.type.shape == (None, 2, 4, 3)
    f = symgraph.function([X], [out, out.shape])
    val, shp = f(x)
    np.testing.assert_allclose(val, ref, rtol=1e-10)
    assert tuple(shp) == ref.shape


def test_conv2d_gradients(rng):
    x = rng.standard_normal((2, 2, 6, 5))
    w = rng.standard_normal((3, 2, 3, 2))
    for mode, stride in (("valid", (1, 1)), ("full", (1, 1)), ("half", (2, 2)), (1, (2, 1))):
        T.verify_grad(lambda a, b: conv2d(a, b, filter_shape=w.shape, border_mode=mode,
                                          subsample=stride), [x, w], rng=rng)


def test_conv2d_build_time_errors():
    with pytest.raises(TypeError, match="4-d"):
        conv2d(T.matrix(), T.tensor4())
    with pytest.raises(ValueError, match="channels"):
        conv2d(T.tensor("float64", (None, 3, 5, 5)), T.tensor("float64", (2, 2, 3, 3)))
    with pytest.raises(ValueError, match="border_mode"):
        conv2d(T.tensor4(), T.tensor4(), border_mode="same")
    with pytest.raises(ValueError, match="input_shape"):
        conv2d(T.tensor("float64", (None, 3, 5, 5)), T.tensor4(), input_shape=(None, 2, 5, 5))


def _ref_pool(x, ws, st, pad, ignore_border, mode):
    h, w = x.shape[-2:]
    def n_out(n, k, s, p):
        if ignore_border:
            return (n + 2 * p - k) // s + 1
        return (n + 2 * p - 1) // s + 1 if s >= k else max(0, (n + 2 * p - k + s - 1) // s) + 1
    ho, wo = n_out(h, ws[0], st[0], pad[0]), n_out(w, ws[1], st[1], pad[1])
    out = np.zeros(x.shape[:-2] + (ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, c0 = i * st[0] - pad[0], j * st[1] - pad[1]
            r1, c1 = r0 + ws[0], c0 + ws[1]
            win = x[..., max(r0, 0):min(r1, h), max(c0, 0):min(c1, w)]
            if mode == "max":
                out[..., i, j] = win.max(axis=(-2, -1))
            elif mode == "sum":
                out[..., i, j] = win.sum(axis=(-2, -1))
            elif mode == "average_exc_pad":
                out[..., i, j] = win.mean(axis=(-2, -1))
            else:
                area = (min(r1, h + pad[0]) - r0) * (min(c1, w + pad[1]) - c0)
                out[..., i, j] = win.sum(axis=(-2, -1)) / area
    return out


CASES = [((2, 2), None, (0, 0), True), ((2, 2), None, (0, 0), False), ((3, 3), (2, 2), (0, 0), True),
         ((3, 2), (1, 2), (1, 1), True), ((2, 3), (3, 1), (0, 0), False)]


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("ws,st,pad,ib", CASES)
def test_pool_matches_loops_and_gradient(rng, mode, ws, st, pad, ib):
    x = rng.standard_normal((2, 3, 7, 5))
    X = T.tensor4("x")
    out = pool_2d(X, ws, ignore_border=ib, stride=st, pad=pad, mode=mode)
    f = symgraph.function([X], [out, out.shape])
    val, shp = f(x)
    ref = _ref_pool(x, ws, st or ws, pad, ib, mode)
    np.testing.assert_allclose(val, ref, rtol=1e-12, atol=1e-13)
    assert tuple(shp) == ref.shape
    T.verify_grad(lambda a: pool_2d(a, ws, ignore_border=ib, stride=st, pad=pad, mode=mode),
                  [x], rng=rng)


def test_max_pool_gradient_ties_go_to_first_entry():
    x = np.ones((1, 1, 2, 2))
    X = T.tensor4("x")
    g = T.grad(pool_2d(X, (2, 2)).sum(), X)
    np.testing.assert_array_equal(symgraph.function([X], g)(x)[0, 0], [[1, 0], [0, 0]])


def test_pool_errors():
    with pytest.raises(ValueError, match="ignore_border"):
        pool_2d(T.tensor4(), (2, 2), ignore_border=False, pad=(1, 1))
    with pytest.raises(ValueError, match="mode"):
        pool_2d(T.tensor4(), (2, 2), mode="median")
    with pytest.raises(TypeError, match="ws"):
        pool_2d(T.tensor4())


# windows larger than the image: ignore_border=False pools the partial window (Theano 1.0.5's
# values, which these loops reproduce); ignore_border=True would give an empty result, refused
LARGE = [((4, 4), None), ((5, 2), None), ((2, 5), (1, 1)), ((4, 4), (2, 2)), ((9, 9), (1, 3))]


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("ws,st", LARGE)
def test_window_larger_than_the_image_pools_the_partial_window(rng, mode, ws, st):
    x = rng.standard_normal((2, 2, 3, 3))
    X = T.tensor4("x")
    out = pool_2d(X, ws, ignore_border=False, stride=st, mode=mode)
    for m in ("FAST_RUN", "FAST_COMPILE"):
        val, shp = symgraph.function([X], [out, out.shape], mode=m)(x)
        ref = _ref_pool(x, ws, st or ws, (0, 0), False, mode)
        np.testing.assert_allclose(val, ref, rtol=1e-12, atol=1e-13)
        assert tuple(shp) == ref.shape and min(ref.shape[-2:]) >= 1
    T.verify_grad(lambda a: pool_2d(a, ws, ignore_border=False, stride=st, mode=mode), [x],
                  rng=rng)


@pytest.mark.parametrize("mode", ["max", "average_exc_pad"])
@pytest.mark.parametrize("ws,st,pad", [((4, 4), None, (0, 0)), ((6, 2), (1, 1), (1, 0)),
                                       ((2, 6), (2, 2), (1, 1))])
def test_window_fitting_nowhere_with_ignore_border_is_refused(mode, ws, st, pad):
    msg = (rf"pool_2d: the {ws[0]}x{ws[1]} window .* fits in no position of the 3x3 image with "
           rf"ignore_border=True.*ignore_border=False")
    with pytest.raises(ValueError, match=msg):  # static shape: when the graph is built
        pool_2d(T.tensor4("s", shape=(None, None, 3, 3)), ws, stride=st, pad=pad, mode=mode)
    X = T.tensor4("x")
    W = symgraph.shared(np.float64(1.0), "W")
    cost = (pool_2d(X * W, ws, stride=st, pad=pad, mode=mode)).mean()
    for m in ("FAST_RUN", "FAST_COMPILE"):
        W.set_value(np.float64(1.0))
        f = symgraph.function([X], cost, updates=[(W, W - 0.1 * T.grad(cost, W))], mode=m)
        with pytest.raises(ValueError, match=msg):  # unknown shape: when called
            f(np.ones((1, 2, 3, 3)))
        assert float(W.get_value()) == 1.0
        f(np.ones((1, 2, 8, 8)))  # an image the window fits
    with pytest.raises(ValueError, match=r"the image is empty \(0x3\)"):
        symgraph.function([X], pool_2d(X, (2, 2), ignore_border=False))(np.ones((1, 1, 0, 3)))
