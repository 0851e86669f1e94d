"""Winograd's minimal filtering F(4x4, 3x3) for float32 stride-1 3x3 convolutions (the
``[fast]`` extra): 36 products where the direct convolution of a 4x4 output tile takes 144.

A correlation ``y[n, o] = sum_c x[n, c] (*) k[o, c]`` is computed per 6x6 input tile ``d``
(overlapping by 2, giving a 4x4 output tile) as ``Y = A^T [U . V] A`` with ``U = G k G^T``
(the filters, 36 x O x C, once per call), ``V = B^T d B`` (the input tiles, 36 x C x tiles)
and, for each of the 36 entries, one product ``M = U (O x C) @ V (C x tiles)``: one batched
BLAS call per chunk of images, 4x fewer multiply-adds than the shifted products or im2col
(Lavin and Gray, *Fast Algorithms for Convolutional Neural Networks*, 2016; the matrices are
theirs). The products run at the GEMM rate of these shapes, so the transforms decide the
speed; they are compiled loops whose innermost loop runs along a long contiguous axis:

* a chunk of images is laid side by side in one wide zero-padded image per channel (each
  image ``pitch = W + pw`` columns apart: the zero columns between two images serve as the
  right padding of one and the left padding of the next), its columns split by phase modulo
  4, so that every tap a row of tiles reads is a contiguous run;
* the input transform runs down the columns (``B^T`` over the six rows of a row of tiles),
  then along the tiles of the row (``B`` over the columns, read by phase);
* the output transform runs ``A^T`` over the entries of each tile column, then along the row,
  writing the four columns of every output tile by phase; NumPy strided copies put the
  phases together and drop the columns between images.

The transforms are exact in exact arithmetic; in float32 the rounding of the larger
transform coefficients leaves a relative error of a few 1e-6 of the output's magnitude
(measured against a float64 reference: 4-7e-6 on the DeepConvNet layers, where the shifted
products give 2-7e-7), the trade every Winograd convolution of cuDNN and oneDNN makes for
float32. Float64 and every other geometry keep the exact paths of
:mod:`symgraph.ops.conv_kernels`.
"""
from __future__ import annotations

import threading
from typing import Optional

import numpy as np

from symgraph.ops.conv_geometry import work_array

#: bytes of a chunk's transformed input plus products (V and M): enough images that the
#: transforms' loops run long (measured on the DeepConvNet layers: 1 MB 7.0 ms, 2 MB 5.5 ms,
#: 4 MB 4.8 ms, 8 MB 5.9 ms for the 16-channel 28x28 layer), few enough to stay in the cache
CHUNK_BYTES = 4 << 20
#: fewer channels than this (in or out) make the 36 products too thin to pay for the transforms
MIN_CHANNELS = 8

_SOURCE = '''import numpy as np
from numba import njit

_OPTS = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False)
F2 = np.float32(2.0)
F4 = np.float32(4.0)
F5 = np.float32(5.0)
F8 = np.float32(8.0)


@njit(**_OPTS)
def fill_split(x, s, q, ph, pw, pitch, P4):
    """Images x[s:s+q] side by side into P4 (C, rows, 4, tw + 1), zero elsewhere: pixel (y, i)
    of image j at row ph + y, column X = j * pitch + pw + i, stored at P4[:, ph + y, X % 4,
    X // 4]."""
    P4[:] = 0
    for c in range(x.shape[1]):
        for j in range(q):
            for y in range(x.shape[2]):
                src = x[s + j, c, y]
                dst = P4[c, ph + y]
                off = j * pitch + pw
                for i in range(x.shape[3]):
                    X = off + i
                    dst[X & 3, X >> 2] = src[i]


@njit(**_OPTS)
def crop_join(Y4, s, q, pitch, out):
    """out[s + j, o, y, i] = Y4[o, y, X % 4, X // 4] with X = j * pitch + i: the outputs of
    image j of the chunk, the columns between images dropped."""
    for j in range(q):
        for o in range(out.shape[1]):
            for y in range(out.shape[2]):
                src = Y4[o, y]
                dst = out[s + j, o, y]
                off = j * pitch
                for i in range(out.shape[3]):
                    X = off + i
                    dst[i] = src[X & 3, X >> 2]


@njit(**_OPTS)
def input_tiles(P4, th, tw, vv, V):
    """V[6 r + k, c, ty * tw + tx] = (B^T d B)[r, k] of the 6x6 tile at rows 4 ty.., columns
    4 tx.. of P4 (C, 4 th + 2, 4, tw + 1): the padded chunk, columns split by phase mod 4;
    vv (6, 4, tw + 1) is scratch."""
    for c in range(P4.shape[0]):
        for ty in range(th):
            for ph in range(4):
                r0 = P4[c, 4 * ty, ph]
                r1 = P4[c, 4 * ty + 1, ph]
                r2 = P4[c, 4 * ty + 2, ph]
                r3 = P4[c, 4 * ty + 3, ph]
                r4 = P4[c, 4 * ty + 4, ph]
                r5 = P4[c, 4 * ty + 5, ph]
                o = vv[0, ph]
                for u in range(tw + 1):
                    o[u] = F4 * r0[u] - F5 * r2[u] + r4[u]
                o = vv[1, ph]
                for u in range(tw + 1):
                    o[u] = r3[u] + r4[u] - F4 * (r1[u] + r2[u])
                o = vv[2, ph]
                for u in range(tw + 1):
                    o[u] = F4 * (r1[u] - r2[u]) + r4[u] - r3[u]
                o = vv[3, ph]
                for u in range(tw + 1):
                    o[u] = F2 * (r3[u] - r1[u]) + r4[u] - r2[u]
                o = vv[4, ph]
                for u in range(tw + 1):
                    o[u] = F2 * (r1[u] - r3[u]) + r4[u] - r2[u]
                o = vv[5, ph]
                for u in range(tw + 1):
                    o[u] = F4 * r1[u] - F5 * r3[u] + r5[u]
            b = ty * tw
            for r in range(6):
                # the six columns of tile tx are phases 0-3 at tx and phases 0-1 at tx + 1
                # (every loop indexes by its counter alone: no negative-index test in it)
                a0 = vv[r, 0]
                a1 = vv[r, 1]
                a2 = vv[r, 2]
                a3 = vv[r, 3]
                n0 = a0[1:]
                n1 = a1[1:]
                o = V[6 * r, c, b:b + tw]
                for t in range(tw):
                    o[t] = F4 * a0[t] - F5 * a2[t] + n0[t]
                o = V[6 * r + 1, c, b:b + tw]
                for t in range(tw):
                    o[t] = a3[t] + n0[t] - F4 * (a1[t] + a2[t])
                o = V[6 * r + 2, c, b:b + tw]
                for t in range(tw):
                    o[t] = F4 * (a1[t] - a2[t]) + n0[t] - a3[t]
                o = V[6 * r + 3, c, b:b + tw]
                for t in range(tw):
                    o[t] = F2 * (a3[t] - a1[t]) + n0[t] - a2[t]
                o = V[6 * r + 4, c, b:b + tw]
                for t in range(tw):
                    o[t] = F2 * (a1[t] - a3[t]) + n0[t] - a2[t]
                o = V[6 * r + 5, c, b:b + tw]
                for t in range(tw):
                    o[t] = F4 * a1[t] - F5 * a3[t] + n1[t]


@njit(**_OPTS)
def output_tiles(M, th, tw, S, Y4):
    """Y4[o, 4 ty + i, j, tx] = (A^T m A)[i, j] of the 6x6 products m = M[:, o, ty * tw + tx]
    (M: 36 x O x th * tw; Y4: O x 4 th x 4 x tw, the output columns split by phase mod 4);
    S (4, 6, tw) is scratch."""
    for o in range(M.shape[1]):
        for ty in range(th):
            b = ty * tw
            for k in range(6):
                m0 = M[k, o, b:b + tw]
                m1 = M[6 + k, o, b:b + tw]
                m2 = M[12 + k, o, b:b + tw]
                m3 = M[18 + k, o, b:b + tw]
                m4 = M[24 + k, o, b:b + tw]
                m5 = M[30 + k, o, b:b + tw]
                s = S[0, k]
                for t in range(tw):
                    s[t] = m0[t] + m1[t] + m2[t] + m3[t] + m4[t]
                s = S[1, k]
                for t in range(tw):
                    s[t] = m1[t] - m2[t] + F2 * (m3[t] - m4[t])
                s = S[2, k]
                for t in range(tw):
                    s[t] = m1[t] + m2[t] + F4 * (m3[t] + m4[t])
                s = S[3, k]
                for t in range(tw):
                    s[t] = m1[t] - m2[t] + F8 * (m3[t] - m4[t]) + m5[t]
            for i in range(4):
                s0 = S[i, 0]
                s1 = S[i, 1]
                s2 = S[i, 2]
                s3 = S[i, 3]
                s4 = S[i, 4]
                s5 = S[i, 5]
                y = Y4[o, 4 * ty + i]
                z = y[0]
                for t in range(tw):
                    z[t] = s0[t] + s1[t] + s2[t] + s3[t] + s4[t]
                z = y[1]
                for t in range(tw):
                    z[t] = s1[t] - s2[t] + F2 * (s3[t] - s4[t])
                z = y[2]
                for t in range(tw):
                    z[t] = s1[t] + s2[t] + F4 * (s3[t] + s4[t])
                z = y[3]
                for t in range(tw):
                    z[t] = s1[t] - s2[t] + F8 * (s3[t] - s4[t]) + s5[t]
@njit(**_OPTS)
def grad_tiles(P4, th, tw, vv, V):
    """V[6 r + k, o, ty * tw + tx] = (A g A^T)[r, k] of the 4x4 tile g at rows 4 ty..,
    columns 4 tx.. of P4 (O, >= 4 th, 4, >= tw): an output gradient laid out as
    :func:`fill_split` lays out the input (the adjoint of :func:`output_tiles`); vv (6, 4, tw)
    is scratch."""
    for c in range(P4.shape[0]):
        for ty in range(th):
            for ph in range(4):
                g0 = P4[c, 4 * ty, ph]
                g1 = P4[c, 4 * ty + 1, ph]
                g2 = P4[c, 4 * ty + 2, ph]
                g3 = P4[c, 4 * ty + 3, ph]
                o = vv[0, ph]
                for u in range(tw):
                    o[u] = g0[u]
                o = vv[1, ph]
                for u in range(tw):
                    o[u] = g0[u] + g1[u] + g2[u] + g3[u]
                o = vv[2, ph]
                for u in range(tw):
                    o[u] = g0[u] - g1[u] + g2[u] - g3[u]
                o = vv[3, ph]
                for u in range(tw):
                    o[u] = g0[u] + F2 * g1[u] + F4 * g2[u] + F8 * g3[u]
                o = vv[4, ph]
                for u in range(tw):
                    o[u] = g0[u] - F2 * g1[u] + F4 * g2[u] - F8 * g3[u]
                o = vv[5, ph]
                for u in range(tw):
                    o[u] = g3[u]
            b = ty * tw
            for r in range(6):
                a0 = vv[r, 0]
                a1 = vv[r, 1]
                a2 = vv[r, 2]
                a3 = vv[r, 3]
                o = V[6 * r, c, b:b + tw]
                for t in range(tw):
                    o[t] = a0[t]
                o = V[6 * r + 1, c, b:b + tw]
                for t in range(tw):
                    o[t] = a0[t] + a1[t] + a2[t] + a3[t]
                o = V[6 * r + 2, c, b:b + tw]
                for t in range(tw):
                    o[t] = a0[t] - a1[t] + a2[t] - a3[t]
                o = V[6 * r + 3, c, b:b + tw]
                for t in range(tw):
                    o[t] = a0[t] + F2 * a1[t] + F4 * a2[t] + F8 * a3[t]
                o = V[6 * r + 4, c, b:b + tw]
                for t in range(tw):
                    o[t] = a0[t] - F2 * a1[t] + F4 * a2[t] - F8 * a3[t]
                o = V[6 * r + 5, c, b:b + tw]
                for t in range(tw):
                    o[t] = a3[t]


'''

_G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])

_GG = np.kron(_G, _G)  # (G (x) G)[6 a + b, 3 i + j] = G[a, i] G[b, j]

_lock = threading.Lock()
_module = []


def _loops():
    with _lock:
        if not _module:
            from symgraph.backends.numba_loops import _load_module
            _module.append(_load_module(_SOURCE))
        return _module[0]


def applies(x: np.ndarray, k: np.ndarray, pad, out: np.ndarray) -> bool:
    """True when the correlation of ``x`` (N, C, H, W) by ``k`` (O, C, 3, 3), stride 1, no
    dilation, runs here: float32 throughout, padding at most 2, enough channels, an output
    to write into."""
    return (x.dtype == k.dtype == out.dtype == np.float32 and k.shape[2:] == (3, 3) and
            0 <= pad[0] <= 2 and 0 <= pad[1] <= 2 and
            min(x.shape[1], k.shape[0]) >= MIN_CHANNELS and x.size > 0 and out.size > 0 and
            out.flags.c_contiguous)


def applies_grad_weights(x: np.ndarray, gz: np.ndarray, pad) -> bool:
    """True when the filter gradient of a 3x3 correlation of ``x`` whose output gradient is
    ``gz`` runs here (the conditions of :func:`applies`)."""
    return (x.dtype == gz.dtype == np.float32 and x.ndim == gz.ndim == 4 and
            0 <= pad[0] <= 2 and 0 <= pad[1] <= 2 and
            min(x.shape[1], gz.shape[1]) >= MIN_CHANNELS and x.size > 0 and gz.size > 0)


def filter_tiles(k: np.ndarray) -> np.ndarray:
    """``U[6 a + b, o, c] = (G k[o, c] G^T)[a, b]`` as float32 (one float64 product by
    ``G (x) G``)."""
    o, c = k.shape[:2]
    u = _GG @ k.reshape(o * c, 9).T.astype(np.float64)
    return np.ascontiguousarray(u, dtype=np.float32).reshape(36, o, c)


def _layout(n: int, h: int, w: int, ph: int, pw: int, channels: int):
    """``(chunk, th, tw, pitch)``: images per chunk, rows of tiles, tiles per chunk row, and
    the columns from one image to the next in the wide layout."""
    ho = h + 2 * ph - 2
    th, pitch = -(-ho // 4), w + pw
    per_image = 36 * channels * th * pitch  # bytes of V and M: 36 x channels x th x pitch/4
    ch = max(1, min(n, int(CHUNK_BYTES // per_image)))
    return ch, th, -(-(ch * pitch) // 4), pitch


def correlate(x: np.ndarray, k: np.ndarray, pad, out: np.ndarray,
              work: Optional[dict]) -> np.ndarray:
    """``out[n, o] = sum_{c, i, j} xpad[n, c, y + i, x + j] * k[o, c, i, j]`` (stride 1, 3x3,
    padding ``pad``; :func:`applies` must hold) into ``out`` (N, O, Ho, Wo)."""
    n, c, h, w = x.shape
    o = k.shape[0]
    ph, pw = int(pad[0]), int(pad[1])
    ho, wo = h + 2 * ph - 2, w + 2 * pw - 2
    if out.shape != (n, o, ho, wo):
        raise ValueError(f"winograd correlate: output of shape {out.shape}, expected "
                         f"{(n, o, ho, wo)}")
    lib = _loops()
    u = filter_tiles(k)
    ch, th, tw, pitch = _layout(n, h, w, ph, pw, c + o)
    rows = 4 * th + 2
    split = work_array(work, "wino_split", (c, rows, 4, tw + 1), np.float32)
    vv = work_array(work, "wino_vv", (6, 4, tw + 1), np.float32)
    v = work_array(work, "wino_v", (36, c, th * tw), np.float32)
    m = work_array(work, "wino_m", (36, o, th * tw), np.float32)
    s4 = work_array(work, "wino_s", (4, 6, tw), np.float32)
    # the output tiles in V's memory when they fit (V is dead once M is computed): 16 O th tw
    # entries against V's 36 C th tw, so whenever O <= 2.25 C
    y4 = work_array(work, "wino_v" if 16 * o <= 36 * c else "wino_y", (o, 4 * th, 4, tw),
                    np.float32)
    for s in range(0, n, ch):
        q = min(ch, n - s)
        lib.fill_split(x, s, q, ph, pw, pitch, split)
        lib.input_tiles(split, th, tw, vv, v)
        np.matmul(u, v, out=m)
        lib.output_tiles(m, th, tw, s4, y4)
        lib.crop_join(y4, s, q, pitch, out)
    return out


def correlate_grad_weights(x: np.ndarray, gz: np.ndarray, pad, work: Optional[dict]
                           ) -> np.ndarray:
    """``gw[o, c, i, j] = sum_{n, y, x} gz[n, o, y, x] * xpad[n, c, y + i, x + j]``, the filter
    gradient of :func:`correlate`, as a (O, C, 3, 3) float32 work array: per chunk, the
    output gradient's tiles ``A g A^T`` against the input's tiles ``B^T d B`` in 36 products
    ``(O x tiles) @ (tiles x C)``, summed, then ``G^T dU G``."""
    n, c, h, w = x.shape
    o = gz.shape[1]
    ph, pw = int(pad[0]), int(pad[1])
    ho, wo = h + 2 * ph - 2, w + 2 * pw - 2
    if gz.shape != (n, o, ho, wo):
        raise ValueError(f"winograd filter gradient: output gradient of shape {gz.shape}, "
                         f"expected {(n, o, ho, wo)}")
    lib = _loops()
    ch, th, tw, pitch = _layout(n, h, w, ph, pw, c + o)
    rows = 4 * th + 2
    # the output gradient is laid out in the input's memory (dead once V is computed): the
    # buffer is grown to the larger of the two first, so neither view moves it
    work_array(work, "wino_split", (max(c, o), rows, 4, tw + 1), np.float32)
    vv = work_array(work, "wino_vv", (6, 4, tw + 1), np.float32)
    v = work_array(work, "wino_v", (36, c, th * tw), np.float32)
    m = work_array(work, "wino_m", (36, o, th * tw), np.float32)
    part = work_array(work, "wino_part", (36, o, c), np.float32)
    acc = work_array(work, "wino_acc", (36, o, c), np.float32)
    acc.fill(0)
    for s in range(0, n, ch):
        q = min(ch, n - s)
        split = work_array(work, "wino_split", (c, rows, 4, tw + 1), np.float32)
        lib.fill_split(x, s, q, ph, pw, pitch, split)
        lib.input_tiles(split, th, tw, vv, v)
        gsplit = work_array(work, "wino_split", (o, rows, 4, tw + 1), np.float32)
        lib.fill_split(gz, s, q, 0, 0, pitch, gsplit)
        lib.grad_tiles(gsplit, th, tw, vv, m)
        np.matmul(m, v.transpose(0, 2, 1), out=part)
        acc += part
    gw = _GG.T @ acc.reshape(36, o * c).astype(np.float64)      # (9, O*C)
    return np.ascontiguousarray(gw.T, dtype=np.float32).reshape(o, c, 3, 3)
