"""Reduction rules: structure (what the reductions read) and values (= FAST_COMPILE)."""
import numpy as np

import symgraph.tensor as T

from rewrite_helpers import assert_same, op_counts


def _m(rng, *shape):
    return rng.standard_normal(shape)


def test_sum_of_scalar_mul(rng):
    x, c = T.matrix("x"), T.scalar("c")
    out = (c * x).sum(axis=1)
    f = assert_same([x, c], [out, (x * 2.5).sum()], [_m(rng, 3, 4), np.float64(1.5)])
    for n in f.fgraph.apply_nodes:
        if type(n.op).__name__ == "Reduce":
            assert n.inputs[0].owner is None  # the reduction reads x itself


def test_sum_of_scalar_mul_keepdims(rng):
    x, c = T.matrix("x"), T.tensor("float64", (1, 1), "c")
    out = (c * x).sum(axis=0, keepdims=True)
    f = assert_same([x, c], out, [_m(rng, 3, 4), _m(rng, 1, 1)])
    red = [n for n in f.fgraph.apply_nodes if type(n.op).__name__ == "Reduce"]
    assert red and red[0].inputs[0] is f.fgraph.inputs[0]


def test_sum_of_neg(rng):
    x = T.matrix("x")
    f = assert_same([x], [(-T.exp(x)).sum(axis=1, keepdims=True), (-x).sum()], [_m(rng, 3, 4)])
    for n in f.fgraph.apply_nodes:
        if type(n.op).__name__ == "Reduce":
            assert "neg" not in str(n.inputs[0].owner)  # the negation comes after the sum
    assert op_counts(f)["neg"] == 2


def test_reduce_of_reduce(rng):
    x = T.tensor3("x")
    outs = [x.sum(axis=1).sum(axis=1), x.max(axis=0, keepdims=True).max(axis=2, keepdims=True),
            T.exp(x).sum(axis=2).sum()]
    f = assert_same([x], outs, [_m(rng, 2, 3, 4)])
    reds = sorted(n.op.axis for n in f.fgraph.apply_nodes if type(n.op).__name__ == "Reduce")
    assert reds == [(0, 1, 2), (0, 2), (1, 2)]


def test_reduce_of_reduce_keeps_shared_inner(rng):
    x = T.matrix("x")
    rows = x.sum(axis=1)
    f = assert_same([x], [rows, rows.sum()], [_m(rng, 3, 4)])
    reds = sorted(n.op.axis for n in f.fgraph.apply_nodes if type(n.op).__name__ == "Reduce")
    assert reds == [(0,), (1,)]  # the total reuses the row sums
