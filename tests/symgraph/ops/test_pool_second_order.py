"""Second derivatives through pool_2d: the gradient of Pool2dGrad (gather at the arg-max for
max, the pooling itself for sum/average) and of MaxPool2dGradGrad, by finite differences,
Rop against differences of the forward, and the gather against an explicit loop."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops.conv import conv2d
from symgraph.ops.pool import MaxPool2dGradGrad, Pool2dGrad, pool_2d

from hvp_helpers import check_hvp_of_weights

MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]
GEOMETRIES = [  # ws, stride, pad, ignore_border
    ((2, 2), None, (0, 0), True),
    ((3, 2), (1, 2), (1, 1), True),
    ((2, 3), (3, 1), (0, 0), False),
]


def _pool(ws, st, pad, ib, mode):
    return lambda a: pool_2d(a, ws, ignore_border=ib, stride=st, pad=pad, mode=mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ws,st,pad,ib", GEOMETRIES)
def test_grad_of_pool_gradient(rng, mode, ws, st, pad, ib):
    """cost = sum(grad(sum(pool(x)**3), x)**2) checks d Pool2dGrad / d gz by differences."""
    x = rng.standard_normal((2, 2, 7, 5))
    pool = _pool(ws, st, pad, ib, mode)

    def cost(a):
        return (T.grad((pool(a) ** 3).sum(), a) ** 2).sum()

    T.verify_grad(cost, [x], rng=rng)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ws,st,pad,ib", GEOMETRIES)
def test_rop_of_pool_and_its_gradient(rng, mode, ws, st, pad, ib):
    """Rop(pool(x), x, v) equals the directional difference of the forward; its own gradient
    (MaxPool2dGradGrad's, for max) is checked by verify_grad in both x and v."""
    x, v = rng.standard_normal((2, 2, 7, 5)), rng.standard_normal((2, 2, 7, 5))
    pool = _pool(ws, st, pad, ib, mode)
    X, V = T.tensor4("x"), T.tensor4("v")
    jv = symgraph.function([X, V], T.Rop(pool(X), X, V))(x, v)
    f = symgraph.function([X], pool(X))
    eps = 1e-6
    np.testing.assert_allclose(jv, (f(x + eps * v) - f(x - eps * v)) / (2 * eps),
                               rtol=1e-6, atol=1e-7)
    T.verify_grad(lambda a, b: T.Rop(pool(a), a, b), [x, v], rng=rng)


def test_gather_at_argmax_matches_loop(rng):
    """MaxPool2dGradGrad picks g at the first maximum of every window (padding included)."""
    x = rng.standard_normal((2, 3, 6, 5))
    x[0, 0, 1:3, 0:2] = 9.0  # a tie filling window (1, 1): the first entry (row-major) wins
    g = rng.standard_normal(x.shape)
    ws, st, pad = (2, 2), (2, 1), (1, 1)
    X, G = T.tensor4("x"), T.tensor4("g")
    out = MaxPool2dGradGrad(ws, st, pad, True, "max")(X, G)
    val, shp = symgraph.function([X, G], [out, out.shape])(x, g)
    ho, wo = (6 + 2 - 2) // 2 + 1, (5 + 2 - 2) // 1 + 1
    ref = np.zeros((2, 3, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, c0 = i * st[0] - pad[0], j * st[1] - pad[1]
            rs, cs = max(r0, 0), max(c0, 0)
            win = x[..., rs:r0 + ws[0], cs:c0 + ws[1]]
            flat = win.reshape(win.shape[:2] + (-1,)).argmax(-1)
            rr, cc = np.unravel_index(flat, win.shape[-2:])
            n, c = np.indices(x.shape[:2])
            ref[..., i, j] = g[n, c, rs + rr, cs + cc]
    np.testing.assert_array_equal(val, ref)
    assert tuple(shp) == ref.shape
    assert out.type.shape == (None,) * 4
    assert val[0, 0, 1, 1] == g[0, 0, 1, 0]  # window rows 1-2, cols 0-1


def test_gather_and_scatter_are_adjoint(rng):
    """<Pool2dGrad(x, gz), g> = <gz, MaxPool2dGradGrad(x, g)> for any x."""
    x, g = rng.standard_normal((2, 1, 7, 6)), rng.standard_normal((2, 1, 7, 6))
    X, GZ, G = T.tensor4("x"), T.tensor4("gz"), T.tensor4("g")
    args = ((3, 2), (2, 2), (0, 0), False, "max")
    scatter = symgraph.function([X, GZ], Pool2dGrad(*args)(X, GZ))
    gather = symgraph.function([X, G], MaxPool2dGradGrad(*args)(X, G))
    gathered = gather(x, g)
    gz = rng.standard_normal(gathered.shape)
    np.testing.assert_allclose(np.vdot(scatter(x, gz), g), np.vdot(gz, gathered), rtol=1e-12)


def test_hessian_vector_product_conv_pool(rng):
    """H v of a conv -> max-pool -> conv cost in the filters, by Rop and Lop."""
    x = rng.standard_normal((2, 2, 8, 8))
    w1, w2 = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((2, 3, 2, 2))
    v1, v2 = rng.standard_normal(w1.shape), rng.standard_normal(w2.shape)

    def cost(X, W1, W2):
        h = pool_2d(T.tanh(conv2d(X, W1, border_mode="half", filter_shape=w1.shape)), (2, 2))
        return (pool_2d(conv2d(h, W2), (2, 2), ignore_border=False, mode="average_exc_pad")
                ** 2).sum()

    check_hvp_of_weights(x, [w1, w2], [v1, v2], cost)


def test_pool_grad_of_grad_is_zero_in_x(rng):
    """The routing is piecewise constant: d/dx <Pool2dGrad(x, gz), g> = 0 (all modes)."""
    x, g = rng.standard_normal((1, 1, 4, 4)), rng.standard_normal((1, 1, 4, 4))
    gz = rng.standard_normal((1, 1, 2, 2))
    X = T.tensor4("x")
    for mode in MODES:
        gx = Pool2dGrad((2, 2), (2, 2), (0, 0), True, mode)(X, T.constant(gz))
        val = symgraph.function([X], T.grad((gx * T.constant(g)).sum(), X))(x)
        np.testing.assert_array_equal(val, np.zeros_like(x))


def test_gather_errors():
    with pytest.raises(ValueError, match="only for mode 'max'"):
        MaxPool2dGradGrad((2, 2), (2, 2), (0, 0), True, "sum")(T.tensor4(), T.tensor4())
    with pytest.raises(TypeError, match="rank"):
        MaxPool2dGradGrad((2, 2), (2, 2), (0, 0), True, "max")(T.tensor4(), T.matrix())
    with pytest.raises(TypeError, match="Pool2dGrad: output gradient"):
        Pool2dGrad((2, 2), (2, 2), (0, 0), True, "max")(T.tensor4(), T.matrix())
    op = Pool2dGrad((2, 2), (2, 2), (0, 0), True, "max")
    with pytest.raises(ValueError, match="pooled shape"):
        op.perform(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)))
