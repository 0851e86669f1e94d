"""Plots of an optimizer study folder: ``python -m benchmarks.plot OUT_DIR``.

Reads ``runs.csv`` (complete runs only, so a partial study can be plotted while it runs or
after it was interrupted) and ``config.json``, and writes:

- ``accuracy.png``: test accuracy per epoch, mean over seeds with a ± std band, per optimizer;
- ``accuracy_zoom.png``: the same for the better half of the optimizers (by final mean
  accuracy), on a y-range that holds every point and band it shows, first epoch included;
  its legend lists only those optimizers;
- ``loss.png``: train and test loss (mean ± std), log scale.

Every plot names the study's size under its title: dataset, model, training and test images,
epochs and seeds. Each PNG is replaced atomically.

matplotlib is an optional extra (``pip install matplotlib``); without it nothing is drawn and
a message says so.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from benchmarks import results as R
from models import cli

PLOTS = ("accuracy.png", "accuracy_zoom.png", "loss.png")
DATASET_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def _series(summary: List[Dict], metric: str) -> Dict[str, Dict[str, List[float]]]:
    out: Dict[str, Dict[str, List[float]]] = {}
    for rec in summary:
        s = out.setdefault(str(rec["optimizer"]), {"epoch": [], "mean": [], "std": []})
        s["epoch"].append(int(rec["epoch"]))
        s["mean"].append(float(rec[f"{metric}_mean"]))
        s["std"].append(float(rec[f"{metric}_std"]))
    return out


def _read_config(out: Path) -> Dict:
    try:
        return R.read_config(out / "config.json") or {}
    except ValueError:
        return {}


def load_summary(out: Path) -> List[Dict]:
    """Summary over the complete runs in ``out/runs.csv`` (epochs from config.json)."""
    return load_study(out)[0]


def load_study(out: Path) -> Tuple[List[Dict], str]:
    """The summary over the complete runs in ``out/runs.csv`` and the caption stating the
    study's size (dataset, model, images, epochs, seeds) from config.json and those runs."""
    config = _read_config(out)
    study = config.get("study", {})
    table = R.RUNS.for_dtype(study.get("dtype", "float64"))
    rows, _ = R.read_runs(out / "runs.csv", table)
    epochs = study.get("epochs")
    if epochs is None:
        epochs = max((int(r["epoch"]) for r in rows), default=0)
    complete = R.complete_runs(rows, epochs, table)
    order = config.get("arguments", {}).get("optimizer_list", ())
    summary = R.summarize([r for run in complete.values() for r in run], order)
    seeds = sorted({k[1] for k in complete})
    return summary, caption(study, epochs, seeds)


def caption(study: Dict, epochs: int, seeds: Sequence[int]) -> str:
    """``MNIST, MLP 784-500-10 (relu), 10,000 training / 10,000 test images, 2 epochs, 2 seeds
    (0-1)``: the study's size, from its config.json settings and the seeds present."""
    parts = [DATASET_NAMES.get(study.get("dataset"), "MNIST")]
    if study.get("model") == "mlp":
        parts.append(f"MLP 784-{study.get('hidden')}-10 ({study.get('activation')})")
    elif study.get("model") == "logistic":
        parts.append("logistic regression 784-10")
    if study.get("n_train") and study.get("n_test"):
        parts.append(f"{study['n_train']:,} training / {study['n_test']:,} test images")
    parts.append(f"{epochs} epoch{'s' if epochs != 1 else ''}")
    if seeds:
        span = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
        contiguous = len(seeds) == seeds[-1] - seeds[0] + 1
        parts.append(f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} "
                     f"({span if contiguous else ', '.join(map(str, seeds))})")
    return ", ".join(parts)


def zoom_view(acc: Dict[str, Dict[str, List[float]]]) -> Tuple[List[str], Tuple[float, float]]:
    """The optimizers the zoom shows (the better half by final mean accuracy: the best
    ceil(n/2), and any tied with the last of them) and a y-range holding every mean ± std of
    theirs, first epoch included, with a 5 % margin (kept within [0, 1])."""
    finals = sorted(s["mean"][-1] for s in acc.values())
    threshold = finals[len(finals) // 2]
    shown = [name for name, s in acc.items() if s["mean"][-1] >= threshold]
    lows = [m - d for name in shown for m, d in zip(acc[name]["mean"], acc[name]["std"])]
    highs = [m + d for name in shown for m, d in zip(acc[name]["mean"], acc[name]["std"])]
    lo, hi = min(lows), max(highs)
    margin = 0.05 * (hi - lo) or 0.005
    return shown, (max(0.0, lo - margin), min(1.0, hi + margin))


def make_plots(out, summary: Optional[List[Dict]] = None,
               subtitle: Optional[str] = None) -> List[Path]:
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
    if summary is None:
        summary, found = load_study(out)
        subtitle = subtitle or found
    if not summary:
        print(f"{out}: no complete run to plot yet", file=sys.stderr)
        return []
    subtitle = subtitle or ""
    acc = _series(summary, "test_accuracy")
    written = []

    def band(ax, s, label):
        lo = [m - d for m, d in zip(s["mean"], s["std"])]
        hi = [m + d for m, d in zip(s["mean"], s["std"])]
        line, = ax.plot(s["epoch"], s["mean"], marker="o", ms=3, label=label)
        ax.fill_between(s["epoch"], lo, hi, color=line.get_color(), alpha=0.2)

    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    color_of = {name: colors[i % len(colors)] for i, name in enumerate(acc)}
    shown, ylim = zoom_view(acc)
    for name, zoom in (("accuracy.png", False), ("accuracy_zoom.png", True)):
        fig, ax = plt.subplots(figsize=(7, 4.8))
        for opt, s in acc.items():
            if zoom and opt not in shown:
                continue
            ax.set_prop_cycle(color=[color_of[opt]])  # an optimizer keeps its colour
            band(ax, s, opt)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("test accuracy (mean ± std over seeds)")
        title = ("Test accuracy" if not zoom else
                 f"Test accuracy, the {len(shown)} best of {len(acc)} optimizers")
        ax.set_title(f"{title}\n{subtitle}", fontsize=9)
        if zoom:
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        written.append(R.save_figure(plt, fig, out / name))

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), sharey=True)
    for ax, metric, title in ((axes[0], "train_loss", "train loss (epoch mean)"),
                              (axes[1], "test_loss", "test loss")):
        for opt, s in _series(summary, metric).items():
            ax.set_prop_cycle(color=[color_of.get(opt, colors[0])])
            band(ax, s, opt)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("cross-entropy (mean ± std over seeds)")
    fig.suptitle(subtitle, fontsize=9)
    axes[1].legend()
    fig.tight_layout()
    written.append(R.save_figure(plt, fig, out / "loss.png"))
    return written


def _main(argv: Optional[Sequence[str]]) -> int:
    p = cli.Parser(prog="python -m benchmarks.plot",
                   description="Redraw the plots of an optimizer study folder from its "
                               "complete runs (accuracy.png, accuracy_zoom.png, loss.png).")
    p.add_argument("out", help="the study's output folder (holding runs.csv)")
    args = p.parse_args(argv)
    out = Path(args.out)
    if not (out / "runs.csv").is_file():
        raise cli.CommandError(f"{out / 'runs.csv'} does not exist: not an optimizer study "
                               f"folder")
    for path in make_plots(out):
        print(path)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status."""
    return cli.run(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())
