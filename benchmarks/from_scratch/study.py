"""One experiment into one folder: refuse another study's folder, resume from the stored task
results, compute the missing tasks (here, in worker processes or on Dask), then write the
tables, figures and ``summary.json``.

Folder layout: ``summary.json`` (the study's identity, written first, then its key figures),
``runs/<task>.npz`` (one file per finished task, written atomically by this process as results
arrive; the zip members carry CRC-32s, so a damaged file is detected and its task redone),
and the experiment's CSV tables and PNG/SVG figures, rewritten from the stored results at the
end of every run.
"""
from __future__ import annotations

import functools
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from benchmarks import results as R
from benchmarks import schedulers
from benchmarks.from_scratch import figures
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec
from benchmarks.from_scratch.worker import run_task
from models import threads as blas

SUMMARY = "summary.json"
RUNS = "runs"


class StudyError(ValueError):
    """The folder or the arguments cannot take this study (mismatch, bad value...)."""


def normalise(settings: Settings) -> Settings:
    """``settings`` as they read back from JSON (tuples become lists), to compare."""
    return json.loads(json.dumps(settings, sort_keys=True))


#: what a spec carries besides the task's identity
_CONTEXT = ("settings", "data_dir", "checkpoint")


def _task_key(spec: Spec) -> str:
    return json.dumps({k: v for k, v in spec.items() if k not in _CONTEXT}, sort_keys=True)


def open_folder(out: Path, exp: Experiment, settings: Settings, overwrite: bool) -> Dict:
    """Check that ``out`` is empty or holds this very study (same experiment and settings);
    ``overwrite`` clears this program's files from it instead. Returns the folder's summary
    (empty for a new study); raises :class:`StudyError`."""
    summary = out / SUMMARY
    if overwrite:
        _clear(out)
    if not summary.exists():
        stray = sorted(p.name for p in (out / RUNS).glob("*.npz")) if (out / RUNS).is_dir() \
            else []
        if stray:
            raise StudyError(f"{out} holds task results ({RUNS}/{stray[0]}...) but no {SUMMARY}:"
                             f" refusing to mix an unknown study with this one; use another "
                             f"--out or --overwrite")
        return {}
    try:
        old = R.read_json(summary)
    except ValueError as exc:
        raise StudyError(f"{summary} is not valid JSON ({exc}); use another --out or "
                         f"--overwrite") from None
    if not isinstance(old, dict) or "experiment" not in old or "settings" not in old:
        raise StudyError(f"{summary} is not the summary of a from-scratch study; use another "
                         f"--out or --overwrite")
    new = {"experiment": exp.name, **normalise(settings)}
    before = {"experiment": old["experiment"], **old["settings"]}
    keys = list(new) + [k for k in before if k not in new]
    mismatch = R.settings_mismatch(out, before, {k: new.get(k) for k in keys}, keys)
    if mismatch:
        raise StudyError(mismatch)
    return old


def _clear(out: Path) -> None:
    # only this program's files: what else a user keeps in the folder stays
    summary = out / SUMMARY
    names: List[str] = []
    if summary.exists():
        try:
            names = list(R.read_json(summary).get("files", []))
        except (ValueError, AttributeError):
            names = []
        summary.unlink()
    for name in names:
        if "/" not in name and not name.startswith("."):
            (out / name).unlink(missing_ok=True)
    runs = out / RUNS
    if runs.is_dir():
        for path in runs.glob("*.npz"):
            path.unlink()
        if not any(runs.iterdir()):
            runs.rmdir()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 of this package's sources: tables and figures drawn by other code are redrawn."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def outputs_intact(out: Path, previous: Dict, task_ids: List[str], figures_wanted: bool
                   ) -> bool:
    """Whether the tables and figures a finished run wrote are all still there, unchanged
    (their SHA-256 in ``summary.json``), for the same tasks and by the same code: then a
    rerun has nothing to redo. A deleted or damaged file, figures missing now that matplotlib
    is there, or a change of this package's code make it draw again."""
    files = previous.get("files")
    if (previous.get("status") != "complete" or previous.get("task_ids") != task_ids
            or previous.get("figures") != figures_wanted or not isinstance(files, dict)
            or previous.get("drawn_by") != code_digest()):
        return False
    return all((out / name).is_file() and _digest(out / name) == digest
               for name, digest in files.items())


def _stats(out: Path) -> Dict[str, tuple]:
    # what changes when a file is written, in place or replaced by a rename
    return {p.name: (st.st_ino, st.st_size, st.st_mtime_ns) for p in out.iterdir()
            if p.suffix in (".csv", ".png", ".svg") and p.is_file() for st in [p.stat()]}


def result_path(out: Path, spec: Spec) -> Path:
    return out / RUNS / f"{spec['task']}.npz"


def checkpoint_path(out: Path, spec: Spec) -> Path:
    """Where a long task keeps its epoch checkpoint until its result is stored."""
    return out / RUNS / f"{spec['task']}.checkpoint.npz"


def save_result(out: Path, spec: Spec, result: Result) -> None:
    """Store one task's result atomically (with the task it belongs to)."""
    arrays = {k: np.asarray(v) for k, v in result.items()}
    arrays["_task"] = np.array(_task_key(spec))
    (out / RUNS).mkdir(parents=True, exist_ok=True)
    R.write_npz(result_path(out, spec), arrays)


def load_result(out: Path, spec: Spec) -> Optional[Result]:
    """The stored result of ``spec`` (None when there is none); ValueError when the file is
    damaged or belongs to another task."""
    path = result_path(out, spec)
    if not path.exists():
        return None
    arrays = R.read_npz(path)
    task = arrays.pop("_task", None)
    if task is None or str(task) != _task_key(spec):
        raise ValueError(f"{path} belongs to another task")
    return arrays


def check_data(exp: Experiment, settings: Settings, data_dir: Optional[str]) -> None:
    """Read the MNIST subset the tasks need (cached for serial runs); a request beyond the
    files becomes a :class:`StudyError` before any task starts."""
    if not exp.uses_data:
        return
    from benchmarks.optimizer_run import load_data
    try:
        load_data("mnist", data_dir or "", int(settings["n_train"]), int(settings["n_test"]),
                  str(settings.get("dtype", "float32")))
    except ValueError as exc:
        raise StudyError(f"{exp.name}: {exc}") from None


def _stream(todo: List[Spec], jobs: int, dask: Optional[str], threads: int):
    """The tasks' results as they come, each task run with ``threads`` BLAS threads."""
    if dask:
        address = None if dask == "local" else dask
        yield from schedulers.run_dask(run_task, todo, jobs, threads, address=address,
                                       key=lambda spec: f"{spec['experiment']}-{spec['task']}")
    elif jobs > 1 and len(todo) > 1:
        yield from schedulers.run_processes(run_task, todo, min(jobs, len(todo)), threads)
    else:
        with blas.limited(threads):
            yield from schedulers.run_serial(run_task, todo)


def run_experiment(exp: Experiment, out: Path, seeds: Sequence[int], quick: bool,
                   jobs: int = 1, dask: Optional[str] = None, data_dir: Optional[str] = None,
                   overwrite: bool = False, progress: str = "auto",
                   command: Optional[List[str]] = None, threads: int = 1) -> Dict:
    """Run (or complete) ``exp`` in folder ``out``; return a short report.

    ``dask`` is a scheduler address, or ``"local"`` for a ``LocalCluster`` of ``jobs``
    workers; otherwise ``jobs > 1`` runs tasks in that many processes. Each task runs with
    ``threads`` BLAS threads (one by default, as every command line here).
    """
    from benchmarks.progress import Progress
    from benchmarks.results import machine_info
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = normalise(exp.settings(quick))
    previous = open_folder(out, exp, settings, overwrite)
    tasks = [dict(t, experiment=exp.name, settings=settings, data_dir=data_dir)
             for t in exp.tasks(settings, list(seeds))]
    if not dask:  # workers on this machine keep epoch checkpoints in the folder
        (out / RUNS).mkdir(exist_ok=True)
        for spec in tasks:
            spec["checkpoint"] = str(checkpoint_path(out, spec))
    ids = [t["task"] for t in tasks]
    if len(set(ids)) != len(ids):
        raise RuntimeError(f"{exp.name}: two tasks share an id")
    results: Dict[str, Result] = {}
    for spec in tasks:
        try:
            stored = load_result(out, spec)
        except ValueError as exc:
            print(f"{exp.name}: redoing task {spec['task']} ({exc})", file=sys.stderr)
            stored = None
        if stored is not None:
            results[spec["task"]] = stored
    todo = [t for t in tasks if t["task"] not in results]
    started = time.time()
    summary = {"experiment": exp.name, "title": exp.title, "book": exp.book,
               "settings": settings, "quick": quick, "seeds": list(seeds) if exp.seeded else [],
               "status": "running", "versions": machine_info(),
               "command": command or [],
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))}
    R.write_json(out / SUMMARY, summary)
    if todo:
        check_data(exp, settings, data_dir)
    bar = Progress(len(tasks), len(tasks) - len(todo), progress, unit="task")
    try:
        for spec, result in _stream(todo, jobs, dask, threads):
            save_result(out, spec, result)
            results[spec["task"]] = load_result(out, spec)  # what a resumed run reads
            checkpoint_path(out, spec).unlink(missing_ok=True)
            bar.advance(f"{exp.name} {exp.describe(spec, results[spec['task']])}")
    finally:
        bar.close()
    plt = figures.pyplot()
    if plt is None:
        print(f"{exp.name}: matplotlib is not installed, writing the data only (pip install "
              f"matplotlib and run the command again to draw the figures)", file=sys.stderr)
    if not todo and outputs_intact(out, previous, ids, plt is not None):
        key_figures, written = previous["key_figures"], list(previous["files"])
    else:
        before = _stats(out)
        key_figures = exp.finish(out, settings, tasks, results, plt)
        # the files finish wrote (a user's own files in the folder are not ours to list)
        written = [name for name, stat in _stats(out).items() if before.get(name) != stat]
    wall = time.time() - started
    summary.update(
        status="complete", key_figures=key_figures, wall_seconds=wall,
        tasks_computed=len(todo), tasks_total=len(tasks), task_ids=ids,
        task_seconds=sum(float(results[t["task"]].get("_seconds", 0.0)) for t in tasks),
        figures=plt is not None, drawn_by=code_digest(),
        files={name: _digest(out / name) for name in sorted(written)})
    R.write_json(out / SUMMARY, summary)
    return {"experiment": exp.name, "out": str(out), "computed": len(todo),
            "total": len(tasks), "wall": wall, "key_figures": key_figures}
