"""Pictures of the autoencoder study: ``python -m benchmarks.ae_plots OUT_DIR``.

Per case: loss curve, input/reconstruction pairs, weight tiles (see
:mod:`benchmarks.autoencoders`), each titled with the case and the study's size (images,
epochs, seed, optimizer). The command redraws every picture of the finished cases in a
study folder, and its ``summary.csv``, from the stored results (``loss.csv`` and
``result.npz``) without training, so a run made without matplotlib (or with ``--no-plots``) can
be drawn later, and a partial run can be looked at while it goes on.

matplotlib is an optional extra: :func:`matplotlib_or_none` returns None without it, and the
caller prints one message and keeps the CSV/JSON/NPZ results.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from benchmarks import ae_cases as AE
from benchmarks import results as R
from models import cli


def matplotlib_or_none():
    """``matplotlib.pyplot`` on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def tile_images(vectors: np.ndarray, shape=(28, 28), columns: int = 10,
                pad: int = 1) -> np.ndarray:
    """Rows of ``vectors`` as ``shape`` images on a grid, each scaled to [0, 1] on its own
    (weights have no common range), separated by ``pad`` pixels of 0.5."""
    n = len(vectors)
    rows = max(1, -(-n // columns))
    h, w = shape
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad), 0.5)
    for k, v in enumerate(np.asarray(vectors, dtype=np.float64)):
        lo, hi = v.min(), v.max()
        img = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
        r, c = divmod(k, columns)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h,
             pad + c * (w + pad):pad + c * (w + pad) + w] = img.reshape(shape)
    return grid


def study_caption(study: Dict, config: Dict) -> str:
    """``MNIST, 10,000 training / 10,000 test images, 3 epochs, seed 0, adam (lr 0.001)``:
    the size of the study whose config.json settings are ``study`` (and ``config``, holding the
    image counts used)."""
    n_train = config.get("n_train_used") or study.get("n_train") or 60000
    n_test = config.get("n_test_used") or study.get("n_test") or 10000
    epochs = study.get("epochs", 0)
    lr = study.get("lr")
    if lr is None:
        lr = (config.get("optimizer") or {}).get("lr")
    rate = f" (lr {lr:g})" if isinstance(lr, (int, float)) else ""
    return (f"MNIST, {n_train:,} training / {n_test:,} test images, {epochs} "
            f"epoch{'s' if epochs != 1 else ''}, seed {study.get('seed', 0)}, "
            f"{study.get('optimizer', 'adam')}{rate}")


def plot_case(plt, folder: Path, title: str, history: Sequence[Dict], inputs: np.ndarray,
              reconstructions: np.ndarray, w1_tiles: np.ndarray, w2t_tiles: np.ndarray,
              subtitle: str = "") -> List[Path]:
    """Write ``loss.png``, ``reconstructions.png``, ``W1.png`` and ``W2T.png`` into ``folder``,
    each titled ``title`` and, under it, ``subtitle`` (the study's size)."""
    written = []
    if subtitle:
        title = f"{title}\n{subtitle}"
    epochs = [int(r["epoch"]) for r in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [r["train_loss"] for r in history], marker="o", label="train loss")
    ax.plot(epochs, [r["test_loss"] for r in history], marker="s", label="test loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_xticks(epochs)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    written.append(R.save_figure(plt, fig, folder / "loss.png"))

    n = len(inputs)
    fig, axes = plt.subplots(2, n, figsize=(1.2 * n, 2.7), squeeze=False)
    for k in range(n):
        for row, (images, label) in enumerate(((inputs, "input"),
                                               (reconstructions, "reconstruction"))):
            ax = axes[row][k]
            ax.imshow(np.clip(images[k].reshape(28, 28), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(label, fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    written.append(R.save_figure(plt, fig, folder / "reconstructions.png"))

    for name, tiles, what in (("W1.png", w1_tiles, "first-layer weights W1 (per hidden unit)"),
                              ("W2T.png", w2t_tiles, "second-layer weights W2ᵀ (per hidden "
                                                     "unit)")):
        fig, ax = plt.subplots(figsize=(6, 6 * tiles.shape[0] / tiles.shape[1] + 0.5))
        ax.imshow(tiles, cmap="gray", vmin=0, vmax=1)
        ax.set_axis_off()
        ax.set_title(f"{title}\n{what}", fontsize=8)
        fig.tight_layout()
        written.append(R.save_figure(plt, fig, folder / name))
    return written


def draw_case(plt, folder: Path, title: str, result: "AE.CaseResult",
              subtitle: str = "") -> List[Path]:
    """:func:`plot_case` of a stored case result."""
    a = result.arrays
    return plot_case(plt, Path(folder), title, result.rows, a["inputs"], a["reconstructions"],
                     tile_images(a["w1"]), tile_images(a["w2t"]), subtitle)


def replot(out, plt=None) -> Tuple[List[Dict], List[Path]]:
    """Redraw the study folder ``out`` from its stored results.

    Rewrites ``summary.csv`` (the last run's cases that are finished, in its order) and, when
    ``plt`` is given, every finished case's pictures. Returns the summary rows and the PNG
    paths written. Raises :class:`benchmarks.autoencoders.StudyError` when ``out`` holds no
    study.
    """
    out = Path(out)
    if not (out / "config.json").exists():
        raise AE.StudyError(f"{out} holds no autoencoder study (no config.json)")
    try:
        config = R.read_json(out / "config.json")
        epochs = int(config["study"]["epochs"])
        dtype = str(config["study"].get("dtype", "float64"))
    except (ValueError, KeyError, TypeError) as exc:
        raise AE.StudyError(f"{out / 'config.json'} is not an autoencoder study's config "
                            f"({type(exc).__name__}: {exc})") from None
    done = {}
    for case in AE.CASES.values():
        try:
            result = AE.load_case(out, case, epochs, dtype)
        except ValueError as exc:
            print(f"case {case.id}: skipping its partial or damaged result ({exc})",
                  file=sys.stderr)
            continue
        if result is not None:
            done[case.id] = result
    asked = [cid for cid in config.get("arguments", {}).get("case_ids", []) if cid in AE.CASES]
    summary = [AE.summary_row(AE.CASES[cid], done[cid].rows) for cid in asked if cid in done]
    AE.write_summary(out, summary, dtype)
    written: List[Path] = []
    if plt is not None:
        subtitle = study_caption(config["study"], config)
        for cid, result in sorted(done.items()):
            case = AE.CASES[cid]
            written += draw_case(plt, out / case.folder, AE.case_title(case), result,
                                 subtitle)
    return summary, written


def _main(argv: Optional[Sequence[str]]) -> int:
    p = cli.Parser(prog="python -m benchmarks.ae_plots",
                   description="Redraw the pictures and summary.csv of an autoencoder study "
                               "folder from its stored results, without training.")
    p.add_argument("out", help="the study's output folder (holding config.json)")
    args = p.parse_args(argv)
    plt = matplotlib_or_none()
    if plt is None:
        print("matplotlib is not installed: skipping the plots, rewriting summary.csv only "
              "(pip install matplotlib for the pictures)", file=sys.stderr)
    summary, written = replot(args.out, plt)
    print(AE.format_summary(summary))
    for path in written:
        print(path, file=sys.stderr)
    print(f"{len(written)} picture(s) and summary.csv written in {args.out}", file=sys.stderr)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status."""
    return cli.run(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())
