"""2-d pooling over the last two dimensions (max, and average including/excluding padding).

The forward pass reads a strided window view; the gradients scatter back with one vectorised
slice-add per window position:

* max: ``gz`` goes to the first arg-max entry of each window (ties: lowest row, then column),
* average: ``gz / count`` goes to every entry of the window.

The gradient op is linear in ``gz``, so its own gradient (second derivatives) is its adjoint:
for max, :class:`MaxPool2dGradGrad` gathers at the arg-max positions (and the two are adjoint
to each other); for sum/average, it is the pooling itself. Both are piecewise constant in
``x``, so their gradient w.r.t. ``x`` is zero (almost everywhere).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops.elemwise import zeros_like
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def _out_len(n: int, ws: int, st: int, pad: int, ignore_border: bool) -> int:
    if ignore_border:
        return max(0, (n + 2 * pad - ws) // st + 1)
    # Theano: partial windows at the end are kept
    if st >= ws:
        return max(0, (n + 2 * pad - 1) // st + 1)
    return max(0, (n + 2 * pad - ws + st - 1) // st) + 1


def _geometry(shape, ws, st, pad, ignore_border):
    h, w = shape[-2:]
    ho = _out_len(h, ws[0], st[0], pad[0], ignore_border)
    wo = _out_len(w, ws[1], st[1], pad[1], ignore_border)
    # padded extent so that every window fits (extra rows/cols beyond the image at the end)
    hp = max(h + 2 * pad[0], (ho - 1) * st[0] + ws[0])
    wp = max(w + 2 * pad[1], (wo - 1) * st[1] + ws[1])
    return ho, wo, hp, wp


def _padded(x, pad, hp, wp, fill):
    lead = x.shape[:-2]
    out = np.full(lead + (hp, wp), fill, dtype=x.dtype)
    h, w = x.shape[-2:]
    out[..., pad[0]:pad[0] + h, pad[1]:pad[1] + w] = x
    return out


def _windows(xp, ws, st, ho, wo):
    s = xp.strides
    shape = xp.shape[:-2] + (ho, wo, ws[0], ws[1])
    strides = s[:-2] + (s[-2] * st[0], s[-1] * st[1], s[-2], s[-1])
    return as_strided(xp, shape, strides, writeable=False)


def _counts(shape, ws, st, pad, ho, wo, mode):
    """Number of entries each window averages over, shape (ho, wo)."""
    h, w = shape[-2:]
    rows = np.arange(ho) * st[0]
    cols = np.arange(wo) * st[1]
    if mode == "average_exc_pad":
        r = np.minimum(rows + ws[0], pad[0] + h) - np.maximum(rows, pad[0])
        c = np.minimum(cols + ws[1], pad[1] + w) - np.maximum(cols, pad[1])
    else:  # inc_pad: explicit padding counts, the overhang past the padded image does not
        r = np.minimum(rows + ws[0], h + 2 * pad[0]) - rows
        c = np.minimum(cols + ws[1], w + 2 * pad[1]) - cols
    return np.maximum(np.outer(r, c), 1)


def _max_fill(dtype):
    """The padding that never wins a maximum: -inf, or the integer minimum."""
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _argmax(x, ws, st, pad, ho, wo, hp, wp):
    """Flat index (row * kw + col) of the first maximum of every window, shape (..., ho, wo)."""
    win = _windows(_padded(x, pad, hp, wp, _max_fill(x.dtype)), ws, st, ho, wo)
    return win.reshape(win.shape[:-2] + (ws[0] * ws[1],)).argmax(axis=-1)


def _tiles(x, ws, ho, wo):
    """``x`` as non-overlapping windows, a view of shape (..., ho, kh, wo, kw): splitting the
    two last axes needs no copy (the fast geometry: no padding, stride = window)."""
    kh, kw = ws
    xc = x[..., :ho * kh, :wo * kw]
    return xc.reshape(x.shape[:-2] + (ho, kh, wo, kw))


def _fast_geometry(op, shape) -> bool:
    """True for windows that tile the image without padding (stride = window, as in every
    classic convnet), where pooling is a few ufunc calls on strided views."""
    return op.pad == (0, 0) and op.stride == op.ws and \
        (op.ignore_border or (shape[-2] % op.ws[0] == 0 and shape[-1] % op.ws[1] == 0))


def _tile_reduce(ufunc, t, kh, kw, out=None):
    """``ufunc`` (maximum, add) over the window positions of tiles ``t``: kh*kw - 1 calls
    (into ``out`` when given)."""
    if out is None:
        out = t[..., :, 0, :, 0].copy()
    else:
        np.copyto(out, t[..., :, 0, :, 0])
    for i in range(kh):
        for j in range(kw):
            if i or j:
                ufunc(out, t[..., :, i, :, j], out=out)
    return out


def _tile_max(t, kh, kw):
    return _tile_reduce(np.maximum, t, kh, kw)


def _tile_scatter(x, gz, op, ho, wo, dtype, z=None, out=None):
    """Pool2dGrad in the fast geometry: ``gz`` to the first maximum of each window (max; the
    maxima ``z`` are computed unless given) or spread over it (sum, average); None when a
    window's maximum is nan (the general path routes that to the first nan, as argmax does).
    ``out``: the array to write, of ``x``'s shape and ``dtype``, else a new one."""
    kh, kw = op.ws
    covered = x.shape[-2:] == (ho * kh, wo * kw)  # else the dropped border stays zero
    if out is not None:
        gx = out
        if not covered:
            gx.fill(0)
    else:
        gx = np.empty(x.shape, dtype=dtype) if covered else np.zeros(x.shape, dtype=dtype)
    g6 = _tiles(gx, op.ws, ho, wo)  # every window position below is written once
    if op.mode != "max":
        g = gz if op.mode == "sum" else gz / (kh * kw)
        for i in range(kh):
            for j in range(kw):
                g6[..., :, i, :, j] = g
        return gx
    t = _tiles(x, op.ws, ho, wo)
    m = _tile_max(t, kh, kw) if z is None else z
    if m.dtype.kind == "f" and np.isnan(m).any():
        return None
    free = np.ones(m.shape, dtype=bool)  # windows whose maximum is not taken yet
    hit = np.empty(m.shape, dtype=bool)
    last = (kh - 1, kw - 1)
    for i in range(kh):
        for j in range(kw):
            if (i, j) == last:
                hit, free = free, hit  # every window not taken yet has its maximum here
            else:
                np.equal(t[..., :, i, :, j], m, out=hit)
                hit &= free
                np.logical_xor(free, hit, out=free)  # hit lies inside free: free & ~hit
            np.multiply(gz, hit, out=g6[..., :, i, :, j], casting="unsafe")
    return gx


def _tile_grad(op, x, gz, z, ho, wo, out=None):
    """:class:`Pool2dGrad`'s fast path (windows that tile the image, a gradient of the pooled
    shape), of ``x``'s dtype: written into the buffer ``out()`` gives when given (and the
    operands' dtypes make the result ``x``'s), else a new array; None where the path does not
    apply or a window's maximum is nan."""
    if not (_fast_geometry(op, x.shape) and ho and wo and gz.shape == x.shape[:-2] + (ho, wo)):
        return None
    dtype = np.result_type(x, gz)
    buf = out() if out is not None and dtype == x.dtype else None
    fast = _tile_scatter(x, gz, op, ho, wo, dtype, z, out=buf)
    return None if fast is None else fast.astype(x.dtype, copy=False)


def _window_views(xp, ws, st, ho, wo):
    """For each window position (row-major), the (..., ho, wo) strided view of ``xp`` holding
    that position of every window."""
    (kh, kw), (sh, sw) = ws, st
    for i in range(kh):
        for j in range(kw):
            yield (i, j), xp[..., i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]


def _window_reduce(ufunc, xp, ws, st, ho, wo):
    """``ufunc`` (maximum, add) over the window positions: kh*kw - 1 calls on strided views,
    for any stride (overlapping windows too)."""
    out = None
    for _, v in _window_views(xp, ws, st, ho, wo):
        if out is None:
            out = v.copy()
        else:
            ufunc(out, v, out=out)
    return out


def _window_scatter_max(xp, m, gz, gx, ws, st, ho, wo) -> None:
    """Add ``gz`` into ``gx`` (shaped like ``xp``) at the first position of each window holding
    its maximum ``m`` (row-major: argmax's tie-break); overlapping windows accumulate."""
    (sh, sw), free = st, np.ones(m.shape, dtype=bool)
    hit = np.empty(m.shape, dtype=bool)
    for (i, j), v in _window_views(xp, ws, st, ho, wo):
        np.equal(v, m, out=hit)
        hit &= free
        np.logical_xor(free, hit, out=free)
        gx[..., i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += gz * hit


def _pooled_shape(op, s):
    """Symbolic output shape of pooling an input of shape ``s`` (None if unknown)."""
    out = list(s)
    for k in (-2, -1):
        n = s[k]
        if isinstance(n, (int, np.integer)):
            out[k] = _out_len(int(n), op.ws[k], op.stride[k], op.pad[k], op.ignore_border)
        elif op.ignore_border:
            out[k] = (n + 2 * op.pad[k] - op.ws[k]) // op.stride[k] + 1
        else:
            return None
    return tuple(out)


def _pooled_type_shape(op, shape):
    out = list(shape)
    for k in (-2, -1):
        if shape[k] is not None:
            out[k] = _out_len(shape[k], op.ws[k], op.stride[k], op.pad[k], op.ignore_border)
    return out


def _out_shape(shape, ws, stride, pad, ignore_border) -> tuple:
    """Run-time shape of pooling an input of ``shape``."""
    ho, wo, _, _ = _geometry(shape, ws, stride, pad, ignore_border)
    return tuple(shape[:-2]) + (ho, wo)


def max_pool_into(x, out, loops, ws, stride, pad, ignore_border):
    """Max pooling of ``x`` by the back end's window loops (compiled: one pass) into the
    planned buffer ``out()`` gives, else the NumPy code of :class:`Pool2d` (into that buffer
    for windows that tile the image, else a new array)."""
    if x.ndim >= 2:
        z = loops.max_pool(x, _out_shape(x.shape, ws, stride, pad, ignore_border), out, ws,
                           stride, pad)
        if z is not None:
            return z
    op = Pool2d(ws, stride, pad, ignore_border, "max")
    if x.ndim >= 2 and _fast_geometry(op, x.shape):
        ho, wo = op.geometry(x.shape)[:2]
        # the NumPy code's passes, written into the planned buffer
        return _tile_reduce(np.maximum, _tiles(x, ws, ho, wo), *ws, out=out())
    return op.perform(x)


def max_pool_grad_into(x, gz, z, out, loops, ws, stride, pad, ignore_border):
    """Max pooling's gradient (``z``: the pooled maxima, or None) by the back end's window
    loops into the planned buffer ``out()`` gives, else the NumPy code of
    :class:`Pool2dGrad` (into that buffer for windows that tile the image)."""
    op = Pool2dGrad(ws, stride, pad, ignore_border, "max")
    if gz.shape == _out_shape(x.shape, ws, stride, pad, ignore_border) and \
            (z is None or z.shape == gz.shape):
        gx = loops.max_pool_grad(x, gz, z, out, ws, stride, pad)
        if gx is None:
            gx = _tile_grad(op, x, gz, z, *gz.shape[-2:], out=out)
        if gx is not None:
            return gx
    return op.perform(x, gz) if z is None else op.perform(x, gz, z)


def _refuse_empty(op, image) -> None:
    """Raise the error of a pooling whose window fits in no position of ``image`` (h, w)."""
    h, w = image
    if h == 0 or w == 0:
        raise ValueError(f"pool_2d: the image is empty ({h}x{w}): there is nothing to pool")
    raise ValueError(
        f"pool_2d: the {op.ws[0]}x{op.ws[1]} window (stride {op.stride}, padding {op.pad}) fits "
        f"in no position of the {h}x{w} image with ignore_border=True, so the result would be "
        f"empty; pass ignore_border=False to pool the partial window, or use a smaller window")


class _PoolBase(Op):

    copies = True
    props = ("ws", "stride", "pad", "ignore_border", "mode")
    emit_helpers = {"_max_pool_into": max_pool_into, "_max_pool_grad_into": max_pool_grad_into,
                    "_pool_out_shape": _out_shape}

    def __init__(self, ws, stride, pad, ignore_border, mode):
        self.ws, self.stride, self.pad = tuple(ws), tuple(stride), tuple(pad)
        self.ignore_border, self.mode = bool(ignore_border), mode

    def geometry(self, shape):
        """``(rows out, cols out, padded rows, padded cols)`` for an input of ``shape``;
        raises when the window fits in no position (an empty result, and a nan mean of it
        downstream, would follow)."""
        found = _geometry(shape, self.ws, self.stride, self.pad, self.ignore_border)
        if not (found[0] and found[1]):
            _refuse_empty(self, shape[-2:])
        return found

    def _geometry_args(self) -> str:
        return f"{self.ws!r}, {self.stride!r}, {self.pad!r}, {self.ignore_border!r}"


class Pool2d(_PoolBase):
    """Pooling over the last two dimensions of a tensor of rank >= 2.

    Gradient: :class:`Pool2dGrad` (max routes to the first arg-max of each window; average
    spreads ``gz / count``).
    """

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim < 2:
            raise TypeError(f"pool_2d: input must have at least 2 dims, got {x.type}")
        shape = _pooled_type_shape(self, x.type.shape)
        if 0 in shape[-2:]:
            _refuse_empty(self, x.type.shape[-2:])
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, shape))])

    def perform(self, x):
        ho, wo, hp, wp = self.geometry(x.shape)
        if _fast_geometry(self, x.shape):
            t = _tiles(x, self.ws, ho, wo)
            if self.mode == "max":
                return _tile_max(t, *self.ws)
            total = _tile_reduce(np.add, t, *self.ws)
            if self.mode == "sum":
                return total
            return (total / (self.ws[0] * self.ws[1])).astype(x.dtype)
        xp = _padded(x, self.pad, hp, wp, _max_fill(x.dtype) if self.mode == "max" else 0)
        # a few ufunc calls on strided views, whatever the stride
        total = _window_reduce(np.maximum if self.mode == "max" else np.add, xp, self.ws,
                               self.stride, ho, wo)
        if self.mode == "max":
            return total
        if self.mode == "sum":
            return total
        return (total / _counts(x.shape, self.ws, self.stride, self.pad, ho, wo,
                                self.mode)).astype(x.dtype)

    def can_emit_into(self, node) -> bool:
        """Max pooling runs the back end's window loops into a planned buffer."""
        return self.mode == "max"

    def emit_into(self, node, names, buffer) -> str:
        (x,) = names
        # the buffer is made only when the loops take the case (a thunk)
        out = buffer(f"_pool_out_shape({x}.shape, {self._geometry_args()})")
        return f"_max_pool_into({x}, lambda: {out}, {buffer.loops}, {self._geometry_args()})"

    def infer_shape(self, node, shapes):
        out = _pooled_shape(self, shapes[0])
        return None if out is None else [out]

    def grad(self, inputs, outputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        op = Pool2dGrad(self.ws, self.stride, self.pad, self.ignore_border, self.mode)
        # max: hand over the pooled maxima too, so the gradient need not recompute them
        return [op(x, gz, outputs[0]) if self.mode == "max" else op(x, gz)]


class Pool2dGrad(_PoolBase):
    """Gradient of :class:`Pool2d` w.r.t. its input (inputs: x, gz, and optionally the pooled
    output ``z`` of ``x``, which max pooling then reads instead of recomputing the maxima, as
    Theano's ``MaxPoolGrad(x, maxout, gz)`` does).

    Linear in ``gz``: ``gx = P_x^T gz``. Gradient for an output gradient ``G`` (shaped like
    ``x``): ``d/dgz = P_x G``, a gather at the arg-max (:class:`MaxPool2dGradGrad`) for max and
    the pooling :class:`Pool2d` of ``G`` for sum/average; ``d/dx = 0`` (the routing is piecewise
    constant in ``x``).
    """

    def make_node(self, x, gz, z=None) -> Apply:
        x, gz = as_tensor_variable(x), as_tensor_variable(gz)
        if gz.ndim != x.ndim:
            raise TypeError(f"Pool2dGrad: output gradient {gz} of type {gz.type} must have the "
                            f"rank of the input {x} ({x.ndim})")
        inputs = [x, gz]
        if z is not None:
            z = as_tensor_variable(z)
            if self.mode != "max" or z.ndim != x.ndim or z.dtype != x.dtype:
                raise TypeError(f"Pool2dGrad: the pooled output {z} ({z.type}) is an input of "
                                f"max pooling's gradient only, with the rank and dtype of the "
                                f"input {x} ({x.type})")
            inputs.append(z)
        return Apply(self, inputs, [TensorVariable(x.type)])

    def perform(self, x, gz, z=None):
        ho, wo, hp, wp = self.geometry(x.shape)
        dtype = np.result_type(x, gz)
        if gz.shape[-2:] != (ho, wo):
            raise ValueError(f"Pool2dGrad: output gradient of shape {gz.shape} does not match the "
                             f"pooled shape {(ho, wo)} of an input of shape {x.shape}")
        if z is not None and z.shape != gz.shape:
            raise ValueError(f"Pool2dGrad: pooled output of shape {z.shape} does not match the "
                             f"output gradient's {gz.shape}")
        fast = _tile_grad(self, x, gz, z, ho, wo)
        if fast is not None:
            return fast
        gx = np.zeros(x.shape[:-2] + (hp, wp), dtype=dtype)
        kh, kw = self.ws
        sh, sw = self.stride
        if self.mode == "max":
            m = None
            if ho and wo:
                xp = _padded(x, self.pad, hp, wp, _max_fill(x.dtype))
                m = z if z is not None else _window_reduce(np.maximum, xp, self.ws,
                                                           self.stride, ho, wo)
            if m is not None and (m.dtype.kind != "f" or not np.isnan(m).any()):
                # the first maximum of each window (argmax's tie-break), by comparing each
                # window position with the maxima
                _window_scatter_max(xp, m, gz, gx, self.ws, self.stride, ho, wo)
            else:  # a nan maximum goes to the first nan, as argmax routes it
                arg = _argmax(x, self.ws, self.stride, self.pad, ho, wo, hp, wp)
                for i in range(kh):
                    for j in range(kw):
                        gx[..., i:i + sh * ho:sh, j:j + sw * wo:sw] += np.where(
                            arg == i * kw + j, gz, 0)
        else:
            g = gz if self.mode == "sum" else gz / _counts(x.shape, self.ws, self.stride,
                                                           self.pad, ho, wo, self.mode)
            for i in range(kh):
                for j in range(kw):
                    gx[..., i:i + sh * ho:sh, j:j + sw * wo:sw] += g
        h, w = x.shape[-2:]
        return np.ascontiguousarray(gx[..., self.pad[0]:self.pad[0] + h,
                                       self.pad[1]:self.pad[1] + w]).astype(x.dtype, copy=False)

    def can_emit_into(self, node) -> bool:
        """Max pooling's gradient runs the back end's window loops into a planned buffer."""
        return self.mode == "max"

    def emit_into(self, node, names, buffer) -> str:
        x, gz = names[:2]
        z = names[2] if len(names) > 2 else "None"
        return (f"_max_pool_grad_into({x}, {gz}, {z}, lambda: {buffer(f'{x}.shape')}, "
                f"{buffer.loops}, {self._geometry_args()})")

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        (g,) = output_grads
        if self.mode == "max":
            ggz = MaxPool2dGradGrad(self.ws, self.stride, self.pad, self.ignore_border,
                                    self.mode)(x, g)
        else:
            ggz = Pool2d(self.ws, self.stride, self.pad, self.ignore_border, self.mode)(g)
        # the pooled output only locates the maxima: piecewise constant, like x
        return [zeros_like(x), ggz] + [zeros_like(z) for z in inputs[2:]]


class MaxPool2dGradGrad(_PoolBase):
    """Gather of ``g`` (shaped like ``x``) at the first arg-max of each max-pooling window.

    ``out[..., y, x] = gpad[..., argmax window (y, x)]``: the gradient of :class:`Pool2dGrad`
    (max) w.r.t. its ``gz``, and the forward derivative of max pooling. Adjoint of the scatter:
    gradient ``d/dg = Pool2dGrad(x, gout)``, ``d/dx = 0`` (piecewise constant in ``x``).
    """

    def make_node(self, x, g) -> Apply:
        x, g = as_tensor_variable(x), as_tensor_variable(g)
        if self.mode != "max":
            raise ValueError(f"MaxPool2dGradGrad: only for mode 'max', got {self.mode!r}")
        if g.ndim != x.ndim:
            raise TypeError(f"MaxPool2dGradGrad: {g} of type {g.type} must have the rank of the "
                            f"input {x} ({x.ndim})")
        shape = _pooled_type_shape(self, x.type.shape)
        return Apply(self, [x, g], [TensorVariable(TensorType(g.dtype, shape))])

    def perform(self, x, g):
        if g.shape != x.shape:
            raise ValueError(f"MaxPool2dGradGrad: gradient of shape {g.shape} does not match the "
                             f"input shape {x.shape}")
        ho, wo, hp, wp = self.geometry(x.shape)
        arg = _argmax(x, self.ws, self.stride, self.pad, ho, wo, hp, wp)
        gwin = _windows(_padded(g, self.pad, hp, wp, 0), self.ws, self.stride, ho, wo)
        flat = gwin.reshape(gwin.shape[:-2] + (self.ws[0] * self.ws[1],))
        return np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]

    def infer_shape(self, node, shapes):
        out = _pooled_shape(self, shapes[0])
        return None if out is None else [out]

    def grad(self, inputs, outputs, output_grads):
        x, _ = inputs
        (g,) = output_grads
        gg = Pool2dGrad(self.ws, self.stride, self.pad, self.ignore_border, self.mode)(x, g)
        return [zeros_like(x), gg]


def pool_2d(input, ws: Optional[Sequence[int]] = None, ignore_border: Optional[bool] = None,
            stride: Optional[Sequence[int]] = None, pad: Sequence[int] = (0, 0),
            mode: str = "max", ds=None, st=None, padding=None) -> Variable:
    """Pool the last two dimensions with windows ``ws`` (Theano's ``pool.pool_2d``).

    Parameters
    ----------
    ws : (rows, cols) window (``ds`` is the legacy name)
    ignore_border : drop partial windows at the end (default True, as recommended by Theano)
    stride : step between windows (default ``ws``; ``st`` is the legacy name)
    pad : zero padding (rows, cols); needs ``ignore_border=True``
    mode : 'max', 'sum', 'average_inc_pad' or 'average_exc_pad' ('average' = exc_pad)
    """
    ws = ws if ws is not None else ds
    if ws is None:
        raise TypeError("pool_2d: give the window size ws=(rows, cols)")
    stride = stride if stride is not None else st
    pad = padding if padding is not None else pad
    ws = tuple(int(v) for v in ws)
    stride = ws if stride is None else tuple(int(v) for v in stride)
    pad = tuple(int(v) for v in pad)
    if ignore_border is None:
        ignore_border = True
    if mode == "average":
        mode = "average_exc_pad"
    if mode not in MODES:
        raise ValueError(f"pool_2d: mode must be one of {MODES}, got {mode!r}")
    if len(ws) != 2 or len(stride) != 2 or len(pad) != 2:
        raise ValueError("pool_2d: ws, stride and pad must be pairs")
    if min(ws) < 1 or min(stride) < 1 or min(pad) < 0:
        raise ValueError(f"pool_2d: bad geometry ws={ws} stride={stride} pad={pad}")
    if any(pad) and not ignore_border:
        raise ValueError("pool_2d: padding requires ignore_border=True")
    if pad[0] >= ws[0] or pad[1] >= ws[1]:
        raise ValueError(f"pool_2d: padding {pad} must be smaller than the window {ws}")
    return Pool2d(ws, stride, pad, ignore_border, mode)(input)
