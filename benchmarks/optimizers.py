"""Multi-seed comparison of update rules on MNIST: ``python -m benchmarks.optimizers``.

The classic Theano study trained an MLP 784-500-10 (ReLU, dropout 0.1 on the input,
Glorot-uniform weights, zero biases, softmax cross-entropy, minibatches of 100) with SGD,
momentum SGD, AdaGrad, RMSprop, AdaDelta and Adam at their default hyper-parameters, for 20
epochs from 30 seeds, and compared test accuracy per epoch averaged over seeds. This command
runs that study (``--full``) or, by default, a small version of it that finishes in a few
minutes on two cores: 6 optimizers × 2 seeds × 2 epochs on the first 10,000 training images
(all 10,000 test images). It logs losses as well as accuracy.

Outputs in ``--out`` (default ``results/optimizers``): ``runs.csv`` (optimizer × seed × epoch:
train loss, test loss, test accuracy, seconds, row checksum), ``summary.csv`` (optimizer × epoch:
mean/std/min/max over seeds), ``config.json`` (arguments, versions, machine) and PNG plots
(see :mod:`benchmarks.plot`). Each finished run is saved atomically; rerunning with the same
arguments (or ``--resume``) computes only the missing runs and gives exactly the numbers of an
uninterrupted study. A folder holding a different study is refused. The study's identity is
the set of parameters that change a run's numbers (model, sizes, data subset, epochs, dtype...);
the optimizer list and the seeds may grow, so ``--seeds 30`` completes a 3-seed folder.

Runs are bit-identical for equal arguments and an equal BLAS thread count (``--threads``,
default cores // jobs for workers; the serial scheduler uses this process's BLAS threads):
float32 sums in another thread split may differ in the last bits.

Schedulers: ``serial`` (default for ``--jobs 1``), ``processes`` (``--jobs N`` spawned workers,
BLAS threads set in their environment before NumPy loads), ``dask`` (a ``LocalCluster`` of
``--jobs`` worker processes, or ``--dask-address`` of an existing scheduler whose workers have
this project installed and the data in ``$SYMGRAPH_DATA``). Only this process writes files.

Measured figures (time per run, accuracies of a 10-seed full-size study): benchmarks/README.md.

Examples::

    python -m benchmarks.optimizers                                # small study, ~minutes
    python -m benchmarks.optimizers --full --jobs 2 --out results/full   # the original study
    python -m benchmarks.optimizers --scheduler dask --dask-address tcp://host:8786 --full
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from benchmarks import results as R
from benchmarks import schedulers
from benchmarks.optimizer_run import RUN_KEYS, run_one

DEFAULT_OPTIMIZERS = "sgd,momentum,adagrad,rmsprop,adadelta,adam"
#: the small default study and the original one (``--full``); explicit flags override both
SMALL = {"seeds": 2, "epochs": 2, "n_train": 10000, "n_test": 10000}
FULL = {"seeds": 30, "epochs": 20, "n_train": 60000, "n_test": 10000}


class StudyError(RuntimeError):
    """The output folder cannot hold this study (config mismatch, nothing to resume...)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.optimizers",
        description="Multi-seed comparison of update rules on MNIST (resumable).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--optimizers", default=DEFAULT_OPTIMIZERS,
                   help="comma-separated names from optimizers.names()")
    p.add_argument("--full", action="store_true",
                   help=f"the original study's size: {FULL}")
    p.add_argument("--seeds", type=int, default=None,
                   help=f"number of seeds (default {SMALL['seeds']}, --full {FULL['seeds']})")
    p.add_argument("--first-seed", type=int, default=0, help="seeds are first..first+seeds-1")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"epochs per run (default {SMALL['epochs']}, --full {FULL['epochs']})")
    p.add_argument("--n-train", type=int, default=None,
                   help=f"first N training images (default {SMALL['n_train']}, --full all)")
    p.add_argument("--n-test", type=int, default=None, help="first N test images (default all)")
    p.add_argument("--model", choices=("mlp", "logistic"), default="mlp")
    p.add_argument("--hidden", type=int, default=500, help="hidden units of the MLP")
    p.add_argument("--activation", default="relu", choices=("relu", "sigmoid", "tanh"))
    p.add_argument("--init", default="glorot_uniform", help="weight initialiser (models.init)")
    p.add_argument("--input-dropout", type=float, default=0.1,
                   help="dropout probability on the input pixels during training")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist")
    p.add_argument("--data-dir", default=None,
                   help="folder of the IDX files (default $SYMGRAPH_DATA/<dataset>)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--out", default="results/optimizers", help="output folder")
    p.add_argument("--jobs", type=int, default=1, help="parallel runs")
    p.add_argument("--scheduler", choices=("serial", "processes", "dask"), default=None,
                   help="default: serial for --jobs 1, else processes")
    p.add_argument("--dask-address", default=None,
                   help="existing Dask scheduler (default: start a LocalCluster)")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads per worker (default: cores // jobs)")
    p.add_argument("--resume", action="store_true",
                   help="require an existing matching study in --out and complete it "
                        "(a matching study is resumed without this flag too)")
    p.add_argument("--overwrite", action="store_true",
                   help="discard whatever study --out holds")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto",
                   help="progress bar (tqdm, on a terminal), log lines, or nothing")
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the size defaults (small or --full), check the values, pick the scheduler."""
    import optimizers
    size = FULL if args.full else SMALL
    for key in ("seeds", "epochs", "n_train", "n_test"):
        if getattr(args, key) is None:
            setattr(args, key, size[key])
    names = [n.strip().lower() for n in args.optimizers.split(",") if n.strip()]
    unknown = [n for n in names if n not in optimizers.REGISTRY]
    if not names or unknown:
        raise StudyError(f"--optimizers: unknown {unknown or 'empty list'}; known: "
                         f"{', '.join(optimizers.names())}")
    if len(set(names)) != len(names):
        raise StudyError(f"--optimizers lists a name twice: {names}")
    args.optimizer_list = names
    for key in ("seeds", "epochs", "batch_size", "jobs", "hidden", "n_train", "n_test"):
        if getattr(args, key) < 1:
            raise StudyError(f"--{key.replace('_', '-')} must be >= 1, got {getattr(args, key)}")
    if not 0 <= args.input_dropout < 1:
        raise StudyError(f"--input-dropout must be in [0, 1), got {args.input_dropout}")
    if args.scheduler is None:
        args.scheduler = "serial" if args.jobs == 1 else "processes"
    if args.dask_address and args.scheduler != "dask":
        raise StudyError("--dask-address needs --scheduler dask")
    if args.input_dropout and not _dropout_available():
        print("warning: this symgraph has no RandomStream, so input dropout is unavailable; "
              "running with --input-dropout 0 (recorded in config.json)", file=sys.stderr)
        args.input_dropout = 0.0
    return args


def _dropout_available() -> bool:
    import symgraph
    return getattr(symgraph, "RandomStream", None) is not None


def study_key(args: argparse.Namespace) -> Dict:
    """The parameters that change a run's numbers: a folder holds one value of each."""
    return {k: getattr(args, k) for k in RUN_KEYS}


def machine_info() -> Dict:
    import numpy
    import symgraph
    info = {"python": platform.python_version(), "numpy": numpy.__version__,
            "symgraph": getattr(symgraph, "__version__", "?"), "platform": platform.platform(),
            "machine": platform.machine(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "hostname": platform.node()}
    for mod in ("scipy", "matplotlib", "tqdm", "dask", "distributed"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            pass
    return info


def open_study(out: Path, args: argparse.Namespace) -> Dict[R.RunKey, List[R.Row]]:
    """Check ``out`` against this study and return its complete runs (empty when new).

    Refuses a folder whose config differs on :data:`RUN_KEYS` or that holds results without a
    config; ``--overwrite`` clears it instead.
    """
    config_path, runs_path = out / "config.json", out / "runs.csv"
    if args.overwrite:
        for name in ("config.json", "runs.csv", "summary.csv"):
            if (out / name).exists():
                (out / name).unlink()
    if not config_path.exists():
        if args.resume:
            raise StudyError(f"--resume: {out} holds no study (no config.json)")
        if runs_path.exists():
            raise StudyError(f"{out} holds runs.csv but no config.json: refusing to mix an "
                             f"unknown study with this one; use another --out or --overwrite")
        return {}
    try:
        old = R.read_json(config_path).get("study", {})
    except ValueError as exc:
        raise StudyError(f"{config_path} is not valid JSON ({exc}); use another --out or "
                         f"--overwrite") from None
    new = study_key(args)
    mismatch = R.settings_mismatch(out, old, new, RUN_KEYS)
    if mismatch:
        raise StudyError(mismatch)
    rows, bad = R.read_runs(runs_path)
    complete = R.complete_runs(rows, args.epochs)
    kept = sum(len(v) for v in complete.values())
    if bad or kept != len(rows):
        print(f"{runs_path}: ignoring {bad} corrupt line(s) and {len(rows) - kept} row(s) of "
              f"incomplete runs; those runs are recomputed", file=sys.stderr)
    return complete


class Progress:
    """One overall progress bar (tqdm on a terminal) or plain log lines with an ETA."""

    def __init__(self, total: int, done: int, mode: str = "auto", unit: str = "run"):
        self.total, self.done, self.start, self.new = total, done, time.perf_counter(), 0
        self.bar = None
        self.mode = mode
        if mode in ("auto", "bar"):
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None and (mode == "bar" or sys.stderr.isatty()):
                self.bar = tqdm(total=total, initial=done, desc=f"{unit}s", unit=unit)
        if self.bar is None and mode == "bar":
            self.mode = "log"

    def update(self, spec: Dict, rows: List[R.Row]) -> None:
        """Count one finished run of the optimizer study (its last epoch in the message)."""
        last = rows[-1]
        self.advance(f"{spec['optimizer']} seed {spec['seed']}: test acc "
                     f"{last['test_accuracy']:.4f}, test loss {last['test_loss']:.4f}")

    def advance(self, msg: str) -> None:
        """Count one finished run, described by ``msg``."""
        self.done += 1
        self.new += 1
        if self.bar is not None:
            self.bar.set_postfix_str(msg, refresh=False)
            self.bar.update(1)
        elif self.mode != "none":
            elapsed = time.perf_counter() - self.start
            eta = elapsed / self.new * (self.total - self.done)
            print(f"[{self.done}/{self.total}] {msg} ({elapsed:.0f} s elapsed, ETA "
                  f"{eta:.0f} s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _sorted_rows(complete: Dict[R.RunKey, List[R.Row]], order: Sequence[str]) -> List[R.Row]:
    rank = {name: i for i, name in enumerate(order)}
    keys = sorted(complete, key=lambda k: (rank.get(k[0], len(rank)), k[0], k[1]))
    return [row for key in keys for row in complete[key]]


def run_study(args: argparse.Namespace) -> Dict:
    """Run (or complete) the study described by resolved ``args``; return a short report."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    complete = open_study(out, args)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    wanted = [(o, s) for o in args.optimizer_list for s in seeds]
    base = {**study_key(args), "data_dir": args.data_dir}
    todo = [{**base, "optimizer": o, "seed": s} for o, s in wanted if (o, s) not in complete]
    started = time.time()
    config = {"study": study_key(args),
              "arguments": {k: v for k, v in sorted(vars(args).items())},
              "machine": machine_info(),
              "blas_threads": args.threads or (schedulers.threads_per_worker(args.jobs)
                                               if args.scheduler != "serial" else None),
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))}
    R.write_json(out / "config.json", config)

    def save() -> None:
        R.write_runs(out / "runs.csv", _sorted_rows(complete, args.optimizer_list))
        requested = {k: v for k, v in complete.items() if k in set(wanted)}
        R.write_summary(out / "summary.csv",
                        R.summarize(_sorted_rows(requested, args.optimizer_list),
                                    args.optimizer_list))

    save()
    progress = Progress(len(wanted), len(wanted) - len(todo), args.progress)
    if args.scheduler == "serial":
        stream = schedulers.run_serial(run_one, todo)
    elif args.scheduler == "processes":
        stream = schedulers.run_processes(run_one, todo, args.jobs, args.threads)
    else:
        stream = schedulers.run_dask(run_one, todo, args.jobs, args.threads, args.dask_address)
    try:
        for spec, rows in stream:
            if len(rows) != args.epochs:
                raise RuntimeError(f"run {spec['optimizer']}/{spec['seed']} returned "
                                   f"{len(rows)} epochs, expected {args.epochs}")
            complete[(spec["optimizer"], spec["seed"])] = rows
            save()
            progress.update(spec, rows)
    finally:
        progress.close()
    wall = time.time() - started
    config["wall_seconds"] = wall
    config["runs_computed"] = len(todo)
    R.write_json(out / "config.json", config)
    if not args.no_plots:
        from benchmarks import plot
        plot.make_plots(out)
    return {"out": str(out), "computed": len(todo), "total": len(wanted), "wall": wall}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args = resolve(args)
        report = run_study(args)
    except StudyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{report['computed']} run(s) computed, {report['total']} in the study, "
          f"{report['wall']:.1f} s; results in {report['out']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
