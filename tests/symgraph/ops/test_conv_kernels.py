"""The chunked im2col-GEMM kernels of conv2d (symgraph/ops/conv_kernels.py) against direct
NumPy loops over the definition, scipy.signal and the previous implementation (one tensordot
over a strided im2col view of the whole batch), for every option of the op (padding modes,
stride, filter flip, dilation), float64 and float32, chunks of one image to the whole batch;
and the compiled function (planned output buffers, work arrays reused across calls).

Tolerances: the kernels sum in another order than the references (BLAS blocking, per-chunk
partial sums), so float64 results agree to 1e-10 relative and float32 ones to 2e-5 relative
(plus 1e-5 absolute on entries near zero); col2im adds in the same order on both sides.
"""
import itertools

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import symgraph
import symgraph.tensor as T
from symgraph.ops import conv_kernels as K
from symgraph.ops import conv_shift
from symgraph.ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights, conv2d

signal = pytest.importorskip("scipy.signal")

TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=2e-5, atol=1e-5)}

# (input HxW, kernel, pad, stride, dilation)
GEOMETRIES = [
    ((7, 9), (3, 3), (0, 0), (1, 1), (1, 1)),
    ((7, 9), (3, 3), (1, 1), (1, 1), (1, 1)),     # 'half' of a 3x3
    ((6, 5), (3, 2), (2, 1), (1, 1), (1, 1)),     # 'full'
    ((12, 5), (2, 3), (1, 2), (2, 3), (1, 1)),
    ((10, 11), (3, 2), (0, 3), (3, 2), (2, 3)),   # padding wider than the dilated taps need
    ((9, 8), (1, 4), (3, 0), (1, 2), (2, 1)),
    ((5, 5), (5, 5), (0, 0), (1, 1), (1, 1)),     # one output pixel
    ((8, 8), (2, 2), (0, 0), (2, 2), (1, 1)),     # stride = kernel: no overlap
    ((4, 6), (3, 3), (4, 4), (3, 2), (2, 2)),     # outputs reading padding only
]


def _pad(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))


def _taps(xp, k, ho, wo, stride, dil):
    """(i, j, view of xp at tap (i, j) for every output pixel): shape (N, C, ho, wo)."""
    for i, j in itertools.product(range(k[0]), range(k[1])):
        r, c = i * dil[0], j * dil[1]
        yield i, j, xp[:, :, r:r + stride[0] * (ho - 1) + 1:stride[0],
                       c:c + stride[1] * (wo - 1) + 1:stride[1]]


def ref_forward(x, w, pad, stride, flip, dil):
    """The definition, tap by tap, in float64."""
    k = w[:, :, ::-1, ::-1] if flip else w
    g = K.geometry(x.shape, w.shape[2:], pad, stride, dil)
    out = np.zeros((x.shape[0], w.shape[0], g.ho, g.wo))
    for i, j, v in _taps(_pad(x.astype(float), pad), w.shape[2:], g.ho, g.wo, stride, dil):
        out += np.einsum("nchw,oc->nohw", v, k[:, :, i, j].astype(float))
    return out


def ref_grad_weights(x, gz, kshape, pad, stride, flip, dil):
    g = K.geometry(x.shape, kshape, pad, stride, dil)
    gw = np.zeros((gz.shape[1], x.shape[1]) + tuple(kshape))
    for i, j, v in _taps(_pad(x.astype(float), pad), kshape, g.ho, g.wo, stride, dil):
        gw[:, :, i, j] = np.einsum("nchw,nohw->oc", v, gz.astype(float))
    return gw[:, :, ::-1, ::-1] if flip else gw


def ref_grad_inputs(gz, w, xshape, pad, stride, flip, dil):
    """The adjoint of the definition: every tap's product scattered back."""
    k = w[:, :, ::-1, ::-1] if flip else w
    g = K.geometry(xshape, w.shape[2:], pad, stride, dil)
    n, c, h, wd = xshape
    gxp = np.zeros((n, c, h + 2 * pad[0], wd + 2 * pad[1]))
    for i, j, v in _taps(gxp, w.shape[2:], g.ho, g.wo, stride, dil):
        v += np.einsum("nohw,oc->nchw", gz.astype(float), k[:, :, i, j].astype(float))
    return gxp[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + wd]


def previous_forward(x, w, pad, stride, flip, dil):
    """The implementation these kernels replaced: im2col as a strided view of the whole
    padded batch and one tensordot."""
    xp = _pad(x, pad)
    n, c, h, wd = xp.shape
    kh, kw = w.shape[2:]
    g = K.geometry(x.shape, (kh, kw), pad, stride, dil)
    s = xp.strides
    cols = as_strided(xp, (n, c, g.ho, g.wo, kh, kw), (s[0], s[1], s[2] * stride[0],
                      s[3] * stride[1], s[2] * dil[0], s[3] * dil[1]), writeable=False)
    k = w[:, :, ::-1, ::-1] if flip else w
    return np.tensordot(cols, k, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)


@pytest.fixture(params=[(1, "auto"), (1 << 30, "auto"), (1, "shift"), (1 << 30, "im2col")],
                ids=["chunk=1 image", "chunk=batch", "shifted products", "im2col only"])
def chunk(request, monkeypatch):
    """Chunks of one image or the whole batch; each path forced where it applies, or chosen
    by the speed rule (``auto``)."""
    size, path = request.param
    monkeypatch.setattr(K, "CHUNK_BYTES", size)
    monkeypatch.setattr(conv_shift, "CHUNK_BYTES", size)
    if path == "shift":
        monkeypatch.setattr(conv_shift, "pays", lambda g, s, *a: conv_shift.applies(g, s))
        monkeypatch.setattr(conv_shift, "pays_backward", lambda g, s, o: conv_shift.applies(g, s))
    elif path == "im2col":
        monkeypatch.setattr(conv_shift, "pays", lambda *a: False)
        monkeypatch.setattr(conv_shift, "pays_backward", lambda *a: False)
    return size


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("hw,kshape,pad,stride,dil", GEOMETRIES)
def test_kernels_against_the_definition(rng, chunk, dtype, flip, hw, kshape, pad, stride, dil):
    x = rng.standard_normal((3, 2) + hw).astype(dtype)
    w = rng.standard_normal((4, 2) + kshape).astype(dtype)
    z = K.forward(x, w, pad, stride, flip, dil, work={})
    assert z.dtype == dtype and z.flags.c_contiguous
    np.testing.assert_allclose(z, ref_forward(x, w, pad, stride, flip, dil), **TOL[dtype])
    if dtype == "float64":
        np.testing.assert_allclose(z, previous_forward(x, w, pad, stride, flip, dil),
                                   **TOL[dtype])
    gz = rng.standard_normal(z.shape).astype(dtype)
    gw = K.grad_weights(x, gz, w.shape, pad, stride, flip, dil, work={})
    gx = K.grad_inputs(gz, w, x.shape, pad, stride, flip, dil, work={})
    assert gw.dtype == gx.dtype == dtype and gw.shape == w.shape and gx.shape == x.shape
    np.testing.assert_allclose(gw, ref_grad_weights(x, gz, kshape, pad, stride, flip, dil),
                               **TOL[dtype])
    np.testing.assert_allclose(gx, ref_grad_inputs(gz, w, x.shape, pad, stride, flip, dil),
                               **TOL[dtype])


@pytest.mark.parametrize("border_mode", ["valid", "full", "half", 2, (1, 3)])
@pytest.mark.parametrize("flip", [True, False])
def test_forward_matches_scipy_float32(rng, border_mode, flip):
    """float32 in, float32 out, within float32 rounding of scipy's float64 result."""
    x = rng.standard_normal((3, 2, 9, 8)).astype("float32")
    w = rng.standard_normal((3, 2, 3, 2)).astype("float32")
    X, W = T.tensor("float32", (None,) * 4, "x"), T.tensor("float32", (None,) * 4, "w")
    out = conv2d(X, W, filter_shape=w.shape, border_mode=border_mode, filter_flip=flip)
    assert out.dtype == "float32"
    val = symgraph.function([X, W], out)(x, w)
    pad = {"valid": (0, 0), "full": (2, 1), "half": (1, 1)}.get(border_mode, border_mode)
    pad = (pad, pad) if isinstance(pad, int) else pad
    xp = _pad(x.astype(float), pad)
    fn = signal.convolve2d if flip else signal.correlate2d
    ref = np.array([[sum(fn(xp[n, c], w[o, c].astype(float), mode="valid") for c in range(2))
                     for o in range(3)] for n in range(3)])
    assert val.dtype == np.float32
    np.testing.assert_allclose(val, ref, **TOL["float32"])


def test_shifted_products_cover_the_stride_one_geometries():
    """The shifted products take stride 1 with padding up to the dilated extent minus one,
    and pay off (by the speed rule) on wide images with enough channels."""
    applies = [conv_shift.applies(K.geometry((1, 1) + hw, k, p, s, d), s)
               for hw, k, p, s, d in GEOMETRIES]
    assert applies == [True, True, True, False, False, False, True, False, False]
    g = K.geometry((100, 16, 28, 28), (3, 3), (1, 1), (1, 1), (1, 1))
    assert conv_shift.pays(g, (1, 1), 16, 28, 28)          # 7 % extra positions
    assert not conv_shift.pays(g, (1, 1), 1, 28, 28)       # one channel: outer products
    g8 = K.geometry((100, 64, 8, 8), (3, 3), (1, 1), (1, 1), (1, 1))
    assert not conv_shift.pays(g8, (1, 1), 64, 8, 8)       # 27 % extra positions
    assert conv_shift.pays_backward(g8, (1, 1), 64)        # no col2im scatter


def test_col2im_is_the_adjoint_of_im2col(rng):
    """<im2col(x), c> = <x, col2im(c)> for any geometry (the scatter-add is the transpose)."""
    for hw, kshape, pad, stride, dil in GEOMETRIES:
        x = rng.standard_normal((2, 3) + hw)
        g = K.geometry(x.shape, kshape, pad, stride, dil)
        cols = np.empty((2, 3) + kshape + (g.ho, g.wo))
        K.im2col(x, 0, 2, cols, g)
        c = rng.standard_normal(cols.shape)
        back = np.empty_like(x)
        K.col2im(c, 0, 2, back, g)
        np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, back), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_compiled_step_reuses_buffers_and_matches_perform(rng, backend):
    """In a compiled function the three ops write planned buffers and keep their column
    matrices in the function's work arrays: the second call allocates none, and the values
    equal the ops' perform (the same kernels, without buffers)."""
    if backend == "numba":
        pytest.importorskip("numba")
    X, W = T.tensor("float32", (None,) * 4, "x"), T.tensor("float32", (None,) * 4, "w")
    z = conv2d(X, W, border_mode="half", filter_shape=(4, 2, 3, 3), filter_dilation=(2, 1))
    cost = T.sum(T.tanh(z) ** 2)
    gx, gw = T.grad(cost, [X, W])
    mode = symgraph.compile.mode.FAST_RUN.__class__("t", backend=backend)
    f = symgraph.function([X, W], [gx.sum(), gw], mode=mode)
    ops = {type(n.op) for n in f.fgraph.toposort()}
    assert {Conv2d, Conv2dGradInputs, Conv2dGradWeights} <= ops
    assert "_conv_forward(" in f.source and "_conv_grad_inputs(" in f.source
    x = rng.standard_normal((5, 2, 8, 7)).astype("float32")
    w = rng.standard_normal((4, 2, 3, 3)).astype("float32")
    first = [np.array(v) for v in f(x, w)]
    work = f._fn.__globals__["_work"]
    arrays = {k: id(v) for k, v in work.items()}
    assert arrays  # the column matrices live there
    second = f(x, w)
    assert {k: id(v) for k, v in work.items()} == arrays  # reused, none added
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    reference = symgraph.function([X, W], [gx.sum(), gw], mode="FAST_COMPILE")(x, w)
    for a, b in zip(first, reference):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_legacy_conv_module_runs_the_same_kernels(rng):
    x = rng.standard_normal((2, 3, 8, 7))
    w = rng.standard_normal((2, 3, 3, 2))
    X, W = T.tensor4("x"), T.tensor4("w")
    out = T.nnet.conv.conv2d(X, W, filter_shape=w.shape, border_mode="full", subsample=(2, 1))
    gx, gw = T.grad(out.sum(), [X, W])
    vals = symgraph.function([X, W], [out, gx, gw])(x, w)
    pad = (2, 1)
    np.testing.assert_allclose(vals[0], ref_forward(x, w, pad, (2, 1), True, (1, 1)),
                               rtol=1e-10)
    ones = np.ones_like(vals[0])
    np.testing.assert_allclose(vals[1], ref_grad_inputs(ones, w, x.shape, pad, (2, 1), True,
                                                        (1, 1)), rtol=1e-10)
    np.testing.assert_allclose(vals[2], ref_grad_weights(x, ones, (3, 2), pad, (2, 1), True,
                                                         (1, 1)), rtol=1e-10)


def test_shape_vectors_are_checked():
    gz, w = np.zeros((2, 4, 3, 3)), np.zeros((4, 3, 2, 2))
    with pytest.raises(ValueError, match="input shape"):
        K.grad_inputs(gz, w, (2, 5, 4, 4), (0, 0), (1, 1), False, (1, 1))
    with pytest.raises(ValueError, match="does not match the convolution"):
        K.grad_inputs(gz, w, (2, 3, 5, 4), (0, 0), (1, 1), False, (1, 1))
    with pytest.raises(ValueError, match="filter shape"):
        K.grad_weights(np.zeros((2, 3, 4, 4)), gz, (4, 3, 2), (0, 0), (1, 1), False, (1, 1))
    with pytest.raises(ValueError, match="channels"):
        K.forward(np.zeros((2, 3, 4, 4)), np.zeros((4, 2, 2, 2)), (0, 0), (1, 1), False,
                  (1, 1))


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4),
                  kw=st.integers(1, 4), ph=st.integers(0, 4), pw=st.integers(0, 4),
                  sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 3),
                  dw=st.integers(1, 3), flip=st.booleans(), chunk=st.sampled_from([1, 1 << 30]),
                  seed=st.integers(0, 2**31 - 1))
def test_any_geometry_matches_the_definition(h, w, kh, kw, ph, pw, sh, sw, dh, dw, flip, chunk,
                                             seed):
    """Every geometry that fits (any padding, stride and dilation, either path, chunks of one
    image or all): the three kernels equal the definition's loops; the others raise."""
    rng = np.random.default_rng(seed)
    x, wt = rng.standard_normal((3, 2, h, w)), rng.standard_normal((2, 2, kh, kw))
    pad, stride, dil = (ph, pw), (sh, sw), (dh, dw)
    if h + 2 * ph < dh * (kh - 1) + 1 or w + 2 * pw < dw * (kw - 1) + 1:
        with pytest.raises(ValueError, match="larger than the padded input"):
            K.forward(x, wt, pad, stride, flip, dil)
        return
    old = K.CHUNK_BYTES, conv_shift.CHUNK_BYTES
    K.CHUNK_BYTES = conv_shift.CHUNK_BYTES = chunk
    try:
        work = {}
        z = K.forward(x, wt, pad, stride, flip, dil, work=work)
        gz = rng.standard_normal(z.shape)
        gw = K.grad_weights(x, gz, wt.shape, pad, stride, flip, dil, work=work)
        gx = K.grad_inputs(gz, wt, x.shape, pad, stride, flip, dil, work=work)
    finally:
        K.CHUNK_BYTES, conv_shift.CHUNK_BYTES = old
    np.testing.assert_allclose(z, ref_forward(x, wt, pad, stride, flip, dil), **TOL["float64"])
    np.testing.assert_allclose(gw, ref_grad_weights(x, gz, (kh, kw), pad, stride, flip, dil),
                               **TOL["float64"])
    np.testing.assert_allclose(gx, ref_grad_inputs(gz, wt, x.shape, pad, stride, flip, dil),
                               **TOL["float64"])
