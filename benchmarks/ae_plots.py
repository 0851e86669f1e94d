"""Pictures of one autoencoder case: loss curve, input/reconstruction pairs, weight tiles.

matplotlib is an optional extra: :func:`matplotlib_or_none` returns None without it, and the
caller prints one message and keeps the CSV/JSON results.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np


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


def plot_case(plt, folder: Path, title: str, history: Sequence[Dict], inputs: np.ndarray,
              reconstructions: np.ndarray, w1_tiles: np.ndarray, w2t_tiles: np.ndarray
              ) -> List[Path]:
    """Write ``loss.png``, ``reconstructions.png``, ``W1.png`` and ``W2T.png`` into ``folder``."""
    written = []
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
    written.append(_save(plt, fig, folder / "loss.png"))

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
    written.append(_save(plt, fig, folder / "reconstructions.png"))

    for name, tiles, what in (("W1.png", w1_tiles, "first-layer weights W1 (per hidden unit)"),
                              ("W2T.png", w2t_tiles, "second-layer weights W2ᵀ (per hidden "
                                                     "unit)")):
        fig, ax = plt.subplots(figsize=(6, 6 * tiles.shape[0] / tiles.shape[1] + 0.5))
        ax.imshow(tiles, cmap="gray", vmin=0, vmax=1)
        ax.set_axis_off()
        ax.set_title(f"{title}\n{what}", fontsize=8)
        fig.tight_layout()
        written.append(_save(plt, fig, folder / name))
    return written


def _save(plt, fig, path: Path) -> Path:
    # through a temporary name, so an interrupted run never leaves a half-written PNG
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path
