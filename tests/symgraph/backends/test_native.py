"""Native loops (backends/native.py): numba-compiled loops stored as object code and loaded
with llvmlite alone, so a warm kernel cache never starts numba."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from symgraph.backends import native, numba_loops

pytest.importorskip("numba")
pytest.importorskip("llvmlite")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

AXPY = textwrap.dedent("""
    import math
    import numpy as np


    def axpy(out, a, x, y, n):
        for k in range(n):
            out[k] = np.float32(np.float32(a * x[k]) + np.float32(math.tanh(y[k])))
    """)
KINDS = [("p", "float32"), ("s", "float32"), ("p", "float32"), ("p", "float32"), ("n",)]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty kernel cache, and no loop linked in this process yet."""
    monkeypatch.setattr(native, "_loaded", {})
    return str(tmp_path)


def _run_axpy(fn, rng, n=1000):
    x, y = rng.standard_normal(n).astype("float32"), rng.standard_normal(n).astype("float32")
    out = np.empty(n, "float32")
    assert fn(out.ctypes.data, 0.5, x.ctypes.data, y.ctypes.data, n) == 0
    np.testing.assert_allclose(out, np.float32(0.5) * x + np.tanh(y), rtol=1e-6, atol=1e-6)


def _object_files(path):
    return [f for f in os.listdir(path) if f.endswith(".o")]


def test_loop_is_compiled_stored_and_reused(cache, rng):
    fn = native.loop(AXPY, "axpy", KINDS, cache)
    _run_axpy(fn, rng)
    assert len(_object_files(cache)) == 1
    assert native.loop(AXPY, "axpy", KINDS, cache) is fn  # linked once per process


def test_damaged_object_is_compiled_again(cache, rng, monkeypatch):
    native.loop(AXPY, "axpy", KINDS, cache)
    path = os.path.join(cache, _object_files(cache)[0])
    data = bytearray(open(path, "rb").read())
    data[-40] ^= 0xFF  # a flipped bit in the code: the checksum catches it
    open(path, "wb").write(bytes(data))
    monkeypatch.setattr(native, "_loaded", {})
    assert native._read(path) is None
    _run_axpy(native.loop(AXPY, "axpy", KINDS, cache), rng)
    assert native._read(path) is not None  # rewritten intact


def test_loop_needing_more_than_the_c_library_is_refused(cache, monkeypatch):
    """A loop whose object would call a symbol the process does not define (here: every
    library function is declared missing, and axpy calls tanhf) is not stored: the caller gets
    None and uses numba's dispatcher."""
    monkeypatch.setattr(native, "_resolvable", lambda symbol: False)
    assert native.loop(AXPY, "axpy", KINDS, cache) is None
    assert _object_files(cache) == []


def test_kernels_fall_back_to_numba_when_no_native_loop(rng, monkeypatch):
    """Without native loops the same kernels run through numba's dispatcher, same values."""
    from linker_helpers import adam_like
    from symgraph.compile.mode import NUMBA
    monkeypatch.setattr(native, "loop", lambda *args: None)
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    (f, fast), (h, ref) = adam_like(NUMBA, 11), adam_like("FAST_COMPILE", 11)
    assert "_group(" in f.source
    for _ in range(2):
        gv = rng.standard_normal((6, 7)).astype("float32")
        f(gv, np.float32(0.5))
        h(gv, np.float32(0.5))
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=2e-5, atol=1e-6)


def test_output_written_over_an_input_reads_it_through_the_output(rng):
    """A fused cluster whose planned output is the buffer of its dying input (here a product)
    runs the loop that reads that input through ``out``: no two pointers overlap, so LLVM
    vectorises it (with two pointers to one array its run-time overlap check chose the
    element-by-element loop: 25x slower with a sqrt and a division). Values as NumPy's."""
    import symgraph
    import symgraph.tensor as T
    from symgraph.compile.mode import NUMBA
    a, b = T.fmatrix("a"), T.fmatrix("b")
    d = T.dot(a, b)
    f = symgraph.function([a, b], T.sum(T.sqrt(d * d + 1) / (abs(d) + 3), axis=0), mode=NUMBA)
    kernel = next(k for k in f.kernels.values() if isinstance(k, numba_loops.NumbaKernel))
    av = rng.standard_normal((300, 40)).astype("float32")
    bv = rng.standard_normal((40, 200)).astype("float32")  # 60,000 elements: a native loop
    dv = av @ bv
    for _ in range(2):  # the first call measures the planned values (new arrays, no aliasing)
        got = f(av, bv)
        np.testing.assert_allclose(got, (np.sqrt(dv * dv + 1) / (np.abs(dv) + 3)).sum(axis=0),
                                   rtol=1e-5)
    assert list(kernel._native_same) == [(0,)]  # the loop for "input 0 is the output"
    assert "out[k] * out[k]" in numba_loops.pointer_loop_source(
        "flat", kernel._loop_args[0], ["float32"], [False], "float32", same=(0,))[0]


def test_bool_operands_are_not_native():
    assert not native.supported([("p", "bool"), ("n",)])
    assert native.supported([("p", "float64"), ("s", "int32"), ("n",)])


_WARM = textwrap.dedent("""
    import sys
    import numpy as np
    from collections import OrderedDict
    import symgraph, symgraph.tensor as T
    from symgraph.compile.mode import FAST_RUN
    W = symgraph.shared(np.linspace(-1, 1, 200000).astype("float32").reshape(400, 500))
    b = symgraph.shared(np.linspace(-0.1, 0.1, 500).astype("float32"))
    m = symgraph.shared(np.zeros((400, 500), "float32"))
    x = T.fmatrix("x")
    # a layer's bias and rectifier: two steps with a broadcast operand, at a size that takes
    # compiled loops (100 x 500)
    cost = T.sum(T.tanh(T.maximum(T.dot(x, W) + b.dimshuffle("x", 0), 0)) ** 2)
    g = T.grad(cost, W)
    m1 = 0.9 * m + 0.1 * g
    f = symgraph.function([x], cost, updates=OrderedDict([(m, m1), (W, W - 0.01 * m1 /
                          (T.sqrt(T.abs(m1)) + 1e-3))]),
                          mode=FAST_RUN.__class__("NUMBA", backend=sys.argv[1]))
    xv = np.cos(np.arange(40000, dtype="float32")).reshape(100, 400) / 20
    for _ in range(3):
        f(xv)
    np.save(sys.argv[2], W.get_value())
    print("numba" in sys.modules)
    """)


def test_warm_cache_runs_without_starting_numba(tmp_path):
    """A second process finds every loop in the cache and never imports numba; its results
    equal the NumPy path's."""
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def run(backend, out):
        proc = subprocess.run([sys.executable, "-c", _WARM, backend, str(tmp_path / out)],
                              env=env, capture_output=True, text=True, check=True)
        return proc.stdout.split()[-1]
    assert run("numba", "cold.npy") == "True"  # compiled the loops
    assert run("numba", "warm.npy") == "False"
    run("numpy", "ref.npy")
    ref = np.load(tmp_path / "ref.npy")
    for name in ("cold.npy", "warm.npy"):
        np.testing.assert_allclose(np.load(tmp_path / name), ref, rtol=1e-5, atol=1e-6)


def _row_cases():
    """(name, build(T) -> (inputs, output), input shapes): programs whose operands are of the
    output's shape, scalars, or vectors broadcast along its rows. Arithmetic and ``sqrt``
    are exact in both, so the loop gives NumPy's bits; ``tanh`` comes from the C library in
    the loop and from NumPy's own code in NumPy, within an ulp or two."""
    return [
        ("bias and rectifier", lambda T: _two(T.fmatrix("x"), T.fvector("b"),
                                               lambda x, b: T.maximum(x + b, 0)),
         [(120, 300), (300,)]),
        ("row as a (1, n) matrix", lambda T: _two(T.fmatrix("x"), T.frow("b"),
                                                   lambda x, b: T.tanh(x * b - 1)),
         [(120, 300), (1, 300)]),
        ("3-d output, vector bias", lambda T: _two(T.ftensor3("x"), T.fvector("b"),
                                                    lambda x, b: abs(x - b) * 2),
         [(4, 40, 250), (250,)]),
        ("two row vectors", lambda T: _three(T.fmatrix("x"), T.fvector("a"), T.fvector("b"),
                                             lambda x, a, b: x * a + b),
         [(200, 200), (200,), (200,)]),
        ("float64", lambda T: _two(T.dmatrix("x"), T.dvector("b"),
                                   lambda x, b: T.sqrt(x * x + b)),
         [(100, 400), (400,)]),
    ]


def _two(x, b, fn):
    return [x, b], fn(x, b)


def _three(x, a, b, fn):
    return [x, a, b], fn(x, a, b)


@pytest.mark.parametrize("name,build,shapes", _row_cases(), ids=[c[0] for c in _row_cases()])
def test_vectors_broadcast_along_rows_run_a_native_row_loop(name, build, shapes, rng):
    """A cluster reading a vector broadcast along the output's rows (a layer's bias) runs the
    native loop over rows and columns, not numba's dispatcher, with NumPy's values (bit for
    bit without ``tanh``: each element is the same arithmetic in the same order)."""
    import symgraph
    import symgraph.tensor as T
    from symgraph.compile.mode import NUMBA
    inputs, out = build(T)
    f = symgraph.function(inputs, out, mode=NUMBA)
    ref = symgraph.function(inputs, out, mode="NUMPY")
    kernel = next(k for k in f.kernels.values() if isinstance(k, numba_loops.NumbaKernel))
    args = [np.abs(rng.standard_normal(s)).astype(v.dtype) for s, v in zip(shapes, inputs)]
    for _ in range(2):
        got, want = f(*args), ref(*args)
        assert got.dtype == want.dtype
        if "tanh" in str(out.owner.op):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
        else:
            assert np.array_equal(got, want)
    assert kernel._native_rows and all(fn is not None for fn in kernel._native_rows.values())
    assert kernel._module is None  # numba's own loops were never needed


def test_other_broadcasts_of_a_short_program_stay_in_numpy(rng):
    """A two-step program broadcasting a column (not a row) runs its NumPy steps, so that a
    process never starts numba for two passes; a longer one takes numba's n-d loop. Same
    values either way."""
    import symgraph
    import symgraph.tensor as T
    from symgraph.compile.mode import NUMBA
    x, c = T.fmatrix("x"), T.fcol("c")
    xv = rng.standard_normal((200, 300)).astype("float32")
    cv = rng.standard_normal((200, 1)).astype("float32")
    short = symgraph.function([x, c], T.maximum(x + c, 0), mode=NUMBA)
    k_short = next(k for k in short.kernels.values() if isinstance(k, numba_loops.NumbaKernel))
    assert np.array_equal(short(xv, cv), np.maximum(xv + cv, np.float32(0)))
    assert k_short.broadcast_numpy and k_short._module is None
    long = symgraph.function([x, c], T.tanh(T.maximum(x + c, 0)) * 2, mode=NUMBA)
    k_long = next(k for k in long.kernels.values() if isinstance(k, numba_loops.NumbaKernel))
    np.testing.assert_allclose(long(xv, cv), np.tanh(np.maximum(xv + cv, 0)) * 2, rtol=1e-6)
    assert not k_long.broadcast_numpy and k_long._module is not None


def test_row_loop_source_reads_row_vectors_at_the_column():
    from symgraph.ops import scalar as S
    program = [(S.add, (("i", 0), ("i", 1)), "float32")]
    src, kinds = numba_loops.pointer_rows_source("rows", program, ["float32", "float32"],
                                                 [False, False], "float32", rows=(1,))
    assert "i0[k]" in src and "i1[c]" in src and kinds[-2:] == [("n",), ("n",)]
