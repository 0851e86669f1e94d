"""``theano.tensor.nnet.abstract_conv`` against NumPy: convolutions of every border mode,
stride, dilation and grouping equal a direct sum; the transposed convolutions (gradients with
respect to the input and to the filters) are the adjoints of the convolution; the op classes
layer libraries call (``AbstractConv2d_gradInputs`` for transposed layers,
``AbstractConv2d_gradWeights`` for dilated ones) compute those.

(The reference Theano cannot run convolutions in pure-Python mode with current SciPy, so these
are checked against NumPy rather than against Theano.)
"""
import numpy as np
import pytest

import symgraph.compat.theano_alias  # noqa: F401
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402
from theano.tensor.nnet import abstract_conv as AC  # noqa: E402


def ref_conv(x, w, pad=(0, 0), stride=(1, 1), dil=(1, 1), flip=True, groups=1):
    """Direct-sum 2-d convolution (or cross-correlation when not ``flip``)."""
    if flip:
        w = w[:, :, ::-1, ::-1]
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho = (h - (kh - 1) * dil[0] - 1) // stride[0] + 1
    wo = (wd - (kw - 1) * dil[1] - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    per = o // groups
    for oc in range(o):
        g = oc // per
        for i in range(ho):
            for j in range(wo):
                for a in range(kh):
                    for b in range(kw):
                        patch = x[:, g * cg:(g + 1) * cg, i * stride[0] + a * dil[0],
                                  j * stride[1] + b * dil[1]]
                        out[:, oc, i, j] += patch @ w[oc, :, a, b]
    return out


def _pad(mode, kshape, dil):
    ext = [(k - 1) * d + 1 for k, d in zip(kshape, dil)]
    if mode == "valid":
        return (0, 0)
    if mode == "full":
        return tuple(e - 1 for e in ext)
    if mode == "half":
        return tuple(e // 2 for e in ext)
    return (mode, mode) if isinstance(mode, int) else tuple(mode)


GEOMETRIES = [
    # border_mode, subsample, dilation, flip
    ("valid", (1, 1), (1, 1), True), ("full", (1, 1), (1, 1), True),
    ("half", (1, 1), (1, 1), False), (1, (2, 2), (1, 1), True), ((2, 1), (1, 2), (1, 1), True),
    ("valid", (1, 1), (2, 2), True), ("full", (2, 1), (1, 2), False), ("half", (2, 2), (2, 1),
                                                                       True),
]


@pytest.fixture
def data(rng):
    return rng.standard_normal((2, 3, 8, 7)), rng.standard_normal((4, 3, 3, 2))


@pytest.mark.parametrize("mode,stride,dil,flip", GEOMETRIES)
@pytest.mark.parametrize("static", [True, False], ids=["filter_shape", "no_filter_shape"])
def test_conv2d_is_the_direct_sum(data, mode, stride, dil, flip, static):
    xv, wv = data
    x, w = T.dtensor4("x"), T.dtensor4("w")
    out = T.nnet.conv2d(x, w, filter_shape=wv.shape if static else None, border_mode=mode,
                        subsample=stride, filter_dilation=dil, filter_flip=flip)
    got = theano.function([x, w], out)(xv, wv)
    want = ref_conv(xv, wv, _pad(mode, wv.shape[2:], dil), stride, dil, flip)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    expect_shape = AC.get_conv_output_shape(xv.shape, wv.shape, mode, stride, dil)
    assert got.shape == tuple(expect_shape)


@pytest.mark.parametrize("mode,stride,dil,flip", GEOMETRIES)
def test_transposes_are_the_adjoints(data, mode, stride, dil, flip, rng):
    """<conv(x, w), g> = <x, conv_T_input(g, w)> = <w, conv_T_weights(x, g)>."""
    xv, wv = data
    x, w, g = T.dtensor4("x"), T.dtensor4("w"), T.dtensor4("g")
    kw = dict(border_mode=mode, subsample=stride, filter_dilation=dil, filter_flip=flip)
    conv = theano.function([x, w], T.nnet.conv2d(x, w, **kw))
    gv = rng.standard_normal(conv(xv, wv).shape)
    gi = theano.function([g, w], AC.conv2d_grad_wrt_inputs(g, w, xv.shape,
                                                           filter_shape=wv.shape, **kw))(gv, wv)
    gw = theano.function([x, g], AC.conv2d_grad_wrt_weights(x, g, wv.shape, **kw))(xv, gv)
    assert gi.shape == xv.shape and gw.shape == wv.shape
    inner = np.sum(conv(xv, wv) * gv)
    np.testing.assert_allclose(np.sum(xv * gi), inner, rtol=1e-10)
    np.testing.assert_allclose(np.sum(wv * gw), inner, rtol=1e-10)


def test_grouped_convolution_is_per_group(data, rng):
    xv = rng.standard_normal((2, 4, 6, 6))
    wv = rng.standard_normal((6, 2, 3, 3))
    x, w = T.dtensor4("x"), T.dtensor4("w")
    got = theano.function([x, w], T.nnet.conv2d(x, w, num_groups=2))(xv, wv)
    np.testing.assert_allclose(got, ref_conv(xv, wv, groups=2), rtol=1e-10)


def test_transposed_layer_as_libraries_build_it(rng):
    """A transposed convolution layer (stride 2, 'half'): the gradInputs op class gives the
    input-shaped adjoint of the strided convolution."""
    W = rng.standard_normal((5, 3, 3, 3))     # (output channels of the forward conv, in, kh, kw)
    inp = rng.standard_normal((2, 5, 4, 4))   # the forward conv's output
    x, w = T.dtensor4("x"), T.dtensor4("w")
    op = AC.AbstractConv2d_gradInputs(imshp=(None, 3, 7, 7), kshp=W.shape, border_mode="half",
                                      subsample=(2, 2), filter_flip=True)
    up = theano.function([x, w], op(w, x, (7, 7)))(inp, W)
    assert up.shape == (2, 3, 7, 7)
    probe = rng.standard_normal(up.shape)
    forward = ref_conv(probe, W, pad=(1, 1), stride=(2, 2))
    np.testing.assert_allclose(np.sum(up * probe), np.sum(forward * inp), rtol=1e-10)


def test_dilated_layer_as_libraries_build_it(rng):
    """A dilated convolution written as a filter gradient with subsample = dilation equals a
    dilated cross-correlation."""
    W = rng.standard_normal((3, 4, 3, 2))     # (input channels, filters, kh, kw)
    inp = rng.standard_normal((2, 3, 9, 8))
    x, w = T.dtensor4("x"), T.dtensor4("w")
    # the "filters" of the gradient are the layer's output: 9 - 2 * 2 rows, 8 - 2 * 1 columns
    op = AC.AbstractConv2d_gradWeights(imshp=(3, 2, 9, 8), kshp=(4, 2, 5, 6),
                                       border_mode="valid", subsample=(2, 2),
                                       filter_flip=False)
    out = op(x.dimshuffle(1, 0, 2, 3), w, (5, 6)).dimshuffle(1, 0, 2, 3)
    got = theano.function([x, w], out)(inp, W)
    want = ref_conv(inp, W.transpose(1, 0, 2, 3), dil=(2, 2), flip=False)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_shape_helpers_agree_with_the_ops():
    assert AC.get_conv_output_shape((2, 3, 8, 7), (4, 3, 3, 2), "half", (2, 1), (1, 2)) == \
        (2, 4, 4, 7)
    assert AC.get_conv_shape_1axis(None, 3, "valid", 1) is None
    assert AC.get_conv_gradinputs_shape_1axis(3, 6, "valid", 1, 1) == 8
    assert AC.check_conv_gradinputs_shape((2, 3, 8, 7), (4, 3, 3, 2), (2, 4, 6, 6), "valid",
                                          (1, 1))
    assert AC.border_mode_to_pad("half", 2, (3, 5)) == ((1, 1), (2, 2))


def test_bilinear_upsampling_keeps_constants_and_ramps(rng):
    x = T.dtensor4("x")
    up = theano.function([x], AC.bilinear_upsampling(x, 2))
    const = np.full((1, 2, 3, 4), 1.5)
    np.testing.assert_allclose(up(const), np.full((1, 2, 6, 8), 1.5))
    ramp = np.tile(np.arange(5.0), (5, 1))[None, None]
    out = up(ramp)[0, 0]
    # away from the border, interpolating a linear function gives a linear function
    inner = out[4:6, 2:8]
    np.testing.assert_allclose(np.diff(inner, axis=1), 0.5)


def test_3d_convolution_says_it_is_not_available():
    with pytest.raises(NotImplementedError, match="3-d convolution"):
        AC.conv3d(T.dtensor4(), T.dtensor4())
    with pytest.raises(NotImplementedError, match="unshared"):
        AC.conv2d(T.dtensor4(), T.dtensor4(), unshared=True)
