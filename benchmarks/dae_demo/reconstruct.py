"""The compiled reconstruction functions: ``(pixels, level, seed) -> (noisy, reconstruction)``.

One :class:`Reconstruction` per (corruption, model) pair compiles the corruption of
:mod:`~benchmarks.dae_demo.noises` followed by the model's encoder and decoder into ONE symgraph
function whose inputs are the pixels and the level; the noise is drawn inside the graph from a
:class:`symgraph.RandomStream` of its own, reseeded with the request's seed before each call
(under a lock, so threads never see each other's seeds). The draws of a kind are made in the
same order for every model, so equal seeds give every model the same corrupted input.
"""
from __future__ import annotations

import threading
from typing import Tuple

import numpy as np

import symgraph
import symgraph.tensor as T

from benchmarks.dae_demo.noises import NoiseKind

#: largest seed accepted (exact in JavaScript's numbers)
MAX_SEED = 2 ** 53 - 1


class Reconstruction:
    """``model``'s reconstruction of its input corrupted by ``kind``.

    Parameters
    ----------
    model : models.AutoEncoder
        A trained autoencoder (its encoder and decoder run in test mode: no noise of its own).
    kind : NoiseKind
    model_name : str
        Names the compiled function (``reconstruct_<kind>_by_<model_name>``).

    Attributes
    ----------
    function : symgraph.Function
        ``function(pixels, level) -> [noisy, reconstruction]``, pixels of shape (n, 784).
    """

    def __init__(self, model, kind: NoiseKind, model_name: str):
        self.kind, self.model_name = kind, model_name
        self.n_visible, self.dtype = model.n_visible, model.dtype
        x = T.matrix("pixels", dtype=model.dtype)
        level = T.scalar("level", dtype=model.dtype)
        self.stream = symgraph.RandomStream(0)
        noisy = kind.model_noise(level)(x, self.stream)
        noisy.name = "noisy"
        reconstruction = model.decode(model.encode(noisy, train=False))
        reconstruction.name = "reconstruction"
        # the states are reseeded before every call, so the calls need not advance them
        self.function = symgraph.function(
            [x, level], [noisy, reconstruction], no_default_updates=True,
            name=f"reconstruct_{kind.name}_by_{model_name}")
        self._lock = threading.Lock()

    def __call__(self, pixels: np.ndarray, level: float, seed: int = 0
                 ) -> Tuple[np.ndarray, np.ndarray]:
        """The corrupted ``pixels`` and their reconstruction, each of ``pixels``' shape.

        ``pixels`` is one image of ``n_visible`` values or a batch (n, n_visible), in [0, 1];
        ``level`` is checked against the kind's range; ``seed`` (0 .. 2**53 - 1) fixes the
        noise.
        """
        x = np.asarray(pixels, dtype=self.dtype)
        single = x.ndim == 1
        if single:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n_visible:
            raise ValueError(f"pixels must have {self.n_visible} values per image, got shape "
                             f"{np.shape(pixels)}")
        if not np.all((x >= 0) & (x <= 1)):  # also refuses nan
            raise ValueError("pixels must be in [0, 1]")
        level = self.kind.check_level(level)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or \
                not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be an int in [0, {MAX_SEED}], got {seed!r}")
        with self._lock:
            self.stream.seed(int(seed))
            noisy, rec = self.function(x, level)
        return (noisy[0], rec[0]) if single else (noisy, rec)


def denoising_errors(rec: Reconstruction, x: np.ndarray, level: float, seed: int = 0,
                     batch_size: int = 1000) -> dict:
    """Mean squared errors against the clean ``x`` (rows of pixels) of the reconstructions
    of ``x`` corrupted at ``level`` and of the corrupted inputs themselves (clipped to [0, 1],
    the better estimate of a pixel), with the corruption drawn from ``seed``; plus the
    reconstruction error of the clean inputs."""
    sums = np.zeros(3)
    for k, start in enumerate(range(0, len(x), batch_size)):
        batch = np.asarray(x[start:start + batch_size], dtype=rec.dtype)
        noisy, out = rec(batch, level, seed + k)
        _, clean_out = rec(batch, 0.0, 0)
        for i, guess in enumerate((out, np.clip(noisy, 0, 1), clean_out)):
            sums[i] += np.sum((guess.astype(np.float64) - batch) ** 2)
    n = x.size
    return {"n_images": int(len(x)), "level": float(level), "seed": int(seed),
            "reconstruction_mse": float(sums[0] / n), "corrupted_mse": float(sums[1] / n),
            "clean_reconstruction_mse": float(sums[2] / n)}
