"""The runnable examples of Theano's tutorial and library reference, written anew as tests and
checked against NumPy: algebra, the logistic function, several outputs, default values,
shared state, copies of functions, random streams, logistic regression, derivatives
(gradient, Jacobian, Hessian, R- and L-operators), conditions, loops, broadcasting, printing,
sparse matrices and extending Theano with new ops."""
import numpy as np
import pytest

import symgraph.compat.theano_alias  # noqa: F401
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402
from theano import In, function, pp, shared  # noqa: E402


def test_adding_two_scalars_and_two_matrices():
    x, y = T.dscalars("x", "y")
    z = x + y
    f = function([x, y], z)
    assert f(2, 3) == 5.0 and np.allclose(f(16.3, 12.1), 28.4)
    assert type(x) is T.TensorVariable and x.type is T.dscalar
    assert str(x.type) == "TensorType(float64, scalar)"
    assert pp(z) == "(x + y)"
    np.testing.assert_allclose(z.eval({x: 16.3, y: 12.1}), 28.4)
    a, b = T.dmatrices("a", "b")
    g = function([a, b], a + b)
    np.testing.assert_array_equal(g([[1, 2], [3, 4]], [[10, 20], [30, 40]]),
                                  [[11, 22], [33, 44]])


def test_exercise_vector_expression():
    a, b = T.vector(), T.vector()
    out = a ** 2 + b ** 2 + 2 * a * b
    f = function([a, b], out)
    np.testing.assert_allclose(f([1, 2], [4, 5]), [25, 49])


def test_logistic_function_two_ways():
    x = T.dmatrix("x")
    s = 1 / (1 + T.exp(-x))
    s2 = (1 + T.tanh(x / 2)) / 2
    v = np.array([[0, 1], [-1, -2]], dtype=float)
    want = 1 / (1 + np.exp(-v))
    np.testing.assert_allclose(function([x], s)(v), want)
    np.testing.assert_allclose(function([x], s2)(v), want)


def test_several_outputs_at_once():
    a, b = T.dmatrices("a", "b")
    diff = a - b
    f = function([a, b], [diff, abs(diff), diff ** 2])
    d, ad, d2 = f([[1, 1], [1, 1]], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(d, [[1, 0], [-1, -2]])
    np.testing.assert_array_equal(ad, [[1, 0], [1, 2]])
    np.testing.assert_array_equal(d2, [[1, 0], [1, 4]])


def test_default_values_and_names():
    x, y, w = T.dscalars("x", "y", "w")
    z = (x + y) * w
    f = function([x, In(y, value=1), In(w, value=2, name="w_by_name")], z)
    assert f(33) == 68.0 and f(33, 2) == 70.0 and f(33, 0, 1) == 33.0
    assert f(33, w_by_name=1) == 34.0 and f(33, w_by_name=1, y=0) == 33.0


def test_accumulator_with_shared_state_and_givens():
    state = shared(0)
    inc = T.iscalar("inc")
    acc = function([inc], state, updates=[(state, state + inc)])
    assert acc(1) == 0 and acc(300) == 1 and state.get_value() == 301
    state.set_value(-1)
    acc(3)
    assert state.get_value() == 2
    dec = function([inc], state, updates=[(state, state - inc)])
    dec(2)
    assert state.get_value() == 0
    fn_of_state = state * 2 + inc
    foo = T.scalar(dtype=state.dtype)
    skip = function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert skip(1, 3) == 7 and state.get_value() == 0


def test_copying_functions_with_swapped_state():
    state = shared(0)
    inc = T.iscalar("inc")
    acc = function([inc], state, updates=[(state, state + inc)])
    acc(10)
    new_state = shared(0)
    new_acc = acc.copy(swap={state: new_state})
    new_acc(100)
    assert new_state.get_value() == 100 and state.get_value() == 10
    null_acc = acc.copy(delete_updates=True)
    null_acc(9)
    assert state.get_value() == 10


def test_random_streams_update_and_reproduce():
    from theano.tensor.shared_randomstreams import RandomStreams
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    rv_n = srng.normal((2, 2))
    f = function([], rv_u)
    g = function([], rv_n, no_default_updates=True)
    nearly_zeros = function([], rv_u + rv_u - 2 * rv_u)
    assert not np.allclose(f(), f())
    np.testing.assert_array_equal(g(), g())
    np.testing.assert_allclose(nearly_zeros(), 0, atol=1e-12)
    srng.seed(902340)
    first = f()
    srng.seed(902340)
    np.testing.assert_array_equal(f(), first)


def test_logistic_regression_trains(rng):
    n, feats = 100, 20
    inputs = rng.standard_normal((n, feats))
    data = (inputs, (inputs @ rng.standard_normal(feats) > 0).astype(float))
    x, y = T.dmatrix("x"), T.dvector("y")
    w = shared(rng.standard_normal(feats), name="w")
    b = shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = function([x, y], [prediction, xent], updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
    predict = function([x], prediction)
    first = train(*data)[1].mean()
    for _ in range(200):
        _, err = train(*data)
    assert err.mean() < first
    assert (predict(data[0]) == data[1]).mean() > 0.9


def test_derivatives():
    x = T.dscalar("x")
    gy = T.grad(x ** 2, x)
    assert function([x], gy)(4) == 8.0
    xm = T.dmatrix("x")
    s = T.sum(1 / (1 + T.exp(-xm)))
    v = np.array([[0, 1], [-1, -2]], dtype=float)
    sig = 1 / (1 + np.exp(-v))
    np.testing.assert_allclose(function([xm], T.grad(s, xm))(v), sig * (1 - sig))
    xv = T.dvector("x")
    y = xv ** 2
    J, _ = theano.scan(lambda i, y, x: T.grad(y[i], x), sequences=T.arange(y.shape[0]),
                       non_sequences=[y, xv])
    np.testing.assert_allclose(function([xv], J)([4, 4]), [[8, 0], [0, 8]])
    np.testing.assert_allclose(function([xv], theano.gradient.jacobian(y, xv))([4, 4]),
                               [[8, 0], [0, 8]])
    cost = (xv ** 2).sum()
    np.testing.assert_allclose(function([xv], theano.gradient.hessian(cost, xv))([4, 4]),
                               [[2, 0], [0, 2]])
    W, V = T.dmatrix("W"), T.dmatrix("V")
    xr = T.dvector("x")
    yr = T.dot(xr, W)
    JV = theano.Rop(yr, W, V)
    np.testing.assert_allclose(function([W, V, xr], JV)([[1, 1], [1, 1]], [[2, 2], [2, 2]],
                                                        [0, 1]), [2, 2])
    v2 = T.dvector("v")
    VJ = theano.Lop(yr, W, v2)
    np.testing.assert_allclose(function([v2, xr], VJ)([2, 2], [0, 1]), [[0, 0], [2, 2]])


def test_conditions_switch_and_ifelse():
    from theano.ifelse import ifelse
    a, b = T.scalars("a", "b")
    x, y = T.matrices("x", "y")
    z_switch = T.switch(T.lt(a, b), T.mean(x), T.mean(y))
    z_lazy = ifelse(T.lt(a, b), T.mean(x), T.mean(y))
    f_switch = function([a, b, x, y], z_switch)
    f_lazy = function([a, b, x, y], z_lazy)
    big, small = np.ones((100, 100)), np.zeros((100, 100))
    assert f_switch(1, 2, big, small) == 1.0 and f_lazy(2, 1, big, small) == 0.0


def test_loops_with_scan():
    k = T.iscalar("k")
    A = T.vector("A")
    result, updates = theano.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A),
                                  non_sequences=A, n_steps=k)
    power = function([A, k], result[-1], updates=updates)
    np.testing.assert_allclose(power(range(10), 2), np.arange(10) ** 2)
    coefficients = T.vector("coefficients")
    xx = T.scalar("x")
    comps, _ = theano.scan(lambda c, p, x: c * (x ** p),
                           sequences=[coefficients, T.arange(1000)], non_sequences=xx)
    poly = function([coefficients, xx], comps.sum())
    assert poly(np.asarray([1, 0, 2], dtype=float), 3) == 19.0
    up_to = T.iscalar("up_to")
    seq = T.arange(up_to)
    scan_sum, _ = theano.scan(lambda v, acc: acc + v, sequences=seq,
                              outputs_info=T.as_tensor_variable(np.asarray(0, seq.dtype)))
    assert function([up_to], scan_sum)(15)[-1] == 105


def test_broadcasting_patterns():
    row = T.row("r")
    assert row.broadcastable == (True, False)
    mat = T.matrix("m")
    f = function([row, mat], row + mat)
    np.testing.assert_allclose(f(np.ones((1, 3)), np.zeros((2, 3))), np.ones((2, 3)))
    with pytest.raises(ValueError):
        f(np.ones((2, 3)), np.zeros((2, 3)))  # a row has one row
    col = T.addbroadcast(T.matrix("c"), 1)
    assert col.broadcastable == (False, True)
    g = function([col.owner.inputs[0], mat], col + mat)
    np.testing.assert_allclose(g(np.ones((2, 1)), np.zeros((2, 3))), np.ones((2, 3)))


def test_memory_aliasing_with_borrow():
    np_array = np.ones(2, dtype="float32")
    s_default = shared(np_array)
    s_false = shared(np_array, borrow=False)
    s_true = shared(np_array, borrow=True)
    np_array += 1
    assert s_default.get_value()[0] == 1 and s_false.get_value()[0] == 1
    assert s_true.get_value()[0] == 2


def test_printing_graphs():
    x = T.dscalar("x")
    y = x ** 2
    gy = T.grad(y, x)
    f = function([x], gy)
    assert f(4) == 8.0
    text = theano.printing.debugprint(f, file="str")
    assert text and "x" in text
    assert "x" in pp(gy)


def test_sparse_matrices():
    import scipy.sparse as sp
    import theano.sparse
    x = theano.sparse.csc_matrix(name="x", dtype="float32")
    y = theano.sparse.dense_from_sparse(x)
    z = theano.sparse.csc_from_dense(y)
    m = sp.csc_matrix(np.asarray([[0, 1, 1], [0, 0, 0], [1, 0, 0]], dtype="float32"))
    out = function([x], z)(m)
    assert sp.issparse(out) and out.format == "csc"
    np.testing.assert_array_equal(out.toarray(), m.toarray())
    data, indices, indptr, shape = theano.sparse.csm_properties(x)
    t = theano.sparse.CSC(data * 2, indices, indptr, shape)
    np.testing.assert_array_equal(function([x], t)(m).toarray(), 2 * m.toarray())


def test_extending_theano_with_an_op():
    class DoubleOp(theano.Op):
        __props__ = ()

        def make_node(self, x):
            x = T.as_tensor_variable(x)
            return theano.Apply(self, [x], [x.type()])

        def perform(self, node, inputs, output_storage):
            output_storage[0][0] = inputs[0] * 2

        def infer_shape(self, node, i0_shapes):
            return i0_shapes

        def grad(self, inputs, output_grads):
            return [output_grads[0] * 2]

        def R_op(self, inputs, eval_points):
            return [None] if eval_points[0] is None else self.grad(inputs, eval_points)

    x = T.matrix()
    f = function([x], DoubleOp()(x))
    inp = np.random.default_rng(0).random((5, 4))
    np.testing.assert_allclose(f(inp), inp * 2)
    theano.gradient.verify_grad(DoubleOp(), [inp], rng=np.random.RandomState(0))

    @theano.compile.ops.as_op(itypes=[T.dmatrix], otypes=[T.dmatrix])
    def numpy_dot(a):
        return np.dot(a, a.T)
    y = T.dmatrix()
    np.testing.assert_allclose(function([y], numpy_dot(y))(inp), inp @ inp.T)
