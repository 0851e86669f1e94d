"""Quality bar of the rewrite phases on a real train step: no duplicated work."""
from collections import Counter

import numpy as np

import symgraph
import symgraph.tensor as T
from symgraph.ops.blas import Dot
from symgraph.ops.elemwise import Elemwise

from rewrite_helpers import NO_FUSE


def _scalar_ops(fgraph) -> Counter:
    """Scalar ops over plain Elemwise nodes and inside fused composites."""
    counts = Counter()
    for node in fgraph.apply_nodes:
        if isinstance(node.op, Elemwise):
            counts[node.op.scalar_op.name] += 1
        for step in node.op.program or ():
            counts[step[0].name] += 1
    return counts


def _mlp(rng):
    x, yoh = T.matrix("x"), T.matrix("yoh")
    W1 = symgraph.shared(rng.standard_normal((5, 7)) * 0.3, name="W1")
    b1 = symgraph.shared(np.zeros(7), name="b1")
    W2 = symgraph.shared(rng.standard_normal((7, 3)) * 0.3, name="W2")
    b2 = symgraph.shared(np.zeros(3), name="b2")
    h = T.maximum(T.dot(x, W1) + b1, 0)
    z = T.dot(h, W2) + b2
    e = T.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    cost = -(yoh * T.log(p)).sum(axis=1).mean()
    params = [W1, b1, W2, b2]
    return [x, yoh], cost, params


def _data(rng):
    xv = rng.standard_normal((8, 5))
    yv = np.eye(3)[rng.integers(0, 3, size=8)]
    return xv, yv


def test_train_step_has_no_duplicated_work(rng):
    inputs, cost, params = _mlp(rng)
    grads = T.grad(cost, params)
    updates = [(q, q - 0.1 * g) for q, g in zip(params, grads)]
    f = symgraph.function(inputs, cost, updates=updates)
    fg = f.fgraph
    x = fg.inputs[0]
    W1, W2 = fg.inputs[2], fg.inputs[4]
    dots = [n for n in fg.apply_nodes if isinstance(n.op, Dot)]
    assert sum(1 for n in dots if n.inputs == [x, W1]) == 1
    assert sum(1 for n in dots if n.inputs[1] is W2) == 1
    assert _scalar_ops(fg)["exp"] == 1
    keys = Counter((n.op, tuple(n.inputs)) for n in fg.apply_nodes)
    assert max(keys.values()) == 1  # nothing is computed twice


def test_train_step_graph_before_fusion(rng):
    inputs, cost, params = _mlp(rng)
    grads = T.grad(cost, params)
    f = symgraph.function(inputs, [cost] + grads, mode=NO_FUSE)
    counts = Counter(type(n.op).__name__ for n in f.fgraph.apply_nodes)
    scal = _scalar_ops(f.fgraph)
    assert scal["exp"] == 1 and scal["log"] <= 1
    assert counts["Dot"] == 5  # two forward products, three backward
    relus = [n for n in f.fgraph.apply_nodes if isinstance(n.op, Elemwise)
             and n.op.scalar_op.name == "maximum" and n.outputs[0].dtype == "float64"]
    assert len(relus) == 1
    assert not any(n.inputs[0] is n.inputs[1] for n in f.fgraph.apply_nodes
                   if isinstance(n.op, Elemwise) and n.op.scalar_op.name == "maximum")


def test_train_step_values_match_unoptimized(rng):
    inputs, cost, params = _mlp(rng)
    grads = T.grad(cost, params)
    fast = symgraph.function(inputs, [cost] + grads)
    ref = symgraph.function(inputs, [cost] + grads, mode="FAST_COMPILE")
    xv, yv = _data(rng)
    for got, want in zip(fast(xv, yv), ref(xv, yv)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_train_step_under_debug_mode(rng):
    inputs, cost, params = _mlp(rng)
    grads = T.grad(cost, params)
    debug = symgraph.function(inputs, [cost] + grads, mode="DebugMode")
    ref = symgraph.function(inputs, [cost] + grads, mode="FAST_COMPILE")
    xv, yv = _data(rng)
    for got, want in zip(debug(xv, yv), ref(xv, yv)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_stabilized_graph_passes_nan_guard():
    x = T.vector("x")
    cost = (T.log(1 + T.exp(x)) + T.log(T.sigmoid(x))).sum()
    g = T.grad(cost, x)
    f = symgraph.function([x], [cost, g], mode="NanGuardMode")
    c, gv = f(np.array([1000.0, -1000.0, 0.0]))
    assert np.isfinite(c) and np.all(np.isfinite(gv))
