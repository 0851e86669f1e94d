"""The kernels of the convolution ops: im2col + one GEMM per chunk of images, in NCHW.

Stride-1 convolutions (padding up to the dilated kernel extent minus one) take the shifted
products of :mod:`symgraph.ops.conv_shift` instead, which need no column matrix; the rest (any
stride, wider padding) runs the im2col path below. Given the ``loops`` of a back end that has
compiled convolutions, the float32 3x3 stride-1 cases run there first (Winograd's algorithm
with numba: :mod:`symgraph.backends.numba_winograd`).

Every direction works on chunks of a few images, so that the column matrix of a chunk stays in
the cache (the whole batch's would be ``kh * kw`` times the input: 45 MB for a 16-channel 3x3
layer on a batch of 100 MNIST images):

* forward: ``cols[q] = im2col(x[s + q])`` of shape ``(C*kh*kw, Ho*Wo)``, then
  ``out[s:s+n] = W (O, C*kh*kw) @ cols`` (a batched product written straight into the NCHW
  output: no transpose, no copy);
* gradient w.r.t. the filters: the chunk's columns side by side (``im2col_rows``), one product
  ``gw += gz_chunk (O, n*Ho*Wo) @ cols^T`` per chunk;
* gradient w.r.t. the input: ``gcols = W^T @ gz[s:s+n]`` (one batched product), then the
  col2im scatter-add of ``gcols`` into ``gx[s:s+n]``.

The two steps that are not products, im2col and col2im, are one strided slice copy (or add)
per kernel tap over the whole chunk: NumPy copies these rows at memory speed, faster than a
compiled loop over rows of a few dozen elements (measured: 3.6 ms against 16 ms for the 45 MB
of columns of a 16-channel 3x3 layer on 100 MNIST images). Work arrays come from a dict the
caller keeps between calls (the compiled function's scratch), so a train step allocates
nothing after its first call.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from symgraph.ops import conv_shift
from symgraph.ops.conv_geometry import Geometry, geometry, taps, work_array
from symgraph.ops.extremum import extremum

#: bytes of a chunk's column matrix: a few images per chunk keep it in the L2 cache (measured,
#: the train steps timed in turns with 2 MB and 1 MB: SimpleConvNet 15.2 -> 12.6 ms on the
#: numba back end, 21.4 -> 18.1 ms on NumPy; DeepConvNet, whose first layer takes this path,
#: 60.6 -> 59.2 ms)
CHUNK_BYTES = 1 << 20


def im2col(x: np.ndarray, s: int, n: int, cols: np.ndarray, g: Geometry) -> None:
    """``cols[q, c, i, j, y, x] = xpad[s + q, c, y*sh + i*dh, x*sw + j*dw]`` (zero in the
    padding) for ``q < n``; ``cols`` has shape (>= n, C, kh, kw, ho, wo)."""
    every = taps(g, x.shape[2], x.shape[3])
    if any(y0 or x0 or y1 < g.ho or x1 < g.wo for _, _, (y0, y1, _), (x0, x1, _) in every):
        cols[:n].fill(0)  # some taps read padding
    for i, j, (y0, y1, r0), (x0, x1, c0) in every:
        if y1 > y0 and x1 > x0:
            cols[:n, :, i, j, y0:y1, x0:x1] = x[
                s:s + n, :, r0:r0 + (y1 - y0 - 1) * g.sh + 1:g.sh,
                c0:c0 + (x1 - x0 - 1) * g.sw + 1:g.sw]


def im2col_rows(x: np.ndarray, s: int, n: int, cols: np.ndarray, g: Geometry) -> None:
    """:func:`im2col` with the images inside the rows: ``cols[c, i, j, q, y, x]``, so that
    ``cols`` viewed as (C*kh*kw, >= n*ho*wo) holds the chunk's columns side by side."""
    every = taps(g, x.shape[2], x.shape[3])
    if any(y0 or x0 or y1 < g.ho or x1 < g.wo for _, _, (y0, y1, _), (x0, x1, _) in every):
        cols[:, :, :, :n].fill(0)  # some taps read padding
    for i, j, (y0, y1, r0), (x0, x1, c0) in every:
        if y1 > y0 and x1 > x0:
            cols[:, i, j, :n, y0:y1, x0:x1] = x[
                s:s + n, :, r0:r0 + (y1 - y0 - 1) * g.sh + 1:g.sh,
                c0:c0 + (x1 - x0 - 1) * g.sw + 1:g.sw].transpose(1, 0, 2, 3)


def col2im(gcols: np.ndarray, s: int, n: int, gx: np.ndarray, g: Geometry) -> None:
    """``gx[s:s+n] = sum over taps`` of ``gcols`` scattered back to the input pixels they
    were read from (the adjoint of :func:`im2col`), taps added in (i, j) order."""
    out = gx[s:s + n]
    out.fill(0)
    for i, j, (y0, y1, r0), (x0, x1, c0) in taps(g, gx.shape[2], gx.shape[3]):
        if y1 > y0 and x1 > x0:
            out[:, :, r0:r0 + (y1 - y0 - 1) * g.sh + 1:g.sh,
                c0:c0 + (x1 - x0 - 1) * g.sw + 1:g.sw] += gcols[:n, :, i, j, y0:y1, x0:x1]


def _chunk(c: int, g: Geometry, itemsize: int, n: int, extra_rows: int = 0) -> int:
    """Images per chunk: their column matrix (and ``extra_rows`` more rows of the same
    length) within :data:`CHUNK_BYTES`."""
    per_image = (c * g.kh * g.kw + extra_rows) * g.ho * g.wo * itemsize
    return max(1, min(n, CHUNK_BYTES // max(per_image, 1)))


def _matrix(w: np.ndarray, flip: bool, dtype) -> np.ndarray:
    """The filters as a C-contiguous (O, C*kh*kw) matrix of ``dtype`` (flipped if ``flip``)."""
    if flip:
        w = w[:, :, ::-1, ::-1]
    return np.ascontiguousarray(w, dtype=dtype).reshape(w.shape[0], -1)


def _c_array(a: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


def _loops_may_take(loops, g: Geometry, stride) -> bool:
    """True when a back end's compiled ``loops`` may take a convolution of geometry ``g``:
    they have 3x3 correlations of stride 1 without dilation (Winograd's F(4x4, 3x3) with
    numba, float32; :mod:`symgraph.backends.numba_winograd`), and decide the rest."""
    return loops is not None and tuple(stride) == (1, 1) and (g.dh, g.dw) == (1, 1) and \
        (g.kh, g.kw) == (3, 3)


def _winograd(loops, x, k, pad, g: Geometry, stride, out, work, **epilogue) -> bool:
    """True when the back end's ``loops`` took the correlation of ``x`` by ``k`` into ``out``
    (``epilogue``: the ``bias`` added and ``relu`` as the output is written)."""
    return _loops_may_take(loops, g, stride) and \
        loops.correlate3x3(x, k, pad, out, work, **epilogue) is not None


def _check_channels(x: np.ndarray, w: np.ndarray) -> None:
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"Conv2d: input has {x.shape[1]} channels but filters {w.shape} "
                         f"expect {w.shape[1]}")


def forward(x: np.ndarray, w: np.ndarray, pad, stride, flip: bool, dilation,
            out: Optional[np.ndarray] = None, work: Optional[dict] = None,
            loops=None) -> np.ndarray:
    """``conv2d(x, w)`` (NCHW) into ``out`` (allocated when None), in the result dtype; with
    the ``loops`` of a back end that has compiled ones, float32 3x3 convolutions of stride 1
    run Winograd's algorithm there."""
    dtype = np.result_type(x.dtype, w.dtype)
    n, c = x.shape[:2]
    _check_channels(x, w)
    g = geometry(x.shape, w.shape[2:], pad, stride, dilation)
    o = w.shape[0]
    if out is None or out.shape != (n, o, g.ho, g.wo):
        out = np.empty((n, o, g.ho, g.wo), dtype)
    if _winograd(loops, x, w[:, :, ::-1, ::-1] if flip else w, pad, g, stride, out, work):
        return out
    if conv_shift.pays(g, stride, c, x.shape[2], x.shape[3]):
        return conv_shift.correlate(x, w[:, :, ::-1, ::-1] if flip else w, pad, dilation, out,
                                    work)
    x = _c_array(x, dtype)
    wm = _matrix(w, flip, dtype)
    k, p = wm.shape[1], g.ho * g.wo
    ch = _chunk(c, g, out.itemsize, n)
    cols = work_array(work, "cols", (ch, c, g.kh, g.kw, g.ho, g.wo), dtype)
    out3 = out.reshape(n, o, p)
    for s in range(0, n, ch):
        m = min(ch, n - s)
        im2col(x, s, m, cols, g)
        np.matmul(wm, cols[:m].reshape(m, k, p), out=out3[s:s + m])
    return out


def forward_bias(x: np.ndarray, w: np.ndarray, b: np.ndarray, pad, stride, flip: bool,
                 dilation, relu: bool, out: Optional[np.ndarray] = None,
                 work: Optional[dict] = None, loops=None) -> np.ndarray:
    """``max(conv2d(x, w) + b[o], 0)`` (without the ``max`` unless ``relu``) into ``out``: the
    compiled loops add and rectify as they write the output; otherwise NumPy does it in place
    after :func:`forward`. The same values either way: the sum and the rectifier are
    elementwise in the result dtype."""
    dtype = np.result_type(x.dtype, w.dtype)
    n, o = x.shape[0], w.shape[0]
    _check_channels(x, w)
    if b.shape != (o,):
        raise ValueError(f"Conv2dBias: bias of shape {b.shape} for {o} output channels")
    if b.dtype != dtype:
        raise ValueError(f"Conv2dBias: bias of {b.dtype} for a {dtype} convolution")
    g = geometry(x.shape, w.shape[2:], pad, stride, dilation)
    if out is None or out.shape != (n, o, g.ho, g.wo):
        out = np.empty((n, o, g.ho, g.wo), dtype)
    if _winograd(loops, x, w[:, :, ::-1, ::-1] if flip else w, pad, g, stride, out, work,
                 bias=b, relu=relu):
        return out
    out = forward(x, w, pad, stride, flip, dilation, out, work, loops)
    np.add(out, b.reshape(1, o, 1, 1), out=out)
    if relu:
        extremum(np.maximum, out, out.dtype.type(0), out)
    return out


def _shape_vector(op: str, shape, what: str, known) -> Tuple[int, ...]:
    """``shape`` as 4 ints, after checking its first two entries against ``known``."""
    shape = tuple(int(v) for v in shape)
    if len(shape) != 4 or min(shape) < 0 or shape[:2] != tuple(known):
        raise ValueError(f"{op}: {what} {shape} does not match the operands (expected 4 "
                         f"entries starting {tuple(known)})")
    return shape


def grad_weights(x: np.ndarray, gz: np.ndarray, wshape, pad, stride, flip: bool, dilation,
                 out: Optional[np.ndarray] = None, work: Optional[dict] = None,
                 loops=None) -> np.ndarray:
    """``gw = J_w^T gz`` of shape ``wshape`` (O, C, kh, kw): per chunk, one product of the
    output gradient (O x n*Ho*Wo) and the chunk's columns side by side, summed (Winograd's
    algorithm with the ``loops`` of :func:`forward`)."""
    dtype = np.result_type(x.dtype, gz.dtype)
    n, c = x.shape[:2]
    if gz.ndim != 4:
        raise ValueError(f"Conv2dGradWeights: output gradient must be 4-d, got {gz.shape}")
    wshape = _shape_vector("Conv2dGradWeights", wshape, "filter shape", (gz.shape[1], c))
    g = geometry(x.shape, wshape[2:], pad, stride, dilation)
    if gz.ndim != 4 or gz.shape[0] != n or gz.shape[2:] != (g.ho, g.wo):
        raise ValueError(f"Conv2dGradWeights: output gradient of shape {gz.shape} does not "
                         f"match the convolution output rows, cols {(g.ho, g.wo)} of an input "
                         f"of shape {x.shape}")
    o = gz.shape[1]
    shape = wshape
    if out is None or out.shape != shape:
        out = np.empty(shape, dtype)
    acc4 = None
    if _loops_may_take(loops, g, stride) and out.dtype == dtype:
        acc4 = loops.correlate3x3_grad_weights(x, gz, pad, work)
    if acc4 is not None:
        out[...] = acc4[:, :, ::-1, ::-1] if flip else acc4
        return out
    if conv_shift.pays(g, stride, c, x.shape[2], x.shape[3]):
        acc4 = conv_shift.correlate_grad_weights(x, gz, wshape[2:], pad, dilation, dtype, work)
        out[...] = acc4[:, :, ::-1, ::-1] if flip else acc4
        return out
    x, gz = _c_array(x, dtype), _c_array(gz, dtype)
    k, p = c * g.kh * g.kw, g.ho * g.wo
    ch = _chunk(c, g, np.dtype(dtype).itemsize, n, extra_rows=o)  # the columns and gz rows
    cols = work_array(work, "cols", (c, g.kh, g.kw, ch, g.ho, g.wo), dtype)
    gzt = work_array(work, "gz_rows", (o, ch * p), dtype)
    part = work_array(work, "gw_part", (k, o), dtype)
    acc = work_array(work, "gw_acc", (o, k), dtype)
    acc.fill(0)
    gz3, cols2 = gz.reshape(n, o, p), cols.reshape(k, ch * p)
    for s in range(0, n, ch):
        m = min(ch, n - s)
        im2col_rows(x, s, m, cols, g)
        gzt[:, :m * p].reshape(o, m, p)[...] = gz3[s:s + m].transpose(1, 0, 2)
        np.matmul(cols2[:, :m * p], gzt[:, :m * p].T, out=part)  # the faster orientation
        acc += part.T
    acc4 = acc.reshape(shape)
    out[...] = acc4[:, :, ::-1, ::-1] if flip else acc4
    return out


def grad_inputs(gz: np.ndarray, w: np.ndarray, xshape, pad, stride, flip: bool, dilation,
                out: Optional[np.ndarray] = None, work: Optional[dict] = None,
                loops=None) -> np.ndarray:
    """``gx = J_x^T gz`` of shape ``xshape``: one batched product per chunk, then col2im (or
    the correlation below for stride 1, Winograd's with the ``loops`` of :func:`forward`)."""
    dtype = np.result_type(gz.dtype, w.dtype)
    if gz.ndim != 4:
        raise ValueError(f"Conv2dGradInputs: output gradient must be 4-d, got {gz.shape}")
    n, c, h, wd = _shape_vector("Conv2dGradInputs", xshape, "input shape",
                                (gz.shape[0], w.shape[1]))
    g = geometry((n, c, h, wd), w.shape[2:], pad, stride, dilation)
    o = w.shape[0]
    if gz.shape != (n, o, g.ho, g.wo):
        raise ValueError(f"Conv2dGradInputs: output gradient of shape {gz.shape} does not match "
                         f"the convolution of an input of shape {tuple(int(v) for v in xshape)}"
                         f" by filters {w.shape} (expected {(n, o, g.ho, g.wo)})")
    shape = (n, c, h, wd)
    if out is None or out.shape != shape:
        out = np.empty(shape, dtype)
    if conv_shift.applies(g, stride):
        # the adjoint of a stride-1 correlation: correlate gz with the filters transposed and
        # flipped, padded by (k - 1) * d - p (a 'full' convolution when p = 0)
        k = (w if flip else w[:, :, ::-1, ::-1]).transpose(1, 0, 2, 3)
        back = ((g.kh - 1) * g.dh - g.ph, (g.kw - 1) * g.dw - g.pw)
        gb = geometry((n, o) + gz.shape[2:], (g.kh, g.kw), back, (1, 1), dilation)
        if _winograd(loops, gz, k, back, gb, stride, out, work):
            return out
        if conv_shift.pays_backward(g, stride, o):
            return conv_shift.correlate(gz, k, back, dilation, out, work)
    gz = _c_array(gz, dtype)
    wt = _matrix(w, flip, dtype).T
    k, p = c * g.kh * g.kw, g.ho * g.wo
    ch = _chunk(c, g, np.dtype(dtype).itemsize, n)
    gcols = work_array(work, "gcols", (ch, c, g.kh, g.kw, g.ho, g.wo), dtype)
    gz3 = gz.reshape(n, o, p)
    for s in range(0, n, ch):
        m = min(ch, n - s)
        np.matmul(wt, gz3[s:s + m], out=gcols[:m].reshape(m, k, p))
        col2im(gcols, s, m, out, g)
    return out
