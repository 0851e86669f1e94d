"""Speed of compiled train steps: ``python -m benchmarks.speed [--peers LIST] [--out DIR]``.

Measures, in one process (PyTensor aside), medians of:

* an MLP 784-1000-1000-10 (ReLU, softmax cross-entropy, batch 128, float32) train step with
  SGD and with Adam, compiled by symgraph (default NumPy linker, and the numba backend when
  numba is importable), and the compile time of each train function (grad + rewrites + code);
* the NumPy GEMM-only time of that step (the five matrix products of forward and backward
  alone), the denominator of every ratio;
* a hand-written NumPy SGD step of the same model;
* a tiny MLP 784-100-10, batch 32, SGD: per-call time of symgraph and of hand-written NumPy;
* peak memory (tracemalloc) of one step;
* peers, when installed (``--peers torch,jax,pytensor``; builders in
  ``benchmarks/speed_peers.py``): PyTorch eager (torch==2.13.0), JAX ``jit`` with donated
  buffers and PyTensor's default mode, the same model, init, data and optimizers, with the
  cold compile time (first step's result) of JAX and PyTensor. Torch and JAX are timed in turns
  with symgraph; PyTensor runs in a new process with an empty compile directory, under
  ``--peer-python`` (e.g. a venv's interpreter: PyTensor pins an older numba than this project's),
  which also hosts torch or jax when they are not importable here.

BLAS, numba and the peers run with one thread by default (``--threads N`` or
``OPENBLAS_NUM_THREADS`` for more; see :mod:`models.threads`): on a machine shared with other
work, BLAS threads fighting over the cores otherwise dominate every number. With ``--peers jax``
the count also goes into ``XLA_FLAGS`` (``--xla_cpu_multi_thread_eigen=false`` for one thread)
before jax is imported (XLA reads it only then), and a peer worker process gets the
``*_NUM_THREADS`` variables as well. Those settings do not reach every thread pool (measured: a
jitted JAX product kept 1.7 cores busy with the XLA flag set, and ran 1.5x faster than it does
on one core), so an explicit ``--threads N`` also pins the process, and the peer processes it
starts, to N CPUs (``os.sched_setaffinity``).

Results are printed as a table and written as JSON into ``--out`` when given.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

import symgraph
import symgraph.tensor as T
from symgraph.compile.mode import FAST_RUN, NUMPY

from benchmarks import results as R
from benchmarks.speed_peers import (BUILDERS, PEERS, Problem, interleaved, peer_in_subprocess,
                                    thread_env)
from models import cli
from models import threads as blas

BIG = (784, 1000, 1000, 10)
TINY = (784, 100, 10)
PEER_LABELS = {"torch": "eager", "jax": "jit", "pytensor": "default mode (own process)"}


def median_time(fn: Callable[[], object], repeat: int, warmup: int = 2,
                per_round: int = 1) -> float:
    """Median wall time of one ``fn()`` in seconds over ``repeat`` timings of ``per_round``
    calls each."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn()
        times.append((time.perf_counter() - t0) / per_round)
    return statistics.median(times)


def init_params(sizes: Sequence[int], seed: int) -> List[np.ndarray]:
    rng = np.random.default_rng(seed)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params.append((rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32))
        params.append(np.zeros(b, np.float32))
    return params


def make_data(sizes: Sequence[int], batch: int, seed: int):
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int32)  # class labels
    return x, y


# ---------------------------------------------------------------------------------------
# symgraph
# ---------------------------------------------------------------------------------------

def mlp_cost(params, x, y):
    """ReLU MLP, mean softmax cross-entropy of integer labels ``y`` (Theano's idiom, which
    the stabilizer turns into the fused log-softmax form)."""
    h = x
    n = len(params) // 2
    for i in range(n):
        h = T.dot(h, params[2 * i]) + params[2 * i + 1]
        if i < n - 1:
            h = T.maximum(h, 0)
    return T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(h), y))


def adam_updates(cost, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Adam, inline (the optimizers package's Adam is used instead when importable)."""
    try:
        import optimizers
        return optimizers.Adam(lr=lr, beta1=b1, beta2=b2, eps=eps).updates(cost, params)
    except ImportError:
        pass
    grads = T.grad(cost, params)
    t = symgraph.shared(np.float32(0), "t")
    t1 = t + 1
    ups = OrderedDict([(t, t1)])
    lr_t = lr * T.sqrt(1 - b2 ** t1) / (1 - b1 ** t1)
    for p, g in zip(params, grads):
        m = symgraph.shared(np.zeros_like(p.get_value()))
        v = symgraph.shared(np.zeros_like(p.get_value()))
        m1 = b1 * m + (1 - b1) * g
        v1 = b2 * v + (1 - b2) * g * g
        ups[m], ups[v] = m1, v1
        ups[p] = p - lr_t * m1 / (T.sqrt(v1) + eps)
    return ups


def build_step(sizes, opt: str, mode, seed: int = 0, lr: float = 0.01):
    """Compile a train step; return ``(step, compile_seconds)``."""
    values = init_params(sizes, seed)
    t0 = time.perf_counter()
    params = [symgraph.shared(p, borrow=True) for p in values]
    x, y = T.fmatrix("x"), T.ivector("y")
    cost = mlp_cost(params, x, y)
    if opt == "sgd":
        ups = OrderedDict((p, p - lr * g) for p, g in zip(params, T.grad(cost, params)))
    else:
        ups = adam_updates(cost, params)
    f = symgraph.function([x, y], cost, updates=ups, mode=mode)
    return f, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------------------

def numpy_gemm_only(sizes, batch, seed):
    """The matrix products of one forward + backward pass, into preallocated outputs."""
    params = init_params(sizes, seed)
    Ws = params[0::2]
    x, _ = make_data(sizes, batch, seed)
    acts = [x] + [np.empty((batch, W.shape[1]), np.float32) for W in Ws]
    grads_a = [np.empty((batch, W.shape[0]), np.float32) for W in Ws]
    grads_w = [np.empty_like(W) for W in Ws]
    gz = [np.ones((batch, W.shape[1]), np.float32) * 0.01 for W in Ws]

    def step():
        # matmul: NumPy's dot with out= can take a slow non-BLAS path
        for i, W in enumerate(Ws):
            np.matmul(acts[i], W, out=acts[i + 1])
        for i in reversed(range(len(Ws))):
            np.matmul(acts[i].T, gz[i], out=grads_w[i])
            if i:
                np.matmul(gz[i], Ws[i].T, out=grads_a[i])
    return step


def numpy_sgd_step(sizes, batch, seed, lr=0.01):
    """A straightforward hand-written NumPy train step (what a user would write)."""
    params = init_params(sizes, seed)
    x, y = make_data(sizes, batch, seed)
    n = len(params) // 2
    rows = np.arange(batch)

    def step():
        hs = [x]
        for i in range(n):
            z = hs[-1] @ params[2 * i] + params[2 * i + 1]
            hs.append(np.maximum(z, 0) if i < n - 1 else z)
        z = hs[-1]
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        cost = -np.mean(z[rows, y] - np.log(e.sum(axis=1)))
        p[rows, y] -= 1
        g = p / batch
        for i in reversed(range(n)):
            gW = hs[i].T @ g
            gb = g.sum(axis=0)
            if i:
                g = (g @ params[2 * i].T) * (hs[i] > 0)
            params[2 * i] -= lr * gW
            params[2 * i + 1] -= lr * gb
        return cost
    return step


# ---------------------------------------------------------------------------------------

def peak_memory(step) -> int:
    step()
    tracemalloc.start()
    tracemalloc.reset_peak()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def buffer_bytes(f) -> int:
    """Bytes held between calls in the compiled function's planned buffers."""
    from symgraph.backends.buffers import owned_bytes
    ns = f._fn.__globals__
    arena = ns.get("_arena")
    return (0 if arena is None else arena.nbytes) + sum(
        owned_bytes(val) for name, val in ns.items()
        if name.startswith(("_slot", "_tmp_")) and isinstance(val, dict))


_COMPILE_SNIPPET = """
import sys, time, numpy
if sys.argv[1] == 'numba':  # what numba's own start-up costs a process (import, first jit)
    t0 = time.perf_counter()
    import numba
    numba.njit(lambda a: a[0] + 1.0)(numpy.ones(2, numpy.float32))
    print(time.perf_counter() - t0)
    sys.exit()
from benchmarks.speed import build_step, BIG, make_data
from symgraph.compile.mode import FAST_RUN, NUMPY
t0 = time.perf_counter()
f, ct = build_step(BIG, 'adam', FAST_RUN.__class__('NUMBA', backend='numba'), 0)
x, y = make_data(BIG, 128, 0)
f(x, y)
print(ct, time.perf_counter() - t0, int('numba' in sys.modules))
"""


def numba_process_compile_times() -> Optional[Dict[str, float]]:
    """Adam train-step compile time of the numba backend in a new process with an empty
    kernel cache (``cold``), then in a new process with that cache (``warm``; ``*_numba``
    says whether the process imported numba), and what numba's own start-up costs a process
    (``numba_start``: paid only when a loop is missing from the cache)."""
    import subprocess
    import sys
    import tempfile
    if importlib.util.find_spec("numba") is None:
        return None
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, XDG_CACHE_HOME=cache)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        for label in ("cold", "warm", "numba"):
            proc = subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET, label], env=env,
                                  capture_output=True, text=True, check=True, cwd=root)
            values = proc.stdout.split()
            if label == "numba":
                out["numba_start"] = float(values[-1])
                continue
            compile_s, first_call_s, imported = values[-3:]
            out[label] = float(compile_s)
            out[f"{label}_with_first_call"] = float(first_call_s)
            out[f"{label}_numba"] = bool(int(imported))
    return out


def peer_problems(seed: int, batch: int = 128, tiny_batch: int = 32) -> Dict[str, Problem]:
    """The benchmark's three train steps for the peers, from the same init and data."""
    x, y = make_data(BIG, batch, seed)
    tx, ty = make_data(TINY, tiny_batch, seed)
    return {"sgd": Problem(init_params(BIG, seed), x, y, "sgd"),
            "adam": Problem(init_params(BIG, seed), x, y, "adam"),
            "tiny": Problem(init_params(TINY, seed), tx, ty, "sgd")}


def blocks(fns: Dict[str, Callable], rounds: int, per_round: int = 1) -> Dict[str, float]:
    """Median per-call time of each function, timing each in a block of its own (its caches
    stay warm between calls, as for a peer timed in its own process)."""
    return {key: median_time(fn, rounds, per_round=per_round) for key, fn in fns.items()}


def run(peers: Sequence[str], repeat: int, seed: int, threads: Optional[int] = None,
        parallel: bool = False, peer_python: Optional[str] = None, alone: bool = False) -> dict:
    """Time everything; torch and jax are timed in turns with symgraph in this process
    (or, when not importable here, in a ``peer_python`` worker), pytensor in a new process.
    With ``alone`` each function of this process is timed in a block of its own instead."""
    batch, tiny_batch = 128, 32
    x, y = make_data(BIG, batch, seed)
    tx, ty = make_data(TINY, tiny_batch, seed)
    res: dict = {"config": {"sizes": BIG, "batch": batch, "tiny": TINY, "tiny_batch": tiny_batch,
                            "repeat": repeat, "seed": seed, "numpy": np.__version__,
                            "load_average": os.getloadavg()}}
    big = {"gemm_only": numpy_gemm_only(BIG, batch, seed),
           "numpy_sgd": numpy_sgd_step(BIG, batch, seed)}
    tiny = {"numpy_tiny": numpy_sgd_step(TINY, tiny_batch, seed)}
    backends = [("numpy", NUMPY)]
    try:
        import numba  # noqa: F401
        backends.append(("numba", FAST_RUN.__class__("NUMBA", backend="numba")))
        if parallel:
            backends.append(("numba-parallel",
                             FAST_RUN.__class__("NUMBA-P", backend="numba-parallel")))
    except ImportError:
        pass
    for label, mode in backends:
        row = res[f"symgraph_{label}"] = {}
        for opt in ("sgd", "adam"):
            f, ct = build_step(BIG, opt, mode, seed)
            row[f"{opt}_compile"] = ct
            big[f"symgraph_{label}/{opt}"] = (lambda f=f: f(x, y))
            row[f"{opt}_peak_bytes"] = peak_memory(lambda: f(x, y))
            row[f"{opt}_buffer_bytes"] = buffer_bytes(f)
        f, _ = build_step(TINY, "sgd", mode, seed)
        tiny[f"symgraph_{label}/tiny"] = (lambda f=f: f(tx, ty))
    res["numpy_sgd_peak_bytes"] = peak_memory(numpy_sgd_step(BIG, batch, seed))
    problems = peer_problems(seed, batch, tiny_batch)
    for peer in peers:
        if peer == "pytensor" or (peer_python and importlib.util.find_spec(peer) is None):
            res[peer] = peer_in_subprocess(peer, problems, repeat, threads, peer_python,
                                           cold_keys=("adam",) if peer == "pytensor" else ())
            continue
        built = BUILDERS[peer](problems, threads)
        res[peer] = None if built is None else {"version": built.version}
        if built:
            res[peer].update({f"{k}_compile": t for k, t in built.compile_seconds.items()})
            big[f"{peer}/sgd"], big[f"{peer}/adam"] = built.steps["sgd"], built.steps["adam"]
            tiny[f"{peer}/tiny"] = built.steps["tiny"]
    res["config"]["peer_python"] = peer_python
    res["config"]["xla_flags"] = os.environ.get("XLA_FLAGS")
    res["numba_new_process_compile"] = numba_process_compile_times()
    timer = blocks if alone else interleaved
    res["config"]["alone"] = alone
    timed = timer(big, repeat)
    timed.update(timer(tiny, repeat, per_round=20))
    for key, t in timed.items():
        if "/" in key:
            name, what = key.split("/")
            res[name][what] = t
        else:
            res[key] = t
    return res


def table(res: dict) -> str:
    g = res["gemm_only"]

    def ms(t):
        return "—" if t is None else f"{t * 1e3:.2f} ms ({t / g:.2f}x)"

    def us(t):
        return "—" if t is None else f"{t * 1e6:.0f} us"
    rows = [("| | compile cold | SGD step | Adam step | tiny step | peak mem (SGD/Adam) "
             "| reused buffers (SGD/Adam) |"), "|---|---|---|---|---|---|---|"]
    for key in ("symgraph_numpy", "symgraph_numba", "symgraph_numba-parallel"):
        r = res.get(key)
        if not r:
            continue
        rows.append(f"| {key.replace('_', ' ')} | {r['sgd_compile']:.3f} s / "
                    f"{r['adam_compile']:.3f} s | {ms(r['sgd'])} | {ms(r['adam'])} | "
                    f"{us(r['tiny'])} | {r['sgd_peak_bytes'] / 2**20:.1f} / "
                    f"{r['adam_peak_bytes'] / 2**20:.1f} MiB | "
                    f"{r['sgd_buffer_bytes'] / 2**20:.1f} / "
                    f"{r['adam_buffer_bytes'] / 2**20:.1f} MiB |")
    for peer, label in PEER_LABELS.items():
        r = res.get(peer)
        if not r:
            continue
        compile_s = (f"{r['sgd_compile']:.3f} s / {r['adam_compile']:.3f} s"
                     if "sgd_compile" in r else "—")
        rows.append(f"| {peer} {r['version']} {label} | {compile_s} | {ms(r['sgd'])} | "
                    f"{ms(r['adam'])} | {us(r['tiny'])} | — | — |")
    rows.append(f"| hand-written NumPy | — | {ms(res['numpy_sgd'])} | — | "
                f"{us(res['numpy_tiny'])} | {res['numpy_sgd_peak_bytes'] / 2**20:.1f} MiB | — |")
    rows.append(f"| NumPy GEMM-only | — | {g * 1e3:.2f} ms (1.00x) | — | — | — | — |")
    missing = [p for p in PEER_LABELS if p in res and not res[p]]
    if missing:
        rows.append(f"\nnot importable, so not timed: {', '.join(missing)} (see --peer-python)")
    if any(res.get(p) and "sgd_compile" in res[p] for p in PEER_LABELS):
        rows.append("\npeer compile (SGD / Adam): from nothing to the first step's result, "
                    "cold (jax: trace + XLA compile + one step; pytensor: graph + compile + one "
                    "step, each in a new process with an empty compile directory)")
    nc = res.get("numba_new_process_compile")
    if nc:
        started = "numba started" if nc["warm_numba"] else "numba not imported"
        rows.append(f"\nnumba backend, Adam step compile in a new process: kernel cache empty "
                    f"{nc['cold']:.2f} s, cache warm {nc['warm']:.3f} s ({started}; with the "
                    f"first call {nc['cold_with_first_call']:.2f} s / "
                    f"{nc['warm_with_first_call']:.3f} s); numba's own start-up, paid when a "
                    f"loop must be compiled: {nc['numba_start']:.2f} s")
    return "\n".join(rows)


@contextlib.contextmanager
def limited_threads(threads: Optional[int], peers: Sequence[str] = (), pin: bool = True):
    """Run the block with ``threads`` threads (nothing changes when None): BLAS (threadpoolctl,
    through :mod:`models.threads`), numba and, with jax among ``peers``, XLA held to that many
    threads, and with ``pin`` the process (and so the peer processes it starts) pinned to that
    many CPUs. Yields ``(cpus pinned to or None, how BLAS was limited or None)``.

    Thread-count settings do not reach every pool (XLA's CPU runtime measured 1.7 cores busy
    with its threading flag set): pinned, the process and its children get N cores, full stop.
    """
    if not threads:
        yield None, None
        return
    if "jax" in peers and "jax" not in sys.modules:
        # XLA reads its CPU threading flags once, when jax is first imported
        os.environ.update({k: v for k, v in thread_env(threads).items() if k == "XLA_FLAGS"})
    cpus = None
    if pin and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[:threads]
        os.sched_setaffinity(0, cpus)
    try:  # load SciPy's BLAS now: threadpoolctl limits the libraries loaded so far
        import scipy.linalg.blas  # noqa: F401
    except ImportError:
        pass
    try:
        import numba
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    with blas.limited(threads) as how:
        yield cpus, how


def build_parser() -> cli.Parser:
    count = cli.bounded(int, 1)
    ap = cli.Parser(
        prog="python -m benchmarks.speed",
        description="Speed of compiled train steps (an MLP 784-1000-1000-10 with SGD and "
                    "Adam, and a tiny 784-100-10 with SGD): symgraph against NumPy's "
                    "GEMM-only and hand-written steps and, with --peers, PyTorch eager, JAX "
                    "jit and PyTensor. Prints a table; --out also writes speed.json.",
        epilog="BLAS: 1 thread unless --threads or OPENBLAS_NUM_THREADS says otherwise; "
               "an explicit\n--threads N also pins this process and the peer processes to "
               "N CPUs (thread settings\ndo not reach every pool). Measured tables: "
               "benchmarks/README.md.")
    ap.add_argument("--peers", metavar="NAMES", default=None,
                    help="comma-separated, each timed when installed: " + ",".join(PEERS)
                         + " (default: none)")
    ap.add_argument("--peer-python", metavar="PYTHON", default=None,
                    help="interpreter for the pytensor worker and for a peer not importable "
                         "here, e.g. a venv's python (default: this one)")
    ap.add_argument("--repeat", metavar="N", type=count, default=30,
                    help="timed calls per big-model median")
    ap.add_argument("--seed", metavar="N", type=cli.bounded(int, 0), default=0,
                    help="seed of the initial weights and the data")
    ap.add_argument("--out", metavar="DIR", default=None,
                    help="folder for speed.json (default: print the table only)")
    ap.add_argument("--parallel", action="store_true",
                    help="also time the numba-parallel backend (threads over elements)")
    ap.add_argument("--threads", metavar="N", type=count, default=None,
                    help="limit BLAS, numba, torch and XLA threads to N and pin the process "
                         "(and peer processes) to N CPUs (default: 1 thread, or "
                         "$OPENBLAS_NUM_THREADS, not pinned)")
    ap.add_argument("--alone", action="store_true",
                    help="time each step in a block of its own (warm caches, as the pytensor "
                         "peer in its process) instead of in turns with the others")
    return ap


def _main(argv: Optional[Sequence[str]]) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    peers = [p.strip() for p in (args.peers or "").split(",") if p.strip()]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        raise cli.CommandError(f"--peers: unknown {', '.join(unknown)}; expected some of "
                               f"{', '.join(PEERS)}")
    if args.peer_python and not (os.path.isfile(args.peer_python)
                                 and os.access(args.peer_python, os.X_OK)):
        raise cli.CommandError(f"--peer-python {args.peer_python}: not an executable file")
    if args.out:
        cli.check_output_dir(args.out)
    threads = blas.choose(args.threads)
    pin = args.threads is not None
    with limited_threads(threads.count, peers, pin) as (cpus, how):
        print(threads.describe("") + (f"; pinned to CPU(s) {cpus}" if cpus else ""),
              file=sys.stderr, flush=True)
        if how is None:
            print(blas.not_applied_warning(threads), file=sys.stderr, flush=True)
        res = run(peers, args.repeat, args.seed, threads.count, args.parallel,
                  args.peer_python, args.alone)
    res["config"].update(threads=threads.count, threads_from=threads.source,
                         threads_applied=how, cpus=cpus)
    print(table(res))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        R.atomic_write_text(os.path.join(args.out, "speed.json"),
                            json.dumps(res, indent=2, default=str) + "\n")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (2 for a mistake, 130 for Ctrl-C)."""
    return cli.run(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())
