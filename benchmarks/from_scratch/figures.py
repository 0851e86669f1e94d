"""Plot helpers of the from-scratch studies (matplotlib, an optional extra)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, or None when matplotlib is not installed."""
    from benchmarks.ae_plots import matplotlib_or_none
    return matplotlib_or_none()


def band(ax, x: Sequence[float], mean: Sequence[float], std: Sequence[float], label: str,
         **line) -> None:
    """A mean curve with a shaded ± std band (no band for a single seed: std is 0)."""
    mean, std = np.asarray(mean), np.asarray(std)
    drawn, = ax.plot(x, mean, label=label, **line)
    if np.any(std > 0):
        ax.fill_between(x, mean - std, mean + std, color=drawn.get_color(), alpha=0.2,
                        linewidth=0)


def seeds_note(n: int) -> str:
    """``"mean ± std over 3 seeds"`` (or ``"1 seed"``) for titles."""
    return "1 seed" if n == 1 else f"mean ± std over {n} seeds"


def mlp_name(settings) -> str:
    """``"MLP 784-100-100-10 relu"`` from ``hidden_layers``, ``hidden``, ``activation``."""
    widths = "-".join([str(settings["hidden"])] * settings["hidden_layers"])
    return f"MLP 784-{widths}-10 {settings['activation']}"


def save(plt, fig, path: Path, svg: bool = False) -> None:
    """Write ``fig`` as PNG (and SVG) and close it."""
    fig.savefig(path, dpi=110)
    if svg:
        fig.savefig(Path(path).with_suffix(".svg"))
    plt.close(fig)


def image_grid(plt, images: np.ndarray, titles: Optional[Sequence[str]], columns: int,
               suptitle: str, cmap: str = "gray_r", cell: float = 1.1, shared_scale=False,
               row_labels: Optional[Sequence[str]] = None):
    """A figure of ``images`` (each 2-d) on a grid, each with its title above it.

    Each image is scaled to its own range unless ``shared_scale`` (then one range for all,
    centred on 0 when the values have both signs: filters before and after training compare).
    ``row_labels`` name each row on its left.
    """
    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * cell, rows * cell + 0.6),
                             squeeze=False)
    vmin = vmax = None
    if shared_scale and n:
        lim = float(np.max(np.abs(images)))
        vmin, vmax = (-lim, lim) if np.min(images) < 0 else (0.0, lim)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        ax.imshow(images[k], cmap=cmap, interpolation="nearest", vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(titles[k], fontsize=8, pad=2)
    for r, label in enumerate(row_labels or ()):
        axes[r, 0].set_ylabel(label, fontsize=9)
    fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig
