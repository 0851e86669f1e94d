"""Neural-network ops against NumPy/SciPy references, with finite-difference gradients."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops import nnet as N
from symgraph.ops import softmax_xent as SX

special = pytest.importorskip("scipy.special")


def _relu_ref(x, alpha=0.0):
    return np.where(x > 0, x, alpha * x)


def _bce_ref(o, t):
    return -(t * np.log(o) + (1 - t) * np.log(1 - o))


# name -> (builder over symbolic inputs, NumPy reference, input makers)
SPEC = {
    "sigmoid": (N.sigmoid, special.expit, [lambda r: r.normal(size=(3, 4))]),
    "softplus": (N.softplus, lambda x: np.log1p(np.exp(x)), [lambda r: r.normal(size=(3, 4))]),
    "hard_sigmoid": (N.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1),
                     [lambda r: r.uniform(-4, 4, size=(5, 3))]),
    "relu": (N.relu, _relu_ref, [lambda r: r.normal(size=(4, 3))]),
    "leaky_relu": (lambda x: N.relu(x, 0.1), lambda x: _relu_ref(x, 0.1),
                   [lambda r: r.normal(size=(4, 3))]),
    "elu": (N.elu, lambda x: np.where(x > 0, x, np.expm1(x)), [lambda r: r.normal(size=(4, 3))]),
    "elu_alpha": (lambda x: N.elu(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)),
                  [lambda r: r.normal(size=(4, 3))]),
    "selu": (N.selu, lambda x: 1.0507009873554805 * np.where(
        x > 0, x, 1.6732632423543772 * np.expm1(x)), [lambda r: r.normal(size=(4, 3))]),
    "softsign": (N.softsign, lambda x: x / (1 + np.abs(x)), [lambda r: r.normal(size=(4, 3))]),
    "softmax": (N.softmax, lambda x: special.softmax(x, axis=-1),
                [lambda r: r.normal(size=(4, 5))]),
    "softmax_axis0": (lambda x: N.softmax(x, axis=0), lambda x: special.softmax(x, axis=0),
                      [lambda r: r.normal(size=(4, 5))]),
    "softmax_3d": (lambda x: N.softmax(x, axis=1), lambda x: special.softmax(x, axis=1),
                   [lambda r: r.normal(size=(2, 3, 4))]),
    "log_softmax": (N.log_softmax, lambda x: special.log_softmax(x, axis=-1),
                    [lambda r: r.normal(size=(4, 5))]),
    "log_softmax_axis0": (lambda x: N.log_softmax(x, 0),
                          lambda x: special.log_softmax(x, axis=0),
                          [lambda r: r.normal(size=(4, 5))]),
    "cce_onehot": (N.categorical_crossentropy,
                   lambda p, t: -np.sum(t * np.log(p), axis=-1),
                   [lambda r: special.softmax(r.normal(size=(4, 3)), axis=1),
                    lambda r: np.eye(3)[r.integers(0, 3, 4)]]),
    "bce": (N.binary_crossentropy, _bce_ref,
            [lambda r: r.uniform(0.05, 0.95, size=(4, 3)), lambda r: r.uniform(0, 1, (4, 3))]),
    "sigmoid_bce": (N.sigmoid_binary_crossentropy, lambda x, t: _bce_ref(special.expit(x), t),
                    [lambda r: r.normal(size=(4, 3)), lambda r: r.uniform(0, 1, (4, 3))]),
    "squared_error": (N.squared_error, lambda a, b: (a - b) ** 2,
                      [lambda r: r.normal(size=(3, 2)), lambda r: r.normal(size=(3, 2))]),
    "mse": (N.mean_squared_error, lambda a, b: np.mean((a - b) ** 2),
            [lambda r: r.normal(size=(3, 2)), lambda r: r.normal(size=(3, 2))]),
}


def _inputs(values):
    return [T.tensor("float64", (None,) * np.ndim(v), name=f"i{k}")
            for k, v in enumerate(values)]


@pytest.mark.parametrize("name", sorted(SPEC))
@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_forward_matches_reference(name, mode, rng):
    build, ref, makers = SPEC[name]
    values = [m(rng) for m in makers]
    xs = _inputs(values)
    out = build(*xs)
    got = symgraph.function(xs, out, mode=mode)(*values)
    np.testing.assert_allclose(got, ref(*values), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_infer_shape_matches_value(name, rng):
    build, ref, makers = SPEC[name]
    values = [m(rng) for m in makers]
    xs = _inputs(values)
    out = build(*xs)
    shp = symgraph.function(xs, out.shape, on_unused_input="ignore")(*values)
    assert tuple(shp) == np.shape(ref(*values))


@pytest.mark.parametrize("name", sorted(SPEC))
def test_gradient_matches_finite_differences(name, rng):
    build, ref, makers = SPEC[name]
    values = [m(rng) for m in makers]
    if name in ("relu", "leaky_relu", "elu", "elu_alpha", "selu", "hard_sigmoid"):
        # keep the points away from the kinks
        values[0] = np.where(np.abs(values[0]) < 0.05, 0.3, values[0])
        if name == "hard_sigmoid":
            values[0] = np.where(np.abs(np.abs(values[0]) - 2.5) < 0.05, 1.0, values[0])
    T.verify_grad(build, values, rng=rng)


@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_grad_op_second_order(axis, rng):
    sm = special.softmax(rng.normal(size=(3, 4)), axis=axis)
    dy = rng.normal(size=(3, 4))
    T.verify_grad(lambda a, b: N.SoftmaxGrad(axis)(a, b), [dy, sm], rng=rng)


def test_softmax_hessian_vector_product(rng):
    x = T.vector("x")
    c = T.vector("c")
    cost = (N.softmax(x) * c).sum()
    g = symgraph.grad(cost, x)
    hv = symgraph.grad((g * c).sum(), x)
    xv, cv = rng.normal(size=5), rng.normal(size=5)
    got = symgraph.function([x, c], hv)(xv, cv)
    eps = 1e-6
    gf = symgraph.function([x, c], g)
    num = (gf(xv + eps * cv, cv) - gf(xv - eps * cv, cv)) / (2 * eps)
    np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-7)


def test_categorical_crossentropy_integer_labels(rng):
    p = special.softmax(rng.normal(size=(5, 4)), axis=1)
    y = rng.integers(0, 4, size=5)
    P, Y = T.matrix("p"), T.lvector("y")
    out = N.categorical_crossentropy(P, Y)
    got = symgraph.function([P, Y], out, mode="FAST_COMPILE")(p, y)
    np.testing.assert_allclose(got, -np.log(p[np.arange(5), y]), rtol=1e-12)
    T.verify_grad(lambda q: N.categorical_crossentropy(q, y), [p], rng=rng)


def test_categorical_crossentropy_int32_labels(rng):
    p = special.softmax(rng.normal(size=(3, 4)), axis=1)
    y = np.array([3, 0, 1], dtype="int32")
    P, Y = T.matrix("p"), T.ivector("y")
    got = symgraph.function([P, Y], N.categorical_crossentropy(P, Y))(p, y)
    np.testing.assert_allclose(got, -np.log(p[np.arange(3), y]), rtol=1e-12)


def test_fused_softmax_crossentropy(rng):
    x = rng.normal(size=(6, 5))
    y = rng.integers(0, 5, size=6)
    X, Y = T.matrix("x"), T.lvector("y")
    loss = SX.softmax_cross_entropy_with_logits(X, Y)
    got = symgraph.function([X, Y], loss)(x, y)
    np.testing.assert_allclose(got, -special.log_softmax(x, axis=1)[np.arange(6), y],
                               rtol=1e-12)
    T.verify_grad(lambda z: SX.softmax_cross_entropy_with_logits(z, y), [x], rng=rng)
    # the gradient is softmax - onehot
    g = symgraph.grad(loss.sum(), X)
    gv = symgraph.function([X, Y], g)(x, y)
    np.testing.assert_allclose(gv, special.softmax(x, axis=1) - np.eye(5)[y], atol=1e-12)
    nll, sm = SX.crossentropy_softmax_1hot(X, Y)
    nv, sv = symgraph.function([X, Y], [nll, sm])(x, y)
    np.testing.assert_allclose(nv, got)
    np.testing.assert_allclose(sv, special.softmax(x, axis=1))


def test_fused_softmax_crossentropy_second_order(rng):
    x = rng.normal(size=(3, 4))
    y = rng.integers(0, 4, size=3)
    T.verify_grad(lambda z: symgraph.grad(SX.softmax_cross_entropy_with_logits(z, y).sum() *
                                          1.0, z) ** 2, [x], rng=rng)


def test_to_one_hot(rng):
    y = rng.integers(0, 4, size=7)
    Y = T.lvector("y")
    out = N.to_one_hot(Y, 4, dtype="float32")
    assert out.dtype == "float32" and out.type.shape == (None, 4)
    got = symgraph.function([Y], out)(y)
    np.testing.assert_array_equal(got, np.eye(4, dtype="float32")[y])


def test_saturated_ops_are_finite():
    x = np.array([[-1000.0, 0.0, 1000.0]])
    X = T.matrix("x")
    outs = [N.softmax(X), N.log_softmax(X), N.sigmoid(X), N.softplus(X), N.elu(X),
            symgraph.grad(N.elu(X).sum(), X), N.sigmoid_binary_crossentropy(X, 0.5)]
    for v in symgraph.function([X], outs, mode="FAST_COMPILE")(x):
        assert np.all(np.isfinite(v))
    np.testing.assert_allclose(symgraph.function([X], N.log_softmax(X))(x),
                               [[-2000.0, -1000.0, 0.0]])


def test_float32_stays_float32(rng):
    X = T.fmatrix("x")
    for out in (N.softmax(X), N.log_softmax(X), N.relu(X, 0.1), N.elu(X), N.hard_sigmoid(X),
                N.softsign(X), N.binary_crossentropy(N.sigmoid(X), X)):
        assert out.dtype == "float32", out


def test_errors_name_the_op():
    with pytest.raises(TypeError, match="labels"):
        N.categorical_crossentropy(T.matrix(), T.vector())
    with pytest.raises(ValueError, match="softmax"):
        N.softmax(T.matrix(), axis=2)
    with pytest.raises(TypeError, match="CrossentropyCategorical1Hot"):
        N.CrossentropyCategorical1Hot()(T.matrix(), T.vector())
    with pytest.raises(TypeError, match="OneHot"):
        N.OneHot()(T.vector(), 3)


def test_relu_symbolic_alpha(rng):
    x = rng.normal(size=(3, 3))
    X, a = T.matrix("x"), T.scalar("a")
    got = symgraph.function([X, a], N.relu(X, a))(x, 0.2)
    np.testing.assert_allclose(got, _relu_ref(x, 0.2))


def test_crossentropy_second_order(rng):
    p = special.softmax(rng.normal(size=(4, 3)), axis=1)
    y = rng.integers(0, 3, size=4)
    # the gradient of the gradient of sum(w * cce(p, y)), checked against finite differences
    T.verify_grad(lambda q: symgraph.grad((N.categorical_crossentropy(q, y) ** 2).sum(), q),
                  [p], rng=rng)
    gz = rng.uniform(0.5, 1.5, size=4)
    T.verify_grad(lambda g, q: N.CrossentropyCategorical1HotGrad()(g, q, y), [gz, p], rng=rng)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_infer_shape_of_every_node(name, rng):
    from symgraph.testing import check_infer
    build, ref, makers = SPEC[name]
    check_infer(build, [m(rng) for m in makers])


def test_fused_ops_infer_shape(rng):
    from symgraph.testing import check_infer
    y = rng.integers(0, 4, size=5)
    check_infer(lambda x: [SX.softmax_cross_entropy_with_logits(x, y),
                           N.categorical_crossentropy(x, y), N.to_one_hot(y, 4),
                           symgraph.grad(N.categorical_crossentropy(x, y).sum(), x),
                           symgraph.grad((N.softmax(x) * x).sum(), x)],
                [rng.uniform(0.1, 1, size=(5, 4))])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_debug_mode_agrees_with_perform(dtype, rng):
    x, y = T.matrix("x", dtype=dtype), T.lvector("y")
    t = T.matrix("t", dtype=dtype)
    outs = [N.softmax(x), N.log_softmax(x), N.categorical_crossentropy(N.softmax(x), y),
            SX.softmax_cross_entropy_with_logits(x, y), N.binary_crossentropy(N.sigmoid(x), t),
            N.relu(x, 0.2), N.elu(x), N.hard_sigmoid(x)]
    cost = sum(o.sum() for o in outs)
    g = symgraph.grad(cost, x)
    xv = rng.normal(size=(3, 4)).astype(dtype)
    tv = rng.uniform(size=(3, 4)).astype(dtype)
    yv = rng.integers(0, 4, 3)
    res = symgraph.function([x, y, t], outs + [g], mode="DebugMode")(xv, yv, tv)
    assert all(np.asarray(r).dtype == dtype for r in res)


def test_theano_namespace(rng):
    v = T.vector("v")
    sm = T.nnet.softmax(v)
    assert sm.type.shape == (1, None)  # Theano: a vector gives one row
    vv = rng.normal(size=4)
    np.testing.assert_allclose(symgraph.function([v], sm)(vv), special.softmax(vv)[None])
    np.testing.assert_allclose(symgraph.function([v], T.nnet.logsoftmax(v))(vv),
                               special.log_softmax(vv)[None])
    assert N.softmax(v).ndim == 1   # the op family's function keeps the rank
    x, b, y = T.matrix("x"), T.vector("b"), T.lvector("y")
    xv, bv, yv = rng.normal(size=(3, 4)), rng.normal(size=4), np.array([0, 3, 1])
    nll, smv, am = T.nnet.crossentropy_softmax_argmax_1hot_with_bias(x, b, y)
    got = symgraph.function([x, b, y], [nll, smv, am, T.nnet.softmax_with_bias(x, b)])(
        xv, bv, yv)
    z = xv + bv
    np.testing.assert_allclose(got[0], -special.log_softmax(z, 1)[np.arange(3), yv])
    np.testing.assert_allclose(got[1], special.softmax(z, 1))
    np.testing.assert_array_equal(got[2], z.argmax(1))
    np.testing.assert_allclose(got[3], special.softmax(z, 1))
    assert T.nnet.ultra_fast_sigmoid is T.nnet.sigmoid
    p = T.matrix("p")
    pv = special.softmax(xv, 1)
    np.testing.assert_allclose(
        symgraph.function([p, y], T.nnet.crossentropy_categorical_1hot(p, y))(pv, yv),
        -np.log(pv[np.arange(3), yv]))
    assert callable(T.nnet.conv2d) and T.nnet.bn.batch_normalization_train is not None
    with pytest.raises(AttributeError):
        T.nnet.no_such_thing


# ---------------------------------------------------------------------------------------
# labels out of range: an error naming the op, never the loss of another class
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE", "DebugMode"])
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8"])
@pytest.mark.parametrize("scores", ["softmax", "sigmoid"])
def test_crossentropy_labels_out_of_range_raise(mode, dtype, scores, rng):
    n_classes = 4
    W = symgraph.shared(rng.standard_normal((3, n_classes)), "W")
    x, y = T.matrix("x"), T.vector("y", dtype=dtype)
    act = N.softmax if scores == "softmax" else N.sigmoid
    cost = N.categorical_crossentropy(act(T.dot(x, W)), y).mean()
    f = symgraph.function([x, y], cost, updates=[(W, W - 0.1 * T.grad(cost, W))], mode=mode)
    xv = rng.standard_normal((3, 3))
    w0 = W.get_value()
    bad = [n_classes, np.iinfo(dtype).max] + ([-1, np.iinfo(dtype).min] if dtype.startswith("int")
                                             else [])
    for label in bad:
        labels = np.array([0, label, 1], dtype=dtype)
        with pytest.raises(ValueError, match=rf"categorical_crossentropy.*label {label} \(at "
                                             rf"flat position 1\) is not a class: with 4 "
                                             rf"classes the labels must be in 0 \.\. 3"):
            f(xv, labels)
        np.testing.assert_array_equal(W.get_value(), w0)
    # labels in range: the loss of the labelled class
    labels = np.array([0, 3, 1], dtype=dtype)
    p = xv @ w0
    p = special.softmax(p, axis=1) if scores == "softmax" else special.expit(p)
    np.testing.assert_allclose(f(xv, labels), -np.log(p[np.arange(3), labels]).mean(),
                               rtol=1e-10)


def test_one_hot_and_its_users_refuse_labels_out_of_range():
    y = T.ivector("y")
    f = symgraph.function([y], N.to_one_hot(y, 3))
    np.testing.assert_array_equal(f(np.array([2, 0], dtype="int32")), [[0, 0, 1], [1, 0, 0]])
    for label in (-1, 3):
        with pytest.raises(ValueError, match=f"one_hot: label {label} "):
            f(np.array([0, label], dtype="int32"))
    with pytest.raises(ValueError, match="gradient of categorical_crossentropy"):
        SX._dx(np.ones(2), np.full((2, 3), 1 / 3), np.array([0, -1], dtype="int32"))
    # the fused op on a 3-d batch (take_along_axis path)
    loss, _ = SX._loss_and_softmax(np.zeros((2, 2, 3)), np.zeros((2, 2), dtype="int32"))
    np.testing.assert_allclose(loss, np.log(3.0))
    with pytest.raises(ValueError, match="label -1"):
        SX._loss_and_softmax(np.zeros((2, 2, 3)), np.array([[0, 1], [-1, 2]], dtype="int32"))


# (name, op): at a tie of two variables maximum and minimum pass the gradient to their first
# argument, as Theano 1.0.5 does (checked against it: grad of maximum(x, y) at x = y = 0 is
# (1, 0), and of minimum too)
TIES = [("maximum", T.maximum, np.maximum), ("minimum", T.minimum, np.minimum)]


@pytest.mark.parametrize("name, op, ref", TIES, ids=[t[0] for t in TIES])
@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_maximum_minimum_of_two_variables_pass_ties_to_the_first(name, op, ref, mode):
    x, y = T.vector("x"), T.vector("y")
    f = symgraph.function([x, y], T.grad(op(x, y).sum(), [x, y]), mode=mode)
    xs = np.array([-1.0, 0.0, 2.0, 3.0, -0.0])
    ys = np.array([0.0, 0.0, 1.0, 5.0, 0.0])
    gx, gy = f(xs, ys)
    x_gets = (ref(xs, ys) == xs)  # the result, ties included
    np.testing.assert_array_equal(gx, x_gets)
    np.testing.assert_array_equal(gy, ~x_gets)


# (name, builder from x, its NumPy value): against a constant bound the gradient comes from
# the result and is zero at the bound (the rectifier's convention)
BOUNDS = [
    ("maximum(x, 0)", lambda x: T.maximum(x, 0), lambda x: np.maximum(x, 0)),
    ("maximum(0, x)", lambda x: T.maximum(0, x), lambda x: np.maximum(0, x)),
    ("minimum(x, 1)", lambda x: T.minimum(x, 1), lambda x: np.minimum(x, 1)),
    ("minimum(1, x)", lambda x: T.minimum(1, x), lambda x: np.minimum(1, x)),
]


@pytest.mark.parametrize("name, op, ref", BOUNDS, ids=[b[0] for b in BOUNDS])
@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_a_constant_bound_passes_no_gradient_at_the_bound(name, op, ref, mode):
    x = T.vector("x")
    f = symgraph.function([x], T.grad(op(x).sum(), x), mode=mode)
    xs = np.array([-1.0, 0.0, -0.0, 0.5, 1.0, 2.0])
    bound = 0.0 if name.startswith("maximum") else 1.0
    np.testing.assert_array_equal(f(xs), (ref(xs) == xs) & (xs != bound))


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_relu_gradient_is_zero_at_zero_and_reads_only_the_output(mode):
    """PyTorch's, JAX's and TensorFlow's convention at 0; the mask reads relu's output, so
    the pre-activation feeds nothing but the rectifier (it can be freed after the forward)."""
    x = T.vector("x")
    y = N.relu(x * 2.0)
    g = T.grad((y * y).sum(), x)
    f = symgraph.function([x], g, mode=mode)
    xs = np.array([-1.0, 0.0, -0.0, 0.5, 2.0])
    np.testing.assert_array_equal(f(xs), np.where(xs > 0, 8.0 * xs, 0.0))
    pre = y.owner.inputs[0]
    readers = {n for n in symgraph.graph.toposort([g]) if pre in n.inputs}
    assert readers == {y.owner}, readers
