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
  right padding of one and the left padding of the next), so that the loops run along the
  rows of the whole chunk;
* the input transform runs down the columns (``B^T`` over the six rows of a row of tiles,
  contiguous loads and stores), then along the tiles of the row (``B`` over each tile's six
  columns, read four apart: loads the compiler groups into vector shuffles);
* the output transform runs ``A^T`` over the entries of each tile column, then along the row,
  writing the four columns of every output tile next to each other (grouped stores); the
  images are then copied out of the wide rows, with the bias and the rectifier of a
  :class:`~symgraph.ops.conv.Conv2dBias` applied as they are written (this layout measured
  faster than rows split by column phase modulo 4, whose scattered fill and gathered output
  copy took twice as long and four times as long with the bias and rectifier).

The transforms are exact in exact arithmetic; in float32 the rounding of the larger
transform coefficients leaves an error of up to about 1e-5 of the output's largest entry
(measured against a float64 reference on the DeepConvNet layers: 2.4e-6 to 9.3e-6, where the
exact kernels give 1.5e-7 to 6.9e-7; ``python -m benchmarks.conv_layers``), the trade every
Winograd convolution of cuDNN and oneDNN makes for float32. Float64 and every other geometry
keep the exact paths of :mod:`symgraph.ops.conv_kernels`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.backends.numba_loops import module_once
from symgraph.ops.conv_geometry import work_array

#: bytes of a chunk's transformed input plus products (V and M): enough images that the
#: transforms' loops run long, few enough that the chunk's arrays stay in the cache and leave
#: the layer's output there for the next node (measured: the DeepConvNet step, numba back end,
#: 66.8 / 61.9 / 63.1 / 70.4 ms with 1 / 2 / 4 / 8 MB, the four timed in turns)
CHUNK_BYTES = 2 << 20
#: fewer channels than this (in or out) make the 36 products too thin to pay for the transforms
MIN_CHANNELS = 8

_LOOPS = '''import numpy as np
from numba import njit

_OPTS = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False)
F0 = np.float32(0.0)
F2 = np.float32(2.0)
F4 = np.float32(4.0)
F5 = np.float32(5.0)
F8 = np.float32(8.0)


@njit(**_OPTS)
def fill_wide(x, s, q, ph, pw, pitch, P):
    """Images x[s:s+q] side by side into P (C, rows, cols), zero elsewhere: pixel (y, i) of
    image j at row ph + y, column j * pitch + pw + i. Each entry of P is written once."""
    h = x.shape[2]
    w = x.shape[3]
    rows = P.shape[1]
    cols = P.shape[2]
    for c in range(x.shape[1]):
        for y in range(rows):
            row = P[c, y]
            if y < ph or y >= ph + h:
                for i in range(cols):
                    row[i] = 0
                continue
            for i in range(pw):
                row[i] = 0
            for j in range(q):
                o = j * pitch + pw
                src = x[s + j, c, y - ph]
                dst = row[o:o + w]
                for i in range(w):
                    dst[i] = src[i]
                gap = row[o + w:o + pitch]
                for i in range(gap.shape[0]):
                    gap[i] = 0
            tail = row[q * pitch + pw:]
            for i in range(tail.shape[0]):
                tail[i] = 0


{TILES}

@njit(**_OPTS)
def output_tiles(M, th, tw, S, Y):
    """Y[o, 4 ty + i, 4 tx + j] = (A^T m A)[i, j] of the 6x6 products m = M[:, o,
    ty * tw + tx] (M: 36 x O x th * tw; Y: O x 4 th x 4 tw); S (4, 6, tw) is scratch."""
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
                y = Y[o, 4 * ty + i]
                for t in range(tw):
                    y[4 * t] = s0[t] + s1[t] + s2[t] + s3[t] + s4[t]
                    y[4 * t + 1] = s1[t] - s2[t] + F2 * (s3[t] - s4[t])
                    y[4 * t + 2] = s1[t] + s2[t] + F4 * (s3[t] + s4[t])
                    y[4 * t + 3] = s1[t] - s2[t] + F8 * (s3[t] - s4[t]) + s5[t]


@njit(**_OPTS)
def crop_join(Y, s, q, pitch, out, bias, epilogue):
    """out[s + j, o, y, i] = Y[o, y, j * pitch + i]: the outputs of image j of the chunk,
    the columns between images dropped; epilogue 1 adds bias[o], 2 also rectifies (NumPy's
    maximum(v, 0): a nan stays, so does -0.0)."""
    w = out.shape[3]
    for j in range(q):
        for o in range(out.shape[1]):
            b = bias[o] if epilogue else F0
            for y in range(out.shape[2]):
                src = Y[o, y, j * pitch:j * pitch + w]
                dst = out[s + j, o, y]
                if epilogue == 2:
                    for i in range(w):
                        v = src[i] + b
                        dst[i] = F0 if v < F0 else v
                elif epilogue == 1:
                    for i in range(w):
                        dst[i] = src[i] + b
                else:
                    for i in range(w):
                        dst[i] = src[i]
'''

#: the rows of B^T (input tiles) and of A (output-gradient tiles), each an expression of the
#: six or four entries {0}.. of a tile column or row, factored to fewer operations
_BT = ("F4 * {0} - F5 * {2} + {4}", "{3} + {4} - F4 * ({1} + {2})",
       "F4 * ({1} - {2}) + {4} - {3}", "F2 * ({3} - {1}) + {4} - {2}",
       "F2 * ({1} - {3}) + {4} - {2}", "F4 * {1} - F5 * {3} + {5}")
_A = ("{0}", "{0} + {1} + {2} + {3}", "{0} - {1} + {2} - {3}",
      "{0} + F2 * {1} + F4 * {2} + F8 * {3}", "{0} - F2 * {1} + F4 * {2} - F8 * {3}", "{3}")


def tiles_source(name: str, rows, m: int, doc: str) -> str:
    """The source of ``name(P, th, tw, vv, V)``: ``V[6 r + k, c, ty * tw + tx] = (T d T^T)[r,
    k]`` for the tile ``d`` at rows ``4 ty``.., columns ``4 tx``.. of ``P`` (C, rows, cols),
    ``T``'s rows given by ``rows`` (expressions of the tile's ``m`` entries, 6 for the input's
    overlapping tiles, 4 for the output gradient's): down the columns of a row of tiles into
    ``vv`` (6, cols), contiguous, then along each row of ``vv``, reading the tiles' columns
    four apart."""
    col = [f"r{i}[u]" for i in range(m)]
    tap = [f"d{i}" for i in range(m)]
    lines = ["@njit(**_OPTS)", f"def {name}(P, th, tw, vv, V):", f'    """{doc}"""',
             f"    n = 4 * tw + {m - 4}", "    for c in range(P.shape[0]):",
             "        for ty in range(th):"]
    lines += [f"            r{i} = P[c, 4 * ty + {i}]" for i in range(m)]
    for r, row in enumerate(rows):
        lines += [f"            o = vv[{r}]", "            for u in range(n):",
                  f"                o[u] = {row.format(*col)}"]
    lines += ["            b = ty * tw", "            for r in range(6):", "                a = vv[r]"]
    lines += [f"                o{k} = V[6 * r + {k}, c, b:b + tw]" for k in range(6)]
    lines += ["                for t in range(tw):"]
    lines += [f"                    d{i} = a[4 * t + {i}]" for i in range(m)]
    lines += [f"                    o{k}[t] = {row.format(*tap)}" for k, row in enumerate(rows)]
    return "\n".join(lines)


_SOURCE = _LOOPS.replace("{TILES}", tiles_source(
    "input_tiles", _BT, 6, "Input tiles B^T d B (6x6 tiles overlapping by 2).") + "\n\n\n" +
    tiles_source("grad_tiles", _A, 4, "Output-gradient tiles A g A^T (4x4 tiles; the "
                 "adjoint of output_tiles)."))

_G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])

_GG = np.kron(_G, _G)  # (G (x) G)[6 a + b, 3 i + j] = G[a, i] G[b, j]

def _loops():
    return module_once("winograd", lambda: _SOURCE)


def _takes(pad, channels: int, *arrays: np.ndarray) -> bool:
    """What both entry points ask: float32 operands, none empty, padding at most 2, at least
    :data:`MIN_CHANNELS` channels in and out (``channels``: the fewer)."""
    return (all(a.dtype == np.float32 and a.size > 0 for a in arrays) and
            0 <= pad[0] <= 2 and 0 <= pad[1] <= 2 and channels >= MIN_CHANNELS)


def applies(x: np.ndarray, k: np.ndarray, pad, out: np.ndarray) -> bool:
    """True when the correlation of ``x`` (N, C, H, W) by ``k`` (O, C, 3, 3), stride 1, no
    dilation, runs here: float32 throughout, padding at most 2, enough channels, a
    C-contiguous output to write into."""
    return k.shape[2:] == (3, 3) and out.flags.c_contiguous and \
        _takes(pad, min(x.shape[1], k.shape[0]), x, k, out)


def applies_grad_weights(x: np.ndarray, gz: np.ndarray, pad) -> bool:
    """True when the filter gradient of a 3x3 correlation of ``x`` whose output gradient is
    ``gz`` runs here (the conditions of :func:`applies`)."""
    return x.ndim == gz.ndim == 4 and _takes(pad, min(x.shape[1], gz.shape[1]), x, gz)


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


def _check_shape(x: np.ndarray, o: int, pad, got: np.ndarray, what: str) -> None:
    """Raise unless ``got`` has the shape (N, O, Ho, Wo) of the stride-1 3x3 correlation of
    ``x`` padded by ``pad``."""
    n, _, h, w = x.shape
    want = (n, o, h + 2 * int(pad[0]) - 2, w + 2 * int(pad[1]) - 2)
    if got.shape != want:
        raise ValueError(f"winograd {what} of shape {got.shape}, expected {want}")


def _tile_arrays(work: Optional[dict], c: int, o: int, th: int, tw: int):
    """The work arrays of a chunk: ``vv`` (the transforms' scratch rows), ``V`` (36 x C input
    tiles) and ``M`` (36 x O products, or output-gradient tiles)."""
    return (work_array(work, "wino_vv", (6, 4 * tw + 4), np.float32),
            work_array(work, "wino_v", (36, c, th * tw), np.float32),
            work_array(work, "wino_m", (36, o, th * tw), np.float32))


_NO_BIAS = np.zeros(0, np.float32)


def correlate(x: np.ndarray, k: np.ndarray, pad, out: np.ndarray, work: Optional[dict],
              bias: Optional[np.ndarray] = None, relu: bool = False) -> np.ndarray:
    """``out[n, o] = sum_{c, i, j} xpad[n, c, y + i, x + j] * k[o, c, i, j]`` (stride 1, 3x3,
    padding ``pad``; :func:`applies` must hold) into ``out`` (N, O, Ho, Wo); plus ``bias[o]``
    when given (float32, shape (O,)), then rectified when ``relu``, as the output is written."""
    n, c, h, w = x.shape
    o = k.shape[0]
    _check_shape(x, o, pad, out, "correlate: output")
    if relu and bias is None:
        raise ValueError("winograd correlate: the rectifier comes with a bias")
    if bias is not None and (bias.dtype != np.float32 or bias.shape != (o,)):
        raise ValueError(f"winograd correlate: bias of {bias.dtype} {bias.shape}, expected "
                         f"float32 ({o},)")
    epilogue = 0 if bias is None else 2 if relu else 1
    lib = _loops()
    u = filter_tiles(k)
    ph, pw = int(pad[0]), int(pad[1])
    ch, th, tw, pitch = _layout(n, h, w, ph, pw, c + o)
    wide = work_array(work, "wino_wide", (c, 4 * th + 2, 4 * tw + 4), np.float32)
    vv, v, m = _tile_arrays(work, c, o, th, tw)
    s4 = work_array(work, "wino_s", (4, 6, tw), np.float32)
    # the output tiles in V's memory when they fit (V is dead once M is computed): 16 O th tw
    # entries against V's 36 C th tw, so whenever O <= 2.25 C
    y = work_array(work, "wino_v" if 16 * o <= 36 * c else "wino_y", (o, 4 * th, 4 * tw),
                   np.float32)
    bias = _NO_BIAS if bias is None else bias
    for s in range(0, n, ch):
        q = min(ch, n - s)
        lib.fill_wide(x, s, q, ph, pw, pitch, wide)
        lib.input_tiles(wide, th, tw, vv, v)
        np.matmul(u, v, out=m)
        lib.output_tiles(m, th, tw, s4, y)
        lib.crop_join(y, s, q, pitch, out, bias, epilogue)
    return out


def correlate_grad_weights(x: np.ndarray, gz: np.ndarray, pad, work: Optional[dict]
                           ) -> np.ndarray:
    """``gw[o, c, i, j] = sum_{n, y, x} gz[n, o, y, x] * xpad[n, c, y + i, x + j]``, the filter
    gradient of :func:`correlate`, as a (O, C, 3, 3) float32 work array: per chunk, the
    output gradient's tiles ``A g A^T`` against the input's tiles ``B^T d B`` in 36 products
    ``(O x tiles) @ (tiles x C)``, summed, then ``G^T dU G``."""
    n, c, h, w = x.shape
    o = gz.shape[1]
    _check_shape(x, o, pad, gz, "filter gradient: output gradient")
    lib = _loops()
    ph, pw = int(pad[0]), int(pad[1])
    ch, th, tw, pitch = _layout(n, h, w, ph, pw, c + o)
    rows = 4 * th + 2
    # the output gradient is laid out in the input's memory (dead once V is computed): the
    # buffer is grown to the larger of the two first, so neither view moves it
    work_array(work, "wino_wide", (max(c, o), rows, 4 * tw + 4), np.float32)
    vv, v, m = _tile_arrays(work, c, o, th, tw)
    part = work_array(work, "wino_part", (36, o, c), np.float32)
    acc = work_array(work, "wino_acc", (36, o, c), np.float32)
    acc.fill(0)
    for s in range(0, n, ch):
        q = min(ch, n - s)
        wide = work_array(work, "wino_wide", (c, rows, 4 * tw + 4), np.float32)
        lib.fill_wide(x, s, q, ph, pw, pitch, wide)
        lib.input_tiles(wide, th, tw, vv, v)
        wide = work_array(work, "wino_wide", (o, rows, 4 * tw + 4), np.float32)
        lib.fill_wide(gz, s, q, 0, 0, pitch, wide)
        lib.grad_tiles(wide, th, tw, vv, m)
        np.matmul(m, v.transpose(0, 2, 1), out=part)
        acc += part
    gw = _GG.T @ acc.reshape(36, o * c).astype(np.float64)      # (9, O*C)
    return np.ascontiguousarray(gw.T, dtype=np.float32).reshape(o, c, 3, 3)
