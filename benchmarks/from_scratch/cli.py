"""``python -m benchmarks.from_scratch``: the experiments of *Deep Learning from Scratch* as
one-command studies.

    python -m benchmarks.from_scratch --list
    python -m benchmarks.from_scratch EXPERIMENT [--out DIR] [--seeds N] [--jobs N]
                                      [--dask ADDRESS] [--quick]
    python -m benchmarks.from_scratch all --quick

Each experiment writes PNG figures, CSV tables and ``summary.json`` (key figures, settings,
versions, wall time) into ``DIR`` (default ``results/from_scratch/EXPERIMENT``; with ``all``,
``DIR/EXPERIMENT``). A study resumes where it stopped: finished tasks are stored in
``DIR/runs/`` and only the missing or damaged ones are computed again; a folder holding
another study (another experiment, or other settings, e.g. ``--quick`` against full size) is
refused. ``--seeds N`` runs seeds 0..N-1 (the seeds may grow between runs of one folder).
MNIST is read from ``--data-dir``, else ``$SYMGRAPH_DATA/mnist``, else the cache folder.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

DEFAULT_ROOT = Path("results") / "from_scratch"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``error: ...``, exit status 2) and no usage dump."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from benchmarks.from_scratch.registry import names
    p = _Parser(prog="python -m benchmarks.from_scratch",
                description="The experiments of 'Deep Learning from Scratch' (ch. 5-8): "
                            "figures, data and a summary per experiment; resumable.",
                epilog="experiments: " + ", ".join(names()) + " (or all); --list describes "
                       "them")
    p.add_argument("experiment", nargs="?", help="an experiment name, or 'all'")
    p.add_argument("--list", action="store_true", help="name and describe the experiments")
    p.add_argument("--out", default=None,
                   help="output folder (default results/from_scratch/EXPERIMENT; with 'all' "
                        "each experiment goes into OUT/EXPERIMENT)")
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds 0..N-1 (default per experiment; see --list)")
    p.add_argument("--jobs", type=int, default=1, help="tasks run in parallel (processes)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run the tasks on the Dask scheduler at ADDRESS ('local' starts a "
                        "LocalCluster of --jobs workers)")
    p.add_argument("--quick", action="store_true",
                   help="a reduced version of each experiment (seconds; used by the tests)")
    p.add_argument("--data-dir", default=None,
                   help="folder of the MNIST files (default $SYMGRAPH_DATA/mnist)")
    p.add_argument("--overwrite", action="store_true",
                   help="discard the study the output folder holds")
    p.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto",
                   help="progress bar (tqdm, on a terminal), log lines, or nothing")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads per task (default: $OPENBLAS_NUM_THREADS when set, "
                        "else 1)")
    return p


def list_text() -> str:
    from benchmarks.from_scratch.registry import EXPERIMENTS
    width = max(len(n) for n in EXPERIMENTS)
    lines = []
    for e in EXPERIMENTS.values():
        seeds = (f"seeds: {e.default_seeds} (--quick {e.quick_seeds})" if e.seeded
                 else "deterministic")
        lines.append(f"{e.name:{width}}  {e.title} [{e.book}; {seeds}]")
    return "\n".join(lines)


def resolve(args: argparse.Namespace) -> List[str]:
    """The experiments to run; a one-line :class:`ValueError` for a bad argument."""
    from benchmarks.from_scratch.registry import EXPERIMENTS, names
    if args.experiment is None:
        raise ValueError("name an experiment (or 'all'), or give --list")
    if args.experiment == "all":
        chosen = names()
    elif args.experiment in EXPERIMENTS:
        chosen = [args.experiment]
    else:
        raise ValueError(f"unknown experiment {args.experiment!r}; known: "
                         f"{', '.join(names())} (or 'all')")
    if args.seeds is not None and args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if len(chosen) == 1 and args.seeds is not None and not EXPERIMENTS[chosen[0]].seeded:
        raise ValueError(f"--seeds: {chosen[0]} is deterministic (it has no seed); run it "
                         f"without --seeds")
    return chosen


def main(argv: Optional[Sequence[str]] = None) -> int:
    from benchmarks.from_scratch.registry import get
    from benchmarks.from_scratch.study import StudyError, run_experiment
    from models import threads as blas
    from models.data import DataError
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.list:
        print(list_text())
        return 0
    try:
        chosen = resolve(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if len(chosen) > 1 and args.seeds is not None:
        fixed = [n for n in chosen if not get(n).seeded]
        print(f"note: {', '.join(fixed)} are deterministic and run once; --seeds applies to "
              f"the others", file=sys.stderr)
    for name in chosen:
        exp = get(name)
        if args.out is None:
            out = DEFAULT_ROOT / name
        else:
            out = Path(args.out) / name if len(chosen) > 1 else Path(args.out)
        n = args.seeds or (exp.quick_seeds if args.quick else exp.default_seeds)
        seeds = list(range(n)) if exp.seeded else [0]
        try:
            report = run_experiment(exp, out, seeds, args.quick, jobs=args.jobs,
                                    dask=args.dask, data_dir=args.data_dir,
                                    overwrite=args.overwrite, progress=args.progress,
                                    threads=blas.choose(args.threads).count,
                                    command=["python", "-m", "benchmarks.from_scratch"] + argv)
        except (StudyError, DataError) as exc:
            # one line, even for a message that lists folders one per line
            print("error: " + " ".join(line.strip() for line in str(exc).splitlines()),
                  file=sys.stderr)
            return 2
        print(f"{name}: {report['computed']} task(s) computed, {report['total']} in the study, "
              f"{report['wall']:.1f} s; results in {report['out']}", file=sys.stderr)
    return 0
