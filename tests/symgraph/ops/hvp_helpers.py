"""Checks the second-order op tests share."""
import numpy as np

import symgraph
import symgraph.tensor as T


def check_hvp_of_weights(x, weights, directions, cost_of, eps=1e-6):
    """H v of ``cost_of(X, W1, W2, ...)`` in the weights, by ``Rop`` and by ``Lop`` of its
    gradient (H is symmetric: v^T H = H v), against central differences of the gradient along
    ``directions`` (float64 4-d arrays)."""
    X = T.tensor4("x")
    Ws = [T.tensor4(f"w{k}") for k in range(len(weights))]
    Vs = [T.tensor4(f"v{k}") for k in range(len(weights))]
    g = T.grad(cost_of(X, *Ws), Ws)
    f = symgraph.function([X, *Ws, *Vs], T.Rop(g, Ws, Vs) + T.Lop(g, Ws, Vs))
    fg = symgraph.function([X, *Ws], g)
    got = f(x, *weights, *directions)
    rops, lops = got[:len(Ws)], got[len(Ws):]
    up = fg(x, *[w + eps * v for w, v in zip(weights, directions)])
    down = fg(x, *[w - eps * v for w, v in zip(weights, directions)])
    for got_r, got_l, a, b in zip(rops, lops, up, down):
        ref = (a - b) / (2 * eps)
        np.testing.assert_allclose(got_r, ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_l, ref, rtol=1e-5, atol=1e-6)
