"""Geometry of a 2-d convolution and the work arrays its kernels keep between calls (shared by
the im2col path, :mod:`symgraph.ops.conv_kernels`, and the shifted products of stride 1,
:mod:`symgraph.ops.conv_shift`)."""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import numpy as np


class Geometry(NamedTuple):
    """Where kernel tap ``(i, j)`` of output pixel ``(y, x)`` reads the input:
    row ``y * sh + i * dh - ph``, column ``x * sw + j * dw - pw``."""

    kh: int
    kw: int
    ph: int
    pw: int
    sh: int
    sw: int
    dh: int
    dw: int
    ho: int
    wo: int


def geometry(xshape, kshape, pad, stride, dilation) -> Geometry:
    """The :class:`Geometry` of convolving an input of shape ``xshape`` (N, C, H, W) by
    kernels of ``kshape`` (kh, kw); raises when the dilated kernel does not fit."""
    h, w = int(xshape[2]), int(xshape[3])
    kh, kw = int(kshape[0]), int(kshape[1])
    (ph, pw), (sh, sw), (dh, dw) = pad, stride, dilation
    keh, kew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    ho, wo = (h + 2 * ph - keh) // sh + 1, (w + 2 * pw - kew) // sw + 1
    if ho <= 0 or wo <= 0 or h + 2 * ph < keh or w + 2 * pw < kew:
        raise ValueError(f"conv2d: kernel ({keh}, {kew}) (dilation {tuple(dilation)}) larger "
                         f"than the padded input ({h + 2 * ph}, {w + 2 * pw})")
    return Geometry(kh, kw, ph, pw, sh, sw, dh, dw, ho, wo)


def tap_range(k: int, d: int, p: int, s: int, n_in: int, n_out: int) -> Tuple[int, int, int]:
    """For kernel tap ``k`` (dilation ``d``, padding ``p``, stride ``s``): the outputs
    ``o0 <= o < o1`` whose input index ``o * s + k * d - p`` lies inside ``[0, n_in)``, and the
    input index of ``o0``."""
    off = k * d - p
    o0 = max(0, (-off + s - 1) // s)
    o1 = min(n_out, (n_in - 1 - off) // s + 1) if n_in - 1 - off >= 0 else 0
    o1 = max(o1, o0)
    return o0, o1, o0 * s + off


def taps(g: Geometry, h: int, w: int):
    """``(i, j, rows, cols)`` of every tap: ``rows = (y0, y1, r0)`` from :func:`tap_range`."""
    rows = [tap_range(i, g.dh, g.ph, g.sh, h, g.ho) for i in range(g.kh)]
    cols = [tap_range(j, g.dw, g.pw, g.sw, w, g.wo) for j in range(g.kw)]
    return [(i, j, rows[i], cols[j]) for i in range(g.kh) for j in range(g.kw)]


def work_array(work: Optional[dict], name: str, shape: tuple, dtype) -> np.ndarray:
    """A work array of ``shape`` kept in ``work`` between calls (new when ``work`` is None).

    One buffer per name and dtype, grown to the largest shape asked for and viewed in the
    shape wanted: the layers of a network share it, so a function keeps one column matrix,
    not one per layer (a work array is dead once its node returned)."""
    if work is None:
        return np.empty(shape, dtype)
    dtype = np.dtype(dtype)
    key = (name, dtype.str)
    size = int(np.prod(shape))
    buf = work.get(key)
    if buf is None or buf.size < size:
        buf = work[key] = np.empty(size, dtype)
    return buf[:size].reshape(shape)
