"""The demo's three corruptions: their names, level ranges, training levels and graphs.

A level is a masking or salt-and-pepper probability, or the *variance* of the Gaussian noise
(the demo's convention; :func:`models.gaussian` takes the standard deviation). The symbolic
corruption is built from the noises of :mod:`models.autoencoder`, so the demo corrupts its
inputs exactly as training did.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Union

import symgraph.tensor as T
from symgraph.graph import Variable

import models

Level = Union[float, Variable]


@dataclass(frozen=True)
class NoiseKind:
    """One corruption: its name, what its level means, the allowed levels and the level its
    model is trained with (also the page's default)."""

    name: str
    title: str
    parameter: str
    description: str
    low: float
    high: float
    train_level: float

    def model_noise(self, level: Level):
        """The :mod:`models` noise object of this kind at ``level`` (a number or a symbolic
        scalar): what :class:`models.AutoEncoder` applies while training."""
        if self.name == "masking":
            return models.masking(level)
        if self.name == "salt_and_pepper":
            return models.salt_and_pepper(level)
        std = T.sqrt(level) if isinstance(level, Variable) else math.sqrt(level)
        return models.gaussian(std)

    def check_level(self, level, what: str = "level") -> float:
        """``level`` as a float; ValueError/TypeError naming ``what`` when it is not a finite
        number in ``[low, high]``."""
        if isinstance(level, bool) or not isinstance(level, (int, float)):
            raise TypeError(f"{what} must be a number, got {type(level).__name__}")
        level = float(level)
        if not (math.isfinite(level) and self.low <= level <= self.high):
            raise ValueError(f"{what} of {self.name} noise ({self.parameter}) must be in "
                             f"[{self.low:g}, {self.high:g}], got {level!r}")
        return level

    def describe(self) -> dict:
        """The JSON description served by ``GET /api/models``."""
        return {"name": self.name, "title": self.title, "parameter": self.parameter,
                "description": self.description, "min": self.low, "max": self.high,
                "train_level": self.train_level}


#: the corruptions by name, in the page's order; the training levels are the founding
#: study's: masking 80 % completes broken strokes, salt-and-pepper 50 % removes speckles,
#: Gaussian variance 0.75 does a bit of both
NOISES: Dict[str, NoiseKind] = {k.name: k for k in (
    NoiseKind("masking", "Masking", "probability",
              "each pixel is set to 0 with this probability", 0.0, 1.0, 0.8),
    NoiseKind("salt_and_pepper", "Salt & pepper", "probability",
              "each pixel is, with this probability, set to 0 or 1 (equally likely)",
              0.0, 1.0, 0.5),
    NoiseKind("gaussian", "Gaussian", "variance",
              "Gaussian noise of this variance is added to every pixel", 0.0, 2.0, 0.75),
)}


def get(name) -> NoiseKind:
    """The corruption called ``name``; KeyError listing the known names otherwise."""
    if not isinstance(name, str) or name not in NOISES:
        raise KeyError(f"unknown noise {name!r}; expected one of {', '.join(NOISES)}")
    return NOISES[name]
