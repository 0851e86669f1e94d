"""Types and dtypes: TensorType, weak scalars, floatX, comparisons, truthiness, build errors."""
import pickle

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import config
from symgraph.ops.blas import Dot
from symgraph.types import TensorType, broadcast_shapes, normalize_dtype, upgrade_to_float


# ---------------------------------------------------------------------------------------
# TensorType
# ---------------------------------------------------------------------------------------

def test_tensor_type_identity_and_facts():
    t = TensorType("float32", (None, 1, 3))
    assert t == TensorType(np.float32, [None, 1, 3])
    assert hash(t) == hash(TensorType("float32", (None, 1, 3)))
    assert t != TensorType("float64", (None, 1, 3))
    assert t != TensorType("float32", (None, None, 3))
    assert t.ndim == 3 and t.broadcastable == (False, True, False)
    assert t.numpy_dtype == np.float32
    assert repr(TensorType("int64", (None,))) == "TensorType(int64, (?,))"
    with pytest.raises(AttributeError, match="immutable"):
        t.dtype = "float64"


def test_tensor_type_theano_broadcastable_pattern():
    assert TensorType("float64", (True, False)).shape == (1, None)


@pytest.mark.parametrize("bad", [3, None, (-1,), (1.5,), ("a",)])
def test_tensor_type_rejects_bad_shapes(bad):
    with pytest.raises(TypeError, match="TensorType shape"):
        TensorType("float64", bad)


@pytest.mark.parametrize("bad", ["foo", "object", "str", "U8", "datetime64"])
def test_unknown_dtypes_rejected(bad):
    with pytest.raises(TypeError, match="TensorType: .*dtype"):
        TensorType(bad, ())
    with pytest.raises(TypeError, match="TensorType: .*dtype"):
        T.tensor(bad, (None,))
    with pytest.raises(TypeError, match="TensorType: .*dtype"):
        T.matrix(dtype=bad)


def test_tensor_type_pickle_and_copy():
    import copy
    t = TensorType("float32", (None, 2))
    assert pickle.loads(pickle.dumps(t)) == t
    assert copy.deepcopy(t) is t and copy.copy(t) is t


def test_is_super():
    general = TensorType("float64", (None, 3))
    assert general.is_super(TensorType("float64", (5, 3)))
    assert not TensorType("float64", (5, 3)).is_super(general)
    assert not general.is_super(TensorType("float32", (5, 3)))


def test_normalize_and_upgrade():
    assert normalize_dtype(np.float32) == "float32"
    with config.change_flags(floatX="float32"):
        assert normalize_dtype("floatX") == "float32"
    assert upgrade_to_float("int8") == "float32"
    assert upgrade_to_float("int32") == "float64"
    assert upgrade_to_float("float32") == "float32"


def test_filter_rules():
    t = TensorType("float32", (None, 2))
    arr = np.ones((3, 2), dtype=np.float32)
    assert t.filter(arr) is arr  # exact type: no copy
    assert t.filter([[1.5, 2.0]]).dtype == np.float32  # Python floats: accepted
    assert t.filter(np.ones((1, 2), dtype=np.int8)).dtype == np.float32  # safe cast
    with pytest.raises(TypeError, match="float64.*float32"):
        t.filter(np.ones((1, 2)))
    assert t.filter(np.ones((1, 2)), allow_downcast=True).dtype == np.float32
    with pytest.raises(TypeError, match="2-d"):
        t.filter(np.ones(2, dtype=np.float32))
    with pytest.raises(ValueError, match="dimension 1 must have length 2"):
        t.filter(np.ones((1, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="does not fit"):
        t.filter([[1e300, 0.0]])  # a Python float that overflows float32
    assert np.isinf(t.filter([[np.inf, 0.0]])[0, 0])  # an infinite value stays infinite
    i = TensorType("int32", ())
    assert i.filter(7).dtype == np.int32
    with pytest.raises(TypeError, match="does not fit"):
        i.filter(2 ** 40)
    with pytest.raises(TypeError, match="does not fit"):
        i.filter(0.5)


def test_broadcast_shapes_static():
    assert broadcast_shapes([(None, 1), (1, 3)]) == (None, 3)
    assert broadcast_shapes([(2, 1), (3,)]) == (2, 3)
    assert broadcast_shapes([(), (None,)]) == (None,)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        broadcast_shapes([(2,), (3,)])


# ---------------------------------------------------------------------------------------
# dtype rules: weak scalars, floatX
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("build, dtype", [
    (lambda m: m * 0.1, "float32"),
    (lambda m: 0.1 * m, "float32"),
    (lambda m: m / 2, "float32"),
    (lambda m: m + 1, "float32"),
    (lambda m: m - np.float64(0.5), "float32"),
    (lambda m: m * np.float32(2), "float32"),
    (lambda m: m ** 2, "float32"),
    (lambda m: m + T.dmatrix(), "float64"),
])
def test_weak_scalars_keep_float32(build, dtype):
    assert build(T.fmatrix()).dtype == dtype


def test_numpy_values_on_the_left_build_graphs():
    fm, x = T.fmatrix("fm"), T.vector("x")
    for expr in (np.float32(0.1) * fm, np.float64(0.1) * fm, np.float64(2) + fm):
        assert isinstance(expr, symgraph.Variable) and expr.dtype == "float32"
    arr = np.ones(3) * x
    assert isinstance(arr, symgraph.Variable) and arr.type.shape == (3,)
    cmp = np.ones(3) < x
    assert cmp.dtype == "bool"
    with pytest.raises(TypeError, match="no truth value"):
        bool(cmp)


def test_weak_scalar_values_computed_in_float32(rng):
    m = T.fmatrix("m")
    f = symgraph.function([m], [m * 0.1, 0.1 * m, m / 2])
    mv = rng.standard_normal((2, 2)).astype(np.float32)
    for out, ref in zip(f(mv), (mv * np.float32(0.1), np.float32(0.1) * mv, mv / 2)):
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_int_tensors_with_floats():
    iv = T.ivector("iv")
    assert (iv * 0.5).dtype == "float64"
    assert (iv / 2).dtype == "float64"
    assert (iv + 1).dtype == "int32"
    assert (iv // 2).dtype == "int32"
    assert (T.bvector() / 2).dtype == "float32"
    f = symgraph.function([iv], [iv * 0.5, iv / 2, iv + 1])
    a, b, c = f(np.array([1, 3], dtype=np.int32))
    np.testing.assert_array_equal(a, [0.5, 1.5])
    np.testing.assert_array_equal(b, [0.5, 1.5])
    assert c.dtype == np.int32


def test_int_scalar_that_does_not_fit_promotes():
    assert (T.bvector() + 1000).dtype in ("int16", "int32")
    assert (T.bvector() + 100).dtype == "int8"


def test_floatx_default_and_assignment():
    assert config.floatX == "float64"
    assert T.matrix().dtype == "float64"
    assert T.scalar().dtype == "float64"
    assert T.constant(1.5).dtype == "float64"
    old = config.floatX
    try:
        config.floatX = "float32"
        assert T.matrix().dtype == "float32"
        assert T.constant(1.5).dtype == "float32"
        assert (T.ivector() * 0.5).dtype in ("float32", "float64")
    finally:
        config.floatX = old
    assert T.matrix().dtype == "float64"
    with pytest.raises(ValueError, match="floatX"):
        config.floatX = "int32"


def test_change_flags_context_manager():
    with config.change_flags(floatX="float32"):
        assert T.matrix().dtype == "float32"
        assert T.vector().dtype == "float32"
        with symgraph.change_flags(floatX="float16"):
            assert T.scalar().dtype == "float16"
        assert T.scalar().dtype == "float32"
    assert T.matrix().dtype == "float64"


def test_change_flags_restores_on_error():
    with pytest.raises(RuntimeError):
        with config.change_flags(floatX="float32"):
            raise RuntimeError("boom")
    assert config.floatX == "float64"


def test_fixed_dtype_constructors():
    assert T.fmatrix().dtype == "float32"
    assert T.dvector().dtype == "float64"
    assert T.iscalar().dtype == "int32"
    assert T.lvector().dtype == "int64"
    assert T.row().broadcastable == (True, False)
    assert T.col().broadcastable == (False, True)
    assert T.tensor3().ndim == 3
    with config.change_flags(floatX="float32"):
        assert T.fmatrix().dtype == "float32" and T.dmatrix().dtype == "float64"
    with pytest.raises(TypeError, match="fmatrix"):
        T.fmatrix(dtype="float64")
    with pytest.raises(ValueError, match="2 entries"):
        T.matrix(shape=(3,))


# ---------------------------------------------------------------------------------------
# comparisons, identity, truthiness
# ---------------------------------------------------------------------------------------

def test_comparisons_return_bool(rng):
    x, y = T.vector("x"), T.vector("y")
    exprs = [x < y, x <= y, x > y, x >= y, T.eq(x, y), T.neq(x, y), x < 0.5, 0.5 < x]
    assert all(e.dtype == "bool" for e in exprs)
    xv, yv = rng.standard_normal(4), rng.standard_normal(4)
    yv[0] = xv[0]
    outs = symgraph.function([x, y], exprs)(xv, yv)
    refs = [xv < yv, xv <= yv, xv > yv, xv >= yv, xv == yv, xv != yv, xv < 0.5, 0.5 < xv]
    for got, want in zip(outs, refs):
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, want)


def test_eq_is_identity():
    x, y = T.vector("x"), T.vector("y")
    assert (x == x) is True
    assert (x == y) is False
    assert (x != y) is True
    assert {x: 1, y: 2}[x] == 1
    assert x in [x] and y not in {x}


def test_truthiness():
    W = symgraph.shared(np.zeros(2))
    x = T.vector("x")
    assert bool(W) and bool(x) and bool(x + 1)
    if not W:  # the Theano idiom "if not W: create it" must not raise
        pytest.fail("a shared variable must be truthy")
    with pytest.raises(TypeError, match="no truth value"):
        if x < 1:
            pass
    with pytest.raises(TypeError, match="no truth value"):
        bool(x >= x)


def test_len_and_iteration():
    x = T.vector("x")
    with pytest.raises(TypeError, match="len"):
        len(x)
    with pytest.raises(TypeError, match="not known statically"):
        list(x)


# ---------------------------------------------------------------------------------------
# build-time errors name the op
# ---------------------------------------------------------------------------------------

def test_elementwise_static_shape_mismatch_names_op():
    a, b = T.matrix("a", shape=(2, 3)), T.matrix("b", shape=(3, 3))
    with pytest.raises(ValueError, match=r"mul\(a, b\).*cannot be broadcast"):
        a * b
    with pytest.raises(ValueError, match=r"add\(.*cannot be broadcast"):
        T.vector(shape=(3,)) + T.vector(shape=(4,))


def test_elementwise_compatible_static_shapes_broadcast():
    out = T.matrix(shape=(2, 1)) + T.matrix(shape=(1, 3))
    assert out.type.shape == (2, 3)
    assert (T.matrix(shape=(None, 3)) * T.vector()).type.shape == (None, 3)


def test_dot_static_mismatch_names_op():
    with pytest.raises(ValueError, match="dot: inner dimensions differ"):
        T.dot(T.matrix(shape=(2, 3)), T.matrix(shape=(4, 5)))
    with pytest.raises(ValueError, match="dot: inner dimensions differ"):
        T.dot(T.vector(shape=(3,)), T.vector(shape=(4,)))
    assert T.dot(T.matrix(shape=(2, 3)), T.matrix(shape=(3, None))).type.shape == (2, None)


def test_wrong_ranks_name_op():
    with pytest.raises(TypeError, match="Dot takes inputs of at most 2 dims"):
        Dot()(T.tensor3(), T.matrix())
    with pytest.raises(TypeError, match="Dot of a scalar"):
        Dot()(T.scalar(), T.vector())
    with pytest.raises(ValueError, match="dimshuffle"):
        T.vector().dimshuffle(0, 1)
    with pytest.raises(ValueError, match="sum: axis 3"):
        T.sum(T.vector(), axis=3)
    with pytest.raises(ValueError, match="reshape"):
        T.vector().reshape((2, 3, 4), ndim=2)


def test_wrong_arity_names_op():
    x = T.vector()
    with pytest.raises(TypeError, match="exp takes 1 inputs, got 2"):
        T.exp(x, x)


@pytest.mark.parametrize("bad", ["str", None, {}, [1, "a"], object()])
def test_non_tensor_arguments_name_op(bad):
    x = T.vector("x")
    with pytest.raises(TypeError, match="add"):
        x + bad
    with pytest.raises(TypeError, match="exp"):
        T.exp(bad)
    with pytest.raises(TypeError, match="dot"):
        T.dot(x, bad)


@pytest.mark.parametrize("build, label", [
    (lambda: T.sum("abc"), "sum"), (lambda: T.mean(None), "mean"),
    (lambda: T.reshape("abc", (2,)), "reshape"), (lambda: T.max({}), "max"),
    (lambda: T.concatenate([T.vector(), "a"]), "join"), (lambda: T.cast("a", "float32"), "cast"),
    (lambda: T.shape("a"), "Shape"), (lambda: T.alloc("a", 3), "Alloc"),
    (lambda: T.dimshuffle("s", (0,)), "dimshuffle"),
])
def test_conversion_errors_name_the_op(build, label):
    with pytest.raises(TypeError, match=f"^{label}: cannot convert"):
        build()


def test_bitwise_on_floats_names_op():
    with pytest.raises(TypeError, match="and.*integer or bool"):
        T.matrix() & T.matrix()


def test_cast_to_unknown_dtype_names_cast():
    with pytest.raises(TypeError, match="cast.*unknown dtype 'foo'"):
        T.cast(T.vector("x"), "foo")


def test_shared_of_non_numeric_rejected():
    with pytest.raises(TypeError, match="shared"):
        symgraph.shared(np.array(["a", "b"]))
