"""The convolution epilogue (symgraph/rewrite/conv_epilogue.py, symgraph.ops.conv.Conv2dBias):
where the rule fires, where it must not, and the values against the graph it replaces.

The values are compared with the same graph compiled with the two rules taken out of the
engine: on the NumPy back end (the exact kernels, then the same elementwise operations) they
are bit-identical; on the numba back end the float32 Winograd convolution is the same in both,
and the bias and rectifier are the same float32 operations, so they are bit-identical too.
"""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.compile.mode import FAST_RUN
from symgraph.ops.conv import Conv2d, Conv2dBias, conv2d
from symgraph.rewrite import conv_epilogue, engine

BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not symgraph.backends.numba_available(), reason="numba (the [fast] extra) not installed"))]


@pytest.fixture
def without_epilogue(monkeypatch):
    """A context in which the two epilogue rules are not registered."""
    def take_out():
        table = engine._RULES["specialize"]
        for key in list(table):
            monkeypatch.setitem(table, key, [e for e in table[key] if e[1] not in (
                conv_epilogue.conv_bias, conv_epilogue.conv_bias_relu)])
        engine._INDEX.clear()
    yield take_out
    engine._INDEX.clear()


def _layer(dtype="float32", relu=True, pad="half", order="conv first"):
    x = T.tensor(dtype, (None,) * 4, "x")
    w = T.tensor(dtype, (None,) * 4, "w")
    b = T.tensor(dtype, (None,), "b")
    z = conv2d(x, w, border_mode=pad, filter_shape=(16, 8, 3, 3), filter_flip=False)
    bb = b.dimshuffle("x", 0, "x", "x")
    a = z + bb if order == "conv first" else bb + z
    return (x, w, b), (T.maximum(a, 0) if relu else a)


def _values(rng, dtype="float32"):
    x = rng.standard_normal((5, 8, 9, 10)).astype(dtype)
    w = (rng.standard_normal((16, 8, 3, 3)) / 8).astype(dtype)
    b = rng.standard_normal(16).astype(dtype)
    x[0, 0, 0, 0] = np.nan  # a nan goes through the sum and the rectifier
    return x, w, b


def _convs(f):
    return [n.op for n in f.fgraph.toposort() if isinstance(n.op, (Conv2d, Conv2dBias))]


def _train_outputs(inputs, y):
    """The layer's output and the gradients of a cost through it (the rectifier's mask reads
    the output: the pre-activation has no other reader)."""
    cost = T.sum(T.tanh(y) ** 2)
    return [2 * y] + T.grad(cost, list(inputs))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("order", ["conv first", "bias first"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_layer_equals_the_graph_it_replaces(rng, without_epilogue, backend, relu,
                                                  order, dtype):
    inputs, y = _layer(dtype, relu, order=order)
    outputs = _train_outputs(inputs, y)
    mode = FAST_RUN.__class__("t", backend=backend)
    fused = symgraph.function(list(inputs), outputs, mode=mode)
    ops = _convs(fused)
    assert any(isinstance(op, Conv2dBias) and op.relu == relu for op in ops)
    assert not any(type(op) is Conv2d for op in ops)
    without_epilogue()
    plain = symgraph.function(list(inputs), outputs, mode=mode)
    assert not any(isinstance(op, Conv2dBias) for op in _convs(plain))
    vals = _values(rng, dtype)
    for a, b in zip(fused(*vals), plain(*vals)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("loops", ["numpy", "numba"])
def test_kernel_equals_the_elementwise_operations_after_the_convolution(rng, loops):
    """forward_bias, on the NumPy path and in the compiled loops' output copy, is bit for bit
    maximum(forward + b, 0) (NumPy's maximum: the nan of the input stays)."""
    from symgraph.ops import conv_kernels as K
    if loops == "numba":
        if not symgraph.backends.numba_available():
            pytest.skip("numba (the [fast] extra) not installed")
        from symgraph.backends.numba_windows import NUMBA_LOOPS as lib
    else:
        lib = None
    x, w, b = _values(rng)
    args = ((1, 1), (1, 1), False, (1, 1))
    for relu in (True, False):
        got = K.forward_bias(x, w, b, *args, relu, work={}, loops=lib)
        conv = K.forward(x, w, *args, work={}, loops=lib)
        want = conv + b.reshape(1, -1, 1, 1)
        want = np.maximum(want, 0) if relu else want
        assert np.isnan(got).any() and (got == 0).any() == relu
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("case", ["pre-activation is an output", "pre-activation read twice",
                                  "bound first", "bound not zero", "bias not per channel",
                                  "upcast"])
def test_rule_leaves_other_graphs(case):
    x = T.tensor("float32", (None,) * 4, "x")
    w = T.tensor("float32", (None,) * 4, "w")
    b = T.tensor("float32", (None,), "b")
    z = conv2d(x, w, filter_shape=(16, 8, 3, 3))
    a = z + b.dimshuffle("x", 0, "x", "x")
    outputs = [T.maximum(a, 0)]
    inputs = [x, w, b]
    if case == "pre-activation is an output":
        outputs.append(z)
    elif case == "pre-activation read twice":
        outputs = [T.maximum(a, 0) + T.exp(z)]
    elif case == "bound first":
        outputs = [T.maximum(0, a)]  # maximum(0, -0.0) is +0.0: not the fused rectifier
    elif case == "bound not zero":
        outputs = [T.maximum(a, 0.5)]
    elif case == "bias not per channel":
        m = T.tensor("float32", (None,) * 4, "m")
        inputs.append(m)
        outputs = [T.maximum(z + m, 0)]
    elif case == "upcast":
        b64 = T.tensor("float64", (None,), "b64")
        inputs.append(b64)
        outputs = [T.maximum(z + b64.dimshuffle("x", 0, "x", "x"), 0)]
    f = symgraph.function(inputs, outputs, on_unused_input="ignore")
    fused = [op for op in _convs(f) if isinstance(op, Conv2dBias)]
    if case in ("bound first", "bound not zero"):
        assert fused and not any(op.relu for op in fused)  # the sum alone is fused
    else:
        assert not fused


def test_op_gradient_matches_the_unfused_expression(rng):
    """Conv2dBias's own gradient (used when a rewritten graph is differentiated again) equals
    the gradient of the expression it stands for, in float64."""
    x, w, b = (T.tensor("float64", s, n) for s, n in (((None,) * 4, "x"), ((None,) * 4, "w"),
                                                       ((None,), "b")))
    op = Conv2dBias((1, 1), (1, 1), True, (1, 1), relu=True)
    y = op(x, w, b)
    ref = T.maximum(conv2d(x, w, border_mode=(1, 1)) + b.dimshuffle("x", 0, "x", "x"), 0)
    g = T.tensor("float64", (None,) * 4, "g")
    grads = T.grad(T.sum(y * g), [x, w, b])
    want = T.grad(T.sum(ref * g), [x, w, b])
    f = symgraph.function([x, w, b, g], [y, ref] + grads + want, mode="FAST_COMPILE")
    xv, wv = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 3))
    bv, gv = rng.standard_normal(4), rng.standard_normal((2, 4, 5, 6))
    vals = f(xv, wv, bv, gv)
    np.testing.assert_allclose(vals[0], vals[1], rtol=1e-12)
    for a, b_ in zip(vals[2:5], vals[5:]):
        np.testing.assert_allclose(a, b_, rtol=1e-10, atol=1e-12)


def test_op_checks_its_bias(rng):
    x = T.tensor("float32", (None,) * 4, "x")
    w = T.tensor("float32", (None,) * 4, "w")
    op = Conv2dBias((1, 1), (1, 1), False)
    with pytest.raises(TypeError, match="bias must be a vector of float32"):
        op(x, w, T.tensor("float32", (None, None), "b"))
    with pytest.raises(TypeError, match="bias must be a vector of float32"):
        op(x, w, T.tensor("float64", (None,), "b"))
    f = symgraph.function([x, w, b := T.tensor("float32", (None,), "b")], op(x, w, b))
    with pytest.raises(ValueError, match="bias of shape"):
        f(np.zeros((1, 2, 4, 4), np.float32), np.zeros((3, 2, 3, 3), np.float32),
          np.zeros(2, np.float32))
