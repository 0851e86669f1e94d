"""Canonical identities: the graph each rule leaves, and equal values to FAST_COMPILE."""
import numpy as np

import symgraph
import symgraph.tensor as T

from rewrite_helpers import assert_same, op_counts


def _m(rng, *shape, dtype="float64"):
    return rng.standard_normal(shape).astype(dtype)


def test_add_zero_removed(rng):
    x = T.matrix("x")
    f = assert_same([x], x + 0 + T.zeros_like(x) * 0, [_m(rng, 3, 4)])
    assert f.fgraph.outputs[0].owner is None or op_counts(f).get("add", 0) == 0


def test_add_zero_kept_when_it_broadcasts(rng):
    # x: (?, 1) + zeros (1, 3) enlarges x: the add must stay (or the shape would change)
    x = T.tensor("float64", (None, 1), "x")
    f = assert_same([x], x + np.zeros((1, 3)), [_m(rng, 2, 1)])
    assert f(_m(rng, 2, 1)).shape == (2, 3)


def test_add_zero_int_plus_float_keeps_dtype(rng):
    i = T.ivector("i")
    out = i + np.float32(0)
    f = assert_same([i], out, [np.arange(4, dtype="int32")])
    assert f(np.arange(4, dtype="int32")).dtype == np.dtype(out.dtype)


def test_mul_one_removed(rng):
    x = T.matrix("x")
    f = assert_same([x], (x * 1) * np.ones((1, 1)), [_m(rng, 3, 2)])
    assert op_counts(f).get("mul", 0) == 0


def test_mul_zero_becomes_fill(rng):
    x, y = T.matrix("x"), T.vector("y")
    out = T.exp(x) * 0 * y
    f = assert_same([x, y], out, [_m(rng, 2, 3), _m(rng, 3)])
    counts = op_counts(f)
    assert counts.get("mul", 0) == 0 and counts.get("exp", 0) == 0
    assert f(_m(rng, 2, 3), _m(rng, 3)).shape == (2, 3)


def test_mul_zero_broadcast_constant_keeps_shape(rng):
    x = T.vector("x")
    out = x * np.zeros((2, 1))
    f = assert_same([x], out, [_m(rng, 3)])
    assert f(_m(rng, 3)).shape == (2, 3)


def test_sub_zero_and_zero_sub(rng):
    x = T.matrix("x")
    f = assert_same([x], [x - 0, 0 - x], [_m(rng, 2, 2)])
    counts = op_counts(f)
    assert counts.get("sub", 0) == 0 and counts["neg"] == 1


def test_div_one(rng):
    x = T.matrix("x")
    f = assert_same([x], T.exp(x) / 1.0, [_m(rng, 2, 2)])
    assert op_counts(f).get("true_div", 0) == 0


def test_div_one_of_integer_casts(rng):
    i = T.ivector("i")
    out = i / 1
    f = assert_same([i], out, [np.arange(3, dtype="int32")])
    assert f(np.arange(3, dtype="int32")).dtype == np.dtype(out.dtype)
    assert op_counts(f).get("true_div", 0) == 0


def test_double_negation(rng):
    x = T.matrix("x")
    f = assert_same([x], T.exp(-(-x)), [_m(rng, 2, 2)])
    assert op_counts(f).get("neg", 0) == 0


def test_add_neg_becomes_sub(rng):
    x, y = T.matrix("x"), T.matrix("y")
    f = assert_same([x, y], [x + (-y), (-y) + x * 2], [_m(rng, 2, 2), _m(rng, 2, 2)])
    counts = op_counts(f)
    assert counts.get("neg", 0) == 0 and counts["sub"] == 2


def test_sub_neg_becomes_add(rng):
    x, y = T.matrix("x"), T.matrix("y")
    f = assert_same([x, y], x - (-y), [_m(rng, 2, 2), _m(rng, 2, 2)])
    counts = op_counts(f)
    assert counts.get("neg", 0) == 0 and counts["add"] == 1


def test_neg_of_sub(rng):
    x, y = T.matrix("x"), T.matrix("y")
    f = assert_same([x, y], T.exp(-(x - y)), [_m(rng, 2, 2), _m(rng, 2, 2)])
    counts = op_counts(f)
    assert counts.get("neg", 0) == 0 and counts["sub"] == 1


def test_neg_of_shared_sub_is_kept(rng):
    x, y = T.matrix("x"), T.matrix("y")
    d = x - y
    f = assert_same([x, y], [d, -d], [_m(rng, 2, 2), _m(rng, 2, 2)])
    assert op_counts(f)["sub"] == 1  # no second subtraction


def test_mul_minus_one(rng):
    x = T.matrix("x")
    f = assert_same([x], -1 * T.exp(x), [_m(rng, 2, 2)])
    counts = op_counts(f)
    assert counts.get("mul", 0) == 0 and counts["neg"] == 1


def test_flatten_add_and_mul(rng):
    x, y, z = T.matrix("x"), T.matrix("y"), T.matrix("z")
    vals = [_m(rng, 2, 3), _m(rng, 2, 3), _m(rng, 2, 3)]
    f = assert_same([x, y, z], [(x + y) + z, (x * y) * (z * x)], vals)
    adds = [n for n in f.fgraph.apply_nodes if getattr(n.op, "scalar_op", None) is not None
            and n.op.scalar_op.name == "add"]
    muls = [n for n in f.fgraph.apply_nodes if getattr(n.op, "scalar_op", None) is not None
            and n.op.scalar_op.name == "mul"]
    assert len(adds) == 1 and len(adds[0].inputs) == 3
    assert len(muls) == 1 and len(muls[0].inputs) == 4


def test_flatten_keeps_shared_inner_node(rng):
    x, y, z = T.matrix("x"), T.matrix("y"), T.matrix("z")
    s = x + y
    f = assert_same([x, y, z], [s + z, s], [_m(rng, 2, 2), _m(rng, 2, 2), _m(rng, 2, 2)])
    assert op_counts(f)["add"] == 2  # x + y is computed once, not inlined twice


def test_flatten_refuses_mixed_dtypes(rng):
    a, b = T.bvector("a"), T.bvector("b")
    out = (a + b) + T.constant(np.float32(0.5))
    vals = [np.array([100, 100], dtype="int8"), np.array([100, 27], dtype="int8")]
    f = assert_same([a, b], out, vals)
    # int8 overflow inside a + b must survive
    np.testing.assert_allclose(f(*vals), (vals[0] + vals[1]).astype("float32") + 0.5)


def test_combine_constants(rng):
    x = T.vector("x")
    f = assert_same([x], [(x + 1) + 2, (x * 3) * 4], [_m(rng, 5)])
    for n in f.fgraph.apply_nodes:
        consts = [v for v in n.inputs if isinstance(v, symgraph.Constant)]
        assert len(consts) <= 1
    np.testing.assert_allclose(f(np.ones(5))[1], np.full(5, 12.0))


def test_useless_cast():
    from symgraph.fgraph import FunctionGraph
    from symgraph.ops import scalar as S
    from symgraph.ops.elemwise import Elemwise
    from symgraph.rewrite.engine import run_phase
    x = T.vector("x")
    out = Elemwise(S.cast_op("float64"))(x)
    fg = FunctionGraph([x], [out])
    run_phase(fg, "canonicalize")
    assert fg.outputs[0] is x
    f = assert_same([x], T.exp(out), [np.arange(3.0)])
    assert "cast{float64}" not in op_counts(f)


def test_cast_of_cast(rng):
    x = T.fvector("x")
    roundtrip = T.cast(T.cast(x, "float64"), "float32")
    to_int = T.cast(T.cast(x, "float64"), "int32")
    lossy = T.cast(T.cast(T.vector("y"), "float32"), "float64")
    y = lossy.owner.inputs[0].owner.inputs[0]
    xv = (rng.standard_normal(4) * 10).astype("float32")
    yv = rng.standard_normal(4)
    f = assert_same([x, y], [roundtrip, to_int, lossy], [xv, yv])
    casts = [n for n in f.fgraph.apply_nodes if "cast" in str(n.op)]
    assert len(casts) == 3  # one for to_int, two for the lossy chain, none for the roundtrip
    assert not np.array_equal(f(xv, yv)[2], yv)  # float32 rounding is kept


def test_idempotent_maximum(rng):
    x = T.matrix("x")
    f = assert_same([x], T.maximum(x, x) + T.minimum(x, x), [_m(rng, 2, 2)])
    counts = op_counts(f)
    assert counts.get("maximum", 0) == 0 and counts.get("minimum", 0) == 0


def test_fill_cut(rng):
    w = T.matrix("w")
    g = T.grad((w ** 2).sum() * 1e-3, w)
    f = assert_same([w], g, [_m(rng, 3, 4)])
    counts = op_counts(f)
    assert "second" not in counts and "sqr" not in counts and "Alloc" not in counts
    assert counts["mul"] == 1


def test_fill_cut_keeps_broadcasting_fill(rng):
    x, v = T.matrix("x"), T.vector("v")
    out = T.second(x, 2.0) * v  # the fill gives the (n, m) shape v alone lacks
    f = assert_same([x, v], out, [_m(rng, 2, 3), _m(rng, 3)])
    assert f(_m(rng, 2, 3), _m(rng, 3)).shape == (2, 3)


def test_round_of_integer(rng):
    i = T.lvector("i")
    fi = T.cast(i, "float64")
    out = [T.ceil(fi), T.floor(fi), T.round(fi), T.cast(T.ceil(fi), "int64")]
    vals = [np.array([-3, 0, 7], dtype="int64")]
    f = assert_same([i], out, vals)
    counts = op_counts(f)
    assert not {"ceil", "floor", "round", "round_half_away_from_zero"} & set(counts)
    assert f.fgraph.outputs[3] is f.fgraph.inputs[0]  # cast(cast(i)) is i itself


def test_neg_into_constant(rng):
    x, y = T.matrix("x"), T.matrix("y")
    f = assert_same([x, y], [-(0.1 * T.exp(x)), (-T.exp(y)) * 3.0], [_m(rng, 2, 3), _m(rng, 2, 3)])
    counts = op_counts(f)
    assert "neg" not in counts and counts["mul"] == 2
    consts = sorted(float(v.data) for n in f.fgraph.apply_nodes for v in n.inputs
                    if isinstance(v, symgraph.Constant) and v.ndim == 0)
    assert consts == [-3.0, -0.1]
