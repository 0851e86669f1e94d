"""The counter-based generator: SplitMix64's published outputs, every way of computing
``counter_bits`` (NumPy's short and general ways, numba's flat and broadcast loops) against a
pure-Python reference, and the cached flat index."""
import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgraph
import symgraph.tensor as T
from symgraph.ops import counter as C
from symgraph.ops.counter import FlatIndex, counter_bits, counter_bits_op, flat_index

M64 = (1 << 64) - 1
HAVE_NUMBA = importlib.util.find_spec("numba") is not None
#: SplitMix64 seeded with 1234567: its first five outputs, as published with the reference
#: generator (Rosetta Code, "Pseudo-random numbers/Splitmix64"; splitmix64.c by S. Vigna)
PUBLISHED = [6457827717110365317, 3203168211198807973, 9817491932198370423,
             4593380528125082431, 16408922859458223821]


def reference(s: int, i: int) -> int:
    """32-bit number ``i`` at Weyl state ``s``, in Python integers (no NumPy)."""
    z = (s + (i >> 1) * 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    z ^= z >> 31
    return (z >> (32 * (i & 1))) & 0xFFFFFFFF


def _halves(words):
    return [h for w in words for h in (w & 0xFFFFFFFF, w >> 32)]


def _modes():
    return ["NUMPY", "DebugMode"] + (["NUMBA"] if HAVE_NUMBA else [])


def test_published_splitmix64_outputs():
    """The stream seeded with 1234567 starts at Weyl state 1234567 + GAMMA: its 32-bit numbers
    are the halves (low first) of the published 64-bit outputs, by every route."""
    s = np.uint64((1234567 + C.GAMMA) & M64)
    want = np.array(_halves(PUBLISHED), dtype=np.uint32)
    assert [reference(int(s), i) for i in range(10)] == want.tolist()
    idx = flat_index((10,))
    np.testing.assert_array_equal(counter_bits(s, idx), want)                 # short way
    np.testing.assert_array_equal(counter_bits(s, np.arange(10, dtype=np.uint64)), want)
    sv = T.scalar("s", dtype="uint64")
    n = T.lscalar("n")
    for mode in _modes():
        f = symgraph.function([sv, n], counter_bits_op(sv, FlatIndex()((n,))), mode=mode)
        np.testing.assert_array_equal(f(s, 10), want)


@settings(max_examples=60, deadline=None)
@given(s=st.integers(0, M64), shape=st.lists(st.integers(0, 7), min_size=0, max_size=3),
       data=st.data())
def test_counter_bits_matches_the_reference(s, shape, data):
    """Any Weyl state, any positions (shuffled, repeated, 0-d): NumPy's general way; any
    shape of the cached index (odd sizes too): the short way."""
    n = int(np.prod(shape, dtype=np.int64))
    pos = data.draw(st.lists(st.integers(0, M64), min_size=n, max_size=n))
    idx = np.array(pos, dtype=np.uint64).reshape(shape)
    got = counter_bits(np.uint64(s), idx)
    assert got.dtype == np.uint32 and got.shape == tuple(shape)
    assert got.reshape(-1).tolist() == [reference(s, p) for p in pos]
    flat = flat_index(tuple(shape))
    short = counter_bits(np.uint64(s), flat)
    assert short.shape == tuple(shape)
    assert short.reshape(-1).tolist() == [reference(s, p) for p in range(n)]


@settings(max_examples=60, deadline=None)
@given(s=st.integers(0, M64), shape=st.lists(st.integers(0, 7), min_size=0, max_size=3),
       layout=st.sampled_from(["C", "F", "strided", "broadcast"]), general=st.booleans())
def test_counter_bits_into_a_buffer(s, shape, layout, general):
    """``out=`` (the planned buffers of the NumPy back end): the numbers of the reference in
    any buffer the value fits, computed in the buffer itself when it is C-contiguous of even
    size (nothing allocated: the 64-bit outputs are its pairs of halves)."""
    shape = tuple(shape)
    n = int(np.prod(shape, dtype=np.int64))
    idx = np.arange(n, dtype=np.uint64).reshape(shape) if general else flat_index(shape)
    want = np.array([reference(s, p) for p in range(n)], dtype=np.uint32).reshape(shape)
    if layout == "C":
        out = np.full(shape, 7, np.uint32)
    elif layout == "F":
        out = np.asfortranarray(np.full(shape, 7, np.uint32))
    elif layout == "strided":
        out = np.full(shape + (2,), 7, np.uint32)[..., 0]
    else:
        out, want = np.full((2,) + shape, 7, np.uint32), np.broadcast_to(want, (2,) + shape)
    got = counter_bits(np.uint64(s), idx, out=out)
    assert got is out
    np.testing.assert_array_equal(out, want)


def test_numpy_back_end_draws_into_planned_buffers(rng):
    """The fused dropout of the NumPy back end writes the bits into a temporary it keeps
    (``out=``) and gives the reference's numbers on an even and an odd element count."""
    s0 = int(rng.integers(0, 2 ** 63))
    sv = T.scalar("s", dtype="uint64")
    x = T.fmatrix("x")
    keep = T.cast(T.lt(counter_bits_op(sv, FlatIndex()(x.shape)), 3 << 30), "float32")
    f = symgraph.function([sv, x], x * keep * np.float32(2.0), mode="NUMPY")
    assert "_counter_bits(" in f.source and "out=" in f.source.split("_counter_bits(")[1]
    for shape in ((40, 30), (7, 13)):
        n = shape[0] * shape[1]
        xv = rng.random(shape, dtype=np.float32)
        bits = np.array([reference(s0, i) for i in range(n)], np.uint64).reshape(shape)
        want = xv * (bits < 3 << 30).astype(np.float32) * np.float32(2.0)
        for _ in range(2):  # the second call reuses the buffers
            np.testing.assert_array_equal(f(np.uint64(s0), xv), want)


def test_counter_bits_broadcasts_states():
    states = np.array([[1], [2], [M64]], dtype=np.uint64)
    got = counter_bits(states, flat_index((4,)))
    assert got.shape == (3, 4)
    want = [[reference(int(s), i) for i in range(4)] for s in states[:, 0]]
    assert got.tolist() == want


@pytest.mark.parametrize("mode", _modes())
def test_compiled_loops_match_the_reference(mode, rng):
    """Large enough for numba's loops: the flat loop (operands of one shape) counts positions
    itself, the broadcast loop (a threshold row) reads the index array; both fuse the bits
    into the loop and equal the reference."""
    s0 = int(rng.integers(0, 2 ** 63)) * 2 + 1
    sv = T.scalar("s", dtype="uint64")
    x = T.fmatrix("x")
    thr = T.matrix("thr", dtype="uint32")
    idx = FlatIndex()(x.shape)
    row = x * T.cast(T.lt(counter_bits_op(sv, idx), thr), "float32")
    flat = T.cast(T.lt(counter_bits_op(sv + 1, idx), 2 ** 31), "float32") + x
    f = symgraph.function([sv, x, thr], [row, flat], mode=mode)
    if mode == "NUMBA":
        assert f.source.count("counter_bits(") >= 2  # in the loops' programs
        assert "np.uint64(k) >> np.uint64(1)" in f.source  # the flat loop counts itself
    shape = (300, 257)  # 77,100 elements, an odd count
    xv = np.ones(shape, np.float32)
    tv = rng.integers(0, 2 ** 32, size=(1, shape[1]), dtype=np.uint32)
    a, b = f(np.uint64(s0), xv, tv)
    n = shape[0] * shape[1]
    ref = np.array([reference(s0, i) for i in range(n)], dtype=np.uint32).reshape(shape)
    ref1 = np.array([reference(s0 + 1, i) for i in range(n)], dtype=np.uint32).reshape(shape)
    np.testing.assert_array_equal(a, (ref < tv).astype(np.float32))
    np.testing.assert_array_equal(b, (ref1 < 2 ** 31).astype(np.float32) + 1)


def _bits(s: int, shape) -> np.ndarray:
    n = int(np.prod(shape))
    return np.array([reference(s, i) for i in range(n)], dtype=np.uint32).reshape(shape)


#: programs whose flat loop computes two elements at a time when their Weyl state is the same
#: for the whole loop (one 64-bit output gives both): (name, streams shared per pair, the
#: program of (s, s2, x, thr, svec, index), its value from the reference bits of s and s2)
PAIRED_CASES = [
    ("dropout", 1,
     lambda s, s2, x, thr, svec, i: x * T.cast(T.lt(counter_bits_op(s, i), 3865470566),
                                               "float32") * np.float32(1.1111112),
     lambda b, b2, xv, tv, sv: xv * (b < 3865470566).astype(np.float32)
     * np.float32(1.1111112)),
    ("a threshold per element", 1,
     lambda s, s2, x, thr, svec, i: T.cast(T.lt(counter_bits_op(s, i), thr), "float32") + x,
     lambda b, b2, xv, tv, sv: (b < tv).astype(np.float32) + xv),
    ("two streams", 2,
     lambda s, s2, x, thr, svec, i: x * T.cast(T.lt(counter_bits_op(s, i), 1 << 31) &
                                               T.lt(counter_bits_op(s2, i), 3 << 30),
                                               "float32"),
     lambda b, b2, xv, tv, sv: xv * ((b < 1 << 31) & (b2 < 3 << 30)).astype(np.float32)),
    ("a state per element: one element at a time", 0,
     lambda s, s2, x, thr, svec, i: T.cast(T.lt(counter_bits_op(svec, i), thr), "float32") * x,
     lambda b, b2, xv, tv, sv: (np.array(
         [reference(int(w), k) for k, w in enumerate(sv.reshape(-1))],
         dtype=np.uint32).reshape(xv.shape) < tv).astype(np.float32) * xv),
]


@pytest.mark.skipif(not HAVE_NUMBA, reason="needs numba (the [fast] extra)")
@pytest.mark.parametrize("shape", [(256, 300), (300, 257)], ids=["even", "odd"])
@pytest.mark.parametrize("name,streams,build,want", PAIRED_CASES,
                         ids=[c[0] for c in PAIRED_CASES])
def test_flat_loops_draw_two_elements_per_output(name, streams, build, want, shape, rng):
    """numba's flat loops hash once per pair of elements (a 64-bit output, split in halves)
    where the state is the same for the whole loop, and once per element otherwise; either
    way every element, the last of an odd count too, has the reference's bits."""
    s0 = int(rng.integers(0, 2 ** 63)) * 2 + 1
    s1 = int(rng.integers(0, 2 ** 63))
    sv, sv2 = T.scalar("s", dtype="uint64"), T.scalar("s2", dtype="uint64")
    x, thr = T.fmatrix("x"), T.matrix("thr", dtype="uint32")
    svec = T.matrix("svec", dtype="uint64")
    expr = build(sv, sv2, x, thr, svec, FlatIndex()(x.shape))
    f = symgraph.function([sv, sv2, x, thr, svec], expr, mode="NUMBA",
                          on_unused_input="ignore")
    loop = f.source.split("def flat(")[1].split("def nd(")[0]
    assert loop.count("* np.uint64(0x9e3779b97f4a7c15)") == (2 * streams if streams else 1)
    assert ("for j in range(out.shape[0] >> 1)" in loop) == bool(streams)
    xv = rng.random(shape, dtype=np.float32)
    tv = rng.integers(0, 2 ** 32, size=shape, dtype=np.uint32)
    states = rng.integers(0, 2 ** 63, size=shape, dtype=np.uint64)
    got = f(np.uint64(s0), np.uint64(s1), xv, tv, states)
    np.testing.assert_array_equal(got, want(_bits(s0, shape), _bits(s1, shape), xv, tv, states))


@pytest.mark.skipif(not HAVE_NUMBA, reason="needs numba (the [fast] extra)")
@pytest.mark.parametrize("shape", [(256, 300), (300, 257)], ids=["even", "odd"])
def test_a_masked_update_draws_two_elements_per_output(shape, rng):
    """An update reading its own target (``W <- W * mask``, the loop that reads the operand
    through its output) draws by pairs too: three calls against the reference."""
    W = symgraph.shared(rng.random(shape, dtype=np.float32), name="W")
    sv = T.scalar("s", dtype="uint64")
    keep = T.lt(counter_bits_op(sv, FlatIndex()(W.shape)), 3 << 30)
    f = symgraph.function([sv], [], updates=[(W, W * T.cast(keep, "float32"))], mode="NUMBA")
    want = W.get_value()
    for call in range(3):
        s = int(rng.integers(0, 2 ** 63))
        f(np.uint64(s))
        want = want * (_bits(s, shape) < 3 << 30).astype(np.float32)
        np.testing.assert_array_equal(W.get_value(), want, err_msg=f"call {call}")


def test_counter_bits_refuses_other_dtypes():
    with pytest.raises(TypeError, match="uint64"):
        counter_bits_op(T.scalar("s", dtype="int64"), FlatIndex()((3,)))


def test_flat_index_is_cached_read_only_and_not_folded():
    a = flat_index((3, 4))
    assert a is flat_index((3, 4)) and a.dtype == np.uint64
    np.testing.assert_array_equal(a, np.arange(12).reshape(3, 4))
    with pytest.raises(ValueError):
        a[0, 0] = 7
    # a constant size is not folded into a constant copy: the compiled function uses the cache
    f = symgraph.function([], FlatIndex()((3, 4)))
    assert any(isinstance(n.op, FlatIndex) for n in f.fgraph.apply_nodes)
    np.testing.assert_array_equal(f(), a)


def test_flat_index_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(C, "CACHE_ELEMENTS", 100)
    monkeypatch.setattr(C, "_cache", type(C._cache)())
    first = flat_index((60,))
    flat_index((50,))  # 110 elements in all: the oldest goes
    assert (60,) not in C._cache and (50,) in C._cache
    assert flat_index((60,)) is not first
    big = flat_index((101,))  # larger than the whole cache: never kept
    assert (101,) not in C._cache
    np.testing.assert_array_equal(big, np.arange(101))
