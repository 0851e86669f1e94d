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
