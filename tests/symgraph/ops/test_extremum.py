"""``extremum``: ``np.maximum``/``np.minimum`` of an array and a scalar through a block of the
scalar gives NumPy's own call bit for bit (NaN payloads and signed zeros included), in place
and not, in either operand order, on every size around its block; and the NumPy back end's
fused programs use it for a rectifier and a clip with the same bits as the unfused graph."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import symgraph
import symgraph.tensor as T
from symgraph.compile.mode import FAST_RUN
from symgraph.ops import extremum as E

NUMPY = FAST_RUN.__class__("NUMPY", backend="numpy")
UINT = {"float32": np.uint32, "float64": np.uint64, "float16": np.uint16}


def _specials(dtype):
    """Values whose maximum and minimum are decided by NumPy's rules rather than by order:
    both zeros, quiet NaNs of both signs with payloads, infinities, subnormals."""
    u = UINT[dtype]
    nans = {"float32": [0x7FC00001, 0xFFC00002, 0x7FC12345],
            "float64": [0x7FF8000000000001, 0xFFF8000000000002],
            "float16": [0x7E01, 0xFE02]}[dtype]
    finfo = np.finfo(dtype)
    plain = np.array([0.0, -0.0, np.inf, -np.inf, 1.0, -1.0, finfo.smallest_subnormal,
                      -finfo.smallest_subnormal, finfo.max, finfo.min], dtype)
    return np.concatenate([plain, np.array(nans, u).view(dtype)])


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and \
        np.array_equal(a.view(UINT[a.dtype.name]), b.view(UINT[b.dtype.name]))


SIZES = [E.MIN_SIZE - 1, E.MIN_SIZE, E.BLOCK - 1, E.BLOCK, E.BLOCK + 1, 3 * E.BLOCK + 17]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("ufunc", [np.maximum, np.minimum], ids=lambda u: u.__name__)
@pytest.mark.parametrize("const_first", [False, True])
@pytest.mark.parametrize("size", SIZES)
def test_same_bits_as_the_scalar_call(dtype, ufunc, const_first, size, rng):
    specials = _specials(dtype)
    x = rng.choice(specials, size).astype(dtype)
    x[::3] = rng.standard_normal(x[::3].size).astype(dtype)
    for c in specials:
        want = ufunc(c, x) if const_first else ufunc(x, c)
        got = E.extremum(ufunc, x, c, np.empty_like(x), const_first)
        assert _same_bits(got, want), (c, const_first)
        inplace = x.copy()
        E.extremum(ufunc, inplace, c, inplace, const_first)
        assert _same_bits(inplace, want), (c, "in place")


@pytest.mark.parametrize("case", ["broadcast operand", "strided", "overlapping views",
                                  "dtype of the constant", "0-d operand"])
def test_other_operands_take_the_plain_call(case, rng):
    """Operands the block cannot serve give exactly what NumPy's own call gives."""
    n = 2 * E.BLOCK + 5
    buf = rng.standard_normal(n + 8).astype("float32")
    c = np.float32(0.25)
    if case == "broadcast operand":
        x, out = buf[:64], np.empty((n // 64, 64), "float32")
    elif case == "strided":
        x, out = buf[: n - 1: 2], np.empty((n // 2,), "float32")
    elif case == "overlapping views":
        x, out = buf[:n], buf[3:n + 3]
    elif case == "dtype of the constant":
        x, out, c = buf[:n], np.empty(n, "float32"), np.float64(0.25)
    else:
        x, out = np.asarray(buf[0]), np.empty((), "float32")
    want = np.maximum(x.copy() if case == "overlapping views" else x, c, out=out.copy())
    got = E.extremum(np.maximum, x, c, out)
    assert got is out
    assert _same_bits(got, want)


def test_the_block_is_cached_and_read_only():
    b = E.block("float32", 0.0)
    assert b is E.block(np.float32, np.float32(0.0))
    assert b is not E.block("float32", -0.0)  # another bit pattern, another block
    assert b.size == E.BLOCK and not b.flags.writeable
    assert not np.signbit(b).any() and np.signbit(E.block("float32", -0.0)).all()


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float32, st.integers(0, 3 * E.BLOCK + 3),
                    elements=st.floats(width=32, allow_nan=True, allow_subnormal=True)),
       c=st.floats(width=32, allow_nan=True), minimum=st.booleans(), first=st.booleans())
def test_any_array_and_constant(x, c, minimum, first):
    ufunc = np.minimum if minimum else np.maximum
    c = np.float32(c)
    want = ufunc(c, x) if first else ufunc(x, c)
    assert _same_bits(E.extremum(ufunc, x, c, np.empty_like(x), first), want)


RELU_LIKE = {
    "rectifier": lambda x: T.maximum(x + 1, 0),
    "constant first": lambda x: T.minimum(0.5, x * 2),
    "rectifier capped at 6": lambda x: T.minimum(T.maximum(x * 3, 0), 6),
}


@pytest.mark.parametrize("name", list(RELU_LIKE))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_programs_use_it_with_the_unfused_bits(name, dtype, rng):
    x = T.matrix("x", dtype=dtype)
    out = RELU_LIKE[name](x)
    f = symgraph.function([x], out, mode=NUMPY)
    ref = symgraph.function([x], out, mode="FAST_COMPILE")
    assert "_extremum(np." in f.source
    v = rng.standard_normal((70, 130)).astype(dtype)  # past MIN_SIZE: the block is used
    v.reshape(-1)[:4] = [np.nan, -0.0, 0.0, np.inf]
    assert _same_bits(f(v), ref(v))
