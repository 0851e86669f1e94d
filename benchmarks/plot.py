"""Plots of an optimizer study folder: ``python -m benchmarks.plot OUT_DIR``.

Reads ``runs.csv`` (complete runs only, so a partial study can be plotted while it runs or
after it was interrupted) and writes:

- ``accuracy.png``: test accuracy per epoch, mean over seeds with a ± std band, per optimizer;
- ``accuracy_zoom.png``: the same, zoomed on the top of the range;
- ``loss.png``: train and test loss (mean ± std), log scale.

matplotlib is an optional extra (``pip install matplotlib``); without it nothing is drawn and
a message says so.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from benchmarks import results as R

PLOTS = ("accuracy.png", "accuracy_zoom.png", "loss.png")


def _series(summary: List[Dict], metric: str) -> Dict[str, Dict[str, List[float]]]:
    out: Dict[str, Dict[str, List[float]]] = {}
    for rec in summary:
        s = out.setdefault(str(rec["optimizer"]), {"epoch": [], "mean": [], "std": []})
        s["epoch"].append(int(rec["epoch"]))
        s["mean"].append(float(rec[f"{metric}_mean"]))
        s["std"].append(float(rec[f"{metric}_std"]))
    return out


def load_summary(out: Path) -> List[Dict]:
    """Summary over the complete runs in ``out/runs.csv`` (epochs from config.json)."""
    rows, _ = R.read_runs(out / "runs.csv")
    epochs = None
    order: Sequence[str] = ()
    if (out / "config.json").exists():
        cfg = R.read_json(out / "config.json")
        epochs = cfg.get("study", {}).get("epochs")
        order = cfg.get("arguments", {}).get("optimizer_list", ())
    if epochs is None:
        epochs = max((int(r["epoch"]) for r in rows), default=0)
    complete = R.complete_runs(rows, epochs)
    return R.summarize([r for run in complete.values() for r in run], order)


def make_plots(out, summary: Optional[List[Dict]] = None) -> List[Path]:
    """Write the PNGs into ``out``; return their paths (empty when matplotlib is missing or
    there is nothing to plot)."""
    out = Path(out)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        print("matplotlib is not installed: skipping the plots (pip install matplotlib, then "
              f"python -m benchmarks.plot {out})", file=sys.stderr)
        return []
    summary = load_summary(out) if summary is None else summary
    if not summary:
        print(f"{out}: no complete run to plot yet", file=sys.stderr)
        return []
    n_seeds = max(int(r["n"]) for r in summary)
    acc = _series(summary, "test_accuracy")
    written = []

    def band(ax, s, label):
        lo = [m - d for m, d in zip(s["mean"], s["std"])]
        hi = [m + d for m, d in zip(s["mean"], s["std"])]
        line, = ax.plot(s["epoch"], s["mean"], marker="o", ms=3, label=label)
        ax.fill_between(s["epoch"], lo, hi, color=line.get_color(), alpha=0.2)

    for name, zoom in (("accuracy.png", False), ("accuracy_zoom.png", True)):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for opt, s in acc.items():
            band(ax, s, opt)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("test accuracy")
        ax.set_title(f"Test accuracy, mean ± std over {n_seeds} seed(s)"
                     + (" (top of range)" if zoom else ""))
        if zoom:
            finals = [s["mean"][-1] for s in acc.values()]
            best = max(m + d for s in acc.values() for m, d in zip(s["mean"], s["std"]))
            low = sorted(finals)[len(finals) // 2] - 0.02  # the better half of the optimizers
            ax.set_ylim(max(0.0, low), min(1.0, best + 0.005))
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        written.append(out / name)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, metric, title in ((axes[0], "train_loss", "train loss (epoch mean)"),
                              (axes[1], "test_loss", "test loss")):
        for opt, s in _series(summary, metric).items():
            band(ax, s, opt)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("cross-entropy")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=100)
    plt.close(fig)
    written.append(out / "loss.png")
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m benchmarks.plot",
                                description="Plot an optimizer study folder (complete runs).")
    p.add_argument("out", help="the study's output folder (holding runs.csv)")
    args = p.parse_args(argv)
    out = Path(args.out)
    if not (out / "runs.csv").exists():
        print(f"error: {out / 'runs.csv'} does not exist", file=sys.stderr)
        return 2
    for path in make_plots(out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
