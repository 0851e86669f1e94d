"""conv2d with filter_dilation against scipy.signal on a zero-inserted kernel: forward values,
static and inferred shapes, and gradients by finite differences."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops.conv import conv2d

signal = pytest.importorskip("scipy.signal")


def _dilate(w, dil):
    """The explicit dilated kernel: taps ``dil`` apart, zeros in between."""
    o, c, kh, kw = w.shape
    out = np.zeros((o, c, dil[0] * (kh - 1) + 1, dil[1] * (kw - 1) + 1))
    out[:, :, ::dil[0], ::dil[1]] = w
    return out


def _ref(x, w, border_mode, flip, stride, dil):
    """Sum over channels of scipy's 2-d convolution/correlation with the dilated kernel."""
    wd = _dilate(w, dil)
    eh, ew = wd.shape[2:]
    pad = {"valid": (0, 0), "full": (eh - 1, ew - 1), "half": (eh // 2, ew // 2)}.get(
        border_mode, border_mode)
    if isinstance(pad, int):
        pad = (pad, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    fn = signal.convolve2d if flip else signal.correlate2d
    out = [[sum(fn(xp[n, c], wd[o, c], mode="valid") for c in range(x.shape[1]))
            for o in range(w.shape[0])] for n in range(x.shape[0])]
    return np.array(out)[:, :, ::stride[0], ::stride[1]]


@pytest.mark.parametrize("dil", [(2, 1), (2, 3), 2])
@pytest.mark.parametrize("border_mode", ["valid", "full", "half", 1, (2, 0)])
@pytest.mark.parametrize("flip", [True, False])
@pytest.mark.parametrize("stride", [(1, 1), (2, 3)])
def test_dilated_conv_matches_scipy(rng, dil, border_mode, flip, stride):
    x = rng.standard_normal((2, 3, 10, 9))
    w = rng.standard_normal((4, 3, 3, 2))
    X, W = T.tensor4("x"), T.tensor4("w")
    out = conv2d(X, W, filter_shape=w.shape, border_mode=border_mode, subsample=stride,
                 filter_flip=flip, filter_dilation=dil)
    val, shp = symgraph.function([X, W], [out, out.shape])(x, w)
    pair = (dil, dil) if isinstance(dil, int) else dil
    ref = _ref(x, w, border_mode, flip, stride, pair)
    assert val.shape == ref.shape and tuple(shp) == ref.shape
    np.testing.assert_allclose(val, ref, rtol=1e-10, atol=1e-10)


def test_dilated_conv_static_shape_and_theano_name(rng):
    x = rng.standard_normal((2, 1, 11, 9))
    w = rng.standard_normal((2, 1, 3, 3))
    X = T.tensor("float64", (None, 1, 11, 9), "x")
    out = T.nnet.conv2d(X, T.constant(w), border_mode="half", subsample=(2, 1),
                        filter_dilation=(3, 2))
    ref = _ref(x, w, "half", True, (2, 1), (3, 2))
    # 'half' pads by half the dilated extent (7x5): rows (11 + 6 - 7)//2 + 1, cols 9
    assert out.type.shape == (None, 2, 6, 9) == (None,) + ref.shape[1:]
    np.testing.assert_allclose(symgraph.function([X], out)(x), ref, rtol=1e-10)


def test_legacy_conv_forwards_dilation(rng):
    """``T.nnet.conv.conv2d`` passes filter_dilation on instead of dropping it."""
    x = rng.standard_normal((1, 2, 9, 9))
    w = rng.standard_normal((2, 2, 2, 3))
    X, W = T.tensor4("x"), T.tensor4("w")
    out = T.nnet.conv.conv2d(X, W, filter_shape=w.shape, border_mode="full",
                             filter_dilation=(3, 2))
    np.testing.assert_allclose(symgraph.function([X, W], out)(x, w),
                               _ref(x, w, "full", True, (1, 1), (3, 2)), rtol=1e-10)


def test_dilated_conv_gradients(rng):
    x = rng.standard_normal((2, 2, 9, 8))
    w = rng.standard_normal((3, 2, 3, 2))
    for mode, stride, dil, flip in (("valid", (1, 1), (2, 2), True),
                                    ("full", (2, 1), (2, 3), False),
                                    ("half", (2, 2), (3, 1), True),
                                    ((1, 2), (1, 3), (2, 2), True)):
        T.verify_grad(lambda a, b: conv2d(a, b, filter_shape=w.shape, border_mode=mode,
                                          subsample=stride, filter_dilation=dil,
                                          filter_flip=flip), [x, w], rng=rng)


def test_dilated_gradient_values_and_shapes(rng):
    """The gradient ops' values against the adjoint identity <conv(x, w), gz> = <x, gx>."""
    x = rng.standard_normal((2, 2, 9, 10))
    w = rng.standard_normal((3, 2, 2, 3))
    X, W = T.tensor4("x"), T.tensor4("w")
    out = conv2d(X, W, border_mode=(1, 2), subsample=(2, 3), filter_dilation=(3, 2))
    GZ = T.tensor4("gz")
    gx, gw = T.grad((out * GZ).sum(), [X, W])
    f = symgraph.function([X, W, GZ], [out, gx, gw, gx.shape, gw.shape])
    z = symgraph.function([X, W], out)(x, w)
    gz = rng.standard_normal(z.shape)
    val, gxv, gwv, gxs, gws = f(x, w, gz)
    assert tuple(gxs) == x.shape and tuple(gws) == w.shape
    assert gxv.shape == x.shape and gwv.shape == w.shape
    xr, wr = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    conv = symgraph.function([X, W], out)
    # the forward is linear in each argument: <gz, conv(xr, w)> = <gx, xr>, same for w
    np.testing.assert_allclose(np.vdot(gz, conv(xr, w)), np.vdot(gxv, xr), rtol=1e-10)
    np.testing.assert_allclose(np.vdot(gz, conv(x, wr)), np.vdot(gwv, wr), rtol=1e-10)


def test_dilation_errors():
    with pytest.raises(ValueError, match="filter_dilation"):
        conv2d(T.tensor4(), T.tensor4(), filter_dilation=(0, 1))
    with pytest.raises(ValueError, match="filter_dilation"):
        conv2d(T.tensor4(), T.tensor4(), filter_dilation=(1, 2, 3))
    # a 3-tap kernel dilated by 4 spans 9 rows: does not fit 8 rows
    with pytest.raises(ValueError, match="dilation"):
        conv2d(T.tensor("float64", (None, 1, 8, 8)), T.tensor("float64", (1, 1, 3, 3)),
               filter_dilation=(4, 1))
    X, W = T.tensor4("x"), T.tensor4("w")
    f = symgraph.function([X, W], conv2d(X, W, filter_dilation=(4, 1)))
    with pytest.raises(ValueError, match="dilation"):
        f(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 3, 3)))
