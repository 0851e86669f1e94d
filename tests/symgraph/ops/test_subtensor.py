"""Indexing ops against NumPy: forward values, static and inferred shapes, emitted code,
gradients (finite differences), build-time errors and a minibatch ``givens`` example."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.graph import Constant, Variable
from symgraph.ops.variable import as_tensor_variable
from symgraph.ops.indexing import SliceLen
from symgraph.ops.shape import ShapeI, shape_i
from symgraph.ops.subtensor import (AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor,
                                    Subtensor)

ATOL = 1e-12


@pytest.fixture(autouse=True)
def _verify_after_each_phase(monkeypatch):
    """Run the IR checker after every rewrite phase of every compilation in this module."""
    from symgraph.rewrite import engine
    from symgraph.verify import check_fgraph
    original = engine.run_phase

    def checked(fgraph, phase, *args, **kwargs):
        result = original(fgraph, phase, *args, **kwargs)
        check_fgraph(fgraph, where=f"phase {phase!r}")
        return result

    monkeypatch.setattr(engine, "run_phase", checked)


def _mask(axis_dims, rng):
    """A boolean mask for the given dimensions with at least one True entry."""
    m = rng.random(axis_dims) < 0.5
    m.flat[0] = True
    return m


# Each case maps (shape of a 3-d x, rng) to an index NumPy accepts; shapes are >= 4 per dim.
BASIC = {
    "int": lambda s, r: 1,
    "neg_int": lambda s, r: -1,
    "two_ints": lambda s, r: (1, 2),
    "three_ints": lambda s, r: (1, -2, 3),
    "slice": lambda s, r: slice(1, 3),
    "neg_step": lambda s, r: slice(None, None, -1),
    "neg_step_bounds": lambda s, r: slice(3, 0, -2),
    "slice_step": lambda s, r: (slice(None), slice(1, None, 2)),
    "out_of_range_slice": lambda s, r: slice(10, 20),
    "wide_slice": lambda s, r: slice(-100, 100),
    "newaxis": lambda s, r: (None, 1),
    "ellipsis_int": lambda s, r: (Ellipsis, 2),
    "int_ellipsis_newaxis": lambda s, r: (1, Ellipsis, None),
    "mixed": lambda s, r: (slice(-3, None), None, 0),
    "empty_tuple": lambda s, r: (),
    "ellipsis": lambda s, r: Ellipsis,
    "middle_ellipsis": lambda s, r: (0, Ellipsis, slice(0, 2)),
}

ADVANCED = {
    "list_dups": lambda s, r: [0, 2, 2],
    "second_axis": lambda s, r: (slice(None), [1, 0, 1]),
    "matrix_index": lambda s, r: np.array([[0, 1], [1, 0], [3, 3]]),
    "two_arrays": lambda s, r: ([0, 1, 1], [2, 3, 2]),
    "separated": lambda s, r: ([0, 1], slice(None), [2, 3]),
    "adjacent": lambda s, r: (slice(None), [0, 1], [1, 2]),
    "int_separates": lambda s, r: (0, slice(None), [1, 2]),
    "int_adjacent": lambda s, r: (slice(None), 0, [1, 2]),
    "newaxis_separates": lambda s, r: ([0, 1], None, [1, 2]),
    "broadcast_arrays": lambda s, r: (np.array([[0], [1]]), np.array([1, 2, 3])),
    "negative": lambda s, r: [-1, 0, -1],
    "ellipsis_array": lambda s, r: (Ellipsis, [1, 1]),
    "mask_first": lambda s, r: _mask(s[:1], r),
    "mask_2d": lambda s, r: _mask(s[:2], r),
    "mask_second": lambda s, r: (slice(None), _mask(s[1:2], r)),
    "mask_and_array": lambda s, r: (_mask(s[:1], r)[: s[0]], slice(1, 3), [0]),
    "empty_list": lambda s, r: [],
}

CASES = {**BASIC, **ADVANCED}


def _shape(rng):
    return tuple(int(d) for d in rng.integers(4, 7, size=3))


def _symbolic_index(idx):
    """Replace every int / slice bound / array of ``idx`` by a fresh input variable.

    Returns ``(symbolic index, inputs, values)``.
    """
    inputs, values = [], []

    def scalar(v):
        var = T.lscalar(f"i{len(inputs)}")
        inputs.append(var)
        values.append(np.int64(v))
        return var

    def convert(e):
        if e is None or e is Ellipsis:
            return e
        if isinstance(e, slice):
            return slice(*[None if p is None else scalar(p) for p in (e.start, e.stop, e.step)])
        if isinstance(e, (int, np.integer)):
            return scalar(e)
        arr = np.asarray(e)
        if arr.dtype.kind == "f":  # the empty list
            arr = arr.astype("int64")
        dtype = "bool" if arr.dtype == bool else "int64"
        var = T.tensor(dtype, (None,) * arr.ndim, name=f"a{len(inputs)}")
        inputs.append(var)
        values.append(arr.astype(dtype))
        return var

    if isinstance(idx, tuple):
        return tuple(convert(e) for e in idx), inputs, values
    return convert(idx), inputs, values


def _check_static(var: Variable, value: np.ndarray):
    assert var.ndim == value.ndim, (var.type, value.shape)
    for s, d in zip(var.type.shape, value.shape):
        assert s is None or s == d, (var.type, value.shape)


# ---------------------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_static_index(name, rng):
    shape = _shape(rng)
    a = rng.standard_normal(shape)
    idx = CASES[name](shape, rng)
    want = a[idx]
    for x in (T.tensor("float64", (None,) * 3, name="x"), T.tensor("float64", shape, name="x")):
        out = x[idx]
        expected_op = AdvancedSubtensor if name in ADVANCED else Subtensor
        assert isinstance(out.owner.op, expected_op)
        got = symgraph.function([x], out)(a)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=ATOL)
        _check_static(out, want)
    # a static input shape and static indices give a fully static result shape
    assert out.type.shape == want.shape


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_symbolic_index(name, rng):
    shape = _shape(rng)
    a = rng.standard_normal(shape)
    idx = CASES[name](shape, rng)
    sym, inputs, values = _symbolic_index(idx)
    x = T.tensor3("x")
    out = x[sym]
    want = a[idx]
    for mode in ("FAST_RUN", "FAST_COMPILE", "DebugMode"):
        got = symgraph.function([x] + inputs, out, mode=mode)(a, *values)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=ATOL)
    _check_static(out, want)


@pytest.mark.parametrize("name", sorted(CASES))
def test_emit_matches_perform(name, rng):
    shape = _shape(rng)
    a = rng.standard_normal(shape)
    idx = CASES[name](shape, rng)
    sym, inputs, values = _symbolic_index(idx)
    x = T.tensor3("x")
    out = x[sym]
    f = symgraph.function([x] + inputs, out, mode="FAST_COMPILE")
    assert "_perform_" not in f.source  # the op wrote its own NumPy expression
    given = dict(zip([x] + inputs, [a] + values))
    args = [given[v] if v in given else v.data for v in out.owner.inputs]
    ref = out.owner.op.perform(*args)
    got = f(a, *values)
    assert np.asarray(ref).shape == got.shape
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("name", sorted(CASES))
def test_infer_shape(name, rng):
    shape = _shape(rng)
    a = rng.standard_normal(shape)
    idx = CASES[name](shape, rng)
    sym, inputs, values = _symbolic_index(idx)
    x = T.tensor3("x")
    node = x[sym].owner
    in_shapes = [tuple(shape_i(v, k) for k in range(v.ndim)) for v in node.inputs]
    (dims,) = node.op.infer_shape(node, in_shapes)
    dims = [as_tensor_variable(np.int64(d)) if isinstance(d, (int, np.integer)) else d
            for d in dims]
    want = a[idx].shape
    assert len(dims) == len(want)
    if dims:
        got = symgraph.function([x] + inputs, dims, on_unused_input="ignore")(a, *values)
        assert tuple(int(g) for g in got) == want


@pytest.mark.parametrize("name", sorted(CASES))
def test_shape_of_result_compiles(name, rng):
    """``x[idx].shape`` in an optimized function (the shape rules use ``infer_shape``)."""
    shape = _shape(rng)
    a = rng.standard_normal(shape)
    idx = CASES[name](shape, rng)
    sym, inputs, values = _symbolic_index(idx)
    x = T.tensor3("x")
    out = x[sym]
    f = symgraph.function([x] + inputs, [out.shape, out.sum()], on_unused_input="ignore")
    got_shape, got_sum = f(a, *values)
    assert tuple(got_shape) == a[idx].shape
    np.testing.assert_allclose(got_sum, a[idx].sum(), atol=1e-10)


def test_basic_is_a_view_and_fully_indexed_is_0d(rng):
    a = rng.standard_normal((4, 5))
    op = Subtensor((1, ("slice", None, None, 2)))
    assert np.shares_memory(op.perform(a), a)
    assert op.view_map == {0: [0]}
    full = Subtensor((1, 2)).perform(a)
    assert isinstance(full, np.ndarray) and full.shape == () and full == a[1, 2]
    # a symbolic scalar index must still give a view, not NumPy's advanced-index copy
    sym = Subtensor(("?",)).perform(a, np.array(2))
    assert np.shares_memory(sym, a)


def test_symbolic_slice_bounds_and_negative_step(rng):
    a = rng.standard_normal((9, 3))
    x = T.matrix("x")
    i, j, k = T.lscalar("i"), T.lscalar("j"), T.iscalar("k")
    f = symgraph.function([x, i, j, k], [x[i * 2:(i + 1) * 2], x[j:i:k], x[::k, i]])
    for iv, jv, kv in [(0, 8, -1), (1, 0, 2), (2, -1, -3), (2, 2, 1)]:
        got = f(a, iv, jv, np.int32(kv))
        np.testing.assert_array_equal(got[0], a[iv * 2:(iv + 1) * 2])
        np.testing.assert_array_equal(got[1], a[jv:iv:kv])
        np.testing.assert_array_equal(got[2], a[::kv, iv])


def test_boolean_mask_from_comparison(rng):
    a = rng.standard_normal((5, 4))
    x = T.matrix("x")
    out = x[x > 0]
    assert isinstance(out.owner.op, AdvancedSubtensor) and out.type.shape == (None,)
    np.testing.assert_array_equal(symgraph.function([x], out)(a), a[a > 0])
    m = T.tensor("bool", (None,), name="m")
    f = symgraph.function([x, m], x[m, 1:])
    mask = np.array([True, False, True, True, False])
    np.testing.assert_array_equal(f(a, mask), a[mask, 1:])


def test_arange_pairs_like_nll(rng):
    p = rng.random((6, 3))
    y = rng.integers(0, 3, size=6)
    P, Y = T.matrix("p"), T.lvector("y")
    cost = -T.log(P[T.arange(Y.shape[0]), Y]).mean()
    got = symgraph.function([P, Y], cost)(p, y)
    np.testing.assert_allclose(got, -np.log(p[np.arange(6), y]).mean(), rtol=1e-12)


def test_shape_special_case_and_shape_slices(rng):
    a = rng.standard_normal((3, 5, 2))
    x = T.tensor3("x")
    assert isinstance(x.shape[0].owner.op, ShapeI)
    assert x.shape[-1].owner.op == ShapeI(2)
    assert T.tensor("float64", (3, None))[0:1].type.shape == (1, None)
    f = symgraph.function([x], [x.shape[1:], x.shape[::-1]])
    got = f(a)
    np.testing.assert_array_equal(got[0], [5, 2])
    np.testing.assert_array_equal(got[1], [2, 5, 3])


def test_equal_patterns_merge():
    x = T.matrix("x")
    i, j = T.lscalar("i"), T.lscalar("j")
    assert x[i:i + 2].owner.op == x[j:j + 3].owner.op  # bounds are inputs, not identity
    assert hash(x[i:i + 2].owner.op) == hash(x[j:j + 3].owner.op)
    assert x[1:3].owner.op != x[1:4].owner.op
    assert x[1:3].owner.op == x[1:3, ...].owner.op == x[1:3, :].owner.op
    assert x[[0, 1]].owner.op == x[[1, 1, 0]].owner.op
    f = symgraph.function([x, i], [x[i:i + 2] * 2, x[i:i + 2] + 1])
    assert sum(isinstance(n.op, Subtensor) for n in f.fgraph.apply_nodes) == 1


def test_op_names_show_the_pattern():
    x, i = T.tensor3("x"), T.lscalar("i")
    assert str(x[1:i, None, ::-1].owner.op) == "Subtensor{1:?, None, ::-1}"
    assert str(x[:, [0, 1]].owner.op) == "AdvancedSubtensor{:, [?]}"
    assert str(T.set_subtensor(x[i], 0.0).owner.op) == "SetSubtensor{?}"


# ---------------------------------------------------------------------------------------
# set / increment
# ---------------------------------------------------------------------------------------

SET_CASES = [
    ("slice", lambda x: x[1:3], lambda a: a[1:3], (2, 4)),
    ("int", lambda x: x[2], lambda a: a[2], (4,)),
    ("element", lambda x: x[2, 1], lambda a: a[2, 1], ()),
    ("broadcast_row", lambda x: x[1:4], lambda a: a[1:4], (1, 4)),
    ("broadcast_low_rank", lambda x: x[:, ::2], lambda a: a[:, ::2], (2,)),
    ("newaxis", lambda x: x[None, 1:3], lambda a: a[None, 1:3], (1, 2, 4)),
    ("array", lambda x: x[[0, 3, 1]], lambda a: a[[0, 3, 1]], (3, 4)),
    ("array_dups", lambda x: x[[0, 3, 0, 0]], lambda a: a[[0, 3, 0, 0]], (4, 4)),
    ("pairs_dups", lambda x: x[[1, 1, 2], [0, 0, 3]], lambda a: a[[1, 1, 2], [0, 0, 3]], (3,)),
    ("mask", lambda x: x[np.array([True, False, True, False, True])],
     lambda a: a[np.array([True, False, True, False, True])], (3, 4)),
    ("array_newaxis_dups", lambda x: x[[0, 0], None, 1:3], lambda a: a[[0, 0], None, 1:3],
     (2, 1, 2)),
    ("scalar_into_array", lambda x: x[:, [1, 1]], lambda a: a[:, [1, 1]], ()),
]


def _numpy_write(a, view_of, y, set_):
    """Reference: write through the NumPy view/indices; increments accumulate duplicates."""
    out = a.copy()
    probe = np.arange(a.size).reshape(a.shape)
    flat_idx = view_of(probe)
    yb = np.broadcast_to(y, flat_idx.shape)
    if set_:
        out.flat[flat_idx.ravel()] = yb.ravel()
    else:
        np.add.at(out.reshape(-1), flat_idx.ravel(), yb.ravel())
    return out


@pytest.mark.parametrize("set_", [True, False], ids=["set", "inc"])
@pytest.mark.parametrize("case", SET_CASES, ids=[c[0] for c in SET_CASES])
def test_set_and_inc_forward(case, set_, rng):
    name, sym, view_of, yshape = case
    a = rng.standard_normal((5, 4))
    b = rng.standard_normal(yshape)
    x, y = T.matrix("x"), T.tensor("float64", (None,) * len(yshape), name="y")
    fn = T.set_subtensor if set_ else T.inc_subtensor
    out = fn(sym(x), y)
    advanced = isinstance(sym(x).owner.op, AdvancedSubtensor)
    assert isinstance(out.owner.op, AdvancedIncSubtensor if advanced else IncSubtensor)
    assert out.type == x.type
    want = _numpy_write(a, view_of, b, set_)
    a_before = a.copy()
    for mode in ("FAST_RUN", "FAST_COMPILE", "DebugMode"):
        got = symgraph.function([x, y], out, mode=mode)(a, b)
        np.testing.assert_allclose(got, want, atol=ATOL)
    np.testing.assert_array_equal(a, a_before)  # never written in place
    node = out.owner
    ref = node.op.perform(*[{x: a, y: b}.get(v, getattr(v, "data", None)) for v in node.inputs])
    np.testing.assert_allclose(ref, want, atol=ATOL)
    np.testing.assert_array_equal(a, a_before)


def test_inc_accumulates_duplicates_set_keeps_numpy(rng):
    a = np.zeros(4)
    x, idx = T.vector("x"), T.lvector("idx")
    inc = symgraph.function([x, idx], T.inc_subtensor(x[idx], 1.0))
    np.testing.assert_array_equal(inc(a, [0, 0, 2, 0]), [3.0, 0.0, 1.0, 0.0])
    setf = symgraph.function([x, idx], T.set_subtensor(x[idx], np.arange(4.0)))
    want = a.copy()
    want[[0, 0, 2, 0]] = np.arange(4.0)
    np.testing.assert_array_equal(setf(a, [0, 0, 2, 0]), want)


def test_set_subtensor_symbolic_bounds_and_dtype_cast(rng):
    a = rng.standard_normal((6, 3)).astype("float32")
    x, i = T.fmatrix("x"), T.lscalar("i")
    y = T.dvector("y")  # float64 into float32: same kind, cast like NumPy's setitem
    out = T.set_subtensor(x[i:i + 2, 1], y)
    assert out.dtype == "float32"
    got = symgraph.function([x, i, y], out)(a, 2, np.array([7.0, 8.0]))
    want = a.copy()
    want[2:4, 1] = [7.0, 8.0]
    np.testing.assert_array_equal(got, want)
    iv = T.ivector("iv")
    got_int = symgraph.function([iv], T.inc_subtensor(iv[1:], 2))(np.array([1, 2, 3], "int32"))
    np.testing.assert_array_equal(got_int, [1, 4, 5])


# ---------------------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------------------

GRAD_BASIC = [(1,), (slice(1, 3),), (slice(None, None, -2), 1), (None, Ellipsis, 2),
              (1, 2, 3), (slice(-2, None), None, slice(0, 4, 3))]


@pytest.mark.parametrize("idx", GRAD_BASIC, ids=str)
def test_grad_subtensor(idx, rng):
    a = rng.standard_normal((4, 5, 6))
    T.verify_grad(lambda x: x[idx], [a], rng=rng)


GRAD_ADVANCED = [
    ([0, 2, 2, 2, 1],),                        # duplicates accumulate
    (slice(None), [1, 1, 0]),
    ([0, 0, 3], slice(1, 4), [5, 5, 0]),       # separated: advanced dims go first
    (np.array([[1, 1], [0, 1]]), None),
    (np.array([True, False, True, True]),),
    (slice(None), np.array([[True, False, True, False, False, True]] * 5)),
]


@pytest.mark.parametrize("idx", GRAD_ADVANCED, ids=lambda i: str(i).replace("\n", ""))
def test_grad_advanced_subtensor(idx, rng):
    a = rng.standard_normal((4, 5, 6))
    T.verify_grad(lambda x: x[idx], [a], rng=rng)


def test_grad_advanced_duplicates_exact(rng):
    a = rng.standard_normal((4, 3))
    x, idx = T.matrix("x"), T.lvector("idx")
    w = rng.standard_normal((5, 3))
    g = T.grad((x[idx] * w).sum(), x)
    assert any(isinstance(n.owner.op, AdvancedIncSubtensor) for n in [g] if n.owner)
    iv = np.array([0, 2, 2, 0, 2])
    want = np.zeros_like(a)
    np.add.at(want, iv, w)
    np.testing.assert_allclose(symgraph.function([x, idx], g)(a, iv), want, rtol=1e-12)


def test_grad_of_symbolic_slice_and_index_inputs(rng):
    a = rng.standard_normal((7, 3))
    x, i = T.matrix("x"), T.lscalar("i")
    cost = (x[i:i + 3] ** 2).sum()
    g = symgraph.function([x, i], T.grad(cost, x))(a, 2)
    want = np.zeros_like(a)
    want[2:5] = 2 * a[2:5]
    np.testing.assert_allclose(g, want, rtol=1e-12)
    assert Subtensor(("?",)).grad([x, i], [x[i]], [T.vector()])[1] is None


@pytest.mark.parametrize("set_", [True, False], ids=["set", "inc"])
@pytest.mark.parametrize("case", SET_CASES, ids=[c[0] for c in SET_CASES])
def test_grad_set_inc_both_inputs(case, set_, rng):
    name, sym, _, yshape = case
    if set_ and "dups" in name or set_ and name == "scalar_into_array":
        pytest.skip("setting through repeated indices: only one write survives, NumPy "
                    "decides which; the gradient w.r.t. y assumes all do")
    a = rng.standard_normal((5, 4))
    b = rng.standard_normal(yshape)
    fn = T.set_subtensor if set_ else T.inc_subtensor
    T.verify_grad(lambda x, y: fn(sym(x), y) ** 2, [a, b], rng=rng)


def test_grad_set_dups_wrt_x(rng):
    a = rng.standard_normal((5, 4))
    T.verify_grad(lambda x: T.set_subtensor(x[[0, 3, 0]], 1.5) ** 2, [a], rng=rng)


def test_second_order_through_indexing(rng):
    a = rng.standard_normal(5)
    T.verify_grad(lambda x: T.grad((x[[0, 0, 3]] ** 3).sum() + (x[1:] ** 3).sum(), x),
                  [a], rng=rng)


# ---------------------------------------------------------------------------------------
# build-time errors
# ---------------------------------------------------------------------------------------

def test_errors_at_build_time():
    x = T.tensor("float64", (3, None), name="x")
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 1, 2]
    with pytest.raises(IndexError, match="too many indices"):
        x[np.ones((3, 2, 2), bool)]
    with pytest.raises(IndexError, match="float"):
        x[1.0]
    with pytest.raises(IndexError, match="float64"):
        x[T.dscalar("f")]
    with pytest.raises(IndexError, match="slice bound"):
        x[T.dscalar("f"):]
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 3"):
        x[-4, 1]
    with pytest.raises(IndexError, match="out of bounds"):
        x[[0, 5]]
    with pytest.raises(IndexError, match="boolean mask"):
        x[np.array([True, False])]
    with pytest.raises(IndexError, match="single Ellipsis"):
        x[..., 0, ...]
    with pytest.raises(ValueError, match="step cannot be zero"):
        x[::0]
    with pytest.raises(IndexError, match="boolean scalar"):
        x[True]
    x[100:200]  # out-of-range slices are legal NumPy: empty
    assert x[-3].type.shape == (None,)


def test_set_inc_errors():
    x = T.matrix("x")
    with pytest.raises(TypeError, match="result of indexing"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match="result of indexing"):
        T.inc_subtensor(x * 2, 1.0)
    with pytest.raises(ValueError, match="cannot write"):
        T.set_subtensor(x[0], T.matrix("y"))
    with pytest.raises(ValueError, match="does not broadcast"):
        T.inc_subtensor(T.tensor("float64", (4, 3))[1:3], T.tensor("float64", (3, 3)))
    with pytest.raises(TypeError, match="cannot write"):
        T.set_subtensor(T.lmatrix("k")[0], T.dvector("d"))
    with pytest.raises(TypeError, match="cannot write"):
        T.set_subtensor(T.lmatrix("k")[0], 1.5)
    with pytest.raises(TypeError, match="does not fit"):
        T.inc_subtensor(T.bvector("b")[1:], 300)


def test_ops_check_their_index_inputs():
    x = T.matrix("x")
    with pytest.raises(TypeError, match="integer scalar"):
        Subtensor(("?",))(x, T.dscalar())
    with pytest.raises(TypeError, match="index inputs"):
        Subtensor(("?",))(x)
    with pytest.raises(TypeError, match="AdvancedSubtensor"):
        Subtensor(("[?]",))(x, T.lvector())
    with pytest.raises(TypeError, match="integer or boolean array"):
        AdvancedSubtensor(("[?]",))(x, T.dvector())
    with pytest.raises(IndexError, match="too many indices"):
        Subtensor((0, 1, 2))(x)
    with pytest.raises(IndexError, match="too many indices"):
        AdvancedSubtensor((0, "[?]"))(x, T.tensor("bool", (None, None)))
    with pytest.raises(IndexError, match="too many indices"):
        IncSubtensor((0, 1, "?"))(x, 1.0, T.lscalar())
    for bad in [(1.5,), (True,), (("slice", 1, 2),), (("slice", None, None, 0),), ("x",)]:
        with pytest.raises(TypeError, match="malformed index pattern"):
            Subtensor(bad)


def test_slice_len_matches_python(rng):
    n = T.lscalar("n")
    a, b, c = T.lscalar("a"), T.lscalar("b"), T.lscalar("c")
    out = SliceLen(("?", "?", "?"))(n, a, b, c)
    f = symgraph.function([n, a, b, c], out)
    for _ in range(50):
        nv, av, bv = (int(v) for v in rng.integers(-8, 9, size=3))
        nv, cv = abs(nv), int(rng.choice([-3, -2, -1, 1, 2, 3]))
        assert f(nv, av, bv, cv) == len(range(nv)[av:bv:cv])


# ---------------------------------------------------------------------------------------
# the minibatch idiom
# ---------------------------------------------------------------------------------------

def test_givens_minibatch(rng):
    bs = 4
    data_val = rng.standard_normal((10, 3))
    target_val = rng.integers(0, 2, size=10)
    data = symgraph.shared(data_val, name="data")
    targets = symgraph.shared(target_val, name="targets")
    w = symgraph.shared(np.zeros(3), name="w")
    x, y, index = T.matrix("x"), T.lvector("y"), T.lscalar("index")
    p = T.sigmoid(T.dot(x, w))
    cost = -T.mean(y * T.log(p) + (1 - y) * T.log(1 - p))
    gw = T.grad(cost, w)
    train = symgraph.function(
        [index], cost, updates=[(w, w - 0.5 * gw)],
        givens={x: data[index * bs:(index + 1) * bs], y: targets[index * bs:(index + 1) * bs]})
    w_np = np.zeros(3)
    for i in [0, 1, 2, 0]:
        xb, yb = data_val[i * bs:(i + 1) * bs], target_val[i * bs:(i + 1) * bs]
        pb = 1 / (1 + np.exp(-xb @ w_np))
        want = -np.mean(yb * np.log(pb) + (1 - yb) * np.log(1 - pb))
        np.testing.assert_allclose(train(i), want, rtol=1e-10)
        w_np = w_np - 0.5 * xb.T @ (pb - yb) / len(yb)
        np.testing.assert_allclose(w.get_value(), w_np, rtol=1e-10)
    np.testing.assert_array_equal(data.get_value(), data_val)


def test_index_spellings(rng):
    a = rng.standard_normal((5, 4))
    x, i, j = T.matrix("x"), T.lscalar("i"), T.iscalar("j")
    assert x[np.int64(2)].owner.op == x[2].owner.op == x[np.array(2)].owner.op
    assert x[T.constant(np.int64(2))].owner.op == Subtensor((2,))
    assert str(SliceLen(("?", None, 2))) == "SliceLen{?::2}"
    outs = [x[[i, j]], x[[[0, 1]]], x[[True, False, True, True, False]],
            x[np.array([1, 2], dtype="uint8")], x[T.bvector("b")], x[:, -2:]]
    f = symgraph.function([x, i, j, outs[4].owner.inputs[1]], outs)
    got = f(a, 3, np.int32(1), np.array([-1, 0], dtype="int8"))
    want = [a[[3, 1]], a[[[0, 1]]], a[[True, False, True, True, False]], a[[1, 2]],
            a[[-1, 0]], a[:, -2:]]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_unbroadcastable_index_arrays_fail_at_build_time():
    x = T.matrix("x")
    with pytest.raises(ValueError, match="cannot be broadcast"):
        x[[0, 1], [0, 1, 2]]
    with pytest.raises(ValueError, match="cannot be broadcast"):
        x[T.tensor("int64", (2,)), T.tensor("int64", (3,))]


def test_infer_shape_of_every_node_in_gradient_graphs(rng):
    """Every node of forward and gradient graphs: infer_shape vs the computed shapes."""
    from symgraph.testing import check_infer
    a, b = rng.standard_normal((6, 4)), rng.standard_normal((2, 1))
    idx = np.array([0, 3, 0])

    def graph(x, y, i, k):
        cost = ((T.set_subtensor(x[i:i + 2, ::-2], y) ** 2).sum() + x[k, 1:].sum()
                + T.inc_subtensor(x[:, k[:2]], y[0]).sum() + x[x > 0].sum())
        return [cost] + T.grad(cost, [x, y])

    check_infer(graph, [a, b, np.int64(2), idx])
    check_infer(graph, [a, b, np.int64(2), idx], static=True)


@pytest.mark.parametrize("set_", [True, False], ids=["set", "inc"])
def test_check_emit_inc_ops(set_, rng):
    from symgraph.testing import check_emit
    a = rng.standard_normal((5, 4))
    check_emit(IncSubtensor((("slice", "?", None, -1), 2), set_),
               [a, rng.standard_normal(4), np.int64(3)])
    check_emit(AdvancedIncSubtensor(("[?]", None, ("slice", 1, None, None)), set_),
               [a, rng.standard_normal((3, 1, 3)), np.array([4, 0, 4])])


def _random_index(shape, rng):
    """A random NumPy index for an array of ``shape``: ints, slices (negative steps,
    out-of-range bounds), new axes, an Ellipsis, integer arrays (one common shape, with
    repeats) and boolean masks."""
    entries = []
    axis = 0
    arr_shape = tuple(int(d) for d in rng.integers(1, 4, size=int(rng.integers(1, 3))))
    while axis < len(shape) and rng.random() < 0.8:
        n = shape[axis]
        kind = rng.choice(["int", "slice", "slice", "array", "mask", "none"])
        if kind == "int":
            entries.append(int(rng.integers(-n, n)))
        elif kind == "slice":
            def bound():
                return None if rng.random() < 0.3 else int(rng.integers(-n - 2, n + 3))
            step = [None, 1, 2, -1, -2, 3][int(rng.integers(0, 6))]
            entries.append(slice(bound(), bound(), step))
        elif kind == "array":
            entries.append(rng.integers(-n, n, size=arr_shape))
        elif kind == "mask":
            k = 2 if axis + 1 < len(shape) and rng.random() < 0.3 else 1
            entries.append(rng.random(shape[axis:axis + k]) < 0.5)
            axis += k - 1
        else:
            entries.append(None)
            continue
        axis += 1
    if rng.random() < 0.3:
        entries.insert(int(rng.integers(0, len(entries) + 1)), Ellipsis)
    return tuple(entries)


def test_fuzz_against_numpy(rng):
    """Random shapes and indices: forward (static and symbolic indices), set and inc."""
    checked = 0
    while checked < 120:
        shape = tuple(int(d) for d in rng.integers(1, 5, size=int(rng.integers(1, 4))))
        a = rng.standard_normal(shape)
        idx = _random_index(shape, rng)
        try:
            want = a[idx]
        except IndexError:  # arrays and masks that do not broadcast together
            continue
        x = T.tensor("float64", (None,) * len(shape), name="x")
        mode = "FAST_RUN" if checked % 4 == 0 else "FAST_COMPILE"
        got = symgraph.function([x], x[idx], mode=mode)(a)
        np.testing.assert_array_equal(got, want, err_msg=f"x{shape}[{idx}]")
        sym, inputs, values = _symbolic_index(idx)
        out = x[sym]
        _check_static(out, want)
        got = symgraph.function([x] + inputs, out, mode=mode)(a, *values)
        np.testing.assert_array_equal(got, want, err_msg=f"x{shape}[{idx}] symbolic")
        b = rng.standard_normal(want.shape)
        y = T.tensor("float64", (None,) * want.ndim, name="y")
        for set_, fn in ((True, T.set_subtensor), (False, T.inc_subtensor)):
            f = symgraph.function([x, y] + inputs, fn(out, y), mode=mode)
            np.testing.assert_allclose(f(a, b, *values),
                                       _numpy_write(a, lambda p: p[idx], b, set_),
                                       atol=ATOL, err_msg=f"{fn.__name__} x{shape}[{idx}]")
        checked += 1


def test_sparse_row_update_of_shared_variable(rng):
    """The embedding idiom: update only the rows used, through inc_subtensor on a shared
    variable; repeated rows accumulate, and a failing call leaves the variable untouched."""
    w_val = rng.standard_normal((6, 3))
    W = symgraph.shared(w_val.copy(), name="W")
    idx = T.lvector("idx")
    rows = W[idx]
    cost = (rows ** 2).sum()
    g_rows = T.grad(cost, rows)
    step = symgraph.function([idx], cost, updates=[(W, T.inc_subtensor(rows, -0.1 * g_rows))])
    iv = np.array([1, 4, 1])
    got = step(iv)
    np.testing.assert_allclose(got, (w_val[iv] ** 2).sum(), rtol=1e-12)
    want = w_val.copy()
    np.add.at(want, iv, -0.1 * 2 * w_val[iv])
    np.testing.assert_allclose(W.get_value(), want, rtol=1e-12)
    before = W.get_value()
    with pytest.raises(IndexError):
        step(np.array([0, 6]))
    np.testing.assert_array_equal(W.get_value(), before)


def test_grad_through_self_mask(rng):
    a = rng.standard_normal((4, 5))
    a[np.abs(a) < 0.1] = 0.5  # keep entries away from the mask's threshold
    T.verify_grad(lambda x: x[x > 0] ** 2, [a], rng=rng)


def test_take_matches_numpy(rng):
    a = rng.standard_normal((3, 4, 5))
    idx = np.array([[0, 2], [2, 2]])
    x, i = T.tensor3("x"), T.lmatrix("i")
    outs = [T.take(x, i), T.take(x, i, axis=1), T.take(x, i, axis=-1), T.take(x, 1, axis=2)]
    got = symgraph.function([x, i], outs)(a, idx)
    want = [np.take(a, idx), np.take(a, idx, axis=1), np.take(a, idx, axis=-1),
            np.take(a, 1, axis=2)]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(ValueError, match="axis 3 out of range"):
        T.take(x, i, axis=3)
    T.verify_grad(lambda v: T.take(v, idx, axis=1), [a], rng=rng)


def test_rop_and_hessian_through_indexing(rng):
    """Rop (a transposed Lop, so a gradient of the gradient ops) and a Hessian."""
    a, v = rng.standard_normal(5), rng.standard_normal(5)
    x, ev = T.vector("x"), T.vector("v")
    idx = np.array([0, 3, 3, 1])
    out = T.set_subtensor(x[1:3], x[idx][:2] ** 2) * 2
    jv = symgraph.function([x, ev], T.Rop(out, x, ev))(a, v)
    eps = 1e-6
    f = symgraph.function([x], out)
    np.testing.assert_allclose(jv, (f(a + eps * v) - f(a - eps * v)) / (2 * eps), atol=1e-6)
    x3 = T.vector("x3", shape=(5,))
    h = symgraph.function([x3], T.hessian((x3[idx] ** 3).sum(), x3))(a)
    want = np.zeros((5, 5))
    np.add.at(want, (idx, idx), 6 * a[idx])
    np.testing.assert_allclose(h, want, rtol=1e-10)


def test_float32_stays_float32(rng):
    a = rng.standard_normal((4, 3)).astype("float32")
    x, idx = T.fmatrix("x"), T.lvector("idx")
    out = T.inc_subtensor(x[idx, 1:], 0.1) + T.set_subtensor(x[0], 2.5)
    cost = (out ** 2).sum() + x[idx].sum()
    outs = [out, T.grad(cost, x)]
    assert all(o.dtype == "float32" for o in outs)
    got = symgraph.function([x, idx], outs)(a, np.array([2, 2]))
    assert all(g.dtype == np.float32 for g in got)
    want = a.copy()
    want[2, 1:] += np.float32(0.2)
    want2 = a.copy()
    want2[0] = 2.5
    np.testing.assert_allclose(got[0], want + want2, rtol=1e-6)


@pytest.mark.parametrize("accumulate", [True, False], ids=["add", "write"])
def test_zeros_inc_subtensor_op(accumulate, rng):
    from symgraph.ops.subtensor import ZerosIncSubtensor
    from symgraph.testing import check_emit, check_infer
    pattern = ("[?]", None, ("slice", 1, None, None))
    op = ZerosIncSubtensor(pattern, accumulate, "float64")
    iv = np.array([3, 0, 3]) if accumulate else np.array([3, 0, 2])
    yv = rng.standard_normal((3, 1, 3))
    got = op.perform(np.array([5, 4]), yv, iv)
    want = np.zeros((5, 4))
    view = want[:, None]  # the new axis as a length-1 axis of a view
    if accumulate:
        np.add.at(view, (iv, slice(None), slice(1, None)), yv)
    else:
        view[iv, :, 1:] = yv
    np.testing.assert_array_equal(got, want)
    constant_shape = as_tensor_variable(np.array([5, 4]))
    check_emit(op, [constant_shape, yv, iv])
    assert op(constant_shape, yv, iv).type.shape == (5, 4)
    check_infer(lambda s, y, i: op(s, y, i), [np.array([5, 4]), yv, iv], static=True)
    T.verify_grad(lambda y: op(constant_shape, y, iv), [yv], rng=rng)
    with pytest.raises(ValueError, match="does not broadcast"):
        op(constant_shape, T.tensor("float64", (3, 2, 3)), iv)


def test_compiled_indexing_pickles(rng):
    import pickle
    x, i, idx = T.matrix("x"), T.lscalar("i"), T.lvector("idx")
    cost = (x[i:i + 2] ** 2).sum() + x[idx].sum()
    f = symgraph.function([x, i, idx], [cost, T.grad(cost, x), x[i:i + 3:2].shape])
    g = pickle.loads(pickle.dumps(f))
    a = rng.standard_normal((4, 3))
    for u, v in zip(f(a, 1, [0, 0]), g(a, 1, [0, 0])):
        np.testing.assert_array_equal(u, v)
