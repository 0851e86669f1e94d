"""Compiled window loops (the ``[fast]`` extra): max pooling and its gradient in one pass.

:class:`NumbaWindowLoops` (the numba back end's :class:`~symgraph.backends.windows.WindowLoops`)
runs the loops of :data:`SOURCE`, written once into the kernel cache folder
(:func:`~symgraph.backends.numba_loops.cache_dir`), compiled per argument types on first use
and then cached on disk by numba.

The loops give exactly what the NumPy code of :mod:`symgraph.ops.pool` gives: the maximum of a
window (nan if it holds one), the gradient routed to the window's first maximum in row-major
order (to its first nan for a nan maximum, as ``argmax`` does; a padding entry that ties with
the maximum takes it, as it does there), and where windows overlap the contributions to an
input entry are added in the same order, window position (i, j) by window position. They
apply to max pooling of float and integer tensors (the modes that sum, whose NumPy path is a
few ufunc calls, stay there).
"""
from __future__ import annotations

import threading

import numpy as np

from symgraph.backends.windows import WindowLoops

SOURCE = '''
import numpy as np
from numba import njit

_OPTS = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False)


@njit(**_OPTS)
def _window_max(x, b, y0, x0, kh, kw, h, w, fill):
    """(maximum, flat position) of the window at (y0, x0) of image b: first maximum, first
    nan; entries outside the image hold ``fill``."""
    m = fill
    at = -1
    for i in range(kh):
        r = y0 + i
        for j in range(kw):
            c = x0 + j
            v = x[b, r, c] if 0 <= r < h and 0 <= c < w else fill
            if at < 0 or (m == m and (v > m or v != v)):
                m = v
                at = i * kw + j
    return m, at


@njit(**_OPTS)
def max_pool(x, out, kh, kw, sh, sw, ph, pw, fill):
    h, w = x.shape[1], x.shape[2]
    for b in range(x.shape[0]):
        for y in range(out.shape[1]):
            for u in range(out.shape[2]):
                m, at = _window_max(x, b, y * sh - ph, u * sw - pw, kh, kw, h, w, fill)
                out[b, y, u] = m


@njit(**_OPTS)
def _route(x, z, b, y0, x0, kh, kw, h, w, fill, m):
    """Flat window position receiving the gradient: the first entry equal to the maximum
    ``m`` (the first nan when ``m`` is nan)."""
    for i in range(kh):
        r = y0 + i
        for j in range(kw):
            c = x0 + j
            v = x[b, r, c] if 0 <= r < h and 0 <= c < w else fill
            if v == m or (m != m and v != v):
                return i * kw + j
    return -1


@njit(**_OPTS)
def max_pool_grad(x, gz, z, gx, kh, kw, sh, sw, ph, pw, fill, use_z, at):
    h, w = x.shape[1], x.shape[2]
    zero = gx.dtype.type(0)
    for b in range(x.shape[0]):
        for r in range(h):
            for c in range(w):
                gx[b, r, c] = zero
    overlap = sh < kh or sw < kw
    for b in range(x.shape[0]):
        for y in range(gz.shape[1]):
            for u in range(gz.shape[2]):
                y0, x0 = y * sh - ph, u * sw - pw
                if use_z:
                    k = _route(x, z, b, y0, x0, kh, kw, h, w, fill, z[b, y, u])
                else:
                    m, k = _window_max(x, b, y0, x0, kh, kw, h, w, fill)
                if overlap:
                    at[b, y, u] = k
                    continue
                r, c = y0 + k // kw, x0 + k % kw
                if 0 <= r < h and 0 <= c < w:
                    gx[b, r, c] += gz[b, y, u]
    if not overlap:
        return
    # overlapping windows: add window position by window position, as the NumPy code does
    for i in range(kh):
        for j in range(kw):
            k = i * kw + j
            for b in range(x.shape[0]):
                for y in range(gz.shape[1]):
                    r = y * sh - ph + i
                    if r < 0 or r >= h:
                        continue
                    for u in range(gz.shape[2]):
                        c = u * sw - pw + j
                        if at[b, y, u] == k and 0 <= c < w:
                            gx[b, r, c] += gz[b, y, u]
'''

_lock = threading.Lock()
_module = None


def _loaded():
    global _module
    with _lock:
        if _module is None:
            from symgraph.backends.numba_loops import _load_module
            _module = _load_module(SOURCE)
        return _module


def _fill(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _as3(a: np.ndarray) -> np.ndarray:
    """``a`` as (batch, rows, cols): the leading dimensions merged (a view when possible)."""
    return a.reshape((-1,) + a.shape[-2:])


class NumbaWindowLoops(WindowLoops):
    """The loops of :data:`SOURCE`, compiled by numba."""

    name = "numba"

    @staticmethod
    def _fits(*arrays) -> bool:
        """Operands the loops take: non-empty, of a float32/64 or integer dtype."""
        return all(a.size and (a.dtype.kind in "iu" or a.dtype in (np.float32, np.float64))
                   for a in arrays)

    def max_pool(self, x, out, ws, stride, pad):
        if not self._fits(x, out) or x.dtype != out.dtype:
            return None
        _loaded().max_pool(_as3(x), _as3(out), ws[0], ws[1], stride[0], stride[1], pad[0],
                           pad[1], x.dtype.type(_fill(x.dtype)))
        return out

    def max_pool_grad(self, x, gz, z, out, ws, stride, pad, work=None):
        if not self._fits(x, gz, out) or gz.dtype != out.dtype or \
                (z is not None and z.dtype != x.dtype):
            return None
        g3 = _as3(gz)
        overlap = stride[0] < ws[0] or stride[1] < ws[1]
        at = np.empty(g3.shape if overlap else (1, 1, 1), np.int64)
        z3 = _as3(z) if z is not None else _as3(x)[:1, :1, :1]
        _loaded().max_pool_grad(_as3(x), g3, z3, _as3(out), ws[0], ws[1], stride[0],
                                stride[1], pad[0], pad[1], x.dtype.type(_fill(x.dtype)),
                                z is not None, at)
        return out


NUMBA_LOOPS = NumbaWindowLoops()
