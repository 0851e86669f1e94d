"""Shape rules: shapes come from producers' inputs, useless shape ops disappear."""
import numpy as np

import symgraph
import symgraph.tensor as T
from symgraph.ops.shape import ShapeI, sum_to_shape
from symgraph.rewrite.shapes import covered, dims_equal, infer_shape

from rewrite_helpers import assert_same, op_counts


def _m(rng, *shape):
    return rng.standard_normal(shape)


def test_shape_of_dot_needs_no_product(rng):
    x, w = T.matrix("x"), T.matrix("w")
    out = T.dot(x, w).shape
    f = assert_same([x, w], out, [_m(rng, 3, 4), _m(rng, 4, 5)])
    counts = op_counts(f)
    assert "Dot" not in counts and "Shape" not in counts
    np.testing.assert_array_equal(f(_m(rng, 3, 4), _m(rng, 4, 5)), [3, 5])


def test_shape_i_of_elemwise_chain(rng):
    x = T.matrix("x")
    out = T.exp(T.tanh(x) * 2).shape[1]
    f = assert_same([x], out, [_m(rng, 2, 7)])
    assert set(op_counts(f)) == {"ShapeI"}
    assert f.fgraph.outputs[0].owner.inputs[0] is f.fgraph.inputs[0]


def test_static_shape_folds_to_constant():
    x = T.tensor("float64", (3, 2), "x")
    f = symgraph.function([x], T.exp(x).shape, on_unused_input="ignore")
    assert not f.fgraph.apply_nodes
    np.testing.assert_array_equal(f(np.zeros((3, 2))), [3, 2])


def test_dimshuffle_composition(rng):
    x = T.tensor3("x")
    out = x.dimshuffle(2, 0, 1).dimshuffle(1, "x", 2, 0)
    f = assert_same([x], out, [_m(rng, 2, 3, 4)])
    ds = [n for n in f.fgraph.apply_nodes if type(n.op).__name__ == "DimShuffle"]
    assert len(ds) == 1 and ds[0].op.new_order == (0, "x", 1, 2)


def test_dimshuffle_roundtrip_is_identity(rng):
    x = T.matrix("x")
    f = assert_same([x], T.exp(x.T.T), [_m(rng, 2, 3)])
    assert "DimShuffle" not in op_counts(f)


def test_dimshuffle_drop_after_insert(rng):
    x = T.matrix("x")
    f = assert_same([x], T.exp(x.dimshuffle(0, "x", 1).dimshuffle(0, 2)), [_m(rng, 2, 3)])
    assert "DimShuffle" not in op_counts(f)


def test_reshape_of_reshape(rng):
    x = T.matrix("x")
    out = x.reshape((6,)).reshape((3, 2))
    f = assert_same([x], out, [_m(rng, 2, 3)])
    rs = [n for n in f.fgraph.apply_nodes if type(n.op).__name__ == "Reshape"]
    assert len(rs) == 1 and rs[0].inputs[0] is f.fgraph.inputs[0]


def test_useless_reshape(rng):
    x = T.matrix("x")
    out = T.exp(x).reshape(x.shape) + x.reshape((x.shape[0], x.shape[1]))
    f = assert_same([x], out, [_m(rng, 2, 3)])
    assert "Reshape" not in op_counts(f)


def test_sum_to_shape_removed_when_shapes_agree(rng):
    x = T.matrix("x")
    g = T.exp(x)
    out = sum_to_shape(g, x.shape)
    f = assert_same([x], out, [_m(rng, 2, 3)])
    assert "SumToShape" not in op_counts(f) and "SumToDims" not in op_counts(f)


def test_sum_to_shape_kept_when_broadcast_possible(rng):
    x, y = T.matrix("x"), T.matrix("y")
    g = T.grad((x * y).sum(), x)
    f = assert_same([x, y], g, [_m(rng, 1, 3), _m(rng, 2, 3)])
    # kept as the run-time check (specialized to take the dims as scalars)
    assert {"SumToShape", "SumToDims"} & set(op_counts(f))
    assert f(_m(rng, 1, 3), _m(rng, 2, 3)).shape == (1, 3)


def test_useless_second(rng):
    x = T.matrix("x")
    y = T.exp(x)
    out = T.second(x, y)  # y already has x's shape
    f = assert_same([x], out, [_m(rng, 2, 3)])
    assert "second" not in op_counts(f)


def test_second_kept_when_it_broadcasts(rng):
    x, v = T.matrix("x"), T.vector("v")
    f = assert_same([x, v], T.second(x, v), [_m(rng, 2, 3), _m(rng, 3)])
    assert f(_m(rng, 2, 3), _m(rng, 3)).shape == (2, 3)


def test_second_of_product_only_for_shape_drops_product(rng):
    x, w = T.matrix("x"), T.matrix("w")
    out = T.ones_like(T.dot(x, w))
    f = assert_same([x, w], out, [_m(rng, 2, 3), _m(rng, 3, 4)])
    assert "Dot" not in op_counts(f)


def test_gradient_of_sum_of_dot_reuses_nothing_big(rng):
    x, w = T.matrix("x"), T.matrix("w")
    g = T.grad(T.dot(x, w).sum(), w)
    f = assert_same([x, w], g, [_m(rng, 2, 3), _m(rng, 3, 4)])
    assert op_counts(f)["Dot"] == 1  # x.T . ones; the forward product is not computed


def test_alloc_of_same_shape(rng):
    x = T.matrix("x")
    y = T.exp(x)
    out = T.alloc(y, x.shape[0], x.shape[1])
    f = assert_same([x], out, [_m(rng, 2, 3)])
    assert "Alloc" not in op_counts(f)


def test_infer_shape_and_dims_equal():
    x, w = T.matrix("x"), T.matrix("w")
    d = T.dot(x, w)
    s = infer_shape(T.exp(d))
    assert dims_equal(s[0], ShapeI(0)(x)) and dims_equal(s[1], ShapeI(1)(w))
    assert not dims_equal(s[0], ShapeI(0)(w))
    assert dims_equal(3, T.constant(np.int64(3))) and not dims_equal(3, s[0])


def test_covered_static_and_symbolic():
    x = T.matrix("x")
    row = T.tensor("float64", (1, None), "row")
    out = x + row
    assert not covered([row], [x], out)  # row's dim 1 may enlarge x's at run time
    assert covered([T.exp(x)], [x], x * T.exp(x))
    assert covered([T.constant(np.ones((1, 1)))], [x], x + 1)


def test_int32_user_dims_become_int64_shapes():
    x, n = T.vector("x"), T.iscalar("n")
    y = T.exp(x.reshape((n, 3)))
    a = T.alloc(T.constant(1.0), n, 3)
    outs = [y.shape[0], y.shape, T.exp(a).shape[0], T.exp(a).shape]
    f = symgraph.function([x, n], outs)
    ref = symgraph.function([x, n], outs, mode="FAST_COMPILE")
    for got, want in zip(f(np.arange(6.0), 2), ref(np.arange(6.0), 2)):
        assert np.asarray(got).dtype == np.int64
        np.testing.assert_array_equal(got, want)
    assert "Reshape" not in op_counts(f) and "Alloc" not in op_counts(f)
