"""Pooling with windows that tile the image (no padding, stride = window) takes a fast path of
ufunc calls on strided views; it must give exactly what the general window code gives."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops import pool as P
from symgraph.tensor.signal.pool import pool_2d

MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]


def _both(monkeypatch, build, *vals):
    """Values of ``build`` compiled normally and with the fast path switched off."""
    fast = [np.asarray(v) for v in build(*vals)]
    monkeypatch.setattr(P, "_fast_geometry", lambda op, shape: False)
    slow = [np.asarray(v) for v in build(*vals)]
    monkeypatch.undo()
    return fast, slow


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ws,shape,ignore_border", [
    ((2, 2), (3, 2, 8, 6), True), ((3, 2), (2, 1, 9, 8), True),
    ((2, 2), (2, 3, 7, 9), True),   # a remainder row and column are dropped
    ((2, 3), (4, 6), False),        # rank 2, windows fit exactly
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fast_path_equals_general_path_with_ties(mode, ws, shape, ignore_border, dtype, rng,
                                                  monkeypatch):
    # few distinct values: windows with tied maxima everywhere (first one gets the gradient)
    xv = rng.integers(-2, 3, shape).astype(dtype)
    x = T.tensor(dtype, (None,) * len(shape), "x")
    out = pool_2d(x, ws=ws, ignore_border=ignore_border, mode=mode)
    gz = T.tensor(dtype, (None,) * len(shape), "gz")
    gx = T.grad((out * gz).sum(), x)

    def build(xv, gv):
        return symgraph.function([x, gz], [out, gx])(xv, gv)
    pooled = symgraph.function([x], out)(xv)
    gv = rng.standard_normal(pooled.shape).astype(dtype)
    fast, slow = _both(monkeypatch, build, xv, gv)
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_nan_window_routes_like_argmax(rng, monkeypatch):
    """A window whose maximum is nan sends the gradient to its first nan, as argmax does."""
    x = T.tensor4("x")
    out = pool_2d(x, ws=(2, 2), ignore_border=True)
    gx = T.grad(out.sum(), x)
    xv = rng.standard_normal((1, 1, 4, 4))
    xv[0, 0, 1, 1] = np.nan
    xv[0, 0, 2, 3] = np.nan
    xv[0, 0, 3, 2] = np.nan
    fast, slow = _both(monkeypatch, lambda v: symgraph.function([x], [out, gx])(v), xv)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
    assert fast[1][0, 0, 2, 3] == 1 and fast[1][0, 0, 3, 2] == 0


def test_integer_max_pooling(rng, monkeypatch):
    x = T.tensor("int32", (None, None, None, None), "x")
    out = pool_2d(x, ws=(2, 2), ignore_border=True)
    xv = rng.integers(-50, 50, (2, 3, 6, 4)).astype("int32")
    fast, slow = _both(monkeypatch, lambda v: [symgraph.function([x], out)(v)], xv)
    assert fast[0].dtype == np.int32
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[0], xv.reshape(2, 3, 3, 2, 2, 2).max(axis=(3, 5)))


def test_max_gradient_reads_the_pooled_output(rng):
    """The gradient of max pooling is handed the forward maxima (no recomputation) and routes
    exactly as the two-input form does, ties included."""
    x = T.tensor4("x")
    z = pool_2d(x, ws=(2, 2), ignore_border=True)
    gx = T.grad((z * z).sum(), x)
    grad_nodes = [n for n in symgraph.function([x], gx).fgraph.toposort()
                  if isinstance(n.op, P.Pool2dGrad)]
    assert grad_nodes and len(grad_nodes[0].inputs) == 3
    xv = rng.integers(-2, 3, (2, 3, 6, 5)).astype("float64")
    gz = T.tensor4("gz")
    op = P.Pool2dGrad((2, 2), (2, 2), (0, 0), True, "max")
    two = symgraph.function([x, gz], op(x, gz))
    three = symgraph.function([x, gz], op(x, gz, z))
    gv = rng.standard_normal((2, 3, 3, 2))
    np.testing.assert_array_equal(three(xv, gv), two(xv, gv))
    np.testing.assert_array_equal(symgraph.function([x], gx)(xv),
                                  two(xv, 2 * symgraph.function([x], z)(xv)))


def test_pooled_output_input_is_checked():
    x, gz = T.tensor4("x"), T.tensor4("gz")
    with pytest.raises(TypeError, match="only, with the rank and dtype"):
        P.Pool2dGrad((2, 2), (2, 2), (0, 0), True, "sum")(x, gz, gz)
    with pytest.raises(TypeError, match="only, with the rank and dtype"):
        P.Pool2dGrad((2, 2), (2, 2), (0, 0), True, "max")(x, gz, T.matrix("z"))
    z = T.tensor4("z")
    f = symgraph.function([x, gz, z], P.Pool2dGrad((2, 2), (2, 2), (0, 0), True, "max")(x, gz, z))
    with pytest.raises(ValueError, match="pooled output of shape"):
        f(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)))


def _max_grad_loop(x, gz, ws, st, pad):
    """Max pooling's gradient by loops: each window sends its gradient to its first maximum
    (row-major), overlapping windows adding up; padding never wins."""
    h, w = x.shape[-2:]
    gx = np.zeros_like(x)
    for idx in np.ndindex(*gz.shape):
        *lead, i, j = idx
        r0, c0 = i * st[0] - pad[0], j * st[1] - pad[1]
        best, where = -np.inf, None
        for r in range(max(r0, 0), min(r0 + ws[0], h)):
            for c in range(max(c0, 0), min(c0 + ws[1], w)):
                if x[(*lead, r, c)] > best:
                    best, where = x[(*lead, r, c)], (r, c)
        gx[(*lead, *where)] += gz[idx]
    return gx


@pytest.mark.parametrize("ws,st,pad", [((3, 3), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1)),
                                       ((2, 3), (1, 2), (1, 0))])
def test_overlapping_windows_route_ties_to_the_first_maximum(ws, st, pad, rng):
    xv = rng.integers(-1, 2, (2, 2, 7, 6)).astype("float64")  # ties in every window
    x = T.tensor4("x")
    out = pool_2d(x, ws=ws, stride=st, pad=pad, ignore_border=True)
    gz = T.tensor4("gz")
    f = symgraph.function([x, gz], T.grad((out * gz).sum(), x))
    gv = rng.standard_normal(symgraph.function([x], out)(xv).shape)
    np.testing.assert_allclose(f(xv, gv), _max_grad_loop(xv, gv, ws, st, pad), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not symgraph.backends.numba_available(), reason="numba not installed"))])
@pytest.mark.parametrize("ws,shape", [((2, 2), (3, 2, 8, 6)),
                                      ((2, 2), (2, 3, 7, 9)),   # the dropped border stays 0
                                      ((3, 2), (2, 1, 9, 8))])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_max_pooling_into_planned_buffers(backend, ws, shape, dtype, rng):
    """Max pooling and its gradient inside a graph write the planned buffers (the NumPy code
    too, for windows that tile the image), which later calls find holding the last call's
    values: every call gives exactly what the unplanned ops give."""
    x, gz = T.tensor(dtype, (None,) * 4, "x"), T.tensor(dtype, (None,) * 4, "gz")
    h = T.tanh(x)
    out = pool_2d(h, ws=ws, ignore_border=True)
    outs = [T.exp(out).sum(), T.grad((out * gz).sum(), x)]
    mode = symgraph.compile.mode.FAST_RUN.__class__("t", backend=backend)
    f = symgraph.function([x, gz], outs, mode=mode)
    assert "_max_pool_into(" in f.source and "_max_pool_grad_into(" in f.source
    ref = symgraph.function([x, gz], outs, mode="FAST_COMPILE")
    for _ in range(3):
        xv = rng.integers(-2, 3, shape).astype(dtype)  # tied maxima
        gv = rng.standard_normal(shape[:2] + (shape[2] // ws[0], shape[3] // ws[1]))
        for a, b in zip(f(xv, gv.astype(dtype)), ref(xv, gv.astype(dtype))):
            np.testing.assert_array_equal(a, b)
