"""Rule work on deep graphs, counted (not timed): memoized walks stay linear in depth and the
rules they guard still fire."""
import numpy as np

import symgraph
import symgraph.tensor as T
from benchmarks.compile_scaling import build_chain
from symgraph.ops import nnet as N
from symgraph.rewrite import nnet_stability


def _affine_chain(depth):
    x = T.dvector("x")
    w, b = T.dscalar("w"), T.dscalar("b")
    y = x
    for _ in range(depth):
        y = T.tanh(w * y + b)
    cost = y.sum()
    return [x, w, b], [cost] + symgraph.grad(cost, [w, b])


def _count_factor_walks(monkeypatch):
    calls = []
    original = nnet_stability._factors

    def counted(var):
        calls.append(var)
        return original(var)
    monkeypatch.setattr(nnet_stability, "_factors", counted)
    return calls


def test_deep_product_chain_is_not_walked_per_node(monkeypatch, rng):
    """The gradient of tanh(w y + b) chains products whose factors are shared products; the
    sigmoid cross-entropy rule used to expand that tree at every one of them."""
    calls = _count_factor_walks(monkeypatch)
    inputs, outputs = _affine_chain(60)
    f = symgraph.function(inputs, outputs)
    assert calls == []  # no bce_grad anywhere: the memoized precheck declines every product
    xv, wv, bv = rng.standard_normal(3), 0.6, 0.1
    ys, y = [], xv
    for _ in range(60):
        y = np.tanh(wv * y + bv)
        ys.append(y)
    cost, gw, gb = f(xv, wv, bv)
    np.testing.assert_allclose(cost, ys[-1].sum(), rtol=1e-12)
    # backward by hand: g_k = g_{k+1} * (1 - y_{k+1}^2) * w
    g = np.ones(3)
    prev = [xv] + ys[:-1]
    want_w = want_b = 0.0
    for k in reversed(range(60)):
        d = g * (1 - ys[k] ** 2)
        want_w += (d * prev[k]).sum()
        want_b += d.sum()
        g = d * wv
    np.testing.assert_allclose(gw, want_w, rtol=1e-10)
    np.testing.assert_allclose(gb, want_b, rtol=1e-10)


def test_bce_gradient_still_found_under_a_deep_product(monkeypatch, rng):
    """The precheck lets the rule through where a bce_grad factor is present."""
    calls = _count_factor_walks(monkeypatch)
    z = T.dvector("z")
    t = T.dvector("t")
    s = T.nnet.sigmoid(z)
    cost = N.binary_crossentropy(s, t).sum()
    g = symgraph.grad(cost, z)
    f = symgraph.function([z, t], g)
    assert calls  # the rule looked
    ops = [str(n.op) for n in f.fgraph.apply_nodes]
    assert not any("crossentropy" in op for op in ops), ops  # rewritten to sigmoid(z) - t
    zv = np.array([-800.0, -3.0, 0.5, 40.0, 900.0])
    tv = rng.random(5)
    sigmoid = np.exp(-np.logaddexp(0.0, -zv))  # 1 / (1 + exp(-z)) without overflow
    np.testing.assert_allclose(f(zv, tv), sigmoid - tv, rtol=1e-12, atol=1e-300)


def _record_replacements(monkeypatch):
    from symgraph.fgraph import FunctionGraph
    done = []
    original = FunctionGraph.replace

    def replace(self, old, new, reason=None):
        done.append((reason, new))
        return original(self, old, new, reason)
    monkeypatch.setattr(FunctionGraph, "replace", replace)
    return done


def test_product_chain_is_flattened_once_from_the_top(monkeypatch, rng):
    """The chain rule's product of depth d becomes one d-ary product in one step, not d
    products of growing width."""
    done = _record_replacements(monkeypatch)
    depth = 120
    inputs, outputs, _ = build_chain(depth)
    f = symgraph.function(inputs, outputs)
    built = [new for reason, new in done if reason == "flatten_mul"]
    assert len(built) == 1
    assert len(built[0].owner.inputs) == depth + 1  # the seed and one factor per level
    xv, wv = rng.standard_normal(3), 0.8
    y = xv * wv
    g = np.ones(3)
    for _ in range(depth):
        y = np.tanh(y)
        g = g * (1 - y ** 2)
    cost, gw = f(xv, wv)
    np.testing.assert_allclose(cost, y.sum(), rtol=1e-12)
    np.testing.assert_allclose(gw, (g * xv).sum(), rtol=1e-10)


def test_flatten_stops_at_shared_products_and_keeps_order(rng):
    from symgraph.fgraph import FunctionGraph
    from symgraph.rewrite import engine
    a, b, c, d, e = (T.dvector(n) for n in "abcde")
    shared = a * b
    tree = ((shared * (c * d)) * e)  # (a*b) has a second reader below
    fg = FunctionGraph([a, b, c, d, e], [tree, shared + 1.0])
    engine.run_phase(fg, "canonicalize")
    top = fg.outputs[0].owner
    assert top.op.scalar_op.name == "mul"
    ab = fg.outputs[1].owner.inputs[0]
    assert top.inputs == [ab, c, d, e]  # in order; the shared product is read, not inlined
    assert ab.owner.inputs == [a, b]
    vals = [rng.standard_normal(4) for _ in range(5)]
    f = symgraph.function([a, b, c, d, e], fg.outputs, mode="FAST_COMPILE")
    got = f(*vals)
    np.testing.assert_allclose(got[0], vals[0] * vals[1] * vals[2] * vals[3] * vals[4],
                               rtol=1e-15)
