"""Autoencoders on MNIST, seeds 000 and 001: ``python -m benchmarks.autoencoders``.

Ten cases (:data:`CASES`), each a :class:`models.AutoEncoder` trained by
:func:`models.training.fit`:

- seed 000, cases 1-7: untied weights, linear output, MSE loss, ReLU or sigmoid hidden units,
  1000/400/100 of them, with dropout 0.5 on the hidden units or 20 % masking noise. Case 1 is
  the reference (ReLU 1000); 2-3 vary the width, 4 the activation, 5 adds dropout, 6-7 add
  masking noise to the ReLU and the sigmoid reference.
- seed 001, cases 8-10: the tied-weight denoising autoencoder of the Theano tutorial (500
  sigmoid hidden units, sigmoid output, cross-entropy summed over pixels), one case per noise:
  masking 30 % (the tutorial's corruption level), salt-and-pepper 30 %, Gaussian std 0.3.

Outputs in ``--out`` (default ``results/autoencoders``), per case in ``caseNN_<name>/``:
``loss.csv`` (per epoch: train loss, test loss, test MSE, seconds, row checksum),
``result.npz`` (what the pictures need: the first ``--n-show`` test images, their
reconstructions, and the first ``--n-tiles`` hidden units' incoming weights W1[:, j] and
outgoing weights W2[j, :] = W2ᵀ[:, j]; W2ᵀ = W1 for the tied cases) and, with matplotlib,
``loss.png``, ``reconstructions.png``, ``W1.png`` and ``W2T.png`` (the weights as 28×28 tiles).
Overall: ``summary.csv``, also printed, with one row per case: the last epoch's train loss
(mean minibatch cost, on noisy inputs for the denoising cases), test loss and test MSE (clean
inputs) and the training seconds of all epochs; ``config.json`` holds the study's identity
(:data:`STUDY_KEYS`), every argument, the case table, versions and the wall time.

Every file is replaced atomically and a case counts as finished only when both of its files
are whole (``result.npz`` is written first, then ``loss.csv`` with all epochs and valid
checksums), so the run resumes where it was stopped, even by SIGKILL: rerunning the command
(or ``--resume``) trains only the missing cases and gives the numbers of an uninterrupted run.
A folder holding another study (a different :data:`STUDY_KEYS` value) is refused, naming the
differing settings; use another ``--out`` or ``--overwrite``. The case list may change between
runs (``--cases 1,2`` then ``--cases all`` completes the folder). ``python -m
benchmarks.ae_plots OUT`` redraws every picture and the summary from the stored results without
training (matplotlib is optional: without it the run completes and says the pictures were
skipped).

The default is a small run: 3 epochs on the first 10,000 training images, all 10,000 test
images, Adam at its defaults (40 s for the ten cases on one core of the development
machine; a rerun finds every case stored and finishes at once).
The original setting is ``--epochs 20 --n-train 0`` (all 60,000 images). Equal arguments give
identical numbers (for an equal BLAS thread count): ``--seed`` fixes the initial weights, the
noise and dropout draws and the minibatch order of every case.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from benchmarks import results as R

#: a case's loss.csv: one checksummed row per epoch
LOSS_TABLE = R.Table(("case", "epoch", "train_loss", "test_loss", "test_mse", "seconds", "crc"),
                     (int, int, float, float, float, float), ("case",))
#: the arrays of a case's result.npz (all that its pictures need)
PICTURE_ARRAYS = ("inputs", "reconstructions", "w1", "w2t")
PNG_FILES = ("loss.png", "reconstructions.png", "W1.png", "W2T.png")
CASE_FILES = ("loss.csv", "result.npz") + PNG_FILES
#: the arguments that change a case's numbers or pictures: a folder holds one value of each
STUDY_KEYS = ("epochs", "n_train", "n_test", "batch_size", "optimizer", "lr", "seed", "dtype",
              "n_show", "n_tiles")
SUMMARY_FIELDS = ("case", "name", "study", "activation", "hidden", "dropout", "noise", "tied",
                  "loss", "output", "epochs", "train_loss", "test_loss", "test_mse", "seconds")


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

DEFAULTS = {"epochs": 3, "n_train": 10000}


class CaseError(ValueError):
    """The command line names cases or values this benchmark cannot run."""


class StudyError(CaseError):
    """The output folder cannot hold this study (config mismatch, nothing to resume...)."""


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


def build_model(case: Case, seed: int, dtype: str):
    """The :class:`models.AutoEncoder` of ``case`` with initial weights from ``seed``."""
    import models
    noise = None
    if case.noise:
        kind, _, level = case.noise.partition(":")
        noise = {"masking": models.masking, "salt_and_pepper": models.salt_and_pepper,
                 "gaussian": models.gaussian}[kind](float(level))
    return models.AutoEncoder(784, case.hidden, activation=case.activation,
                              dropout=case.dropout, noise=noise, tied=case.tied, loss=case.loss,
                              output_activation=case.output, seed=seed, dtype=dtype,
                              name=f"ae{case.id}")


def weight_tiles(model, n_tiles: int):
    """(W1 columns, W2ᵀ columns) of the first ``n_tiles`` hidden units, as rows of 784."""
    w1 = model.encoder.W.get_value()  # (784, hidden)
    w2 = w1.T if model.tied else model.decoder.W.get_value()  # (hidden, 784)
    k = min(n_tiles, w1.shape[1])
    return w1[:, :k].T, w2[:k]


def reconstruct(model, x: np.ndarray) -> np.ndarray:
    """Test-mode reconstructions of the rows of ``x``."""
    import symgraph
    xv = model.input_variable("x")
    return np.asarray(symgraph.function([xv], model.forward(xv, train=False),
                                        name="reconstruct")(x))


@dataclass
class CaseResult:
    """A finished case: its per-epoch rows (:data:`LOSS_TABLE`) and :data:`PICTURE_ARRAYS`."""

    rows: List[Dict]
    arrays: Dict[str, np.ndarray]


def case_title(case: Case) -> str:
    return f"case {case.id} (seed {case.study}): {case.name}, {case.loss}"


def train_case(case: Case, args: argparse.Namespace, data) -> CaseResult:
    """Train ``case`` and return its per-epoch rows and the arrays its pictures need."""
    import optimizers
    from models.training import fit
    model = build_model(case, args.seed, args.dtype)
    opt = optimizers.get(args.optimizer, **({} if args.lr is None else {"lr": args.lr}))
    history = fit(model, opt, data, epochs=args.epochs, batch_size=args.batch_size,
                  seed=args.seed, progress=False)
    rows = [{"case": case.id, "epoch": int(h["epoch"]), "train_loss": float(h["train_loss"]),
             "test_loss": float(h["test_loss"]), "test_mse": float(h["test_mse"]),
             "seconds": float(h["seconds"])} for h in history]
    x_show = data[1][0][:args.n_show]
    w1, w2t = weight_tiles(model, args.n_tiles)
    return CaseResult(rows, {"inputs": x_show, "reconstructions": reconstruct(model, x_show),
                             "w1": w1, "w2t": w2t})


def save_case(out: Path, case: Case, result: CaseResult) -> None:
    """Store ``result`` in the case's folder: ``result.npz``, then ``loss.csv`` (which marks
    the case finished), each replaced atomically."""
    folder = Path(out) / case.folder
    folder.mkdir(parents=True, exist_ok=True)
    R.write_npz(folder / "result.npz", dict(result.arrays, case=np.array(case.id)))
    R.write_runs(folder / "loss.csv", result.rows, LOSS_TABLE)


def load_case(out: Path, case: Case, epochs: int) -> Optional[CaseResult]:
    """The stored result of ``case``, or None when its folder holds none.

    Raises ValueError (saying why) for a partial or damaged result: missing epochs, a bad
    checksum, an unreadable ``result.npz``.
    """
    folder = Path(out) / case.folder
    csv_path, npz_path = folder / "loss.csv", folder / "result.npz"
    if not csv_path.exists() and not npz_path.exists():
        return None
    rows, bad = R.read_runs(csv_path, LOSS_TABLE)
    complete = R.complete_runs(rows, epochs, LOSS_TABLE).get((case.id,))
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


def write_summary(out: Path, rows: Sequence[Dict]) -> None:
    """``summary.csv`` of the summary rows, atomically."""
    R.write_csv(Path(out) / "summary.csv", SUMMARY_FIELDS, rows)


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.autoencoders",
        description="Seed 000's seven autoencoders and seed 001's three denoising "
                    "autoencoders on MNIST: loss curves, reconstructions, weight tiles.",
        epilog="cases: " + "; ".join(f"{c.id}: {c.name} ({c.loss})" for c in CASES.values()),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--cases", default="all", help="comma-separated case ids, or 'all'")
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument("--n-train", type=int, default=DEFAULTS["n_train"],
                   help="first N training images (0 = all 60,000)")
    p.add_argument("--n-test", type=int, default=0, help="first N test images (0 = all)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--optimizer", default="adam", help="a name from optimizers.names()")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: the optimizer's own)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--n-show", type=int, default=8, help="test images in reconstructions.png")
    p.add_argument("--n-tiles", type=int, default=100, help="hidden units in W1.png/W2T.png")
    p.add_argument("--out", default="results/autoencoders", help="output folder")
    p.add_argument("--data-dir", default=None, help="folder of the MNIST IDX files "
                   "(default $SYMGRAPH_DATA/mnist, then ~/.cache/symgraph/mnist)")
    p.add_argument("--resume", action="store_true",
                   help="require an existing matching study in --out and complete it "
                        "(a matching study is resumed without this flag too)")
    p.add_argument("--overwrite", action="store_true",
                   help="discard whatever study --out holds")
    p.add_argument("--no-plots", action="store_true",
                   help="write only the data files (draw later with python -m "
                        "benchmarks.ae_plots OUT)")
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Check the values and parse the case list (raises :class:`CaseError`)."""
    import optimizers
    args.case_ids = parse_cases(args.cases)
    for key in ("epochs", "batch_size", "n_show", "n_tiles"):
        if getattr(args, key) < 1:
            raise CaseError(f"--{key.replace('_', '-')} must be >= 1, got {getattr(args, key)}")
    for key in ("n_train", "n_test"):
        if getattr(args, key) < 0:
            raise CaseError(f"--{key.replace('_', '-')} must be >= 0, got {getattr(args, key)}")
    if args.optimizer.lower() not in optimizers.REGISTRY:
        raise CaseError(f"--optimizer: unknown {args.optimizer!r}; known: "
                        f"{', '.join(optimizers.names())}")
    args.optimizer = args.optimizer.lower()
    return args


def study_key(args: argparse.Namespace) -> Dict:
    """The values of :data:`STUDY_KEYS`: a folder holds results of one value of each."""
    return {k: getattr(args, k) for k in STUDY_KEYS}


def _clear(out: Path) -> None:
    # only this study's own files: anything else a user put in the folder stays
    for name in ("config.json", "summary.csv"):
        (out / name).unlink(missing_ok=True)
    for case in CASES.values():
        folder = out / case.folder
        for name in CASE_FILES:
            (folder / name).unlink(missing_ok=True)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def open_study(out: Path, args: argparse.Namespace) -> Dict[int, CaseResult]:
    """Check ``out`` against this study and return its finished cases by id (empty when new).

    Refuses (:class:`StudyError`) a folder whose config.json differs on :data:`STUDY_KEYS` or
    that holds case results without a config.json; ``--overwrite`` clears it instead. Partial
    or damaged cases are reported and left out (they are trained again).
    """
    config_path = out / "config.json"
    if args.overwrite:
        _clear(out)
    if not config_path.exists():
        if args.resume:
            raise StudyError(f"--resume: {out} holds no study (no config.json)")
        stray = [c.folder for c in CASES.values()
                 if any((out / c.folder / n).exists() for n in ("loss.csv", "result.npz"))]
        if stray:
            raise StudyError(f"{out} holds case results ({', '.join(stray)}) but no "
                             f"config.json: refusing to mix an unknown study with this one; "
                             f"use another --out or --overwrite")
        return {}
    try:
        config = R.read_json(config_path)
    except ValueError as exc:
        raise StudyError(f"{config_path} is not valid JSON ({exc}); use another --out or "
                         f"--overwrite") from None
    old = config.get("study") if isinstance(config, dict) else None
    if not isinstance(old, dict):
        raise StudyError(f"{config_path} names no study settings (a folder of an earlier "
                         f"version of this benchmark, or another program's); use another "
                         f"--out or --overwrite")
    new = study_key(args)
    mismatch = R.settings_mismatch(out, old, new, STUDY_KEYS)
    if mismatch:
        raise StudyError(mismatch)
    done = {}
    for case in CASES.values():
        try:
            result = load_case(out, case, args.epochs)
        except ValueError as exc:
            print(f"case {case.id}: ignoring its partial or damaged result ({exc}); it is "
                  f"trained again", file=sys.stderr)
            continue
        if result is not None:
            done[case.id] = result
    return done


def run(args: argparse.Namespace) -> Tuple[List[Dict], int]:
    """Run the resolved ``args``' cases not yet stored in ``--out`` and write every file.

    Returns the summary rows (stored and new cases alike, in the order asked for) and the
    number of cases trained.
    """
    from benchmarks import ae_plots
    from benchmarks.optimizer_run import load_data
    from benchmarks.optimizers import machine_info
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    done = open_study(out, args)
    todo = [cid for cid in args.case_ids if cid not in done]
    started = time.time()
    config = {"study": study_key(args),
              "arguments": {k: v for k, v in sorted(vars(args).items())},
              "cases": [dict(asdict(CASES[i]), name=CASES[i].name) for i in args.case_ids],
              "machine": machine_info(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))}
    data = None
    if todo:  # a finished study needs no data: its rerun is immediate
        try:
            data = load_data("mnist", args.data_dir or "", args.n_train, args.n_test,
                             args.dtype)
        except ValueError as exc:  # more images asked for than the files hold
            raise CaseError(str(exc)) from None
        config.update(n_train_used=len(data[0][0]), n_test_used=len(data[1][0]))
    elif (out / "config.json").exists():
        old = R.read_json(out / "config.json")
        config.update({k: old[k] for k in ("n_train_used", "n_test_used") if k in old})
    R.write_json(out / "config.json", config)
    plt = None if args.no_plots else ae_plots.matplotlib_or_none()
    if plt is None and not args.no_plots:
        print("matplotlib is not installed: writing the CSV/JSON/NPZ results only, plots "
              f"skipped (pip install matplotlib, then python -m benchmarks.ae_plots {out})",
              file=sys.stderr)
    summary: List[Dict] = []
    for cid in args.case_ids:
        case = CASES[cid]
        if cid in done:
            result, how = done[cid], "stored"
            redraw = not all((out / case.folder / n).exists() for n in PNG_FILES)
        else:
            result = train_case(case, args, data)
            save_case(out, case, result)
            result = load_case(out, case, args.epochs)  # exactly what a resumed run reads
            done[cid], how, redraw = result, "trained", True
        if plt is not None and redraw:
            ae_plots.draw_case(plt, out / case.folder, case_title(case), result)
        summary.append(summary_row(case, result.rows))
        write_summary(out, summary)
        last = summary[-1]
        print(f"case {cid} {last['name']} ({how}): test MSE {last['test_mse']:.5f}, train "
              f"loss {last['train_loss']:.5f} ({last['seconds']:.1f} s)", file=sys.stderr,
              flush=True)
    config["wall_seconds"] = time.time() - started
    config["cases_trained"] = len(todo)
    R.write_json(out / "config.json", config)
    return summary, len(todo)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from models.data import DataError
    args = build_parser().parse_args(argv)
    try:
        args = resolve(args)
        summary, trained = run(args)
    except (CaseError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    print(f"{trained} case(s) trained, {len(summary) - trained} stored; results in "
          f"{args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
