"""Autoencoders on MNIST, seeds 000 and 001: ``python -m benchmarks.autoencoders``.

Ten cases (:data:`benchmarks.ae_cases.CASES`), each a :class:`models.AutoEncoder` trained by
:func:`models.training.fit`:

- seed 000, cases 1-7: untied weights, linear output, MSE loss, ReLU or sigmoid hidden units,
  1000/400/100 of them, with dropout 0.5 on the hidden units or 20 % masking noise. Case 1 is
  the reference (ReLU 1000); 2-3 vary the width, 4 the activation, 5 adds dropout, 6-7 add
  masking noise to the ReLU and the sigmoid reference.
- seed 001, cases 8-10: the tied-weight denoising autoencoder of the Theano tutorial (500
  sigmoid hidden units, sigmoid output, cross-entropy summed over pixels), one case per noise:
  masking 30 % (the tutorial's corruption level), salt-and-pepper 30 %, Gaussian std 0.3.

Outputs in ``--out`` (default ``results/autoencoders``), per case in ``caseNN_<name>/``:
``loss.csv`` (per epoch: train loss, test loss, test MSE, seconds, row checksum ``crc``: the
CRC-32 of the row's other fields as written), ``result.npz`` (what the pictures need: the
first ``--n-show`` test images, their reconstructions, and the first ``--n-tiles`` hidden
units' incoming weights W1[:, j] and outgoing weights W2[j, :] = W2ᵀ[:, j]; W2ᵀ = W1 for the
tied cases) and, with matplotlib, ``loss.png``, ``reconstructions.png``, ``W1.png`` and
``W2T.png`` (the weights as 28×28 tiles). Overall: ``summary.csv``, also printed, with one row
per case: the last epoch's train loss (mean minibatch cost, on noisy inputs for the denoising
cases), test loss and test MSE (clean inputs) and the training seconds of all epochs;
``config.json`` holds the study's identity (:data:`STUDY_KEYS`), every argument, the case
table, the data folder used, BLAS threads, versions and one record per session that trained.

Every file is replaced atomically and a case counts as finished only when both of its files
are whole (``result.npz`` is written first, then ``loss.csv`` with all epochs and valid
checksums), so the run resumes where it was stopped, even by SIGKILL: rerunning the command
(or ``--resume``) trains only the missing cases and gives the numbers of an uninterrupted run.
A folder holding another study (a different :data:`STUDY_KEYS` value) is refused, naming the
differing settings; use another ``--out`` or ``--overwrite``. The case list may change between
runs (``--cases 1,2`` then ``--cases all`` completes the folder). ``python -m
benchmarks.ae_plots OUT`` redraws every picture and the summary from the stored results without
training (matplotlib is optional: without it the run completes and says the pictures were
skipped). Nothing is written before the arguments, the folder and the data are checked;
mistakes are one line and exit status 2, Ctrl-C one line and exit status 130.

The default is a small run: 3 epochs on the first 10,000 training images, all 10,000 test
images, Adam at its defaults, one BLAS thread (:mod:`models.threads`). The original setting is
``--epochs 20 --n-train 0`` (all 60,000 images). Equal arguments give identical numbers (for
an equal BLAS thread count): ``--seed`` fixes the initial weights, the noise and dropout draws
and the minibatch order of every case.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from benchmarks import results as R
from benchmarks.ae_cases import (CASE_FILES, CASES, LOSS_COLUMNS, PNG_FILES,  # noqa: F401
                                 Case, CaseError, CaseResult, StudyError, case_title,
                                 format_summary, load_case, parse_cases,
                                 save_case, summary_row, write_summary)
from models import cli
from models import threads as blas

#: the arguments that change a case's numbers or pictures: a folder holds one value of each
STUDY_KEYS = ("epochs", "n_train", "n_test", "batch_size", "optimizer", "lr", "seed", "dtype",
              "n_show", "n_tiles")
DEFAULTS = {"epochs": 3, "n_train": 10000}


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


def build_parser() -> cli.Parser:
    import optimizers
    count = cli.bounded(int, 1)
    p = cli.Parser(
        prog="python -m benchmarks.autoencoders",
        description="Seed 000's seven autoencoders and seed 001's three denoising "
                    "autoencoders on MNIST: loss curves, reconstructions, weight tiles, "
                    "summary. Resumable.",
        epilog="cases:\n" + "\n".join(f"  {c.id:2d}  seed {c.study}  {c.name} ({c.loss})"
                                      for c in CASES.values())
        + "\n\nEach case's loss.csv ends with a crc column: the CRC-32 of the row's other "
          "fields as\nwritten; a damaged row makes the case train again. BLAS: 1 thread "
          "unless --threads\nor OPENBLAS_NUM_THREADS says otherwise. Ctrl-C stops the "
          "study; the same command resumes it.")
    p.add_argument("--cases", default="all", help="comma-separated case ids, or 'all'")
    p.add_argument("--epochs", metavar="N", type=count, default=DEFAULTS["epochs"],
                   help="epochs per case")
    p.add_argument("--n-train", metavar="N", type=cli.bounded(int, 0),
                   default=DEFAULTS["n_train"],
                   help="train on the first N training images (0 = all 60,000)")
    p.add_argument("--n-test", metavar="N", type=cli.bounded(int, 0), default=0,
                   help="evaluate on the first N test images (0 = all 10,000)")
    p.add_argument("--batch-size", metavar="N", type=count, default=100,
                   help="minibatch size")
    p.add_argument("--optimizer", default="adam",
                   help=f"the update rule, one of: {', '.join(optimizers.names())}")
    p.add_argument("--lr", metavar="RATE", type=cli.bounded(float, 0), default=None,
                   help="learning rate (default: the optimizer's own: "
                        f"{cli.learning_rates_text()})")
    p.add_argument("--seed", metavar="N", type=cli.bounded(int, 0), default=0,
                   help="seed of the initial weights, noise, dropout and minibatch order")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="float type of the data and the parameters")
    p.add_argument("--n-show", metavar="N", type=count, default=8,
                   help="test images in reconstructions.png")
    p.add_argument("--n-tiles", metavar="N", type=count, default=100,
                   help="hidden units in W1.png and W2T.png")
    p.add_argument("--out", metavar="DIR", default="results/autoencoders",
                   help="output folder")
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="folder of the MNIST IDX files (default: $SYMGRAPH_DATA/mnist, else "
                        "~/.cache/symgraph/mnist, where missing files are downloaded)")
    p.add_argument("--threads", metavar="N", type=count, default=None,
                   help="BLAS threads (default: $OPENBLAS_NUM_THREADS when set, else 1)")
    p.add_argument("--resume", action="store_true",
                   help="require an existing matching study in --out and complete it "
                        "(a matching study is resumed without this flag too)")
    p.add_argument("--overwrite", action="store_true",
                   help="discard whatever study --out holds (after every check passed)")
    p.add_argument("--no-plots", action="store_true",
                   help="write only the data files (draw later with python -m "
                        "benchmarks.ae_plots OUT)")
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Check the values and parse the case list (raises :class:`CaseError`); writes
    nothing."""
    import optimizers
    args.case_ids = parse_cases(args.cases)
    if args.optimizer.lower() not in optimizers.REGISTRY:
        raise CaseError(f"--optimizer: unknown {args.optimizer!r}; known: "
                        f"{', '.join(optimizers.names())}")
    args.optimizer = args.optimizer.lower()
    try:
        hyper = {} if args.lr is None else {"lr": args.lr}
        args.hyperparameters = optimizers.get(args.optimizer, **hyper).hyperparameters()
    except (ValueError, TypeError) as exc:
        raise CaseError(f"--lr: {exc}") from None
    args.blas = blas.choose(args.threads)
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


def open_study(out: Path, args: argparse.Namespace
               ) -> Tuple[Optional[dict], Dict[int, CaseResult]]:
    """Check ``out`` against this study without writing: its config.json (None when new) and
    its finished cases by id.

    Refuses (:class:`StudyError`) a folder whose config.json differs on :data:`STUDY_KEYS` or
    that holds case results without a config.json; with ``--overwrite`` the folder counts as
    empty. Partial or damaged cases are reported and left out (they are trained again).
    """
    if args.overwrite:
        return None, {}
    config_path = out / "config.json"
    try:
        config = R.read_config(config_path)
    except ValueError as exc:
        raise StudyError(f"{config_path} is not valid JSON ({exc}); use another --out or "
                         f"--overwrite") from None
    if config is None:
        if args.resume:
            raise StudyError(f"--resume: {out} holds no study (no config.json)")
        stray = [c.folder for c in CASES.values()
                 if any((out / c.folder / n).exists() for n in ("loss.csv", "result.npz"))]
        if stray:
            raise StudyError(f"{out} holds case results ({', '.join(stray)}) but no "
                             f"config.json: refusing to mix an unknown study with this one; "
                             f"use another --out or --overwrite")
        return None, {}
    old = config.get("study")
    if not isinstance(old, dict):
        raise StudyError(f"{config_path} names no study settings (a folder of an earlier "
                         f"version of this benchmark, or another program's); use another "
                         f"--out or --overwrite")
    mismatch = R.settings_mismatch(out, old, study_key(args), STUDY_KEYS)
    if mismatch:
        raise StudyError(mismatch)
    done = {}
    for case in CASES.values():
        try:
            result = load_case(out, case, args.epochs, args.dtype)
        except ValueError as exc:
            print(f"case {case.id}: ignoring its partial or damaged result ({exc}); it is "
                  f"trained again", file=sys.stderr)
            continue
        if result is not None:
            done[case.id] = result
    return config, done


def check_data(args: argparse.Namespace) -> Tuple[tuple, Dict]:
    """The training and test data (found or downloaded, then checked against the image counts
    asked for) and what config.json records about them."""
    from benchmarks.optimizer_run import data_sizes, load_data
    from models import data as D
    located = D.locate("mnist", args.data_dir)
    folder = str(located.folder)
    n_train, n_test = data_sizes("mnist", folder, args.dtype)
    for flag, asked, have, what in (("--n-train", args.n_train, n_train, "training"),
                                    ("--n-test", args.n_test, n_test, "test")):
        if asked > have:
            raise CaseError(f"{flag} {asked}: mnist in {folder} has {have} {what} images")
    data = load_data("mnist", folder, args.n_train, args.n_test, args.dtype)
    return data, {"dataset": "mnist", "dir": folder, "found_via": located.source,
                  "train_images": n_train, "test_images": n_test,
                  "n_train_used": len(data[0][0]), "n_test_used": len(data[1][0])}


def run(args: argparse.Namespace) -> Tuple[List[Dict], int]:
    """Run the resolved ``args``' cases not yet stored in ``--out`` and write every file.

    Everything is checked (arguments, ``--out``, the folder's study, the data when a case is
    to be trained) before the first file is written. Returns the summary rows (stored and new
    cases alike, in the order asked for) and the number of cases trained.
    """
    from benchmarks import ae_plots
    out = cli.check_output_dir(args.out)
    old, done = open_study(out, args)
    todo = [cid for cid in args.case_ids if cid not in done]
    data = data_info = None
    if todo:  # a finished study needs no data: its rerun is immediate
        data, data_info = check_data(args)
    if len(todo) < len(args.case_ids):
        print(f"resuming: {len(args.case_ids) - len(todo)} of {len(args.case_ids)} cases "
              f"found in {out}" + ("; nothing to train" if not todo else ""),
              file=sys.stderr, flush=True)
    out.mkdir(parents=True, exist_ok=True)
    if args.overwrite:
        _clear(out)
    started = time.time()
    config = None
    if todo:
        print(args.blas.describe(""), file=sys.stderr, flush=True)
        config = R.with_sessions(
            {"study": study_key(args), "optimizer": args.hyperparameters, "data": data_info,
             "arguments": {k: v for k, v in sorted(vars(args).items())
                           if k not in ("blas", "hyperparameters")},
             "cases": [dict(asdict(CASES[i]), name=CASES[i].name) for i in args.case_ids],
             "blas_threads": {"count": args.blas.count, "source": args.blas.source},
             "columns": {"loss.csv": LOSS_COLUMNS}, "machine": R.machine_info(),
             "n_train_used": data_info["n_train_used"],
             "n_test_used": data_info["n_test_used"],
             "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))},
            old, "cases_trained")
        R.write_json(out / "config.json", config)
    plt = None if args.no_plots else ae_plots.matplotlib_or_none()
    if plt is None and not args.no_plots:
        print("matplotlib is not installed: writing the CSV/JSON/NPZ results only, plots "
              f"skipped (pip install matplotlib, then python -m benchmarks.ae_plots {out})",
              file=sys.stderr)
    subtitle = ae_plots.study_caption((config or old or {}).get("study", study_key(args)),
                                      (config or old or {}))
    summary: List[Dict] = []
    trained = 0
    applied = None
    try:
        limit = blas.limited(args.blas.count) if todo else contextlib.nullcontext("no training")
        with limit as how:
            if todo and how is None:
                print(blas.not_applied_warning(args.blas), file=sys.stderr, flush=True)
            applied = how
            for cid in args.case_ids:
                case = CASES[cid]
                if cid in done:
                    result, action = done[cid], "stored"
                    redraw = not all((out / case.folder / n).exists() for n in PNG_FILES)
                else:
                    result = train_case(case, args, data)
                    save_case(out, case, result, args.dtype)
                    # exactly what a resumed run reads
                    result = load_case(out, case, args.epochs, args.dtype)
                    done[cid], action, redraw = result, "trained", True
                    trained += 1
                if plt is not None and redraw:
                    ae_plots.draw_case(plt, out / case.folder, case_title(case), result,
                                       subtitle)
                summary.append(summary_row(case, result.rows))
                write_summary(out, summary, args.dtype)
                last = summary[-1]
                print(f"case {cid} {last['name']} ({action}): test MSE {last['test_mse']:.5f}, "
                      f"train loss {last['train_loss']:.5f} ({last['seconds']:.1f} s)",
                      file=sys.stderr, flush=True)
    finally:
        if config is not None and trained:
            R.add_session(config, {
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                "wall_seconds": time.time() - started, "cases_trained": trained,
                "interrupted": trained < len(todo), "blas_threads": args.blas.count,
                "blas_applied": applied, "hostname": config["machine"]["hostname"]},
                "cases_trained")
            R.write_json(out / "config.json", config)
    return summary, trained


def _main(argv: Optional[Sequence[str]]) -> int:
    args = resolve(build_parser().parse_args(argv))
    summary, trained = run(args)
    print(format_summary(summary))
    print(f"{trained} case(s) trained, {len(summary) - trained} stored; results in "
          f"{args.out}", file=sys.stderr)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (2 for a mistake, 130 for Ctrl-C)."""
    return cli.run(lambda: _main(argv), resumable=True)


if __name__ == "__main__":
    sys.exit(main())
