"""Softmax (multinomial logistic) regression."""
from __future__ import annotations

from typing import Optional

from models import layers as L
from models.base import Classifier


class LogisticRegression(Classifier):
    """``softmax(x W + b)`` with W = 0 and b = 0 initially (the Theano tutorial's model).

    Gradient of the mean cross-entropy: dW = xᵀ (softmax - onehot) / n, db = column means of
    (softmax - onehot); plus λ W for weight decay λ.
    """

    def __init__(self, n_in: int = 784, n_out: int = 10, init="zeros", weight_decay: float = 0.0,
                 seed: int = 0, dtype: Optional[str] = None):
        super().__init__(n_out, weight_decay, seed, dtype)
        self.layer = L.Dense(n_in, n_out, self.rng, init, self.dtype, "logreg")
        self.params = list(self.layer.params)
        self.weights = [self.layer.W]

    def forward(self, x, train=False, updates=None):
        return self.layer(x)
