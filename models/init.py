"""Weight initialisers: deterministic arrays drawn from a NumPy ``Generator``.

Each takes ``(rng, shape)`` and returns a float64 array (the model casts it). For a dense
weight ``(n_in, n_out)`` the fans are ``n_in``/``n_out``; for a convolution filter
``(out, in, kh, kw)`` they are ``in*kh*kw`` and ``out*kh*kw``.
"""
from __future__ import annotations

from typing import Callable, Sequence, Tuple, Union

import numpy as np

Initializer = Callable[[np.random.Generator, Tuple[int, ...]], np.ndarray]


def fans(shape: Sequence[int]) -> Tuple[int, int]:
    """``(fan_in, fan_out)`` of a dense ``(n_in, n_out)`` or conv ``(out, in, kh, kw)`` weight."""
    shape = tuple(shape)
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 4:
        receptive = shape[2] * shape[3]
        return shape[1] * receptive, shape[0] * receptive
    raise ValueError(f"fans: expected a 2-d or 4-d weight shape, got {shape}")


def he_normal(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """N(0, 2/fan_in): He et al. (2015), for ReLU layers."""
    return rng.normal(0.0, np.sqrt(2.0 / fans(shape)[0]), size=tuple(shape))


def xavier_normal(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """N(0, 1/fan_in): the "Xavier" of deep-learning-from-scratch, for sigmoid/tanh layers."""
    return rng.normal(0.0, np.sqrt(1.0 / fans(shape)[0]), size=tuple(shape))


def glorot_uniform(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)): Glorot & Bengio (2010)."""
    fan_in, fan_out = fans(shape)
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=tuple(shape))


def glorot_uniform_sigmoid(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """Glorot uniform times 4: the Theano tutorials' choice for sigmoid units."""
    return 4.0 * glorot_uniform(rng, shape)


def fixed_normal(std: float) -> Initializer:
    """N(0, std^2) whatever the shape (deep-learning-from-scratch's ``weight_init_std=0.01``)."""
    def init(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
        return rng.normal(0.0, std, size=tuple(shape))
    init.__name__ = f"normal({std})"
    return init


def zeros(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """All zeros (biases; logistic regression weights)."""
    return np.zeros(tuple(shape))


_NAMED = {"he": he_normal, "relu": he_normal, "he_normal": he_normal,
          "xavier": xavier_normal, "sigmoid": xavier_normal, "xavier_normal": xavier_normal,
          "glorot": glorot_uniform, "glorot_uniform": glorot_uniform,
          "glorot_sigmoid": glorot_uniform_sigmoid, "zeros": zeros}


def get(init: Union[str, float, Initializer]) -> Initializer:
    """An initialiser from a name (``'he'``, ``'xavier'``, ``'glorot'``, ``'glorot_sigmoid'``,
    ``'zeros'``), a fixed standard deviation (a number) or a callable ``(rng, shape)``."""
    if callable(init):
        return init
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        if init < 0:
            raise ValueError(f"init: a standard deviation must be >= 0, got {init}")
        return fixed_normal(float(init))
    if isinstance(init, str) and init.lower() in _NAMED:
        return _NAMED[init.lower()]
    raise ValueError(f"init: unknown initialiser {init!r}; use one of {sorted(_NAMED)}, a "
                     f"standard deviation or a callable (rng, shape) -> array")
