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
