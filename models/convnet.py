"""Convolutional networks of deep-learning-from-scratch ch. 7–8 (NCHW images)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

import symgraph.tensor as T
from symgraph.graph import Variable

from models import init as inits
from models import layers as L
from models.base import Classifier


def _conv2d():
    from symgraph.tensor.nnet import conv2d
    return conv2d


def _pool_2d():
    from symgraph.tensor.signal.pool import pool_2d
    return pool_2d


class Conv:
    """``conv2d(x, W) + b`` (cross-correlation, as in deep-learning-from-scratch: the filters
    are not flipped) with zero padding ``pad``; W: (out, in, k, k).

    Gradient: conv2d's own (wrt input and filters); db = Σ over batch and pixels of g.
    """

    def __init__(self, n_in: int, n_out: int, k: int, pad: int, rng: np.random.Generator,
                 init, dtype: str, name: str):
        self.pad = int(pad)
        self.W = L.make_shared(inits.get(init)(rng, (n_out, n_in, k, k)), dtype, f"{name}.W")
        self.b = L.make_shared(np.zeros(n_out), dtype, f"{name}.b")
        self.params = [self.W, self.b]

    def __call__(self, x: Variable) -> Variable:
        out = _conv2d()(x, self.W, border_mode=self.pad, filter_flip=False)
        return out + self.b.dimshuffle("x", 0, "x", "x")


def _out_size(size: int, k: int, pad: int, stride: int = 1) -> int:
    return (size + 2 * pad - k) // stride + 1


class _ConvNet(Classifier):
    input_ndim = 4

    def __init__(self, input_shape: Tuple[int, int, int], n_classes: int, weight_decay: float,
                 seed: int, dtype: Optional[str]):
        super().__init__(n_classes, weight_decay, seed, dtype)
        self.input_shape = tuple(int(s) for s in input_shape)

    def _as_images(self, x: Variable) -> Variable:
        return x if x.ndim == 4 else T.reshape(x, (-1,) + self.input_shape)

    @staticmethod
    def _pool(h: Variable) -> Variable:
        return _pool_2d()(h, (2, 2), ignore_border=True)


class SimpleConvNet(_ConvNet):
    """conv 30@5×5 – ReLU – max-pool 2×2 – affine 100 – ReLU – affine 10 (He initialisation)."""

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28), n_filters: int = 30,
                 filter_size: int = 5, pad: int = 0, hidden: int = 100, n_classes: int = 10,
                 init="he", weight_decay: float = 0.0, seed: int = 0,
                 dtype: Optional[str] = None):
        super().__init__(input_shape, n_classes, weight_decay, seed, dtype)
        c, h, w = self.input_shape
        self.conv = Conv(c, n_filters, filter_size, pad, self.rng, init, self.dtype, "conv1")
        oh = _out_size(h, filter_size, pad) // 2
        ow = _out_size(w, filter_size, pad) // 2
        self.fc1 = L.Dense(n_filters * oh * ow, hidden, self.rng, init, self.dtype, "fc1")
        self.fc2 = L.Dense(hidden, n_classes, self.rng, init, self.dtype, "fc2")
        self.params = self.conv.params + self.fc1.params + self.fc2.params
        self.weights = [self.conv.W, self.fc1.W, self.fc2.W]

    def forward(self, x, train=False, updates=None):
        h = self._pool(L.relu(self.conv(self._as_images(x))))
        h = L.relu(self.fc1(T.flatten(h, 2)))
        return self.fc2(h)


class DeepConvNet(_ConvNet):
    """Six 3×3 convolutions 16-16-32-32-64-64 with ReLU and a 2×2 max-pool after every pair,
    affine 50 – ReLU – dropout 0.5 – affine 10 – dropout 0.5 (He initialisation).

    The fourth convolution pads by 2 (as in deep-learning-from-scratch), the others by 1, so a
    28×28 image ends as 64 maps of 4×4.
    """

    _CONVS = ((16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1))

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28), hidden: int = 50,
                 n_classes: int = 10, dropout: float = 0.5, init="he",
                 weight_decay: float = 0.0, seed: int = 0, dtype: Optional[str] = None):
        super().__init__(input_shape, n_classes, weight_decay, seed, dtype)
        c, h, w = self.input_shape
        self.convs = []
        for i, (n_out, pad) in enumerate(self._CONVS):
            self.convs.append(Conv(c, n_out, 3, pad, self.rng, init, self.dtype, f"conv{i + 1}"))
            c, h, w = n_out, _out_size(h, 3, pad), _out_size(w, 3, pad)
            if i % 2 == 1:
                h, w = h // 2, w // 2
        self.fc1 = L.Dense(c * h * w, hidden, self.rng, init, self.dtype, "fc1")
        self.fc2 = L.Dense(hidden, n_classes, self.rng, init, self.dtype, "fc2")
        for layer in self.convs + [self.fc1, self.fc2]:
            self.params += layer.params
        self.weights = [layer.W for layer in self.convs + [self.fc1, self.fc2]]
        self.dropout = dropout
        self.stream = L.random_stream(self.seed + 1) if dropout else None

    def forward(self, x, train=False, updates=None):
        h = self._as_images(x)
        for i, conv in enumerate(self.convs):
            h = L.relu(conv(h))
            if i % 2 == 1:
                h = self._pool(h)
        h = L.dropout(L.relu(self.fc1(T.flatten(h, 2))), self.dropout, self.stream, train)
        return L.dropout(self.fc2(h), self.dropout, self.stream, train)
