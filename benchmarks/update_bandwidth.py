"""How close an optimizer update is to the memory floor: ``python -m benchmarks.update_bandwidth``.

Times the Adam update of the speed benchmark's MLP parameters (784-1000-1000-10, float32,
1.8 M values; the gradient given) compiled by symgraph, on the NumPy path and with the numba
back end, beside a numba loop that moves the same bytes and does no arithmetic (it adds the
gradient to ``m``, ``v`` and ``p``: reads 4 arrays, writes 3, as Adam does). Each is timed
with warm caches (called back to back) and cold ones (a 64 MiB buffer is written between
calls, as the products of a train step do). When the Adam loop takes what the copy loop takes,
the update is bound by memory bandwidth, not by its arithmetic or by symgraph's code.

The NumPy path cannot fuse: it runs the update as :data:`ADAM_UFUNCS`, twelve ufunc calls per
element, over cache-sized chunks. Its floor is printed too: each of those calls timed alone on
operands that stay in the L1 and L2 caches (:data:`FLOOR_CHUNKS` elements, called back to back),
summed and scaled to the parameters, with each ufunc's rate and the SIMD target NumPy's build
runs it with (``numpy.lib.introspect.opt_func_info``, NumPy 2): no order of the same calls can
take less.
"""
from __future__ import annotations

import statistics
import sys
import time
from collections import OrderedDict
from typing import Callable, Dict, Optional, Sequence, Tuple

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


#: the ufunc calls of one chunk of the NumPy path's Adam update, in order: ``m``, ``v``, then
#: the parameter (``(name, operands)``: "a" an array, "s" a scalar; ``out=`` a third array)
ADAM_UFUNCS: Tuple[Tuple[str, str], ...] = (
    ("multiply", "sa"), ("multiply", "sa"), ("add", "aa"),
    ("multiply", "sa"), ("square", "a"), ("multiply", "sa"), ("add", "aa"),
    ("multiply", "sa"), ("sqrt", "a"), ("add", "as"), ("true_divide", "aa"),
    ("subtract", "aa"))
#: elements per call of the floor's timings (64-256 KiB of float32 an operand: in the L2
#: cache; the best of the three rates counts: larger calls cost less per element in NumPy's
#: per-call overhead, smaller ones stay nearer the core)
FLOOR_CHUNKS = (1 << 14, 1 << 15, 1 << 16)


def simd_target(ufunc: str, dtype: str = "float32") -> str:
    """The SIMD target NumPy runs ``ufunc``'s loop for ``dtype`` with ('' when unknown)."""
    try:
        from numpy.lib.introspect import opt_func_info
    except ImportError:  # NumPy 1.x
        return ""
    name = getattr(np, ufunc).__name__  # true_divide is divide
    code = np.dtype(dtype).char
    for sig, info in opt_func_info(func_name=f"^{name}$").get(name, {}).items():
        if sig and set(sig) == {code}:
            return info["current"]
    return ""


def ufunc_floor(n: int, repeat: int) -> Tuple[float, Dict[Tuple[str, str], float]]:
    """Seconds the :data:`ADAM_UFUNCS` take for ``n`` float32 elements when every call runs at
    its best in-cache rate (the median over ``repeat`` timings of 64 calls back to back on
    operands of each of :data:`FLOOR_CHUNKS` elements), and the rate of each distinct call of
    :data:`ADAM_UFUNCS` in elements per nanosecond."""
    rng = np.random.default_rng(2)
    per: Dict[Tuple[str, str], float] = {}
    for size in FLOOR_CHUNKS:
        a, b = (rng.random(size, dtype=np.float32) + 0.5 for _ in range(2))
        out = np.empty_like(a)
        s = np.float32(0.9)
        for call in dict.fromkeys(ADAM_UFUNCS):
            name, ops = call
            args = {"a": (a,), "aa": (a, b), "sa": (s, a), "as": (a, s)}[ops]
            calls = 64

            def many(uf=getattr(np, name), args=args):
                for _ in range(calls):
                    uf(*args, out=out)
            t = timed(many, repeat, None) / (calls * size)
            per[call] = min(per.get(call, t), t)
    total = sum(per[call] for call in ADAM_UFUNCS) * n
    return total, {call: 1e-9 / t for call, t in per.items()}


def describe_rate(call: Tuple[str, str], rate: float) -> str:
    """``multiply(scalar, array) 21.2 (X86_V3)``: a call of :data:`ADAM_UFUNCS`, its rate and
    the SIMD target of its loop when NumPy says it."""
    name, ops = call
    target = simd_target(name)
    return (f"{name}({', '.join('scalar' if o == 's' else 'array' for o in ops)}) {rate:.1f}"
            + (f" ({target})" if target else ""))


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
        floor, rates = ufunc_floor(n, args.repeat)
    print(f"Adam update of {n / 1e6:.2f} M float32 parameters (28 bytes moved per parameter)\n")
    print("| | warm caches | cold caches |\n|---|---|---|")
    for name, r in res.items():
        print(f"| {name} | {r['warm'] * 1e3:.2f} ms | {r['cold'] * 1e3:.2f} ms |")
    print(f"| NumPy path's floor: its {len(ADAM_UFUNCS)} ufunc calls at their in-cache rates "
          f"({floor / n * 1e9:.2f} ns per parameter) | {floor * 1e3:.2f} ms | |")
    print("\nin-cache rates, float32 elements per ns (NumPy's SIMD target): " +
          ", ".join(describe_rate(call, rate) for call, rate in rates.items()))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (2 for a mistake, 130 for Ctrl-C)."""
    return cli.run(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())
