"""Second derivatives through conv2d: gradients of its gradient ops checked by finite
differences (verify_grad on costs that take a gradient), Hessian-vector products by Rop and
Lop against differences of the gradient, and Rop against the bilinear identity."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops.conv import Conv2dGradInputs, Conv2dGradWeights, conv2d

from hvp_helpers import check_hvp_of_weights

GEOMETRIES = [  # border_mode, subsample, filter_dilation, filter_flip
    ("valid", (1, 1), (1, 1), True),
    ("full", (2, 1), (1, 2), False),
    ("half", (2, 2), (2, 1), True),
    ((1, 0), (1, 2), (2, 2), True),
]


def _conv(geom, fshape):
    mode, stride, dil, flip = geom
    return lambda a, b: conv2d(a, b, filter_shape=fshape, border_mode=mode, subsample=stride,
                               filter_dilation=dil, filter_flip=flip)


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_grad_of_weight_gradient_norm(rng, geom):
    """cost = sum(grad(sum(conv(x, w)**2), w)**2): through Conv2dGradWeights' gradient."""
    x = rng.standard_normal((2, 2, 7, 6))
    w = rng.standard_normal((3, 2, 2, 3))
    conv = _conv(geom, w.shape)

    def cost(a, b):
        gw = T.grad((conv(a, b) ** 2).sum(), b)
        return (gw ** 2).sum()

    T.verify_grad(cost, [x, w], rng=rng)


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_grad_of_input_gradient_penalty(rng, geom):
    """A gradient penalty on the input: through Conv2dGradInputs' gradient (both arguments)."""
    x = rng.standard_normal((2, 2, 7, 6))
    w = rng.standard_normal((3, 2, 2, 3))
    conv = _conv(geom, w.shape)

    def cost(a, b):
        gx = T.grad(T.tanh(conv(a, b)).sum(), a)
        return (gx ** 2).sum()

    T.verify_grad(cost, [x, w], rng=rng)


def test_grad_ops_third_order(rng):
    """The gradient ops' gradients are again differentiable (the ops form a closed set)."""
    x = rng.standard_normal((1, 2, 6, 5))
    w = rng.standard_normal((2, 2, 2, 2))
    conv = _conv(("half", (2, 1), (2, 1), True), w.shape)

    def cost(a, b):
        c = (conv(a, b) ** 3).sum()
        gw = T.grad(c, b)
        g2 = T.grad((gw ** 2).sum(), a)
        return (g2 ** 2).sum()

    T.verify_grad(cost, [x, w], rng=rng)


def test_hessian_vector_product_by_rop_and_lop(rng):
    """H v of a conv network cost in both weights, against central differences of grad."""
    x = rng.standard_normal((2, 2, 8, 7))
    w1 = rng.standard_normal((3, 2, 3, 2)) * 0.5
    w2 = rng.standard_normal((2, 3, 2, 2)) * 0.5
    v1, v2 = rng.standard_normal(w1.shape), rng.standard_normal(w2.shape)

    def cost(X, W1, W2):
        h = T.tanh(conv2d(X, W1, border_mode="half", filter_shape=w1.shape,
                          filter_dilation=(2, 1)))
        return (conv2d(h, W2, subsample=(2, 1)) ** 2).sum()

    check_hvp_of_weights(x, [w1, w2], [v1, v2], cost)


def test_rop_of_conv_is_bilinear(rng):
    """J (vx, vw) = conv(vx, w) + conv(x, vw), exactly."""
    x, vx = rng.standard_normal((2, 2, 7, 7)), rng.standard_normal((2, 2, 7, 7))
    w, vw = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((3, 2, 3, 3))
    X, W, VX, VW = (T.tensor4(n) for n in ("x", "w", "vx", "vw"))
    conv = _conv(("full", (2, 2), (2, 1), False), w.shape)
    jv = T.Rop(conv(X, W), [X, W], [VX, VW])
    got = symgraph.function([X, W, VX, VW], jv)(x, w, vx, vw)
    c = symgraph.function([X, W], conv(X, W))
    np.testing.assert_allclose(got, c(vx, w) + c(x, vw), rtol=1e-10, atol=1e-10)


def test_second_order_graph_in_debug_mode(rng):
    """DebugMode checks the gradient ops' inferred shapes and values against perform."""
    x = rng.standard_normal((2, 2, 7, 6))
    w = rng.standard_normal((3, 2, 2, 3))
    X, W = T.tensor4("x"), T.tensor4("w")
    conv = _conv(("half", (2, 1), (2, 2), True), w.shape)
    gw = T.grad((conv(X, W) ** 2).sum(), W)
    gx2 = T.grad((gw ** 2).sum(), X)
    fast = symgraph.function([X, W], [gx2, gx2.shape])
    debug = symgraph.function([X, W], [gx2, gx2.shape], mode="DebugMode")
    for a, b in zip(fast(x, w), debug(x, w)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert tuple(fast(x, w)[1]) == x.shape


def test_gradient_ops_static_shapes_and_errors():
    x = T.tensor("float64", (None, 2, 7, 6), "x")
    w = T.tensor("float64", (3, 2, 2, 3), "w")
    gz = T.tensor4("gz")
    assert Conv2dGradWeights((0, 0), (1, 1), True)(x, gz, w.shape).type.shape == (3, 2, 2, 3)
    assert Conv2dGradInputs((0, 0), (1, 1), True)(gz, w, x.shape).type.shape == \
        (None, 2, 7, 6)
    with pytest.raises(TypeError, match="Conv2dGradInputs: input shape"):
        Conv2dGradInputs((0, 0), (1, 1), True)(gz, w, T.fvector())
    with pytest.raises(TypeError, match="Conv2dGradWeights: output gradient"):
        Conv2dGradWeights((0, 0), (1, 1), True)(x, T.matrix(), w.shape)
    op = Conv2dGradInputs((0, 0), (1, 1), True)
    with pytest.raises(ValueError, match="does not match"):
        op.perform(np.zeros((1, 3, 5, 5)), np.zeros((3, 2, 2, 3)), np.array([1, 2, 7, 6]))
