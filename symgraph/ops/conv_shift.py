"""Stride-1 convolutions as one product per kernel row over a flat padded layout (no im2col).

A chunk of images is copied once into a *flat* layout: per channel, the images one after the
other, each row followed by ``pw`` zero columns and each image by ``ph`` zero rows (one zero
border serves both neighbours: the zero columns ending a row are the padding the next row's
taps read on their left), after ``ph * pitch + pw`` leading zeros. In that layout the input a
kernel tap ``(i, j)`` reads for every output pixel is one contiguous slice, shifted by
``i * dh * pitch + j * dw``, so

* the forward pass is ``out = sum_taps W[:, :, i, j] (O x C) @ flat[:, shift : shift + L]``:
  products with the (C, L) slice as a strided BLAS operand, no column matrix at all. The
  ``kw`` taps of a kernel row go into one product: the chunk is laid out ``kw`` times, each
  copy shifted one tap further, so a row's taps read one (kw*C, L) slice (fewer, larger
  products and ``kh - 1`` additions of partial outputs instead of ``kh * kw - 1``: 8-20 %
  faster on the DeepConvNet layers than one product per tap);
* the gradient w.r.t. the filters is ``gw[:, :, i, :] = gz_flat (O x L) @ rows_i^T`` with the
  output gradient laid out the same way (zeros at the positions that are no output);
* the gradient w.r.t. the input is the forward pass of the output gradient with the filters
  transposed and flipped and padding ``(k - 1) * d - p``: no col2im scatter.

The output is computed on every position of the flat layout (``(H + ph) * (W + pw)`` per
image instead of ``Ho * Wo``); the extra positions are dropped when the chunk is copied back
to NCHW. It applies to stride 1 with padding at most the dilated kernel extent minus one
(``p <= (k - 1) * d``: 'valid', 'half', 'full' and anything between), every dilation and flip.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from symgraph.ops.conv_geometry import Geometry, geometry, work_array

#: bytes of a chunk's flat input plus output: a few images, so both stay in the L2 cache
#: (measured: the DeepConvNet step on the NumPy back end 104.7 -> 102.4 ms with 1 MB instead
#: of 2 MB, timed in turns)
CHUNK_BYTES = 1 << 20
#: products of fewer input channels than this are outer-product-like and slow in BLAS
MIN_CHANNELS = 8
#: flat positions per output position above which the forward pass and the filter gradient
#: stay with im2col (the extra positions cost more than the column matrix saves)
MAX_WASTE = 1.10


def applies(g: Geometry, stride) -> bool:
    """True when a convolution of geometry ``g`` and ``stride`` can run here."""
    return tuple(stride) == (1, 1) and g.ph <= (g.kh - 1) * g.dh and g.pw <= (g.kw - 1) * g.dw


def pays(g: Geometry, stride, channels: int, h: int, w: int) -> bool:
    """True when the forward pass (or filter gradient) of an input of ``channels`` x ``h`` x
    ``w`` is faster here than by im2col: enough channels per product, few extra positions.

    Measured on the DeepConvNet layers (batch 100, one core, CPU time): 28x28 with padding 1
    (7 % extra positions) and 14x14 with padding 2 (none) gain 13-19 %; 14x14 with padding 1
    (15 % extra) is even; 8x8 with padding 1 (27 % extra) loses up to 29 % (filter
    gradient); a single input channel loses 2x."""
    if not applies(g, stride) or channels < MIN_CHANNELS:
        return False
    f = flat(h, w, g)
    return f.image <= MAX_WASTE * g.ho * g.wo


def pays_backward(g: Geometry, stride, out_channels: int) -> bool:
    """True when the input gradient is faster here than by a product and a col2im scatter:
    whenever it applies with enough output channels (measured: 17-38 % faster on every
    DeepConvNet layer, the col2im scatter being the slow part of the other path)."""
    return applies(g, stride) and out_channels >= MIN_CHANNELS


class Flat(NamedTuple):
    """The flat layout of images of ``h`` x ``w`` for geometry ``g`` (see the module doc)."""

    h: int
    w: int
    rows: int    # rows per image: h + ph
    pitch: int   # entries per row: w + pw
    lead: int    # zeros before the first image
    span: int    # the largest tap shift

    @property
    def image(self) -> int:
        return self.rows * self.pitch

    def shift(self, g: Geometry, i: int, j: int) -> int:
        return i * g.dh * self.pitch + j * g.dw


def flat(h: int, w: int, g: Geometry) -> Flat:
    pitch = w + g.pw
    return Flat(h, w, h + g.ph, pitch, g.ph * pitch + g.pw,
                (g.kh - 1) * g.dh * pitch + (g.kw - 1) * g.dw)


def _chunk(channels: int, f: Flat, itemsize: int, n: int) -> int:
    return max(1, min(n, CHUNK_BYTES // max(channels * f.image * itemsize, 1)))


def fill(buf: np.ndarray, x: np.ndarray, s: int, m: int, f: Flat) -> int:
    """Copy images ``x[s:s+m]`` into ``buf`` (C, >= m * image + span) in the flat layout with
    zeros around them; returns ``L = m * image``, the number of output positions."""
    length = m * f.image
    body = buf[:, f.lead:f.lead + length].reshape(buf.shape[0], m, f.rows, f.pitch)
    body[:, :, :f.h, :f.w] = x[s:s + m].transpose(1, 0, 2, 3)
    if f.pitch > f.w:
        body[:, :, :f.h, f.w:] = 0
    if f.rows > f.h:
        body[:, :, f.h:, :] = 0
    buf[:, :f.lead] = 0
    buf[:, f.lead + length:length + f.span] = 0
    return length


def _shifted(buf: np.ndarray, x: np.ndarray, s: int, m: int, f: Flat, g: Geometry) -> int:
    """Fill ``buf`` (kw, C, length) with images ``x[s:s+m]``: ``buf[0]`` the flat layout,
    ``buf[j]`` the same shifted left by ``j * dw``, so that ``buf`` viewed as (kw*C, length)
    holds, at column ``t + i * dh * pitch``, the input of every tap of kernel row ``i`` for
    output position ``t``. Returns the number of output positions."""
    length = fill(buf[0], x, s, m, f)
    reach = length + (g.kh - 1) * g.dh * f.pitch
    for j in range(1, g.kw):
        buf[j][:, :reach] = buf[0][:, j * g.dw:j * g.dw + reach]
    return length


def correlate(x: np.ndarray, k: np.ndarray, pad, dilation, out: np.ndarray,
              work: Optional[dict]) -> np.ndarray:
    """``out[n, o] = sum_{c, i, j} xpad[n, c, y + i*dh, x + j*dw] * k[o, c, i, j]`` (stride
    1; ``applies`` must hold) into ``out`` of shape (N, O, Ho, Wo), in ``out``'s dtype: per
    chunk, one product per kernel row over the row's ``kw`` shifted copies of the input."""
    n, c, h, w = x.shape
    o = k.shape[0]
    g = geometry(x.shape, k.shape[2:], pad, (1, 1), dilation)
    f = flat(h, w, g)
    dtype = out.dtype
    # rows[i] = [k[:, :, i, 0] k[:, :, i, 1] ...]: (O, kw*C), matching the shifted copies
    rows = np.ascontiguousarray(k.transpose(2, 0, 3, 1), dtype=dtype).reshape(g.kh, o, -1)
    ch = _chunk(g.kw * c + o, f, out.itemsize, n)
    size = ch * f.image + f.span
    buf = work_array(work, "flat_in", (g.kw, c, size), dtype)
    cols = buf.reshape(g.kw * c, size)
    acc = work_array(work, "flat_out", (o, ch * f.image), dtype)
    tmp = work_array(work, "flat_tmp", (o, ch * f.image), dtype) if g.kh > 1 else None
    for s in range(0, n, ch):
        m = min(ch, n - s)
        length = _shifted(buf, x, s, m, f, g)
        a = acc[:, :length]
        for i in range(g.kh):
            src = cols[:, f.shift(g, i, 0):f.shift(g, i, 0) + length]
            if i == 0:
                np.matmul(rows[i], src, out=a)
            else:
                t = tmp[:, :length]
                np.matmul(rows[i], src, out=t)
                a += t
        out[s:s + m] = a.reshape(o, m, f.rows, f.pitch)[:, :, :g.ho, :g.wo].transpose(
            1, 0, 2, 3)
    return out


def correlate_grad_weights(x: np.ndarray, gz: np.ndarray, kshape, pad, dilation,
                           dtype, work: Optional[dict]) -> np.ndarray:
    """``gw[o, c, i, j] = sum_{n, y, x} gz[n, o, y, x] * xpad[n, c, y + i*dh, x + j*dw]``
    (the filter gradient of :func:`correlate`), a (O, C, kh, kw) work array: per chunk, one
    product per kernel row."""
    n, c, h, w = x.shape
    o = gz.shape[1]
    g = geometry(x.shape, kshape, pad, (1, 1), dilation)
    f = flat(h, w, g)
    itemsize = np.dtype(dtype).itemsize
    ch = _chunk(g.kw * c + o, f, itemsize, n)
    size = ch * f.image + f.span
    buf = work_array(work, "flat_in", (g.kw, c, size), dtype)
    cols = buf.reshape(g.kw * c, size)
    gzf = work_array(work, "flat_gz", (o, ch * f.image), dtype)
    part = work_array(work, "gw_part", (g.kw * c, o), dtype)
    acc = work_array(work, "gw_acc", (o, c, g.kh, g.kw), dtype)
    acc.fill(0)
    for s in range(0, n, ch):
        m = min(ch, n - s)
        length = _shifted(buf, x, s, m, f, g)
        body = gzf[:, :length].reshape(o, m, f.rows, f.pitch)
        body[:, :, :g.ho, :g.wo] = gz[s:s + m].transpose(1, 0, 2, 3)
        if f.pitch > g.wo:
            body[:, :, :g.ho, g.wo:] = 0
        if f.rows > g.ho:
            body[:, :, g.ho:, :] = 0
        for i in range(g.kh):
            src = cols[:, f.shift(g, i, 0):f.shift(g, i, 0) + length]
            # the transposed product (kw*C x L) @ (L x O): BLAS runs it up to 1.6x faster than
            # (O x L) @ (L x kw*C) (measured with OpenBLAS's Haswell and SkylakeX kernels)
            np.matmul(src, gzf[:, :length].T, out=part)
            acc[:, :, i, :] += part.reshape(g.kw, c, o).transpose(2, 1, 0)
    return acc
