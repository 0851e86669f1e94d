"""Train one model on MNIST from the command line and print (or save) its history.

    python -m models.run mlp --optimizer adam --epochs 5
    python -m models.run logreg --optimizer sgd --lr 0.5 --epochs 5
    python -m models.run simple_conv --epochs 1
    python -m models.run deep_conv --epochs 1 --backend numba
    python -m models.run ae --hidden 1000 --activation relu --epochs 20 --json ae.json

The data come from ``--data-dir``, else ``$SYMGRAPH_DATA/mnist``, else the cache. Each epoch's
history entry is printed as one JSON line on stdout, and its time (training, per train step,
both wall and CPU time, and evaluation) as a ``#`` line on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import List, Optional

import models
from models.data import load_fashion_mnist, load_mnist


def build(args) -> "models.base.Model":
    """The model named by ``args.model`` with the command line's options."""
    common = dict(seed=args.seed, dtype=args.dtype)
    if args.model == "logreg":
        return models.LogisticRegression(784, 10, weight_decay=args.weight_decay, **common)
    if args.model == "mlp":
        sizes = [784] + [int(s) for s in args.sizes.split(",")] + [10]
        return models.MLP(sizes, activation=args.activation or "relu", dropout=args.dropout,
                          batchnorm=args.batchnorm, weight_decay=args.weight_decay, **common)
    if args.model == "ae":
        noise = None
        if args.noise:
            kind, _, value = args.noise.partition(":")
            noise = {"masking": models.masking, "salt_and_pepper": models.salt_and_pepper,
                     "gaussian": models.gaussian}[kind](float(value))
        return models.AutoEncoder(784, args.hidden, activation=args.activation or "sigmoid",
                                  dropout=args.dropout, noise=noise, tied=args.tied,
                                  loss=args.loss, **common)
    if args.model == "simple_conv":
        return models.SimpleConvNet(weight_decay=args.weight_decay, **common)
    if args.model == "deep_conv":
        return models.DeepConvNet(weight_decay=args.weight_decay, **common)
    raise ValueError(f"unknown model {args.model!r}")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.run", description=__doc__.split("\n")[0])
    p.add_argument("model", choices=["logreg", "mlp", "ae", "simple_conv", "deep_conv"])
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--lr", type=float, default=None, help="learning rate (optimizer default)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--sizes", default="100,100", help="MLP hidden widths")
    p.add_argument("--activation", default=None)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batchnorm", action="store_true")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--hidden", type=int, default=500, help="autoencoder hidden units")
    p.add_argument("--noise", default=None, help="masking:0.2, salt_and_pepper:0.2, gaussian:0.1")
    p.add_argument("--tied", action="store_true")
    p.add_argument("--loss", default="mse", choices=["mse", "xent"])
    p.add_argument("--fashion", action="store_true", help="Fashion-MNIST instead of MNIST")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--max-batches", type=int, default=None)
    p.add_argument("--save", default=None, help="write the trained parameters (.npz)")
    p.add_argument("--json", default=None, help="write the history as JSON")
    p.add_argument("--backend", default="numpy",
                   help="symgraph back end of the compiled functions: numpy, numba, auto")
    args = p.parse_args(argv)

    import optimizers
    from models.data import n_batches
    from models.training import fit

    loader = load_fashion_mnist if args.fashion else load_mnist
    data = loader(args.data_dir, flatten=args.model not in ("simple_conv", "deep_conv"),
                  dtype=args.dtype)
    model = build(args)
    hyper = {} if args.lr is None else {"lr": args.lr}
    opt = optimizers.get(args.optimizer, **hyper)
    t0 = time.perf_counter()

    from symgraph.compile.mode import FAST_RUN
    mode = FAST_RUN.__class__(f"FAST_RUN-{args.backend}", backend=args.backend)
    steps = n_batches(len(data[0][0]), args.batch_size)
    if args.max_batches is not None:
        steps = min(steps, args.max_batches)

    def show(entry):
        print(json.dumps({k: v for k, v in entry.items() if k != "batch_losses"}), flush=True)
        per_step = 1e3 / max(steps, 1)
        print(f"# epoch {entry['epoch']}: {entry['seconds']:.1f} s training "
              f"({entry['seconds'] * per_step:.1f} ms per step of {args.batch_size}; CPU "
              f"{entry['cpu_seconds']:.1f} s, {entry['cpu_seconds'] * per_step:.1f} ms per "
              f"step), {entry['eval_seconds']:.1f} s evaluation", file=sys.stderr, flush=True)
    history = fit(model, opt, data, args.epochs, args.batch_size, args.seed, callbacks=[show],
                  max_batches=args.max_batches, mode=mode)
    print(f"# {args.model} {args.optimizer}: {time.perf_counter() - t0:.1f} s total",
          file=sys.stderr)
    if args.save:
        model.save(args.save)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "history": history}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
