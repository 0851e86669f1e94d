"""Matmul and TensorDot: static types, build-time errors, run-time batch broadcasting and
gradients beyond what the op table covers."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.ops.linalg import Matmul, TensorDot
from symgraph.testing import check_emit, check_grad, check_infer


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)),
                                   ((2, 3, 4), (4,)), ((4,), (4,)), ((None, 3, 4), (1, 4, 2))])
def test_matmul_static_shape_matches_numpy(sa, sb):
    a, b = T.tensor("float64", sa), T.tensor("float64", sb)
    want = np.matmul(np.zeros([s or 7 for s in sa]), np.zeros([s or 7 for s in sb])).shape
    got = (a @ b).type.shape
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g is None or g == w


def test_matmul_errors_name_the_op():
    with pytest.raises(ValueError, match="Matmul: inner dimensions differ"):
        T.tensor("float64", (2, 3)) @ T.tensor("float64", (4, 5))
    with pytest.raises(TypeError, match="Matmul: operands must have at least one dimension"):
        T.matmul(T.scalar(), T.matrix())
    with pytest.raises(ValueError, match="Matmul batch"):
        T.tensor("float64", (2, 3, 4)) @ T.tensor("float64", (5, 4, 2))


def test_matmul_dtype_and_reflected_operator(rng):
    a, b = T.fmatrix("a"), T.dmatrix("b")
    assert (a @ b).dtype == "float64"
    assert (a @ a).dtype == "float32"
    bv = rng.standard_normal((3, 3))
    out = np.ones((2, 3)) @ b
    np.testing.assert_allclose(symgraph.function([b], out)(bv), np.ones((2, 3)) @ bv)


def test_matmul_gradient_with_runtime_batch_broadcast(rng):
    # batch dims are unknown statically: the gradient of the broadcast operand is summed at
    # run time
    a, b = T.tensor3("a"), T.tensor3("b")
    ga, gb = T.grad(((a @ b) ** 2).sum(), [a, b])
    f = symgraph.function([a, b], [ga, gb])
    av, bv = rng.standard_normal((1, 3, 4)), rng.standard_normal((5, 4, 2))
    got_a, got_b = f(av, bv)
    z = np.matmul(av, bv)
    np.testing.assert_allclose(got_a, (2 * z @ np.swapaxes(bv, -1, -2)).sum(0, keepdims=True))
    np.testing.assert_allclose(got_b, np.swapaxes(av, -1, -2) @ (2 * z))
    check_grad(lambda u, v: u @ v, [av, bv], rng)
    check_grad(lambda u, v: u @ v, [rng.standard_normal((5, 3, 4)),
                                    rng.standard_normal((1, 4, 2))], rng)


def test_matmul_second_derivative(rng):
    av, bv = rng.standard_normal((2, 3, 4)), rng.standard_normal((4,))
    check_grad(lambda u, v: T.grad(((u @ v) ** 2).sum(), u), [av, bv], rng)
    check_grad(lambda u, v: T.grad(((u @ v) ** 2).sum(), v), [av, bv], rng)


def test_matmul_emit_and_infer(rng):
    av, bv = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    check_emit(Matmul(), [av, bv])
    check_infer(lambda u, v: u @ v, [av, bv])
    check_infer(lambda u, v: u @ v, [rng.standard_normal(4), bv])


def test_tensordot_axes_forms(rng):
    av, bv = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4, 5))
    a, b = T.tensor3("a"), T.tensor3("b")
    for axes in (2, [[1, 2], [0, 1]], [[-2, -1], [0, 1]], ([2], [1]), 0, (1, 0)):
        out = T.tensordot(a, b, axes)
        np.testing.assert_allclose(symgraph.function([a, b], out)(av, bv),
                                   np.tensordot(av, bv, axes), err_msg=str(axes))


def test_tensordot_static_shape_and_errors():
    a, b = T.tensor("float64", (2, 3, 4)), T.tensor("float64", (4, None, 2))
    assert T.tensordot(a, b, [[0, 2], [2, 0]]).type.shape == (3, None)
    with pytest.raises(ValueError, match="does not match axis"):
        T.tensordot(a, b, [[1], [0]])
    with pytest.raises(ValueError, match="tensordot: axes=4 is invalid"):
        T.tensordot(a, b, 4)
    with pytest.raises(ValueError, match="pair 2 axes with 1"):
        T.tensordot(a, b, [[0, 1], [0]])
    with pytest.raises(ValueError, match="out of range"):
        T.tensordot(a, b, [[3], [0]])
    with pytest.raises(ValueError, match="TensorDot"):
        TensorDot(((0, 0), (0, 1)))(a, b)


def test_tensordot_gradients_with_permuted_axes(rng):
    av, bv = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((5, 6, 2))
    check_grad(lambda u, v: T.tensordot(u, v, [[3, 0], [0, 2]]), [av, bv], rng)
    check_emit(TensorDot(((3, 0), (0, 2))), [av, bv])
    check_infer(lambda u, v: T.tensordot(u, v, [[3, 0], [0, 2]]), [av, bv])


def test_dot_of_higher_ranks_follows_numpy(rng):
    a, b = T.tensor3("a"), T.tensor3("b")
    av, bv = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4, 6))
    np.testing.assert_allclose(symgraph.function([a, b], T.dot(a, b))(av, bv), np.dot(av, bv))
    m = T.matrix("m")
    mv = rng.standard_normal((4, 2))
    np.testing.assert_allclose(symgraph.function([a, m], T.dot(a, m))(av, mv), np.dot(av, mv))


def test_batched_dot_rank_errors():
    with pytest.raises(TypeError, match="batched_dot: operands must have 2 or 3 dimensions"):
        T.batched_dot(T.vector(), T.matrix())
    assert T.batched_dot(T.tensor3(), T.matrix()).ndim == 2
