"""Result files of a resumable study: checksummed per-epoch CSVs, ``summary.csv``, JSON, NPZ.

Every file is replaced atomically (temporary file in the same folder, fsync, rename, fsync of
the folder), so a process killed at any moment leaves either the old or the new file. Each row of
a per-epoch CSV (the optimizer study's ``runs.csv``, an autoencoder case's ``loss.csv``; its
columns are a :class:`Table`) ends with a ``crc`` column: the CRC-32 (8 hex digits) of the
row's other fields exactly as written, joined by commas. A run counts as complete only when all
of its epochs are present with valid checksums: a truncated or corrupt line (written by
anything else, or damaged later) is never taken as a finished result.

Measured values of a float32 study are float32 numbers and are written as such: the shortest
text that reads back as the same float32 (``0.7211``, not the float64 ``0.7211000025272369``
of the same value), and read back through float32, so a resumed study holds exactly the numbers
of an uninterrupted one. Timings are written to the microsecond.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]

#: the measured columns of runs.csv, per (optimizer, seed, epoch)
METRICS = ("train_loss", "test_loss", "test_accuracy")
RUN_FIELDS = ("optimizer", "seed", "epoch") + METRICS + ("seconds", "crc")
SUMMARY_STATS = ("mean", "std", "min", "max")

Row = Dict[str, object]
RunKey = Tuple


def float32(text: str) -> float:
    """Parse a float32 column: the float64 of the float32 that ``text`` denotes."""
    return float(np.float32(text))


def seconds(text: str) -> float:
    """Parse a timing column (written to the microsecond)."""
    return float(text)


#: how each column type is written: float32 values as the shortest text of the float32,
#: float64 values by repr (both read back exactly), timings to the microsecond
_FORMATS: Dict[Callable, Callable[[object], str]] = {
    float32: lambda v: str(np.float32(v)),
    float: lambda v: repr(float(v)),
    seconds: lambda v: f"{float(v):.6f}",
}


@dataclass(frozen=True)
class Table:
    """The columns of a checksummed per-epoch CSV.

    ``fields`` ends with ``"crc"``; ``types`` parses each other field from its text (``str``,
    ``int``, ``float`` for float64 values, :func:`float32`, :func:`seconds`) and decides how it
    is written; ``key`` names the columns that identify a run (the rest of a row is one epoch
    of it). Every table has an ``"epoch"`` column counting 1, 2, ...
    """

    fields: Tuple[str, ...]
    types: Tuple[Callable[[str], object], ...]
    key: Tuple[str, ...]

    def __post_init__(self):
        if self.fields[-1] != "crc" or len(self.types) != len(self.fields) - 1:
            raise ValueError(f"Table: fields must end with 'crc' and have one type each "
                             f"before it; got {self.fields} with {len(self.types)} types")
        missing = [k for k in self.key + ("epoch",) if k not in self.fields]
        if missing:
            raise ValueError(f"Table: key/epoch columns {missing} are not in {self.fields}")

    def for_dtype(self, dtype: str) -> "Table":
        """This table with its float columns stored as ``dtype`` (float32 or float64)."""
        kind = float32 if str(dtype) == "float32" else float
        types = tuple(kind if t in (float, float32) else t for t in self.types)
        return Table(self.fields, types, self.key)

    def normalize(self, row: Row) -> Row:
        """``row`` as it reads back from the file (float32 columns rounded, timings to the
        microsecond): what a resumed study sees."""
        return _parse(format_row(row, self), self)


#: the optimizer study's runs.csv: one row per (optimizer, seed, epoch); float64 columns (use
#: ``RUNS.for_dtype(dtype)`` for a study's own)
RUNS = Table(RUN_FIELDS, (str, int, int) + (float,) * len(METRICS) + (seconds,),
             ("optimizer", "seed"))

#: what each column of runs.csv holds (config.json and the README repeat it)
RUN_COLUMNS = {
    "optimizer": "the update rule's name (optimizers.names())",
    "seed": "the run's seed: initial weights, dropout masks and minibatch order",
    "epoch": "1, 2, ...: the row holds the state after this many epochs",
    "train_loss": "mean minibatch cost of the epoch (on dropped-out inputs)",
    "test_loss": "mean cross-entropy on the test images (no dropout)",
    "test_accuracy": "fraction of test images classified right",
    "seconds": "training time of the epoch (evaluation excluded)",
    "crc": "CRC-32 (8 hex digits) of the row's other fields as written, joined by commas: "
           "a row whose crc does not match (a truncated or damaged line) is ignored and its "
           "run computed again",
}


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically: temp file, fsync, rename, fsync the folder."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600 files; results are for sharing
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # platforms without directory handles
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(path: PathLike, text: str) -> None:
    """Replace ``path`` by ``text`` (UTF-8) atomically, as :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def save_figure(plt, fig, path: PathLike) -> Path:
    """Write ``fig`` as a PNG at ``path`` through a temporary name (an interrupted run never
    leaves a half-written picture), then close it; returns the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=100, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return path


def write_npz(path: PathLike, arrays: Dict[str, np.ndarray]) -> None:
    """``arrays`` as an uncompressed ``.npz``, atomically (the zip members carry CRC-32s)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def read_npz(path: PathLike, names: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
    """The arrays ``names`` (default: every array) of the ``.npz`` at ``path``; ValueError
    when the file is missing, damaged (bad zip or member checksum) or lacks one of them."""
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files) if names is None else names
            missing = [n for n in names if n not in z.files]
            if missing:
                raise ValueError(f"{path} lacks {missing}")
            return {n: z[n] for n in names}
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is missing or damaged ({exc})") from None


def _fmt(value) -> str:
    # repr round-trips floats exactly, so a resumed study reads back the very same numbers
    return repr(float(value)) if isinstance(value, float) else str(value)


def format_value(kind: Optional[Callable], value) -> str:
    """``value`` as a column of type ``kind`` is written (:class:`Table`'s types; None or
    another type: ``str``, floats by repr)."""
    fmt = _FORMATS.get(kind)
    return fmt(value) if fmt is not None else _fmt(value)


def row_crc(fields: Sequence[str]) -> str:
    """Hex CRC-32 of the formatted fields of a row (everything but the crc column)."""
    return format(zlib.crc32(",".join(fields).encode()), "08x")


def format_row(row: Row, table: Table = RUNS) -> List[str]:
    """The CSV fields of ``row``, its checksum last."""
    fields = [format_value(kind, row[k]) for k, kind in zip(table.fields, table.types)]
    return fields + [row_crc(fields)]


def write_runs(path: PathLike, rows: Iterable[Row], table: Table = RUNS) -> None:
    """Write every row (with checksums) to ``path`` atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.fields)
    for row in rows:
        writer.writerow(format_row(row, table))
    atomic_write_text(path, buf.getvalue())


def _parse(fields: List[str], table: Table) -> Row:
    if len(fields) != len(table.fields) or row_crc(fields[:-1]) != fields[-1]:
        raise ValueError("bad field count or checksum")
    return {k: kind(v) for k, kind, v in zip(table.fields, table.types, fields)}


def read_runs(path: PathLike, table: Table = RUNS) -> Tuple[List[Row], int]:
    """The valid rows of ``path`` and the number of lines rejected (bad checksum/shape)."""
    path = Path(path)
    if not path.exists():
        return [], 0
    rows, bad = [], 0
    with open(path, newline="") as f:
        text = f.read()
    # a last line without its newline may have been cut anywhere: the checksum decides
    for k, fields in enumerate(csv.reader(text.splitlines())):
        if k == 0 and tuple(fields) == table.fields:
            continue
        try:
            rows.append(_parse(fields, table))
        except (ValueError, IndexError):
            bad += 1
    return rows, bad


def complete_runs(rows: Iterable[Row], epochs: int, table: Table = RUNS
                  ) -> Dict[RunKey, List[Row]]:
    """Runs whose epochs 1..``epochs`` are all present (once each): key -> rows by epoch.

    The key is the tuple of the row's ``table.key`` columns, e.g. ``(optimizer, seed)``.
    """
    by_run: Dict[RunKey, Dict[int, Row]] = {}
    dup = set()
    for row in rows:
        key = tuple(row[k] for k in table.key)
        epoch = int(row["epoch"])
        if epoch in by_run.setdefault(key, {}):
            dup.add(key)
        by_run[key][epoch] = row
    out = {}
    for key, per in by_run.items():
        if key not in dup and sorted(per) == list(range(1, epochs + 1)):
            out[key] = [per[e] for e in range(1, epochs + 1)]
    return out


def summarize(rows: Iterable[Row], order: Sequence[str] = ()) -> List[Dict[str, object]]:
    """Per optimizer × epoch over seeds: ``n`` and mean, std (sample, ddof=1; 0 for one
    seed), min, max of every metric. Optimizers follow ``order``, then name order."""
    groups: Dict[Tuple[str, int], List[Row]] = {}
    for row in rows:
        groups.setdefault((str(row["optimizer"]), int(row["epoch"])), []).append(row)
    rank = {name: i for i, name in enumerate(order)}
    out = []
    for (opt, epoch) in sorted(groups, key=lambda k: (rank.get(k[0], len(rank)), k[0], k[1])):
        members = groups[(opt, epoch)]
        rec: Dict[str, object] = {"optimizer": opt, "epoch": epoch, "n": len(members)}
        for m in METRICS:
            vals = [float(r[m]) for r in members]
            mean = math.fsum(vals) / len(vals)
            var = (math.fsum((v - mean) ** 2 for v in vals) / (len(vals) - 1)
                   if len(vals) > 1 else 0.0)
            rec.update({f"{m}_mean": mean, f"{m}_std": math.sqrt(var),
                        f"{m}_min": min(vals), f"{m}_max": max(vals)})
        out.append(rec)
    return out


def summary_fields() -> List[str]:
    return ["optimizer", "epoch", "n"] + [f"{m}_{s}" for m in METRICS for s in SUMMARY_STATS]


def write_summary(path: PathLike, summary: Sequence[Dict[str, object]],
                  dtype: str = "float64") -> None:
    """Write :func:`summarize`'s records as CSV, atomically; the statistics of a float32
    study as float32 numbers (their shortest text)."""
    kind = float32 if dtype == "float32" else float
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=summary_fields(), lineterminator="\n")
    writer.writeheader()
    for rec in summary:
        writer.writerow({k: format_value(kind, v) if isinstance(v, float) else _fmt(v)
                         for k, v in rec.items()})
    atomic_write_text(path, buf.getvalue())


def write_csv(path: PathLike, fields: Sequence[str], rows: Iterable[Dict[str, object]]) -> None:
    """Plain CSV (a header, then one line per row; floats as ``repr``, which round-trips),
    replaced atomically. Unlike :func:`write_runs` the rows carry no checksum: for tables
    derived from stored results, which are rewritten from them."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(v) for k, v in row.items()})
    atomic_write_text(path, buf.getvalue())


def write_json(path: PathLike, data: dict) -> None:
    """``data`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: PathLike) -> dict:
    with open(path) as f:
        return json.load(f)


def settings_mismatch(out, old: dict, new: dict, keys: Sequence[str]) -> Optional[str]:
    """Why the study in folder ``out`` (settings ``old``) cannot take a run with settings
    ``new``, naming every differing key, or None when they agree on ``keys``."""
    diff = [f"{k}: folder has {old.get(k)!r}, this run has {new[k]!r}"
            for k in keys if old.get(k) != new[k]]
    if not diff:
        return None
    return (f"{out} holds a different study; refusing to mix them (" + "; ".join(diff)
            + "). Use another --out, the folder's settings, or --overwrite")


def read_config(path: PathLike) -> Optional[dict]:
    """The JSON object in ``path``, None when the file does not exist; ValueError when it is
    not a JSON object."""
    if not Path(path).exists():
        return None
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds JSON {type(data).__name__}, not an object")
    return data


def with_sessions(config: dict, old: Optional[dict], count_key: str) -> dict:
    """``config`` (this session's settings) with the session history of ``old`` (the folder's
    config.json, or None) carried over: ``sessions`` (one record per session that computed
    something), ``started`` (the first one's start), and the totals ``wall_seconds`` and
    ``count_key`` over them. A folder of an earlier version (totals, no sessions) counts as
    one session."""
    sessions = list(old.get("sessions", [])) if old else []
    if old and "sessions" not in old and "wall_seconds" in old:
        sessions = [{"started": old.get("started"), "wall_seconds": old["wall_seconds"],
                     count_key: old.get(count_key)}]
    out = dict(config, sessions=sessions)
    _totals(out, count_key)
    return out


def add_session(config: dict, session: dict, count_key: str) -> None:
    """Append ``session`` (``started``, ``wall_seconds``, ``count_key``, ...) to ``config``'s
    sessions and update its totals."""
    config["sessions"].append(session)
    _totals(config, count_key)


def replace_last_session(config: dict, session: dict, count_key: str) -> None:
    """Replace the last of ``config``'s sessions by ``session`` (the same session, further on)
    and update the totals."""
    config["sessions"][-1] = session
    _totals(config, count_key)


def _totals(config: dict, count_key: str) -> None:
    sessions = config["sessions"]
    if sessions:
        config["started"] = sessions[0].get("started") or config.get("started")
    config["wall_seconds"] = math.fsum(s.get("wall_seconds") or 0.0 for s in sessions)
    config[count_key] = sum(s.get(count_key) or 0 for s in sessions)


def machine_info() -> Dict[str, object]:
    """Versions and machine, for config.json (optional packages by their installed version,
    without importing them: importing changes nothing in the run), and the BLAS kernels the
    runs use (:func:`models.threads.kernels`: equal arguments give the same bits with the same
    kernels; ``OPENBLAS_CORETYPE`` when set)."""
    from importlib import metadata
    import numpy
    import symgraph
    from models import threads
    info: Dict[str, object] = {
        "python": platform.python_version(), "numpy": numpy.__version__,
        "symgraph": getattr(symgraph, "__version__", "?"), "platform": platform.platform(),
        "machine": platform.machine(), "processor": platform.processor(),
        "cpu_count": os.cpu_count(), "hostname": platform.node(),
        "blas_kernels": threads.kernels(),
        "openblas_coretype": os.environ.get(threads.CORETYPE_VAR)}
    for dist in ("scipy", "numba", "threadpoolctl", "matplotlib", "tqdm", "dask",
                 "distributed"):
        try:
            info[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return info
