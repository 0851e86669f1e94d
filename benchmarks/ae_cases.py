"""The autoencoder study's cases and their result files (see :mod:`benchmarks.autoencoders`).

:data:`CASES` is the case table. A finished case's folder ``caseNN_<name>/`` holds
``result.npz`` (what its pictures need) and ``loss.csv`` (one checksummed row per epoch, the
float columns as float32 text in a float32 study); ``summary.csv`` has one row per case.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from benchmarks import results as R
from models.cli import CommandError

#: a case's loss.csv: one checksummed row per epoch (float64 columns; see loss_table)
LOSS_TABLE = R.Table(("case", "epoch", "train_loss", "test_loss", "test_mse", "seconds", "crc"),
                     (int, int, float, float, float, R.seconds), ("case",))
#: what each column of a loss.csv holds (config.json repeats it)
LOSS_COLUMNS = {
    "case": "the case id (CASES)", "epoch": "1, 2, ...",
    "train_loss": "mean minibatch cost of the epoch (on noisy inputs for denoising cases)",
    "test_loss": "the case's loss on the clean test images",
    "test_mse": "mean squared reconstruction error per pixel on the test images",
    "seconds": "training time of the epoch (evaluation excluded)",
    "crc": R.RUN_COLUMNS["crc"]}
#: the arrays of a case's result.npz (all that its pictures need)
PICTURE_ARRAYS = ("inputs", "reconstructions", "w1", "w2t")
PNG_FILES = ("loss.png", "reconstructions.png", "W1.png", "W2T.png")
CASE_FILES = ("loss.csv", "result.npz") + PNG_FILES
SUMMARY_FIELDS = ("case", "name", "study", "activation", "hidden", "dropout", "noise", "tied",
                  "loss", "output", "epochs", "train_loss", "test_loss", "test_mse", "seconds")


class CaseError(CommandError):
    """The command line names cases or values this benchmark cannot run."""


class StudyError(CaseError):
    """The output folder cannot hold this study (config mismatch, nothing to resume...)."""


@dataclass(frozen=True)
class Case:
    """One autoencoder configuration. ``noise`` is ``kind:level`` or ``''`` for none."""

    id: int
    study: str
    activation: str
    hidden: int
    dropout: float = 0.0
    noise: str = ""
    tied: bool = False
    loss: str = "mse"
    output: str = "linear"

    @property
    def name(self) -> str:
        parts = [self.activation, str(self.hidden)]
        if self.dropout:
            parts.append(f"dropout{self.dropout:g}")
        if self.noise:
            kind, _, level = self.noise.partition(":")
            parts.append(f"{kind}{float(level):g}")
        if self.tied:
            parts.append("tied")
        return "_".join(parts)

    @property
    def folder(self) -> str:
        return f"case{self.id:02d}_{self.name}"


#: seed 000 (1-7: MSE, linear output, untied) and seed 001 (8-10: tied sigmoid DAE, xent)
CASES: Dict[int, Case] = {c.id: c for c in (
    Case(1, "000", "relu", 1000),
    Case(2, "000", "relu", 400),
    Case(3, "000", "relu", 100),
    Case(4, "000", "sigmoid", 1000),
    Case(5, "000", "relu", 1000, dropout=0.5),
    Case(6, "000", "relu", 1000, noise="masking:0.2"),
    Case(7, "000", "sigmoid", 1000, noise="masking:0.2"),
    Case(8, "001", "sigmoid", 500, noise="masking:0.3", tied=True, loss="xent",
         output="sigmoid"),
    Case(9, "001", "sigmoid", 500, noise="salt_and_pepper:0.3", tied=True, loss="xent",
         output="sigmoid"),
    Case(10, "001", "sigmoid", 500, noise="gaussian:0.3", tied=True, loss="xent",
         output="sigmoid"),
)}


def parse_cases(text: str) -> List[int]:
    """Case ids from ``'1,3,8'`` (or ``'all'``), in the given order, each once."""
    if text.strip().lower() == "all":
        return list(CASES)
    ids = []
    for part in text.split(","):
        part = part.strip()
        try:
            cid = int(part)
        except ValueError:
            cid = None
        if cid not in CASES:
            raise CaseError(f"--cases: unknown case id {part!r}; known ids: "
                            f"{', '.join(str(k) for k in CASES)} (or 'all')")
        if cid in ids:
            raise CaseError(f"--cases lists case {cid} twice")
        ids.append(cid)
    return ids


def case_title(case: Case) -> str:
    return f"case {case.id} (seed {case.study}): {case.name}, {case.loss}"


def loss_table(dtype: str) -> R.Table:
    """The loss.csv columns of a study of ``dtype`` (float32 values written as float32)."""
    return LOSS_TABLE.for_dtype(dtype)


@dataclass
class CaseResult:
    """A finished case: its per-epoch rows (:data:`LOSS_TABLE`) and :data:`PICTURE_ARRAYS`."""

    rows: List[Dict]
    arrays: Dict[str, np.ndarray]


def save_case(out: Path, case: Case, result: CaseResult, dtype: str = "float64") -> None:
    """Store ``result`` in the case's folder: ``result.npz``, then ``loss.csv`` (which marks
    the case finished), each replaced atomically."""
    folder = Path(out) / case.folder
    folder.mkdir(parents=True, exist_ok=True)
    R.write_npz(folder / "result.npz", dict(result.arrays, case=np.array(case.id)))
    R.write_runs(folder / "loss.csv", result.rows, loss_table(dtype))


def load_case(out: Path, case: Case, epochs: int, dtype: str = "float64"
              ) -> Optional[CaseResult]:
    """The stored result of ``case``, or None when its folder holds none.

    Raises ValueError (saying why) for a partial or damaged result: missing epochs, a bad
    checksum, an unreadable ``result.npz``.
    """
    folder = Path(out) / case.folder
    csv_path, npz_path = folder / "loss.csv", folder / "result.npz"
    if not csv_path.exists() and not npz_path.exists():
        return None
    table = loss_table(dtype)
    rows, bad = R.read_runs(csv_path, table)
    complete = R.complete_runs(rows, epochs, table).get((case.id,))
    if complete is None or bad or len(rows) != epochs:
        raise ValueError(f"{csv_path} holds {len(rows)} valid row(s) of {epochs} epoch(s) "
                         f"({bad} corrupt line(s))")
    arrays = R.read_npz(npz_path, PICTURE_ARRAYS + ("case",))
    if int(arrays.pop("case")) != case.id:
        raise ValueError(f"{npz_path} belongs to another case")
    return CaseResult(complete, arrays)


def summary_row(case: Case, rows: Sequence[Dict]) -> Dict:
    """The summary.csv row of ``case`` from its per-epoch rows."""
    last = rows[-1]
    return {"case": case.id, "name": case.name, "study": case.study,
            "activation": case.activation, "hidden": case.hidden, "dropout": case.dropout,
            "noise": case.noise or "none", "tied": case.tied, "loss": case.loss,
            "output": case.output, "epochs": len(rows), "train_loss": last["train_loss"],
            "test_loss": last["test_loss"], "test_mse": last["test_mse"],
            "seconds": sum(r["seconds"] for r in rows)}


def write_summary(out: Path, rows: Sequence[Dict], dtype: str = "float64") -> None:
    """``summary.csv`` of the summary rows, atomically (losses of a float32 study as
    float32 text, training seconds to the microsecond)."""
    table = loss_table(dtype)
    kinds = dict(zip(table.fields, table.types))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(SUMMARY_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: R.format_value(kinds.get(k), v) for k, v in row.items()})
    R.atomic_write_text(Path(out) / "summary.csv", buf.getvalue())


def format_summary(rows: Sequence[Dict]) -> str:
    """The summary as an aligned text table (seconds: training time, evaluation excluded)."""
    width = max([len("name")] + [len(r["name"]) for r in rows])
    head = (f"{'case':>4}  {'seed':4}  {'name':{width}}  {'loss':4}  {'train loss':>10}  "
            f"{'test loss':>10}  {'test MSE':>9}  {'train s':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['case']:>4}  {r['study']:4}  {r['name']:{width}}  {r['loss']:4}  "
                     f"{r['train_loss']:10.5f}  {r['test_loss']:10.5f}  {r['test_mse']:9.5f}  "
                     f"{r['seconds']:7.1f}")
    return "\n".join(lines)
