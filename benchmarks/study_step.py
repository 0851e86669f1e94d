"""Speed of the optimizer study's own train step: ``python -m benchmarks.study_step``.

The main job (``python -m benchmarks.optimizers``) spends its time in one compiled function:
the train step of an MLP 784-500-10 (ReLU, input dropout 0.1, softmax cross-entropy, batch 100,
float32). This command builds that step exactly as a run of the study does
(:func:`benchmarks.optimizer_run.build_model`, :class:`models.training.Trainer`) for each
optimizer and back end, with the study's input dropout and without it, and times, in turns
(round-robin, so that a shared machine's load falls on all of them alike):

* each train step, against the GEMM-only step of the same products
  (:func:`benchmarks.products.gemm_only_step`: the five matrix products alone, into
  preallocated outputs), the denominator of every ratio;
* the dropout's draw and mask inside the step: the step with dropout minus the step without;
* the draw and mask alone: a compiled function returning the dropped-out input.

In each turn a function runs ``--burst`` times in a row (default 8), as training runs its step
one call after another, and all calls but the first are timed: each step finds its parameters
and buffers in the caches where its previous call left them. (``--burst 1`` times one call per
turn, each after the other functions' calls: a cold step, slower by what refilling the caches
costs, which no training run pays; the figures of both are in the README.) Each call is timed
by its thread's CPU time (what the step costs when it runs; on a machine shared with other
work the wall time also counts the waits for a core) and by wall time; the medians over the
``--rounds`` turns are reported, and the whole measurement is repeated ``--repeat`` times.
Run it pinned to one core with one BLAS thread (``taskset -c 1``, the default one thread per
run). The first line names the BLAS kernels (``OPENBLAS_CORETYPE`` selects OpenBLAS's): they
set the GEMM-only step, so every ratio depends on them. Measured tables: benchmarks/README.md.
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import os
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from benchmarks import products
from benchmarks import results as R
from benchmarks.optimizer_run import build_model, load_data
from models import cli
from models import threads as blas

#: the study's model (benchmarks.optimizers' defaults)
SPEC = {"model": "mlp", "hidden": 500, "activation": "relu", "init": "glorot_uniform",
        "dtype": "float32", "seed": 0}
#: the targets of the study's step on one pinned core (ratios to the GEMM-only step)
TARGETS = {("numba", "adam"): 1.5, ("numba", "sgd"): 1.2, ("numpy", "adam"): 1.8}
DROPOUT_TARGET = 0.15e-3


def timed_turns(fns: Dict[str, Callable[[], object]], rounds: int, burst: int = 1
                ) -> Dict[str, Dict]:
    """Time every function in turns for ``rounds`` turns (after two calls each):
    ``{name: {"cpu": median thread CPU seconds, "wall": median wall seconds}}``.

    In each turn a function is called ``burst`` times in a row, as training calls its step,
    and every call but the burst's first is timed: the step then finds its own parameters
    and buffers where its previous call left them in the caches. With ``burst=1`` each call
    follows the other functions' calls instead, with caches full of their data (a dozen
    models' parameters and optimizer state overflow the last-level cache): a cold step
    that no training run takes."""
    for fn in fns.values():
        fn()
        fn()
    cpu: Dict[str, List[float]] = {k: [] for k in fns}
    wall: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            for j in range(burst):
                c0, w0 = time.thread_time(), time.perf_counter()
                fn()
                w1, c1 = time.perf_counter(), time.thread_time()
                if j or burst == 1:
                    wall[key].append(w1 - w0)
                    cpu[key].append(c1 - c0)
    return {k: {"cpu": statistics.median(cpu[k]), "wall": statistics.median(wall[k])}
            for k in fns}


#: calls of a function in a row per turn (the first of them not timed)
BURST = 8
#: minibatches the steps cycle through (gathered once, before the timing)
BATCHES = 32


def minibatches(data: str, batch: int, seed: int = 0, data_dir: str = "") -> List[tuple]:
    """:data:`BATCHES` minibatches ``(x, y)`` of the study's input: random MNIST training
    images and labels (``data='mnist'``, from ``data_dir`` or else the study's default
    folders, as the study reads them; 81 % of their pixels are zeros, which the numba back
    end's first-layer products skip) or uniform random pixels (``'random'``, no zeros: every
    product dense)."""
    rng = np.random.default_rng(seed)
    if data == "random":
        return [(rng.random((batch, 784), dtype=np.float32),
                 rng.integers(0, 10, batch).astype(np.int32)) for _ in range(BATCHES)]
    (x_tr, y_tr), _ = load_data("mnist", data_dir, 0, 0, SPEC["dtype"])
    picks = [rng.integers(0, len(x_tr), batch) for _ in range(BATCHES)]
    return [(x_tr[p], y_tr[p].astype(np.int32)) for p in picks]


def build(backends: Sequence[str], optimizers_: Sequence[str], dropout: float, batch: int,
          seed: int = 0, data: str = "mnist", data_dir: str = ""
          ) -> Dict[str, Callable[[], object]]:
    """The functions timed: ``gemm_only``, ``<backend>/<optimizer>`` (the study's step),
    ``<backend>/<optimizer>/no-dropout`` and ``<backend>/dropout`` (the draw and mask), each
    call on the next of the :func:`minibatches` of ``data``."""
    import optimizers
    import symgraph
    import symgraph.tensor as T
    from models.layers import dropout as dropout_layer
    from models.training import Trainer
    batches = minibatches(data, batch, seed, data_dir)
    fns: Dict[str, Callable[[], object]] = {
        "gemm_only": products.gemm_only_step(products.layer_sizes("mlp", SPEC["hidden"]),
                                             batch, SPEC["dtype"], seed)}
    for backend in backends:
        mode = backend.upper()
        for opt in optimizers_:
            for p, suffix in ((dropout, ""), (0.0, "/no-dropout")):
                model = build_model({**SPEC, "input_dropout": p})
                trainer = Trainer(model, optimizers.get(opt), mode=mode)
                if trainer.backend != backend:
                    raise RuntimeError(f"asked for back end {backend}, got {trainer.backend}")
                fns[f"{backend}/{opt}{suffix}"] = _cycled(trainer._train, batches)
        xv = T.fmatrix("x")
        stream = symgraph.RandomStream(seed + 1)
        f = symgraph.function([xv], dropout_layer(xv, dropout, stream, True), mode=mode)
        fns[f"{backend}/dropout"] = _cycled(f, [(x,) for x, _ in batches])
    return fns


def _cycled(fn: Callable, args: List[tuple]) -> Callable[[], object]:
    """``fn`` called on the next of ``args`` at each call, round and round."""
    turn = itertools.cycle(args)
    return lambda: fn(*next(turn))


def run(backends: Sequence[str], optimizers_: Sequence[str], rounds: int, repeat: int,
        dropout: float = 0.1, batch: int = 100, data: str = "mnist", data_dir: str = "",
        burst: int = BURST) -> Dict:
    """Build and time everything ``repeat`` times; the results of each repetition."""
    fns = build(backends, optimizers_, dropout, batch, data=data, data_dir=data_dir)
    reps = [timed_turns(fns, rounds, burst) for _ in range(repeat)]
    return {"config": {"backends": list(backends), "optimizers": list(optimizers_),
                       "rounds": rounds, "burst": burst, "repeat": repeat, "dropout": dropout,
                       "batch": batch, "data": data,
                       "load_average": os.getloadavg(), "numpy": np.__version__},
            "repetitions": reps}


def table(res: Dict, clock: str = "cpu") -> str:
    """One row per repetition and step: ms and the ratio to that repetition's GEMM-only."""
    cfg = res["config"]
    head = "| rep | step | " + " | ".join(
        f"{b} {o}" for b in cfg["backends"] for o in cfg["optimizers"]) + \
        " | " + " | ".join(f"{b} draw+mask in step / alone" for b in cfg["backends"]) + \
        " | GEMM-only |"
    cols = head.count("|") - 1
    rows = [head, "|" + "---|" * cols]
    for k, rep in enumerate(res["repetitions"], 1):
        g = rep["gemm_only"][clock]
        for label, suffix in (("dropout", ""), ("no dropout", "/no-dropout")):
            cells = [f"{rep[f'{b}/{o}{suffix}'][clock] * 1e3:.2f} ms "
                     f"({rep[f'{b}/{o}{suffix}'][clock] / g:.2f}x)"
                     for b in cfg["backends"] for o in cfg["optimizers"]]
            if suffix:
                extra = ["" for _ in cfg["backends"]]
            else:
                extra = [f"{dropout_in_step(rep, b, cfg['optimizers'], clock) * 1e3:.3f} / "
                         f"{rep[f'{b}/dropout'][clock] * 1e3:.3f} ms"
                         for b in cfg["backends"]]
            rows.append(f"| {k} | {label} | " + " | ".join(cells + extra) +
                        f" | {g * 1e3:.2f} ms |")
    return "\n".join(rows)


def dropout_in_step(rep: Dict, backend: str, optimizers_: Sequence[str],
                    clock: str = "cpu") -> float:
    """The draw and mask inside the study's step: the mean over optimizers of the step with
    dropout minus the step without."""
    diffs = [rep[f"{backend}/{o}"][clock] - rep[f"{backend}/{o}/no-dropout"][clock]
             for o in optimizers_]
    return sum(diffs) / len(diffs)


def verdicts(res: Dict, clock: str = "cpu") -> List[str]:
    """Each target against the median over repetitions."""
    cfg = res["config"]
    reps = res["repetitions"]
    lines = []
    for (backend, opt), target in TARGETS.items():
        if backend not in cfg["backends"] or opt not in cfg["optimizers"]:
            continue
        ratio = statistics.median(r[f"{backend}/{opt}"][clock] / r["gemm_only"][clock]
                                  for r in reps)
        lines.append(f"{backend} {opt} step: {ratio:.3f}x of GEMM-only, median of the "
                     f"repetitions (target <= {target}x): "
                     f"{'met' if ratio <= target else 'NOT met'}")
    for backend in cfg["backends"]:
        d = statistics.median(dropout_in_step(r, backend, cfg["optimizers"], clock)
                              for r in reps)
        lines.append(f"{backend} dropout draw + mask in the step: {d * 1e3:.3f} ms (target <= "
                     f"{DROPOUT_TARGET * 1e3:.2f} ms): "
                     f"{'met' if d <= DROPOUT_TARGET else 'NOT met'}")
    return lines


def add_data_dir(parser: cli.Parser) -> None:
    """``--data-dir``, as the benchmarks that read MNIST's minibatches without the study take
    it (they never download)."""
    parser.add_argument("--data-dir", metavar="DIR", default="",
                        help="the folder of MNIST's IDX files (else $SYMGRAPH_DATA/mnist, "
                             "then ~/.cache/symgraph/mnist; never downloads)")


def build_parser() -> cli.Parser:
    count = cli.bounded(int, 1)
    p = cli.Parser(
        prog="python -m benchmarks.study_step",
        description="Times the optimizer study's own train step (MLP 784-500-10, input "
                    "dropout 0.1, batch 100, float32) per optimizer and back end, with and "
                    "without its input dropout, and the dropout's draw and mask, against the "
                    "GEMM-only step of the same products, in turns; prints a table per "
                    "repetition and the targets. Pin it: taskset -c 1.")
    p.add_argument("--optimizers", metavar="NAMES", default="sgd,adam",
                   help="comma-separated optimizer names")
    p.add_argument("--backends", metavar="NAMES", default=None,
                   help="comma-separated back ends (default: numpy, and numba when "
                        "installed)")
    p.add_argument("--data", choices=("mnist", "random"), default="mnist",
                   help="the minibatches: MNIST training images as the study reads them "
                        "(from --data-dir or $SYMGRAPH_DATA/mnist) or uniform random pixels")
    add_data_dir(p)
    p.add_argument("--rounds", metavar="N", type=count, default=50,
                   help="turns per repetition")
    p.add_argument("--burst", metavar="N", type=count, default=BURST,
                   help="calls of each function in a row per turn, all but the first timed "
                        "(as training calls its step; 1: each call after the other "
                        "functions', with cold caches)")
    p.add_argument("--repeat", metavar="N", type=count, default=3, help="repetitions")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                   help="the times in the table: thread CPU time or wall time")
    p.add_argument("--threads", metavar="N", type=count, default=None,
                   help="BLAS threads (default: $OPENBLAS_NUM_THREADS when set, else 1)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="folder for study_step.json (default: print only)")
    return p


def _main(argv: Optional[Sequence[str]]) -> int:
    import optimizers
    from symgraph.backends import BACKENDS
    args = build_parser().parse_args(argv)
    opts = [o.strip().lower() for o in args.optimizers.split(",") if o.strip()]
    unknown = [o for o in opts if o not in optimizers.REGISTRY]
    if not opts or unknown:
        raise cli.CommandError(f"--optimizers: unknown {unknown or 'empty list'}; known: "
                               f"{', '.join(optimizers.names())}")
    if args.backends is None:
        backends = ["numpy"] + (["numba"] if importlib.util.find_spec("numba") else [])
    else:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        bad = [b for b in backends if b not in BACKENDS]
        if not backends or bad:
            raise cli.CommandError(f"--backends: unknown {bad or 'empty list'}; known: "
                                   f"{', '.join(sorted(BACKENDS))}")
        if "numba" in backends and importlib.util.find_spec("numba") is None:
            raise cli.CommandError("--backends numba: numba is not installed (the [fast] "
                                   "extra)")
    if args.out:
        cli.check_output_dir(args.out)
    threads = blas.choose(args.threads)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(threads.describe("") + f"; {blas.describe_kernels()}; CPUs {cpus}; load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}", file=sys.stderr, flush=True)
    with blas.limited(threads.count) as how:
        if how is None:
            print(blas.not_applied_warning(threads), file=sys.stderr, flush=True)
        res = run(backends, opts, args.rounds, args.repeat, data=args.data,
                  data_dir=args.data_dir, burst=args.burst)
    res["config"].update(threads=threads.count, cpus=cpus, blas_kernels=blas.kernels(),
                         openblas_coretype=os.environ.get(blas.CORETYPE_VAR),
                         load_average_after=os.getloadavg())
    print(f"times: median {args.clock} time per call, {args.burst} calls in a row per turn "
          f"(ratio to the GEMM-only step of the same repetition)")
    print(table(res, args.clock))
    print("\n".join(verdicts(res, args.clock)))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        R.atomic_write_text(os.path.join(args.out, "study_step.json"),
                            json.dumps(res, indent=2) + "\n")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (2 for a mistake, 130 for Ctrl-C)."""
    return cli.run(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())
