"""NumPy code of fused programs: a boolean's conversion to a float dtype folded into the ufuncs
that read it gives the values of the unfused graph bit for bit, and is kept wherever NumPy
would otherwise compute in another dtype. (The same programs run chunk by chunk as updates:
the ``mask`` case of ``test_chunked.py``.)"""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import numpy_expr
from symgraph.compile.mode import FAST_RUN
from symgraph.ops.composite import Composite

NUMPY = FAST_RUN.__class__("NUMPY", backend="numpy")


def _f32(b):
    return T.cast(b, "float32")


# (expression over float32 matrices x and y, conversions folded away)
CASES = {
    "mask times x": (lambda x, y: x * _f32(y > 0), 1),
    "dropout's mask and scale": (lambda x, y: x * _f32(y > 0) * 1.25, 1),
    "mask plus a constant": (lambda x, y: x / (_f32(y > 0) + 1), 1),
    "mask in a minimum": (lambda x, y: T.minimum(x, _f32(y > x)) * y, 1),
    # the sum of two masks: one stays a float so that the sum is computed as a float
    "two masks added": (lambda x, y: (_f32(x > 0) + _f32(y > 0)) * x, 1),
    # a reader with no other float32 operand would compute in another dtype
    "mask into exp": (lambda x, y: T.exp(_f32(y > 0)) * x, 0),
    # float64 product of a float32 operand: NumPy would compute bool * float32 in float32
    "float64 mask times float32": (lambda x, y: T.cast(y > 0, "float64") * x, 0),
    # the conversion is the result
    "mask alone": (lambda x, y: _f32(x > y), 0),
}


def _values(rng, shape):
    v = rng.standard_normal(shape).astype("float32")
    flat = v.reshape(-1)
    flat[:6] = [np.inf, -np.inf, np.nan, -0.0, 0.0, -3.0]  # signs of zero, inf * 0 = nan
    return v


def _program(f):
    (node,) = [n for n in f.fgraph.toposort() if isinstance(n.op, Composite)]
    return node.op.program, [v.dtype for v in node.inputs]


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf * 0, on both sides
@pytest.mark.parametrize("name", list(CASES))
def test_folded_conversions_give_the_unfused_values(name, rng):
    build, folds = CASES[name]
    x, y = T.fmatrix("x"), T.fmatrix("y")
    out = build(x, y)
    f = symgraph.function([x, y], out, mode=NUMPY)
    ref = symgraph.function([x, y], out, mode="FAST_COMPILE")
    program, dtypes = _program(f)
    assert len(program) - len(numpy_expr.fold_bool_casts(program, dtypes)) == folds
    a, b = _values(rng, (5, 7)), _values(rng, (5, 7))
    got, want = f(a, b), ref(a, b)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.view(f"u{got.itemsize}"),
                                  want.view(f"u{want.itemsize}"))


def test_dropout_mask_is_one_product_without_a_float_mask():
    x = T.fmatrix("x")
    mask = symgraph.RandomStream(1).binomial(size=x.shape, n=1, p=0.9, dtype="float32")
    f = symgraph.function([x], x * mask * (1 / 0.9), mode=NUMPY)
    assert "copyto" not in f.source and "'float32')\n" in f.source
    assert f.source.count("np.multiply(x, ") == 1


# (expression over float32 matrices x, y, z: one fused n-ary product or sum, possibly after
# other steps; the NumPy reference in float32, accumulated left to right as the ufuncs do)
NARY = {
    "x * y * z": (lambda x, y, z: x * y * z, lambda a, b, c: a * b * c),
    "x + y + z + 1": (lambda x, y, z: x + y + z + 1, lambda a, b, c: a + b + c + np.float32(1)),
    "exp(x) * y * z": (lambda x, y, z: T.exp(x) * y * z, lambda a, b, c: np.exp(a) * b * c),
    "x * y * x * z": (lambda x, y, z: x * y * x * z, lambda a, b, c: a * b * a * c),
}


def _lines_run(program, dtypes, args, out, aliased):
    """Run ``numpy_lines`` of ``program`` into ``out`` (``aliased``: the inputs that may be
    ``out``): the result and the dtypes of the temporaries it asked for."""
    temps = []

    def temp(dtype):
        temps.append(dtype)
        return f"np.empty(_shp, '{dtype}')"
    names = [f"a{k}" for k in range(len(args))]
    lines = numpy_expr.numpy_lines(program, names, dtypes, "out", "res", temp, indent="",
                                   aliased=aliased)
    ns = {"np": np, "out": out, "_shp": out.shape, **dict(zip(names, args))}
    exec("\n".join(lines), ns)
    return ns["res"], temps


@pytest.mark.parametrize("name", list(NARY))
def test_nary_result_accumulates_in_its_own_buffer(name, rng):
    """A planned buffer no operand can be accumulates an n-ary product or sum itself (no
    temporary of the result's dtype); a buffer that is one of the operands is written by the
    last call only. Either way the values are NumPy's, bit for bit."""
    build, ref = NARY[name]
    x, y, z = T.fmatrix("x"), T.fmatrix("y"), T.fmatrix("z")
    program, dtypes = _program(symgraph.function([x, y, z], build(x, y, z), mode=NUMPY))
    assert program[-1][0].nin == -1 and len(program[-1][1]) > 2, program
    vals = [rng.standard_normal((4, 6)).astype("float32") for _ in dtypes]
    want = ref(*vals)
    got, temps = _lines_run(program, dtypes, [v.copy() for v in vals],
                            np.full((4, 6), np.nan, "float32"), aliased=[])
    np.testing.assert_array_equal(got, want)
    assert "float32" not in temps
    for k in range(len(dtypes)):  # the buffer is input k itself
        args = [v.copy() for v in vals]
        got, _ = _lines_run(program, dtypes, args, args[k], aliased=[k])
        assert got is args[k]
        np.testing.assert_array_equal(got, want)


def test_dropout_in_a_planned_buffer_needs_no_float_temporary():
    """The dropout feeding a product: its result is a planned buffer, which the mask and the
    scale are multiplied into directly."""
    x = T.fmatrix("x")
    w = symgraph.shared(np.ones((3, 2), "float32"), name="w")
    drop = symgraph.RandomStream(1).binomial(size=x.shape, n=1, p=0.9, dtype="float32")
    f = symgraph.function([x], T.dot(x * drop * (1 / 0.9), w), mode=NUMPY)
    assert "_getbuf(_slot" in f.source and "_tmp_float32" not in f.source, f.source
