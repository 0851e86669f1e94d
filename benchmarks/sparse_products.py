"""Products over the nonzeros of a sparse left operand against BLAS:
``python -m benchmarks.sparse_products``.

The numba back end computes ``a @ b`` as a sum over the nonzero entries of ``a`` when ``a``
is sparse enough (:mod:`symgraph.backends.sparse_dot`): the input layer of a network on MNIST,
whose pixels are four-fifths zeros, forward (``x @ W``) and for its weight gradient
(``x.T @ g``). This command times both ways, in turns (thread CPU time, medians), on

* the optimizer study's two products of its input layer, on real MNIST minibatches with the
  study's input dropout (``--data mnist``, the default, from ``$SYMGRAPH_DATA/mnist``);
* a grid of shapes (batch x 784 times 784 x columns) and densities with nonzeros placed at
  random, which shows where the sparse loops stop paying (the limits the module applies:
  :data:`~symgraph.backends.sparse_dot.DENSITY` and
  :data:`~symgraph.backends.sparse_dot.MIN_COLUMNS`).

Run it pinned to one core with one BLAS thread (``taskset -c 1``, the default one thread).
"""
from __future__ import annotations

import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from benchmarks.study_step import add_data_dir
from models import cli
from models import threads as blas

#: (batch, columns) of the grid, and its densities
GRID = [(32, 128), (32, 256), (32, 1000), (100, 100), (100, 256), (100, 500), (100, 1000)]
DENSITIES = (0.05, 0.1, 0.17, 0.25, 0.35)


def timed_pair(sparse: Callable[[], object], dense: Callable[[], object], rounds: int
               ) -> Tuple[float, float]:
    """Median thread CPU seconds of each, called in turns ``rounds`` times (after a call
    each)."""
    sparse(), dense()
    ts: Dict[str, List[float]] = {"s": [], "d": []}
    for _ in range(rounds):
        for key, fn in (("s", sparse), ("d", dense)):
            t0 = time.thread_time()
            fn()
            ts[key].append(time.thread_time() - t0)
    return statistics.median(ts["s"]), statistics.median(ts["d"])


def _forced(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Callable[[], object]:
    """The sparse loops on ``a @ b`` whatever the module's limits (raises when they refuse
    the operands themselves)."""
    from symgraph.backends import sparse_dot

    names = ("DENSITY", "SAMPLE_DENSITY", "MIN_COLUMNS", "MIN_WORK")

    def run():
        limits = [getattr(sparse_dot, name) for name in names]
        for name, value in zip(names, (1.0, 1.0, 1, 1)):
            setattr(sparse_dot, name, value)
        try:
            if sparse_dot.product(a, b, out) is None:
                raise RuntimeError("the sparse loops did not take the operands")
        finally:
            for name, value in zip(names, limits):
                setattr(sparse_dot, name, value)
    return run


def study_products(rounds: int, seed: int = 0, data_dir: str = "") -> List[Dict]:
    """The study's input-layer products on a real minibatch (dropout 0.1 applied; MNIST from
    ``data_dir``, else the study's default folders)."""
    from benchmarks.optimizer_run import load_data
    (x_tr, _), _ = load_data("mnist", data_dir, 0, 0, "float32")
    rng = np.random.default_rng(seed)
    x = x_tr[rng.integers(0, len(x_tr), 100)]
    x = x * (rng.random(x.shape) < 0.9) / np.float32(0.9)
    w = (rng.standard_normal((784, 500)) * 0.05).astype(np.float32)
    g = (rng.standard_normal((100, 500)) * (rng.random((100, 500)) < 0.5)).astype(np.float32)
    rows = []
    for name, a, b in (("x @ W (forward)", x, w), ("x.T @ g (weight gradient)", x.T, g)):
        out = np.empty((a.shape[0], b.shape[1]), np.float32)
        s, d = timed_pair(_forced(a, b, out), lambda a=a, b=b, out=out: np.matmul(a, b, out=out),
                          rounds)
        rows.append({"product": name, "shape": f"{a.shape} @ {b.shape}",
                     "density": float(np.count_nonzero(a) / a.size), "sparse": s, "dense": d})
    return rows


def grid(rounds: int, seed: int = 0) -> List[Dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for m, n in GRID:
        b = rng.standard_normal((784, n)).astype(np.float32)
        out = np.empty((m, n), np.float32)
        for density in DENSITIES:
            a = (rng.random((m, 784)) * (rng.random((m, 784)) < density)).astype(np.float32)
            s, d = timed_pair(_forced(a, b, out), lambda a=a, b=b: np.matmul(a, b, out=out),
                              rounds)
            rows.append({"m": m, "n": n, "density": density, "sparse": s, "dense": d})
    return rows


def _main(argv: Optional[Sequence[str]]) -> int:
    from symgraph.backends import sparse_dot
    ap = cli.Parser(prog="python -m benchmarks.sparse_products",
                    description="Products over the nonzeros of a sparse left operand (the "
                                "numba back end's) against BLAS: the optimizer study's input "
                                "layer on MNIST, and a grid of shapes and densities. Pin it: "
                                "taskset -c 1.")
    ap.add_argument("--data", choices=("mnist", "none"), default="mnist",
                    help="the study's products on MNIST minibatches from "
                         "--data-dir or $SYMGRAPH_DATA/mnist, or the grid alone")
    add_data_dir(ap)
    ap.add_argument("--rounds", metavar="N", type=cli.bounded(int, 1), default=100,
                    help="timed calls of each per median")
    ap.add_argument("--threads", metavar="N", type=cli.bounded(int, 1), default=None,
                    help="BLAS threads (default: $OPENBLAS_NUM_THREADS when set, else 1)")
    args = ap.parse_args(argv)
    if sparse_dot._loops("float32") is None:
        raise cli.CommandError("the sparse loops need numba and llvmlite (the [fast] extra)")
    threads = blas.choose(args.threads)
    print(f"{threads.describe('')}; {blas.describe_kernels()}", file=sys.stderr, flush=True)
    with blas.limited(threads.count) as how:
        if how is None:
            print(blas.not_applied_warning(threads), file=sys.stderr, flush=True)
        study = study_products(args.rounds, data_dir=args.data_dir) \
            if args.data == "mnist" else []
        table = grid(args.rounds)
    print(f"thread CPU time, median of {args.rounds} calls each, in turns; the module takes "
          f"{sparse_dot.describe()}\n")
    if study:
        print("| study's input layer (MNIST, dropout 0.1) | density | sparse | BLAS | "
              "BLAS / sparse |\n|---|---|---|---|---|")
        for r in study:
            print(f"| {r['product']}: {r['shape']} | {r['density']:.3f} | "
                  f"{r['sparse'] * 1e6:.0f} us | {r['dense'] * 1e6:.0f} us | "
                  f"{r['dense'] / r['sparse']:.2f}x |")
        print()
    print("| batch x 784 @ 784 x columns | " +
          " | ".join(f"density {d:g}" for d in DENSITIES) + " |")
    print("|---|" + "---|" * len(DENSITIES))
    for m, n in GRID:
        cells = [f"{r['sparse'] * 1e6:.0f} / {r['dense'] * 1e6:.0f} us "
                 f"({r['dense'] / r['sparse']:.2f}x)"
                 for r in table if r["m"] == m and r["n"] == n]
        print(f"| {m} x 784 @ 784 x {n} | " + " | ".join(cells) + " |")
    print("\n(cells: sparse / BLAS, and BLAS time over sparse time)")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (2 for a mistake, 130 for Ctrl-C)."""
    return cli.run(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())
