"""``python -m benchmarks.dae_demo``: train the three models on first use, then serve the page.

Examples::

    python -m benchmarks.dae_demo                        # http://127.0.0.1:8000/
    python -m benchmarks.dae_demo --port 0               # any free port (printed)
    python -m benchmarks.dae_demo --epochs 3 --train-only    # train/measure, do not serve
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import List, Optional

from benchmarks.dae_demo import cache


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.dae_demo",
        description="Denoising autoencoders on MNIST in the browser: draw a digit, watch the "
                    "masking, salt-and-pepper and Gaussian models reconstruct it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (the default serves this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    p.add_argument("--models", default=str(cache.DEFAULT_FOLDER),
                   help="folder of the cached models (.npz), their checkpoints and samples")
    p.add_argument("--epochs", type=int, default=cache.DEFAULT_EPOCHS,
                   help="training epochs of each model")
    p.add_argument("--n-train", type=int, default=60000,
                   help="train on the first N MNIST training images")
    p.add_argument("--hidden", type=int, default=500, help="hidden units of each model")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the initial weights, noise draws and minibatch order")
    p.add_argument("--data-dir", default=None,
                   help="folder of the MNIST IDX files (default: $SYMGRAPH_DATA/mnist, then "
                        "~/.cache/symgraph/mnist)")
    p.add_argument("--retrain", action="store_true",
                   help="train again even when cached models match the settings")
    p.add_argument("--train-only", action="store_true",
                   help="train (or load) the models, print their test errors and exit")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar while training (default: on a terminal with "
                        "tqdm installed)")
    p.add_argument("--quiet", action="store_true", help="do not log every request")
    return p


def summary(models: List[cache.CachedModel]) -> str:
    """A table of the models: training settings, time and test errors."""
    lines = [f"{'model':<16} {'level':>6} {'epochs':>6} {'images':>6} {'train s':>8} "
             f"{'test MSE: reconstruction':>25} {'corrupted input':>16}"]
    for c in models:
        test = c.info.get("test", {})
        lines.append(f"{c.name:<16} {c.settings.level:>6g} {c.settings.epochs:>6} "
                     f"{c.settings.n_train:>6} {c.info.get('train_seconds', float('nan')):>8.1f} "
                     f"{test.get('reconstruction_mse', float('nan')):>25.4f} "
                     f"{test.get('corrupted_mse', float('nan')):>16.4f}")
    n = models[0].info.get("test", {}).get("n_images") if models else None
    lines.append(f"(test MSE per pixel against the clean digit, on {n} test images, each "
                 f"model on its own noise at its training level; the corrupted input is "
                 f"clipped to [0, 1])")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"--port must be in [0, 65535], got {args.port}", file=sys.stderr)
        return 2
    try:
        settings = cache.default_settings(epochs=args.epochs, n_train=args.n_train,
                                          seed=args.seed, hidden=args.hidden)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        models, samples = cache.prepare(args.models, settings, data_dir=args.data_dir,
                                        retrain=args.retrain, progress=args.progress)
    except KeyboardInterrupt:
        print("\ninterrupted: the next run resumes from the last finished epoch",
              file=sys.stderr)
        return 130
    print(summary(models))
    print(f"(models ready in {time.perf_counter() - t0:.1f} s)", flush=True)
    if args.train_only:
        return 0

    from benchmarks.dae_demo.api import DemoApp
    from benchmarks.dae_demo.server import is_loopback, make_server
    app = DemoApp(models, samples)
    try:
        server = make_server(app, args.host, args.port, quiet=args.quiet)
    except OSError as e:
        print(f"error: cannot listen on {args.host}:{args.port} ({e})", file=sys.stderr)
        return 1
    if not is_loopback(args.host):
        print(f"warning: listening on {args.host}: other machines can reach this server",
              file=sys.stderr)
    # SIGTERM stops like Ctrl+C: the server closes its socket before the process exits
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"Serving the demo on {server.url} (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
