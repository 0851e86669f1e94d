"""Multi-seed comparison of update rules on MNIST: ``python -m benchmarks.optimizers``.

The classic Theano study trained an MLP 784-500-10 (ReLU, dropout 0.1 on the input,
Glorot-uniform weights, zero biases, softmax cross-entropy, minibatches of 100) with SGD,
momentum SGD, AdaGrad, RMSprop, AdaDelta and Adam at their default hyper-parameters, for 20
epochs from 30 seeds, and compared test accuracy per epoch averaged over seeds. This command
runs that study (``--full``) or, by default, a small version of it: 6 optimizers × 2 seeds ×
2 epochs on the first 10,000 training images (all 10,000 test images), about 10 s on one core
of the development machine. It logs losses as well as accuracy; ``--dataset fashion-mnist``
runs it on Fashion-MNIST, ``--lr`` changes learning rates.

Outputs in ``--out`` (default ``results/optimizers``): ``runs.csv`` (optimizer × seed × epoch:
train loss, test loss, test accuracy, seconds, row checksum; the columns are described in
:data:`benchmarks.results.RUN_COLUMNS` and in config.json), ``summary.csv`` (optimizer ×
epoch: mean/std/min/max over seeds), ``config.json`` (the study's settings, each optimizer's
hyper-parameters, the data folder used, BLAS threads, versions, machine, and one record per
session that computed runs) and PNG plots (see :mod:`benchmarks.plot`). Each finished run is
saved atomically; rerunning with the same arguments (or ``--resume``) computes only the missing
runs and gives exactly the numbers of an uninterrupted study. A folder holding a different
study is refused. The study's identity is the set of parameters that change a run's numbers
(model, sizes, data subset, epochs, dtype, each optimizer's hyper-parameters); the optimizer
list and the seeds may grow, so ``--seeds 30`` completes a 3-seed folder.

Nothing is written into ``--out`` before the arguments, the folder and the data have been
checked; a mistake is reported as one line and exit status 2, Ctrl-C as one line and exit
status 130 (what was saved stays, and the same command resumes).

BLAS threads: one per run by default (:mod:`models.threads` says why), ``--threads`` or
``OPENBLAS_NUM_THREADS`` to change it; the count is printed and recorded. Runs are
bit-identical for equal arguments and an equal BLAS thread count: float32 sums in another
thread split may differ in the last bits.

What computed and how fast: before the first run the command prints and records
(``compute`` in config.json) the back end FAST_RUN picks (numba when installed, see
:mod:`symgraph.backends`) and its kernel cache, the BLAS route of the in-place products
(:func:`symgraph.ops.blas.gemm_path`) and the machine's rate for the study's products, the
GEMM-only step measured now (:mod:`benchmarks.products`). Each run reports the back end it
actually used, its set-up, training and evaluation seconds, and its process's peak memory;
the log line and the session's record in config.json give the products' achieved GFLOP/s in
training and its fraction of that rate, per run and for the session, and the ETA counts the
runs' training and evaluation only (a process's first run also imports and compiles). The
rate counts the dense products' operations: where the back end skips the zeros of the input
layer's operand (numba, ``compute.sparse_products``), it does fewer, and the fraction can pass
100 %.

Schedulers: ``serial`` (default for ``--jobs 1``), ``processes`` (``--jobs N`` spawned workers,
BLAS threads set in their environment before NumPy loads), ``dask`` (a ``LocalCluster`` of
``--jobs`` worker processes, or ``--dask-address`` of an existing scheduler whose workers have
this project installed and the data in ``$SYMGRAPH_DATA``). Only this process writes files.

Measured figures (time per run, accuracies of the full-size study): benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from benchmarks import products
from benchmarks import results as R
from benchmarks import schedulers
from benchmarks.optimizer_run import RUN_KEYS, data_sizes, run_one, warm_kernels
from benchmarks.progress import Progress
from models import cli
from models import threads as blas

DEFAULT_OPTIMIZERS = "sgd,momentum,adagrad,rmsprop,adadelta,adam"
#: the small default study and the original one (``--full``); explicit flags override both
SMALL = {"seeds": 2, "epochs": 2, "n_train": 10000, "n_test": 10000}
FULL = {"seeds": 30, "epochs": 20, "n_train": 60000, "n_test": 10000}
INITS = ("glorot_uniform", "glorot_sigmoid", "he", "xavier")
#: what resolve() adds to the arguments and config.json records elsewhere
_DERIVED = ("blas", "blas_applied", "hyperparameters", "lr_overrides", "data_folder")

EPILOG = """\
outputs (in --out):
  runs.csv      one row per optimizer, seed and epoch; its last column, crc, is the CRC-32
                of the row's other fields as written: a damaged row is ignored and its run
                computed again
  summary.csv   mean, std, min and max over seeds per optimizer and epoch
  config.json   settings, each optimizer's hyper-parameters, the data folder used, BLAS
                threads, the back end and the machine's GEMM rate, versions, and one
                record per session that computed runs (each run's efficiency)
  *.png         accuracy, zoom on the best optimizers, losses (redraw: python -m
                benchmarks.plot OUT)

data: --data-dir, else $SYMGRAPH_DATA/<dataset>, else ~/.cache/symgraph/<dataset>, where
missing files are downloaded (md5-checked). BLAS: 1 thread per run unless --threads or
OPENBLAS_NUM_THREADS says otherwise. Ctrl-C stops the study; the same command resumes it.
"""


class StudyError(cli.CommandError):
    """The output folder cannot hold this study (config mismatch, nothing to resume...)."""


def build_parser() -> cli.Parser:
    import optimizers
    count = cli.bounded(int, 1)
    p = cli.Parser(
        prog="python -m benchmarks.optimizers",
        description="Multi-seed comparison of update rules on MNIST or Fashion-MNIST: each "
                    "optimizer trains the same network from several seeds; test accuracy and "
                    "losses per epoch, averaged over seeds. Resumable.",
        epilog=EPILOG)
    p.add_argument("--optimizers", metavar="NAMES", default=DEFAULT_OPTIMIZERS,
                   help=f"comma-separated names, from: {', '.join(optimizers.names())}")
    p.add_argument("--lr", default=None, metavar="RATE|NAME=RATE,...",
                   help="learning rate: one number for every optimizer, or name=rate pairs "
                        "(sgd=0.1,adam=0.002; the others keep theirs) (default: each "
                        f"optimizer's own: {cli.learning_rates_text()})")
    p.add_argument("--full", action="store_true",
                   help=f"the original study's size: {FULL['seeds']} seeds, "
                        f"{FULL['epochs']} epochs, all {FULL['n_train']} training images")
    p.add_argument("--seeds", metavar="N", type=count, default=None,
                   help=f"number of seeds (default: {SMALL['seeds']}; {FULL['seeds']} with "
                        f"--full)")
    p.add_argument("--first-seed", metavar="N", type=cli.bounded(int, 0), default=0,
                   help="the runs use seeds first-seed .. first-seed + seeds - 1")
    p.add_argument("--epochs", metavar="N", type=count, default=None,
                   help=f"epochs per run (default: {SMALL['epochs']}; {FULL['epochs']} with "
                        f"--full)")
    p.add_argument("--n-train", metavar="N", type=count, default=None,
                   help=f"train on the first N training images (default: {SMALL['n_train']}; "
                        f"all {FULL['n_train']} with --full)")
    p.add_argument("--n-test", metavar="N", type=count, default=SMALL["n_test"],
                   help="evaluate on the first N test images")
    p.add_argument("--model", choices=("mlp", "logistic"), default="mlp",
                   help="the network: an MLP 784-HIDDEN-10, or logistic regression 784-10")
    p.add_argument("--hidden", metavar="N", type=count, default=500, help="hidden units of the MLP")
    p.add_argument("--activation", default="relu", choices=("relu", "sigmoid", "tanh"),
                   help="activation of the MLP's hidden units")
    p.add_argument("--init", default="glorot_uniform", choices=INITS,
                   help="initialiser of the MLP's weights (models.init)")
    p.add_argument("--input-dropout", metavar="P", type=cli.bounded(float, 0, 0.99), default=0.1,
                   help="dropout probability on the input pixels during training")
    p.add_argument("--batch-size", metavar="N", type=count, default=100, help="minibatch size")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist",
                   help="MNIST digits, or Fashion-MNIST clothes (same format and sizes)")
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="folder of the four IDX files (default: $SYMGRAPH_DATA/<dataset>, "
                        "else ~/.cache/symgraph/<dataset>, where missing files are downloaded)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="float type of the data and the parameters")
    p.add_argument("--out", metavar="DIR", default="results/optimizers", help="output folder")
    p.add_argument("--jobs", metavar="N", type=count, default=1,
                   help="runs computed at the same time")
    p.add_argument("--scheduler", choices=("serial", "processes", "dask"), default=None,
                   help="where the runs execute (default: serial for --jobs 1, else "
                        "processes)")
    p.add_argument("--dask-address", metavar="ADDRESS", default=None,
                   help="address of a running Dask scheduler (default: start a local cluster "
                        "of --jobs workers; needs --scheduler dask)")
    p.add_argument("--threads", metavar="N", type=count, default=None,
                   help="BLAS threads per run (default: $OPENBLAS_NUM_THREADS when set, "
                        "else 1)")
    p.add_argument("--resume", action="store_true",
                   help="require an existing matching study in --out and complete it "
                        "(a matching study is resumed without this flag too)")
    p.add_argument("--overwrite", action="store_true",
                   help="discard whatever study --out holds (after every check passed)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto",
                   help="progress display: a bar (tqdm, on a terminal), log lines, or none")
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the size defaults (small or --full), check the values, build the optimizers'
    hyper-parameters, pick the scheduler and the BLAS threads. Raises
    :class:`cli.CommandError` naming the argument; writes nothing."""
    import optimizers
    size = FULL if args.full else SMALL
    for key in ("seeds", "epochs", "n_train"):
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
    args.lr_overrides = cli.parse_learning_rates(args.lr, names)
    args.hyperparameters = {}
    for name in names:
        hyper = {"lr": args.lr_overrides[name]} if name in args.lr_overrides else {}
        try:
            args.hyperparameters[name] = optimizers.get(name, **hyper).hyperparameters()
        except (ValueError, TypeError) as exc:
            raise StudyError(f"--lr: {exc}") from None
    if args.scheduler is None:
        args.scheduler = "serial" if args.jobs == 1 else "processes"
    if args.dask_address and args.scheduler != "dask":
        raise StudyError("--dask-address needs --scheduler dask")
    if args.scheduler == "dask" and importlib.util.find_spec("distributed") is None:
        raise StudyError("--scheduler dask needs dask.distributed: pip install "
                         "'dask[distributed]' (or the project's [dask] extra)")
    if args.scheduler == "serial" and args.jobs != 1:
        raise StudyError(f"--jobs {args.jobs} needs --scheduler processes or dask (serial "
                         f"runs one at a time)")
    args.blas = blas.choose(args.threads)
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


def _default_hyperparameters(name: str) -> Dict:
    import optimizers
    return optimizers.get(name).hyperparameters()


def inspect_folder(out: Path, args: argparse.Namespace):
    """Check ``out`` against this study without writing: its config.json (None when new) and
    its complete runs. Refuses (:class:`StudyError`) a folder whose config differs on
    :data:`RUN_KEYS` or on the hyper-parameters of an optimizer this run shares with it, or
    that holds results without a config; with ``--overwrite`` the folder counts as empty."""
    config_path, runs_path = out / "config.json", out / "runs.csv"
    if args.overwrite:
        return None, {}
    try:
        old = R.read_config(config_path)
    except ValueError as exc:
        raise StudyError(f"{config_path} is not valid JSON ({exc}); use another --out or "
                         f"--overwrite") from None
    if old is None:
        if args.resume:
            raise StudyError(f"--resume: {out} holds no study (no config.json)")
        if runs_path.exists():
            raise StudyError(f"{out} holds runs.csv but no config.json: refusing to mix an "
                             f"unknown study with this one; use another --out or --overwrite")
        return None, {}
    mismatch = R.settings_mismatch(out, old.get("study", {}), study_key(args), RUN_KEYS)
    if mismatch:
        raise StudyError(mismatch)
    table = R.RUNS.for_dtype(args.dtype)
    rows, bad = R.read_runs(runs_path, table)
    complete = R.complete_runs(rows, args.epochs, table)
    # folders of earlier versions record no hyper-parameters: they ran the defaults
    stored = old.get("optimizers")
    for name in args.optimizer_list:
        theirs = (stored or {}).get(name) or _default_hyperparameters(name)
        if any(k[0] == name for k in complete) and theirs != args.hyperparameters[name]:
            diff = "; ".join(f"{k}: folder has {theirs.get(k)!r}, this run has {v!r}"
                             for k, v in args.hyperparameters[name].items()
                             if theirs.get(k) != v)
            raise StudyError(f"{out} holds {name} runs with other hyper-parameters ({diff}); "
                             f"use another --out, the folder's settings, or --overwrite")
    kept = sum(len(v) for v in complete.values())
    if bad or kept != len(rows):
        print(f"{runs_path}: ignoring {bad} corrupt line(s) and {len(rows) - kept} row(s) of "
              f"incomplete runs; those runs are recomputed", file=sys.stderr)
    return old, complete


def check_data(args: argparse.Namespace) -> Dict:
    """Find (or download) the data and check the image counts asked for, before anything is
    written; returns what config.json records about it. With ``--dask-address`` the workers
    read their own copy: it is checked here only when it is found here."""
    from models import data as D
    remote = args.scheduler == "dask" and args.dask_address
    try:
        located = D.locate(args.dataset, args.data_dir, download=not remote)
    except D.DataError:
        if not remote:
            raise
        args.data_folder = args.data_dir
        return {"dataset": args.dataset, "dir": args.data_dir, "found_via": "dask workers"}
    args.data_folder = str(located.folder)
    n_train, n_test = data_sizes(args.dataset, args.data_folder, args.dtype)
    for flag, asked, have, what in (("--n-train", args.n_train, n_train, "training"),
                                    ("--n-test", args.n_test, n_test, "test")):
        if asked > have:
            raise StudyError(f"{flag} {asked}: {args.dataset} in {located.folder} has "
                             f"{have} {what} images")
    if remote:  # the workers' own paths may differ from this machine's
        args.data_folder = args.data_dir
    return {"dataset": args.dataset, "dir": str(located.folder), "found_via": located.source,
            "train_images": n_train, "test_images": n_test}


def _sorted_rows(complete: Dict[R.RunKey, List[R.Row]], order: Sequence[str]) -> List[R.Row]:
    rank = {name: i for i, name in enumerate(order)}
    keys = sorted(complete, key=lambda k: (rank.get(k[0], len(rank)), k[0], k[1]))
    return [row for key in keys for row in complete[key]]


def run_study(args: argparse.Namespace) -> Dict:
    """Run (or complete) the study described by resolved ``args``; return a short report.

    Everything is checked (arguments, ``--out``, the folder's study, the data) before the
    first file is written.
    """
    out = cli.check_output_dir(args.out)
    old, complete = inspect_folder(out, args)
    data_info = check_data(args)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    wanted = [(o, s) for o in args.optimizer_list for s in seeds]
    base = {**study_key(args), "data_dir": args.data_folder}
    todo = [{**base, "optimizer": o, "seed": s, "hyper": args.hyperparameters[o]}
            for o, s in wanted if (o, s) not in complete]
    found = len(wanted) - len(todo)
    if found:
        print(f"resuming: {found} of {len(wanted)} runs found in {out}"
              + ("; nothing to compute" if not todo else ""), file=sys.stderr, flush=True)
    compute = None
    if todo:
        print(args.blas.describe(), file=sys.stderr, flush=True)
        compute = _compute(args)
        rate = compute["gemm_rate"]
        cache = f", kernel cache {compute['kernel_cache']}" if compute["kernel_cache"] else ""
        sparse = (f" (and over the nonzeros of {compute['sparse_products']})"
                  if compute["sparse_products"] else "")
        print(f"back end: {compute['backend']}{cache}; products by {compute['gemm_path']}"
              f"{sparse} on {blas.describe_kernels()}; "
              f"GEMM-only step {rate['step_cpu_seconds'] * 1e3:.2f} ms of CPU time = "
              f"{rate['gflops']:.1f} GFLOP/s ({rate['flops_per_step'] / 1e6:.0f} MFLOP per "
              f"step, measured now; {rate['step_seconds'] * 1e3:.2f} ms of wall time)",
              file=sys.stderr, flush=True)

    out.mkdir(parents=True, exist_ok=True)
    if args.overwrite:
        for name in ("config.json", "runs.csv", "summary.csv"):
            (out / name).unlink(missing_ok=True)
    table = R.RUNS.for_dtype(args.dtype)
    started = time.time()
    config = None
    if todo:
        hyper = dict((old or {}).get("optimizers") or {})
        hyper.update(args.hyperparameters)
        config = R.with_sessions(
            {"study": study_key(args), "optimizers": hyper, "data": data_info,
             "arguments": {k: v for k, v in sorted(vars(args).items())
                           if k not in _DERIVED},
             "blas_threads": {"count": args.blas.count, "source": args.blas.source},
             "compute": compute,
             "columns": {"runs.csv": R.RUN_COLUMNS}, "machine": R.machine_info(),
             "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))},
            old, "runs_computed")
        R.write_json(out / "config.json", config)

    def save() -> None:
        R.write_runs(out / "runs.csv", _sorted_rows(complete, args.optimizer_list), table)
        requested = {k: v for k, v in complete.items() if k in set(wanted)}
        R.write_summary(out / "summary.csv",
                        R.summarize(_sorted_rows(requested, args.optimizer_list),
                                    args.optimizer_list), args.dtype)

    save()
    args.blas_applied = None
    ledger = products.Ledger(compute["gemm_rate"], args.jobs) if compute else None
    progress = Progress(len(wanted), found, args.progress, args.jobs)
    todo_keys = [(spec["optimizer"], spec["seed"]) for spec in todo]
    recorded = []  # this session's record, once added to config's sessions

    def computed() -> int:
        """This session's runs in ``complete`` (what save() writes): counted from it, so
        that a Ctrl-C anywhere leaves config.json agreeing with runs.csv."""
        return sum(1 for k in todo_keys if k in complete)

    def record_session() -> None:
        wall = time.time() - started
        done = computed()
        session = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "wall_seconds": wall, "runs_computed": done,
            "interrupted": done < len(todo), "scheduler": args.scheduler,
            "jobs": args.jobs, "blas_threads": args.blas.count,
            "blas_applied": args.blas_applied, "hostname": config["machine"]["hostname"],
            **compute, "efficiency": ledger.summary(wall), "runs": ledger.runs}
        if not recorded:
            R.add_session(config, session, "runs_computed")
            recorded.append(session)
        else:
            R.replace_last_session(config, session, "runs_computed")
        R.write_json(out / "config.json", config)

    try:
        for spec, result in _stream(args, todo):
            rows = result["rows"]
            if len(rows) != args.epochs:
                raise RuntimeError(f"run {spec['optimizer']}/{spec['seed']} returned "
                                   f"{len(rows)} epochs, expected {args.epochs}")
            # what the file will hold, so this session's summary equals a resumed one's
            complete[(spec["optimizer"], spec["seed"])] = [table.normalize(r) for r in rows]
            record = ledger.add(spec, result["info"])
            save()
            record_session()  # after every run: an interrupted session keeps its records
            progress.update(spec, rows, record, ledger.steady_seconds())
    finally:
        progress.close()
        if config is not None and computed():
            save()  # again: an interrupted save may have left the last run out
            record_session()
    report = {"out": str(out), "computed": computed(), "total": len(wanted)}
    if report["computed"]:
        report["efficiency"] = ledger.summary(time.time() - started)
    if not args.no_plots:
        from benchmarks import plot
        plot.make_plots(out)
    report["wall"] = time.time() - started
    return report


def _compute(args: argparse.Namespace) -> Dict:
    """What computes this session's runs, as far as this process can tell: the back end that
    FAST_RUN picks here and its kernel cache, the BLAS route of in-place products, when the
    back end's products skip the zeros of a sparse left operand (the input layer), and the
    GEMM-only rate of the study's products measured now with a run's BLAS thread count (the
    runs report the back end they actually used)."""
    from symgraph import backends
    from symgraph.backends import sparse_dot
    from symgraph.ops.blas import gemm_path
    name = backends.resolve("auto")
    sizes = products.layer_sizes(args.model, args.hidden)
    with blas.limited(args.blas.count):
        rate = products.gemm_rate(sizes, args.batch_size, args.dtype)
    return {"backend": name,
            "kernel_cache": backends.cache_dir() if name != "numpy" else None,
            "gemm_path": gemm_path(args.dtype), "gemm_rate": rate,
            "sparse_products": sparse_dot.describe() if name != "numpy" else None}


def _warm_kernels(args: argparse.Namespace, todo: List[Dict]) -> None:
    """Before the workers start, compile the runs' loops into the kernel cache in a process of
    their own (one short run per optimizer): workers then link them from the cache and never
    load numba and LLVM, which would add about 70 MB to each (measured: a worker's peak 423
    MiB when it compiled, 351 MiB when it linked). With a warm cache this costs a few
    seconds."""
    # one worker, which exits afterwards (and what it loaded with it)
    [(_, info)] = schedulers.run_processes(warm_kernels, [todo], 1, args.blas.count)
    if info["numba_imported"]:
        print(f"compiled the loops of {info['runs']} optimizer(s) into the kernel cache in "
              f"{info['seconds']:.1f} s, in a process of their own", file=sys.stderr,
              flush=True)


def _stream(args: argparse.Namespace, todo: List[Dict]):
    """``(spec, rows)`` of every run of ``todo`` as they finish, on the chosen scheduler with
    the chosen BLAS threads (applied in this process for the serial one)."""
    if not todo:
        return
    if args.scheduler == "serial":
        with blas.limited(args.blas.count) as how:
            args.blas_applied = how
            if how is None:
                print(blas.not_applied_warning(args.blas), file=sys.stderr, flush=True)
            yield from schedulers.run_serial(run_one, todo)
        return
    args.blas_applied = "worker environment"
    if args.scheduler == "processes":
        from symgraph import backends
        if backends.resolve("auto") == "numba":
            _warm_kernels(args, todo)
        yield from schedulers.run_processes(run_one, todo, args.jobs, args.blas.count)
    else:
        yield from schedulers.run_dask(run_one, todo, args.jobs, args.blas.count,
                                       args.dask_address)


def _main(argv: Optional[Sequence[str]]) -> int:
    args = resolve(build_parser().parse_args(argv))
    report = run_study(args)
    line = (f"{report['computed']} run(s) computed, {report['total']} in the study, "
            f"{report['wall']:.1f} s")
    eff = report.get("efficiency")
    if eff:
        line += (f"; products at {eff['gflops']:.1f} GFLOP/s (dense count) of training CPU "
                 f"time = "
                 f"{eff['fraction_of_gemm']:.0%} of the GEMM-only rate "
                 f"({eff['wall_fraction']:.0%} in wall time); study throughput "
                 f"{eff['throughput_gflops']:.1f} GFLOP/s over the wall time with "
                 f"{args.jobs} job(s) = {eff['throughput_fraction']:.0%} of {args.jobs} x "
                 f"the GEMM-only rate; peak memory of a run's process "
                 f"{eff['peak_rss_mb']:.0f} MiB")
    print(f"{line}; results in {report['out']}", file=sys.stderr)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (2 for a mistake, 130 for Ctrl-C)."""
    return cli.run(lambda: _main(argv), resumable=True)


if __name__ == "__main__":
    sys.exit(main())
