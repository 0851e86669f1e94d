"""Storage planning through the ops a train step's gradient passes: the run-time sum-to-shape
(a view when nothing was broadcast) and the fused cross-entropy ops (which copy)."""
import re

import numpy as np

import symgraph
import symgraph.tensor as T


def planned(text: str) -> bool:
    """True when ``text`` takes a planned buffer (in place or not)."""
    return re.search(r"_getbuf(_in)?\(_slot", text) is not None


def _relu_layer_grads():
    x, gz = T.matrix("x"), T.matrix("gz")
    W, b = T.matrix("W"), T.vector("b")
    z = T.dot(x, W) + b
    cost = (T.maximum(z, 0) * gz).sum()
    return [x, gz, W, b], T.grad(cost, [W, b])


def test_gradient_through_sum_to_shape_gets_a_reused_buffer(rng):
    """The relu-gradient kernel feeds a product and a bias sum only through ``SumToDims``: its
    value lives in a planned buffer (no allocation per call) and the results stay right."""
    ins, grads = _relu_layer_grads()
    f = symgraph.function(ins, grads)
    ref = symgraph.function(ins, grads, mode="FAST_COMPILE")
    assert "SumToDims" in f.source
    relu_grad = [ln for ln in f.source.splitlines() if "# Composite{" in ln and "gt(" in ln]
    assert relu_grad, f.source
    block = f.source.split(relu_grad[0], 1)[1].split("\n    #")[0]
    assert planned(block), block
    first = None
    for _ in range(3):
        vals = [rng.standard_normal(s) for s in ((4, 5), (4, 3), (5, 3), (3,))]
        got, want = f(*vals), ref(*vals)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12)
        if first is None:
            first = [g.copy() for g in got], got
    # results handed out earlier are not overwritten by later calls
    for kept, g in zip(*first):
        np.testing.assert_array_equal(kept, g)


def test_sum_to_shape_result_returned_is_never_a_planned_buffer(rng):
    """A gradient returned through the run-time sum-to-shape is the kernel's value itself when
    nothing was broadcast: that value must then be fresh memory, not a buffer a later call
    overwrites."""
    x, y = T.matrix("x"), T.matrix("y")
    g = T.grad((T.exp(x) * y).sum(), x)  # x may broadcast against y: a run-time sum-to-shape
    f = symgraph.function([x, y], g)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    out1 = f(a, b)
    keep = out1.copy()
    f(a + 1, b - 1)
    np.testing.assert_array_equal(out1, keep)
    np.testing.assert_allclose(keep, np.exp(a) * b, rtol=1e-12)


def test_logits_of_the_fused_cross_entropy_live_in_a_buffer(rng):
    x, W = T.matrix("x"), T.matrix("W")
    y = T.ivector("y")
    logits = T.dot(x, W) + 1.0
    cost = T.nnet.categorical_crossentropy(T.nnet.softmax(logits), y).mean()
    f = symgraph.function([x, W, y], [cost, T.grad(cost, W)])
    ref = symgraph.function([x, W, y], [cost, T.grad(cost, W)], mode="FAST_COMPILE")
    assert "_softmax_xent(" in f.source
    line = [ln for ln in f.source.splitlines() if "_softmax_xent(" in ln][0]
    logits_name = line.split("_softmax_xent(")[1].split(",")[0]
    assert planned(f"{logits_name} = " + f.source.split(f"{logits_name} = ", 1)[1][:40]), \
        f.source
    xv, Wv = rng.standard_normal((6, 4)), rng.standard_normal((4, 3))
    yv = rng.integers(0, 3, 6).astype("int32")
    for g, w in zip(f(xv, Wv, yv), ref(xv, Wv, yv)):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_activations_read_by_conv_and_pool_ops_live_in_buffers(rng):
    """Conv and pool ops (and their gradients) copy what they read: the relu activation they
    consume lives in a reused buffer, and a train step's values stay right across calls."""
    from symgraph.tensor.nnet import conv2d
    from symgraph.tensor.signal.pool import pool_2d
    x, w = T.tensor4("x"), T.tensor4("w")
    h = T.maximum(conv2d(x, w, border_mode="valid") + 0.1, 0)
    cost = pool_2d(h, ws=(2, 2), ignore_border=True).sum()
    outs = [cost, T.grad(cost, w)]
    f = symgraph.function([x, w], outs)
    ref = symgraph.function([x, w], outs, mode="FAST_COMPILE")
    relu = [ln for ln in f.source.splitlines() if "# Composite{" in ln and "maximum(" in ln]
    assert relu, f.source
    block = f.source.split(relu[0], 1)[1].split("\n    v")[0:3]
    assert planned("\n".join(block)), f.source
    for _ in range(2):
        xv, wv = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))
        for g, r in zip(f(xv, wv), ref(xv, wv)):
            np.testing.assert_allclose(g, r, rtol=1e-12)
