"""Train one model on MNIST or Fashion-MNIST from the command line and print its history.

    python -m models.run mlp --optimizer adam --epochs 5
    python -m models.run logreg --optimizer sgd --lr 0.5 --epochs 5
    python -m models.run simple_conv --epochs 1
    python -m models.run deep_conv --epochs 1 --backend numba
    python -m models.run ae --hidden 1000 --activation relu --epochs 20 --json ae.json

One JSON line per epoch goes to stdout; ``--save`` writes the trained parameters (``.npz``,
loadable with ``Model.load``) and ``--json`` the arguments and the history, both atomically
and only once training ended. The data come from ``--data-dir``, else
``$SYMGRAPH_DATA/<dataset>``, else ``~/.cache/symgraph/<dataset>``, where missing files are
downloaded. Every argument, output path and the data are checked before training starts; a
mistake is one line and exit status 2, Ctrl-C one line and exit status 130. BLAS: one thread
unless ``--threads`` or ``OPENBLAS_NUM_THREADS`` says otherwise (see :mod:`models.threads`).
Each epoch's time (training, per train step, both wall and CPU time, and evaluation) is a
``#`` line on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Dict, List, Optional, Sequence

import models
from models import cli
from models import threads as blas
from models.data import load_fashion_mnist, load_mnist, locate

MODELS = ("logreg", "mlp", "ae", "simple_conv", "deep_conv")
CONV = ("simple_conv", "deep_conv")
NOISES = {"masking": models.masking, "salt_and_pepper": models.salt_and_pepper,
          "gaussian": models.gaussian}
#: the options that only some models take: giving one to another model is an error
APPLIES_TO = {"sizes": ("mlp",), "activation": ("mlp", "ae"), "dropout": ("mlp", "ae"),
              "batchnorm": ("mlp",), "weight_decay": ("logreg", "mlp") + CONV,
              "hidden": ("ae",), "noise": ("ae",), "tied": ("ae",), "loss": ("ae",)}


def build_parser() -> cli.Parser:
    import optimizers
    count = cli.bounded(int, 1)
    p = cli.Parser(prog="python -m models.run",
                   description="Train one model on MNIST or Fashion-MNIST; print one JSON "
                               "line per epoch (losses, accuracy, seconds).",
                   epilog="examples:\n"
                          "  python -m models.run mlp --optimizer adam --epochs 5\n"
                          "  python -m models.run logreg --optimizer sgd --lr 0.5\n"
                          "  python -m models.run ae --hidden 1000 --activation relu "
                          "--json ae.json\n\n"
                          "data: --data-dir, else $SYMGRAPH_DATA/<dataset>, else "
                          "~/.cache/symgraph/<dataset>,\nwhere missing files are downloaded "
                          "(md5-checked).")
    p.add_argument("model", metavar="MODEL", choices=MODELS,
                   help="logreg (logistic regression), mlp, ae (autoencoder), simple_conv or "
                        "deep_conv (the conv nets of deep-learning-from-scratch ch. 7-8)")
    p.add_argument("--optimizer", metavar="NAME", default="adam", choices=optimizers.names(),
                   help=f"the update rule: {', '.join(optimizers.names())}")
    p.add_argument("--lr", metavar="RATE", type=cli.bounded(float, 0), default=None,
                   help="learning rate (default: the optimizer's own: "
                        f"{cli.learning_rates_text()})")
    p.add_argument("--epochs", metavar="N", type=count, default=5, help="epochs to train")
    p.add_argument("--batch-size", metavar="N", type=count, default=100,
                   help="minibatch size")
    p.add_argument("--seed", metavar="N", type=cli.bounded(int, 0), default=0,
                   help="seed of the initial weights, dropout, noise and minibatch order")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="float type of the data and the parameters")
    p.add_argument("--sizes", default="100,100",
                   help="mlp: hidden layer widths, comma-separated")
    p.add_argument("--activation", choices=("relu", "sigmoid", "tanh"), default=None,
                   help="mlp, ae: hidden units' activation (default: relu for mlp, sigmoid "
                        "for ae)")
    p.add_argument("--dropout", metavar="P", type=cli.bounded(float, 0, 0.99), default=0.0,
                   help="mlp, ae: dropout probability on the hidden units while training")
    p.add_argument("--batchnorm", action="store_true",
                   help="mlp: batch normalisation before each hidden activation")
    p.add_argument("--weight-decay", metavar="L", type=cli.bounded(float, 0), default=0.0,
                   help="logreg, mlp, conv nets: L2 penalty L/2 * sum of squared weights")
    p.add_argument("--hidden", metavar="N", type=count, default=500,
                   help="ae: hidden units")
    p.add_argument("--noise", metavar="KIND:LEVEL", default=None,
                   help="ae: input noise while training, masking:P, salt_and_pepper:P or "
                        "gaussian:STD (default: none)")
    p.add_argument("--tied", action="store_true", help="ae: decoder weights = encoder's")
    p.add_argument("--loss", default="mse", choices=("mse", "xent"),
                   help="ae: reconstruction loss")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist",
                   help="MNIST digits or Fashion-MNIST clothes (same format and sizes)")
    p.add_argument("--fashion", action="store_true",
                   help="the same as --dataset fashion-mnist")
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="folder of the four IDX files (default: $SYMGRAPH_DATA/<dataset>, "
                        "else ~/.cache/symgraph/<dataset>, where missing files are downloaded)")
    p.add_argument("--max-batches", metavar="N", type=count, default=None,
                   help="stop each epoch after N minibatches (default: the whole training "
                        "set)")
    p.add_argument("--threads", metavar="N", type=count, default=None,
                   help="BLAS threads (default: $OPENBLAS_NUM_THREADS when set, else 1)")
    p.add_argument("--backend", choices=("auto", "numpy", "numba"), default="auto",
                   help="back end of the compiled functions (auto: numba when installed)")
    p.add_argument("--save", metavar="FILE", default=None,
                   help="write the trained parameters to FILE (.npz; default: not saved)")
    p.add_argument("--json", metavar="FILE", default=None,
                   help="write the arguments and the history to FILE as JSON (default: not "
                        "written)")
    return p


def _noise(text: str):
    kind, sep, level = text.partition(":")
    if kind not in NOISES or not sep:
        raise cli.CommandError(f"--noise {text!r}: expected masking:P, salt_and_pepper:P or "
                               f"gaussian:STD")
    try:
        return NOISES[kind](float(level))
    except ValueError as exc:
        raise cli.CommandError(f"--noise {text!r}: {exc}") from None


def check(args: argparse.Namespace, parser: cli.Parser) -> argparse.Namespace:
    """Refuse options the chosen model does not take, parse ``--sizes`` and ``--noise``,
    settle the dataset and the BLAS threads. Writes nothing."""
    if args.fashion:
        args.dataset = "fashion-mnist"
    for name, takers in APPLIES_TO.items():
        if args.model not in takers and getattr(args, name) != parser.get_default(name):
            raise cli.CommandError(f"--{name.replace('_', '-')} applies to "
                                   f"{', '.join(takers)}, not to {args.model}")
    try:
        args.hidden_sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        args.hidden_sizes = []
    if not args.hidden_sizes or min(args.hidden_sizes) < 1:
        raise cli.CommandError(f"--sizes {args.sizes!r}: expected positive integers separated "
                               f"by commas, e.g. 100,100")
    args.blas = blas.choose(args.threads)
    return args


def build(args: argparse.Namespace) -> "models.base.Model":
    """The model named by ``args.model`` with the command line's options."""
    common = dict(seed=args.seed, dtype=args.dtype)
    if args.model == "logreg":
        return models.LogisticRegression(784, 10, weight_decay=args.weight_decay, **common)
    if args.model == "mlp":
        sizes = [784] + [int(s) for s in args.sizes.split(",")] + [10]
        return models.MLP(sizes, activation=args.activation or "relu", dropout=args.dropout,
                          batchnorm=args.batchnorm, weight_decay=args.weight_decay, **common)
    if args.model == "ae":
        noise = _noise(args.noise) if args.noise else None
        return models.AutoEncoder(784, args.hidden, activation=args.activation or "sigmoid",
                                  dropout=args.dropout, noise=noise, tied=args.tied,
                                  loss=args.loss, **common)
    if args.model == "simple_conv":
        return models.SimpleConvNet(weight_decay=args.weight_decay, **common)
    if args.model == "deep_conv":
        return models.DeepConvNet(weight_decay=args.weight_decay, **common)
    raise ValueError(f"unknown model {args.model!r}")


def _write_json(path: str, record: Dict) -> None:
    import os
    import tempfile
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".json.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _main(argv: Optional[Sequence[str]], state: Dict) -> int:
    import optimizers
    from models.data import n_batches
    from models.training import fit
    from symgraph.compile.mode import FAST_RUN

    parser = build_parser()
    args = check(parser.parse_args(argv), parser)
    for flag, path in (("--save", args.save), ("--json", args.json)):
        if path is not None:
            cli.check_output_file(path, flag)
    try:
        model = build(args)
        opt = optimizers.get(args.optimizer, **({} if args.lr is None else {"lr": args.lr}))
    except ValueError as exc:
        raise cli.CommandError(str(exc)) from None
    located = locate(args.dataset, args.data_dir)
    loader = load_fashion_mnist if args.dataset == "fashion-mnist" else load_mnist
    data = loader(located.folder, flatten=args.model not in CONV, dtype=args.dtype,
                  download=False)
    print(f"data: {args.dataset} in {located.folder} (from {located.source}); "
          f"{args.blas.describe('')}", file=sys.stderr, flush=True)
    history: List[Dict] = []
    state.update(epochs=args.epochs, history=history, outputs=[args.save, args.json])

    mode = FAST_RUN.__class__(f"FAST_RUN-{args.backend}", backend=args.backend)
    steps = n_batches(len(data[0][0]), args.batch_size)
    if args.max_batches is not None:
        steps = min(steps, args.max_batches)
    per_step = 1e3 / max(steps, 1)

    def show(entry):
        history.append(entry)
        print(json.dumps({k: v for k, v in entry.items() if k != "batch_losses"}), flush=True)
        print(f"# epoch {entry['epoch']}: {entry['seconds']:.1f} s training "
              f"({entry['seconds'] * per_step:.1f} ms per step of {args.batch_size}; CPU "
              f"{entry['cpu_seconds']:.1f} s, {entry['cpu_seconds'] * per_step:.1f} ms per "
              f"step), {entry['eval_seconds']:.1f} s evaluation", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    with blas.limited(args.blas.count) as how:
        if how is None:
            print(blas.not_applied_warning(args.blas), file=sys.stderr, flush=True)
        fit(model, opt, data, args.epochs, args.batch_size, args.seed, callbacks=[show],
            max_batches=args.max_batches, mode=mode)
    print(f"# {args.model} {args.optimizer}: {time.perf_counter() - t0:.1f} s total",
          file=sys.stderr)
    if args.save:
        model.save(args.save)
    if args.json:
        arguments = {k: v for k, v in vars(args).items() if k not in ("blas", "hidden_sizes")}
        _write_json(args.json, {
            "args": arguments, "optimizer": opt.hyperparameters(),
            "data": {"dataset": args.dataset, "dir": str(located.folder),
                     "found_via": located.source},
            "blas_threads": {"count": args.blas.count, "source": args.blas.source,
                             "applied": how},
            "history": [{k: v for k, v in h.items() if k != "batch_losses"}
                        for h in history]})
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The command line; returns the exit status (2 for a mistake, 130 for Ctrl-C)."""
    state: Dict = {}

    def interrupted() -> str:
        done = len(state.get("history", []))
        unsaved = [p for p in state.get("outputs", []) if p]
        tail = f"; nothing written to {', '.join(unsaved)}" if unsaved else ""
        if "epochs" not in state:
            return "interrupted before training started"
        return f"interrupted after {done} of {state['epochs']} epochs{tail}"
    return cli.run(lambda: _main(argv, state), interrupted=interrupted)


if __name__ == "__main__":
    sys.exit(main())
