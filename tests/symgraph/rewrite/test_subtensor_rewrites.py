"""Rewrites of the indexing ops: structure after compilation and values equal to the
unrewritten graph (FAST_COMPILE runs no rewrites)."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops.subtensor import AdvancedIncSubtensor, IncSubtensor, Subtensor


def _nodes(f, cls):
    return [n for n in f.fgraph.apply_nodes if isinstance(n.op, cls)]


def test_constant_bounds_fold_into_the_pattern(rng):
    a = rng.standard_normal((7, 4))
    x, i = T.tensor("float64", (7, None), name="x"), T.lscalar("i")
    out = x[i:i + 2, i - 2] * 3
    fast = symgraph.function([x], out, givens={i: T.constant(np.int64(3))})
    ref = symgraph.function([x], out, givens={i: T.constant(np.int64(3))}, mode="FAST_COMPILE")
    (node,) = _nodes(fast, Subtensor)
    assert node.op == Subtensor((("slice", 3, 5, None), 1))
    assert node.inputs[1:] == []
    assert node.outputs[0].type.shape == (2,)  # static once the bounds are
    assert "x[3:5, 1]" in fast.source
    np.testing.assert_array_equal(fast(a), ref(a))
    np.testing.assert_array_equal(fast(a), a[3:5, 1] * 3)


def test_constant_index_folds_in_inc_ops_and_keeps_arrays(rng):
    a = rng.standard_normal((5, 6))
    b = rng.standard_normal(3)
    x, y, i, idx = T.matrix("x"), T.vector("y"), T.lscalar("i"), T.lvector("idx")
    out = T.inc_subtensor(x[i, idx], y) + T.set_subtensor(x[i + 1, 1:i], 0.0)
    givens = {i: T.constant(np.int64(2))}
    fast = symgraph.function([x, y, idx], out, givens=givens)
    ref = symgraph.function([x, y, idx], out, givens=givens, mode="FAST_COMPILE")
    (adv,) = _nodes(fast, AdvancedIncSubtensor)
    assert adv.op.idx_list == (2, "[?]") and len(adv.inputs) == 3
    (basic,) = _nodes(fast, IncSubtensor)
    assert basic.op.idx_list == (3, ("slice", 1, 2, None)) and len(basic.inputs) == 2
    iv = np.array([0, 5, 0])
    np.testing.assert_allclose(fast(a, b, iv), ref(a, b, iv), rtol=1e-12)


def test_useless_subtensor_removed(rng):
    a = rng.standard_normal((3, 4))
    x = T.matrix("x")
    for out in (x[:] * 2, x[...] * 2, x[:, :] * 2):
        f = symgraph.function([x], out)
        assert not _nodes(f, Subtensor)
        np.testing.assert_array_equal(f(a), a * 2)
    f = symgraph.function([x], x[:])
    got = f(a)
    np.testing.assert_array_equal(got, a)
    got[0, 0] = 99.0  # the output is not the caller's input array
    assert a[0, 0] != 99.0


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_gradient_graph_values_agree(mode, rng):
    a = rng.standard_normal((6, 3))
    x, i = T.matrix("x"), T.lscalar("i")
    cost = (x[i:i + 2] ** 2).sum() + (x[[0, 0, 5]] * 3).sum()
    g = symgraph.function([x], T.grad(cost, x), givens={i: T.constant(np.int64(1))},
                          mode=mode)(a)
    want = np.zeros_like(a)
    want[1:3] += 2 * a[1:3]
    np.add.at(want, [0, 0, 5], 3.0)
    np.testing.assert_allclose(g, want, rtol=1e-12)


def _nll_cases(P, Y):
    rows = T.arange(Y.shape[0])
    return {
        "advanced": -T.mean(T.log(P[rows, Y])),
        "repeated_rows": -T.log(P[T.concatenate([rows, rows]), T.concatenate([Y, Y])]).sum(),
        "basic": -T.log(P[0, 2]) - T.log(P[:, 1]).sum(),
        "with_other_terms": -T.mean(T.log(P[rows, Y])) + (P ** 2).sum(),
    }


@pytest.mark.parametrize("case", ["advanced", "repeated_rows", "basic", "with_other_terms"])
def test_log_of_indexed_softmax_is_stable(case, rng):
    x, y = T.matrix("x"), T.lvector("y")
    p = T.nnet.softmax(x)
    cost = _nll_cases(p, y)[case]
    outs = [cost, T.grad(cost, x)]
    fast = symgraph.function([x, y], outs, on_unused_input="ignore")
    ref = symgraph.function([x, y], outs, mode="FAST_COMPILE", on_unused_input="ignore")
    from symgraph.ops import nnet as N
    ops = [type(n.op) for n in fast.fgraph.apply_nodes]
    assert N.LogSoftmax in ops
    if case != "with_other_terms":
        assert N.SoftmaxGrad not in ops  # no division by a probability is left
    # moderate logits: same values as the unrewritten graph
    xv, yv = rng.standard_normal((4, 3)), rng.integers(0, 3, size=4)
    for got, want in zip(fast(xv, yv), ref(xv, yv)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # saturated logits: the selected probabilities underflow to 0, the maths stays finite
    xs = np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0], [1.0, 2.0, 3.0],
                   [0.0, 0.0, -900.0]])
    ys = np.array([2, 0, 1, 2])
    with np.errstate(divide="raise", invalid="raise", over="raise", under="ignore"):
        value, grad = fast(xs, ys)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    if case == "advanced":
        sm = np.exp(xs - xs.max(1, keepdims=True))
        sm /= sm.sum(1, keepdims=True)
        logsm = xs - xs.max(1, keepdims=True) - np.log(
            np.exp(xs - xs.max(1, keepdims=True)).sum(1, keepdims=True))
        np.testing.assert_allclose(value, -logsm[np.arange(4), ys].mean(), rtol=1e-12)
        onehot = np.eye(3)[ys]
        np.testing.assert_allclose(grad, (sm - onehot) / 4, atol=1e-12)


WRITE_CASES = {
    "slice_grad": lambda x, y, i: T.grad((x[1:3] * y).sum(), x),
    "int_newaxis_grad": lambda x, y, i: T.grad((x[None, 2] ** 2).sum(), x),
    "repeated_rows_grad": lambda x, y, i: T.grad((x[i] * 3).sum() + (x[i, 1:] ** 2).sum(), x),
    "mask_grad": lambda x, y, i: T.grad((x[x > 0] ** 2).sum(), x),
    "alloc_inc": lambda x, y, i: T.inc_subtensor(T.zeros((5, 4))[i], y[0]),
    "zeros_like_set": lambda x, y, i: T.set_subtensor(T.zeros_like(x)[i, None, 1:],
                                                      y[:, None, 1:]),
    "constant_zeros": lambda x, y, i: T.inc_subtensor(T.constant(np.zeros((5, 4)))[:, 0],
                                                      y[0, 0]),
}


@pytest.mark.parametrize("case", sorted(WRITE_CASES))
def test_writes_into_zeros_allocate_them(case, rng):
    from symgraph.ops.subtensor import (AdvancedIncSubtensor, IncSubtensor,
                                        ZerosIncSubtensor)
    x, y, i = T.matrix("x"), T.matrix("y"), T.lvector("i")
    out = WRITE_CASES[case](x, y, i)
    args = [x, y, i]
    fast = symgraph.function(args, out, on_unused_input="ignore")
    ref = symgraph.function(args, out, mode="FAST_COMPILE", on_unused_input="ignore")
    assert _nodes(fast, ZerosIncSubtensor)
    assert not _nodes(fast, (IncSubtensor, AdvancedIncSubtensor))
    xv, yv = rng.standard_normal((5, 4)), rng.standard_normal((2, 4))
    iv = np.array([4, 0]) if case == "zeros_like_set" else np.array([4, 0, 4])
    got, want = fast(xv, yv, iv), ref(xv, yv, iv)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got[0, 0] += 1.0  # a fresh array: writable, and the next call is unaffected
    np.testing.assert_allclose(fast(xv, yv, iv), want, rtol=1e-12)
