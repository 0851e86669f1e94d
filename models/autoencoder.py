"""Autoencoders with input noise (denoising), dropout and tied or untied weights."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

import symgraph.tensor as T
from symgraph.graph import Variable

from models import layers as L
from models.base import Model


# ---------------------------------------------------------------------------------------------
# input noises: drawn fresh for every minibatch from the model's random stream. A level is a
# number or a symbolic scalar (one compiled function then serves every level).

Level = Union[float, Variable]


@dataclass(frozen=True)
class Masking:
    """Each pixel is set to 0 with probability ``ratio``."""
    ratio: Level

    def __call__(self, x: Variable, stream) -> Variable:
        keep = stream.binomial(size=x.shape, n=1, p=1.0 - self.ratio, dtype=x.dtype)
        return x * keep


@dataclass(frozen=True)
class SaltAndPepper:
    """Each pixel is, with probability ``ratio``, replaced by 0 or 1 with equal probability."""
    ratio: Level

    def __call__(self, x: Variable, stream) -> Variable:
        hit = stream.binomial(size=x.shape, n=1, p=self.ratio, dtype=x.dtype)
        salt = stream.binomial(size=x.shape, n=1, p=0.5, dtype=x.dtype)
        return x * (1 - hit) + hit * salt


@dataclass(frozen=True)
class Gaussian:
    """Additive N(0, std²) noise on every pixel."""
    std: Level

    def __call__(self, x: Variable, stream) -> Variable:
        return x + stream.normal(size=x.shape, avg=0.0, std=self.std, dtype=x.dtype)


def masking(ratio: Level) -> Masking:
    """Masking noise: pixels set to 0 with probability ``ratio`` (a number in [0, 1) or a
    symbolic scalar)."""
    return Masking(_check_level(ratio, "masking", "ratio", 1.0))


def salt_and_pepper(ratio: Level) -> SaltAndPepper:
    """Salt-and-pepper noise: pixels set to 0 or 1 (equally likely) with probability ``ratio``
    (a number in [0, 1) or a symbolic scalar)."""
    return SaltAndPepper(_check_level(ratio, "salt_and_pepper", "ratio", 1.0))


def gaussian(std: Level) -> Gaussian:
    """Additive Gaussian noise of standard deviation ``std`` (a number >= 0 or a symbolic
    scalar)."""
    return Gaussian(_check_level(std, "gaussian", "std", None))


def _check_level(level: Level, what: str, name: str, below: Optional[float]) -> Level:
    """A number in ``[0, below)`` (``[0, inf)`` when ``below`` is None) as a float, or a
    symbolic scalar as it is (its values are the caller's to check)."""
    if isinstance(level, Variable):
        if level.ndim != 0 or level.dtype[:5] not in ("float", "int", "uint"):
            raise TypeError(f"{what}: a symbolic {name} must be a numeric scalar, got {level} "
                            f"of type {level.type}")
        return level
    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what}: {name} must be a number or a symbolic scalar, got "
                        f"{type(level).__name__}")
    level = float(level)
    if not (0 <= level < (below if below is not None else np.inf)):
        bound = f"in [0, {below:g})" if below is not None else ">= 0"
        raise ValueError(f"{what}: {name} must be {bound}, got {level}")
    return level


# ---------------------------------------------------------------------------------------------

class AutoEncoder(Model):
    """One-hidden-layer autoencoder ``x → h = act(x̃ W + b_h) → r = out(h W' + b_v)``.

    ``x̃`` is ``x`` with ``noise`` applied (training only); dropout acts on ``h`` (training
    only); ``W' = Wᵀ`` when ``tied``. Losses, against the clean ``x``:

    - ``'mse'``: mean over every pixel of ``(r - x)²``;
    - ``'xent'``: mean over the batch of ``-Σ_pixels [x log r + (1 - x) log(1 - r)]`` (the
      Theano denoising-autoencoder tutorial), computed from the pre-activation ``a`` as
      ``softplus(a) - x a`` so it stays finite when the sigmoid saturates (needs the sigmoid
      output). Gradient wrt ``a``: ``sigmoid(a) - x``.

    Parameters
    ----------
    n_visible, n_hidden : int
    activation : {'relu', 'sigmoid', 'tanh'}
    dropout : float
        Drop probability on the hidden units while training.
    noise : Masking, SaltAndPepper, Gaussian or None
        Corruption of the input (see :func:`masking`, :func:`salt_and_pepper`, :func:`gaussian`).
    tied : bool
        Decode with the transpose of the encoder's weights.
    loss : {'mse', 'xent'}
    output_activation : {'linear', 'sigmoid'}, optional
        Default: sigmoid for 'xent', linear for 'mse'.
    init : str, float or callable
        Weight initialiser; default Glorot uniform (×4 for sigmoid, as in the Theano tutorial),
        He for ReLU.
    """

    supervised = False

    def __init__(self, n_visible: int = 784, n_hidden: int = 500, activation: str = "sigmoid",
                 dropout: float = 0.0, noise=None, tied: bool = False, loss: str = "mse",
                 output_activation: Optional[str] = None, init=None, seed: int = 0,
                 dtype: Optional[str] = None, name: str = "ae"):
        super().__init__(seed, dtype)
        if loss not in ("mse", "xent"):
            raise ValueError(f"AutoEncoder: loss must be 'mse' or 'xent', got {loss!r}")
        if output_activation is None:
            output_activation = "sigmoid" if loss == "xent" else "linear"
        if loss == "xent" and output_activation != "sigmoid":
            raise ValueError("AutoEncoder: loss='xent' needs output_activation='sigmoid'")
        if not 0 <= dropout < 1:
            raise ValueError(f"AutoEncoder: dropout must be in [0, 1), got {dropout}")
        if noise is not None and not callable(noise):
            raise TypeError(f"AutoEncoder: noise must be masking(r), salt_and_pepper(r), "
                            f"gaussian(s) or None, got {noise!r}")
        self.n_visible, self.n_hidden = int(n_visible), int(n_hidden)
        self.activation, self.act = activation, L.activation(activation)
        self.output_activation = output_activation
        self.out_act = L.activation(output_activation)
        self.dropout, self.noise, self.tied, self.loss = dropout, noise, tied, loss
        if init is None:
            init = {"relu": "he", "sigmoid": "glorot_sigmoid"}.get(activation, "glorot")
        self.encoder = L.Dense(self.n_visible, self.n_hidden, self.rng, init, self.dtype,
                               f"{name}.enc")
        self.params = list(self.encoder.params)
        if tied:
            self.b_visible = L.make_shared(np.zeros(self.n_visible), self.dtype, f"{name}.dec.b")
            self.params.append(self.b_visible)
            self.decoder = None
        else:
            self.decoder = L.Dense(self.n_hidden, self.n_visible, self.rng, init, self.dtype,
                                   f"{name}.dec")
            self.params += self.decoder.params
        self.stream = L.random_stream(self.seed + 1) if (noise is not None or dropout) else None

    # symbolic pieces ------------------------------------------------------------------------
    def corrupt(self, x: Variable, train: bool = True) -> Variable:
        """The noisy input (``x`` itself at test time or without noise)."""
        return self.noise(x, self.stream) if (train and self.noise is not None) else x

    def encode(self, x: Variable, train: bool = False) -> Variable:
        """Hidden representation of ``x`` (no corruption; dropout only when training)."""
        return L.dropout(self.act(self.encoder(x)), self.dropout, self.stream, train)

    def decode_preactivation(self, h: Variable) -> Variable:
        if self.tied:
            return T.dot(h, self.encoder.W.T) + self.b_visible
        return self.decoder(h)

    def decode(self, h: Variable) -> Variable:
        """Reconstruction from a hidden representation."""
        return self.out_act(self.decode_preactivation(h))

    def forward(self, x, train=False, updates=None):
        """The reconstruction of ``x`` (of its corrupted version when training)."""
        return self.decode(self.encode(self.corrupt(x, train), train))

    def reconstruction_loss(self, x: Variable, pre: Variable) -> Variable:
        if self.loss == "xent":
            return T.mean(T.sum(T.softplus(pre) - x * pre, axis=1))
        return T.mean(T.sqr(self.out_act(pre) - x))

    def cost(self, x, y=None, train=True, updates=None):
        h = self.encode(self.corrupt(x, train), train)
        return self.reconstruction_loss(x, self.decode_preactivation(h))

    def metrics(self, x, y=None):
        pre = self.decode_preactivation(self.encode(x, train=False))
        mse = T.mean(T.sqr(self.out_act(pre) - x))
        return OrderedDict([("loss", self.reconstruction_loss(x, pre)), ("mse", mse)])
