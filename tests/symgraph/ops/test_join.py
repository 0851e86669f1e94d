"""Join/Split, concatenate, stack, squeeze and swapaxes: static types, build-time errors,
run-time behaviour and gradients beyond what the op table covers."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops.join import Join, Split
from symgraph.testing import check_emit, check_grad, check_infer


def test_join_static_shape_sums_the_axis_and_unifies_the_others():
    a = T.tensor("float64", (2, None))
    b = T.tensor("float64", (3, 4))
    out = T.concatenate([a, b], axis=0)
    assert out.type.shape == (5, 4)
    c = T.tensor("float64", (None, 4))
    assert T.concatenate([a, c]).type.shape == (None, 4)


def test_join_promotes_dtypes_like_numpy(rng):
    a, b = T.ivector("a"), T.dvector("b")
    out = T.concatenate([a, b])
    assert out.dtype == "float64"
    av, bv = np.array([1, 2], dtype="int32"), rng.standard_normal(3)
    np.testing.assert_array_equal(symgraph.function([a, b], out)(av, bv),
                                  np.concatenate([av, bv]))


def test_join_build_errors_name_the_op():
    with pytest.raises(TypeError, match="Join: all inputs must have the same number"):
        T.concatenate([T.matrix(), T.vector()])
    with pytest.raises(ValueError, match="Join: inputs differ in dimension 1"):
        T.concatenate([T.tensor("float64", (2, 3)), T.tensor("float64", (2, 4))], axis=0)
    with pytest.raises(ValueError, match="join: axis 2 is out of range"):
        T.concatenate([T.matrix(), T.matrix()], axis=2)
    with pytest.raises(TypeError, match="concatenate: expected a list"):
        T.concatenate(T.matrix())


def test_join_runtime_mismatch_raises():
    a, b = T.matrix(), T.matrix()
    f = symgraph.function([a, b], T.concatenate([a, b], axis=0))
    with pytest.raises(ValueError):
        f(np.zeros((2, 3)), np.zeros((2, 4)))


def test_join_gradient_is_none_for_integer_inputs(rng):
    a, b = T.lvector("a"), T.dvector("b")
    out = T.concatenate([a, b])
    gb = T.grad((out ** 2).sum(), b)
    bv = rng.standard_normal(3)
    np.testing.assert_allclose(symgraph.function([a, b], gb)(np.arange(2), bv), 2 * bv)


def test_split_pieces_and_static_lengths(rng):
    x = T.matrix("x")
    pieces = T.split(x, [1, 3], 2, axis=1)
    assert [p.type.shape for p in pieces] == [(None, 1), (None, 3)]
    xv = rng.standard_normal((2, 4))
    got = symgraph.function([x], pieces)(xv)
    for g, w in zip(got, np.split(xv, [1], axis=1)):
        np.testing.assert_array_equal(g, w)


def test_split_symbolic_lengths_and_bad_lengths(rng):
    x, n = T.vector("x"), T.lscalar("n")
    a, b = T.split(x, [n, x.shape[0] - n], 2)
    f = symgraph.function([x, n], [a, b])
    xv = rng.standard_normal(5)
    ga, gb = f(xv, 2)
    np.testing.assert_array_equal(ga, xv[:2])
    np.testing.assert_array_equal(gb, xv[2:])
    g = symgraph.function([x], Split(0, 2)(x, 1, 1))
    with pytest.raises(ValueError, match="Split: lengths"):
        g(xv)
    with pytest.raises(ValueError, match="do not sum"):
        Split(0, 2)(T.tensor("float64", (5,)), 1, 1)


def test_split_single_piece_and_grad(rng):
    x = T.matrix("x")
    (piece,) = T.split(x, [x.shape[0]], 1, axis=0)
    xv = rng.standard_normal((3, 2))
    np.testing.assert_array_equal(symgraph.function([x], piece)(xv), xv)
    check_grad(lambda v: T.split(v, [2, 1], 2, axis=0)[1] * 3.0, [xv], rng)
    check_emit(Split(1, 2), [xv, np.int64(1), np.int64(1)])
    check_infer(lambda v: T.split(v, [1, 2], 2, axis=0)[0], [xv])


def test_split_outputs_do_not_alias_inputs(rng):
    x = T.vector("x")
    a, _ = T.split(x, [1, 2], 2)
    xv = rng.standard_normal(3)
    out = symgraph.function([x], a)(xv)
    out[0] = 99.0
    assert xv[0] != 99.0


def test_stack_inserts_a_broadcastable_axis_and_jacobian_uses_it(rng):
    a, b = T.vector("a"), T.vector("b")
    assert T.stack([a, b], axis=1).type.shape == (None, 2)
    assert T.stack([T.scalar(), T.scalar(), T.scalar()]).type.shape == (3,)
    x = T.vector("x", shape=(3,))
    jac = T.jacobian(x ** 2, x)
    xv = rng.standard_normal(3)
    np.testing.assert_allclose(symgraph.function([x], jac)(xv), np.diag(2 * xv))
    with pytest.raises(TypeError, match="stack: all inputs must have the same rank"):
        T.stack([T.vector(), T.matrix()])


def test_list_of_variables_becomes_a_stacked_tensor(rng):
    a = T.scalar("a")
    v = T.as_tensor_variable([a, 2 * a, 1.5])
    assert v.ndim == 1
    np.testing.assert_allclose(symgraph.function([a], v)(2.0), [2.0, 4.0, 1.5])


def test_squeeze_and_swapaxes():
    x = T.tensor("float64", (None, 1, 3, 1))
    assert T.squeeze(x).type.shape == (None, 3)
    assert x.squeeze(1).type.shape == (None, 3, 1)
    with pytest.raises(ValueError, match="squeeze: cannot drop axis 2"):
        T.squeeze(x, 2)
    y = T.tensor3("y")
    f = symgraph.function([y], [T.squeeze(y, 0), y.swapaxes(0, 2)])
    v = np.arange(6.0).reshape(1, 2, 3)
    a, b = f(v)
    np.testing.assert_array_equal(a, v[0])
    np.testing.assert_array_equal(b, np.swapaxes(v, 0, 2))
    with pytest.raises(ValueError):
        f(np.zeros((2, 2, 3)))  # axis 0 is not of length 1 at run time


def test_join_emit_and_infer(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    check_emit(Join(0), [a, b])
    check_infer(lambda u, v: T.concatenate([u, v, u]), [a, b])


def test_stack_accepts_theano_varargs_form(rng):
    a, b = T.vector("a"), T.vector("b")
    av, bv = rng.standard_normal(3), rng.standard_normal(3)
    f = symgraph.function([a, b], [T.stack(a, b), T.stack([a, b], 1), T.stack([a, b], axis=-1)])
    got = f(av, bv)
    np.testing.assert_array_equal(got[0], np.stack([av, bv]))
    np.testing.assert_array_equal(got[1], np.stack([av, bv], 1))
    np.testing.assert_array_equal(got[2], np.stack([av, bv], -1))
    with pytest.raises(TypeError, match="stack: expected a list"):
        T.stack("ab")
