"""How close an optimizer update is to the memory floor: ``python -m benchmarks.update_bandwidth``.

Times the Adam update of the speed benchmark's MLP parameters (784-1000-1000-10, float32,
1.8 M values; the gradient given) compiled by symgraph, on the NumPy path and with the numba
back end, beside a numba loop that moves the same bytes and does no arithmetic (it adds the
gradient to ``m``, ``v`` and ``p``: reads 4 arrays, writes 3, as Adam does). Each is timed
with warm caches (called back to back) and cold ones (a 64 MiB buffer is written between
calls, as the products of a train step do). When the Adam loop takes what the copy loop takes,
the update is bound by memory bandwidth, not by its arithmetic or by symgraph's code.
"""
from __future__ import annotations

import statistics
import sys
import time
from collections import OrderedDict
from typing import Callable, Dict, Optional, Sequence

import numpy as np

import symgraph
import symgraph.tensor as T
from benchmarks.speed import BIG, init_params
from models import cli
from models import threads as blas
from symgraph.compile.mode import FAST_RUN, NUMPY


def adam_update(values, mode):
    """A compiled ``f(*grads)`` applying Adam (the optimizers package's) to shared copies of
    ``values``."""
    import optimizers
    params = [symgraph.shared(v.copy()) for v in values]
    grads = [T.tensor("float32", (None,) * v.ndim, f"g{k}") for k, v in enumerate(values)]
    ups = optimizers.Adam().updates(grads=grads, params=params)
    return symgraph.function(grads, [], updates=ups, mode=mode)


def copy_loop(values) -> Optional[Callable[..., None]]:
    """A numba loop adding each gradient to three arrays of its shape (None without numba)."""
    try:
        from numba import njit
    except ImportError:
        return None

    @njit(cache=False, nogil=True)
    def add3(g, m, v, p):
        for k in range(g.shape[0]):
            x = g[k]
            m[k] += x
            v[k] += x
            p[k] += x
    state = [[np.zeros(v.size, np.float32) for _ in range(3)] for v in values]

    def run(*grads):
        for g, (m, v, p) in zip(grads, state):
            add3(g.reshape(-1), m, v, p)
    return run


def timed(fn: Callable[[], object], repeat: int, flush: Optional[np.ndarray]) -> float:
    fn()
    times = []
    for _ in range(repeat):
        if flush is not None:
            flush += 1.0
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(repeat: int) -> Dict[str, Dict[str, float]]:
    values = init_params(BIG, 0)
    rng = np.random.default_rng(1)
    grads = [(rng.standard_normal(v.shape) * 1e-2).astype(np.float32) for v in values]
    fns: Dict[str, Callable[[], object]] = {
        "adam, NumPy path": (lambda f=adam_update(values, NUMPY): f(*grads))}
    try:
        import numba  # noqa: F401
        fast = adam_update(values, FAST_RUN.__class__("NUMBA", backend="numba"))
        fns["adam, numba"] = lambda: fast(*grads)
    except ImportError:
        pass
    loop = copy_loop(values)
    if loop is not None:
        fns["same bytes, no arithmetic (numba)"] = lambda: loop(*grads)
    flush = np.zeros(64 * 2 ** 20 // 8)
    return {name: {"warm": timed(fn, repeat, None), "cold": timed(fn, repeat, flush)}
            for name, fn in fns.items()}


def _main(argv: Optional[Sequence[str]]) -> int:
    ap = cli.Parser(prog="python -m benchmarks.update_bandwidth",
                    description="Adam's update of the speed benchmark's 1.8 M float32 "
                                "parameters (NumPy path and numba) beside a loop that only "
                                "moves the same bytes, with warm and cold caches.")
    ap.add_argument("--repeat", metavar="N", type=cli.bounded(int, 1), default=40,
                    help="timed calls per median")
    ap.add_argument("--threads", metavar="N", type=cli.bounded(int, 1), default=None,
                    help="BLAS and numba threads (default: $OPENBLAS_NUM_THREADS when set, "
                         "else 1)")
    args = ap.parse_args(argv)
    threads = blas.choose(args.threads)
    print(threads.describe(""), file=sys.stderr, flush=True)
    try:
        import numba
        numba.set_num_threads(min(threads.count, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    with blas.limited(threads.count) as how:
        if how is None:
            print(blas.not_applied_warning(threads), file=sys.stderr, flush=True)
        res = run(args.repeat)
    n = sum(v.size for v in init_params(BIG, 0))
    print(f"Adam update of {n / 1e6:.2f} M float32 parameters (28 bytes moved per parameter)\n")
    print("| | warm caches | cold caches |\n|---|---|---|")
    for name, r in res.items():
        print(f"| {name} | {r['warm'] * 1e3:.2f} ms | {r['cold'] * 1e3:.2f} ms |")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (2 for a mistake, 130 for Ctrl-C)."""
    return cli.run(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())
