"""Building blocks shared by the models: dense and batch-norm layers, activations, dropout,
and the classification loss.

Everything here builds symbolic graphs from symgraph primitives; the dedicated ops of
``symgraph.tensor.nnet`` are used where they exist (ReLU, log-softmax).
"""
from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import numpy as np

import symgraph
import symgraph.tensor as T
from symgraph.gradient import disconnected_grad
from symgraph.graph import Variable
from symgraph.shared import SharedVariable

from models import init as inits

Updates = List[Tuple[SharedVariable, Variable]]


def _nnet(name: str):
    """``symgraph.tensor.nnet.<name>`` (or the op family's ``symgraph.ops.nnet.<name>``) when
    provided, else None (then the models fall back on primitives)."""
    import importlib
    for module in ("symgraph.tensor.nnet", "symgraph.ops.nnet"):
        try:
            fn = getattr(importlib.import_module(module), name, None)
        except ImportError:
            fn = None
        if fn is not None:
            return fn
    return None


def make_shared(value: np.ndarray, dtype: str, name: str) -> SharedVariable:
    """A shared variable holding ``value`` cast to ``dtype``."""
    return symgraph.shared(np.asarray(value, dtype=dtype), name=name)


# ---------------------------------------------------------------------------------------------
# activations and losses

def relu(x: Variable) -> Variable:
    """max(x, 0); gradient 1 where x > 0, else 0."""
    op = _nnet("relu")
    return op(x) if op is not None else T.maximum(x, 0)


def linear(x: Variable) -> Variable:
    """The identity (a linear output layer)."""
    return x


ACTIVATIONS = {"relu": relu, "sigmoid": T.sigmoid, "tanh": T.tanh, "linear": linear}


def activation(name: str) -> Callable[[Variable], Variable]:
    """The activation function called ``name`` (relu, sigmoid, tanh, linear)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of "
                         f"{sorted(ACTIVATIONS)}") from None


def log_softmax(z: Variable) -> Variable:
    """log softmax over the last axis of a matrix, computed as z - max - log Σ exp(z - max).

    The max is a constant for the gradient (softmax is shift invariant), so the gradient is the
    exact ``g - softmax(z) Σ g``, and no exp ever overflows.
    """
    op = _nnet("log_softmax")
    if op is not None:
        return op(z)
    shifted = z - disconnected_grad(T.max(z, axis=-1, keepdims=True))
    return shifted - T.log(T.sum(T.exp(shifted), axis=-1, keepdims=True))


def softmax(z: Variable) -> Variable:
    """softmax over the last axis (class probabilities)."""
    return T.exp(log_softmax(z))


def one_hot_mask(y: Variable, n_classes: int) -> Variable:
    """A boolean (n, n_classes) matrix, True at each row's label (y: integer vector)."""
    classes = T.constant(np.arange(n_classes, dtype=y.dtype))
    return T.eq(y.dimshuffle(0, "x"), classes)


def nll(logits: Variable, y: Variable, n_classes: int) -> Variable:
    """Mean negative log-likelihood of labels ``y`` (int vector or one-hot rows) under
    softmax(logits): the categorical cross-entropy. Gradient wrt logits: (softmax - onehot)/n."""
    if y.ndim == 1:
        fused = _nnet("softmax_cross_entropy_with_logits")
        if fused is not None:
            return T.mean(fused(logits, y))
        lsm = log_softmax(logits)
        return -T.mean(T.sum(T.switch(one_hot_mask(y, n_classes), lsm, 0), axis=1))
    return -T.mean(T.sum(y * log_softmax(logits), axis=1))


def error_rate(logits: Variable, y: Variable) -> Variable:
    """Fraction of rows whose arg-max differs from the label (int vector or one-hot rows)."""
    labels = y if y.ndim == 1 else T.argmax(y, axis=1)
    pred = T.argmax(logits, axis=1)
    return T.mean(T.cast(T.neq(pred, T.cast(labels, pred.dtype)), logits.dtype))


# ---------------------------------------------------------------------------------------------
# randomness

def random_stream(seed: int):
    """A ``symgraph.RandomStream`` seeded with ``seed`` (dropout and input noise draw from it)."""
    cls = getattr(symgraph, "RandomStream", None)
    if cls is None:
        raise NotImplementedError("dropout and input noise need symgraph.RandomStream, which "
                                  "this symgraph does not provide")
    return cls(seed)


def dropout(x: Variable, p: float, stream, train: bool) -> Variable:
    """Inverted dropout: each unit is kept with probability 1 - p and scaled by 1/(1 - p) when
    training; the identity at test time. Gradient: the same mask and scale."""
    if not train or p == 0:
        return x
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    keep = 1.0 - p
    mask = stream.binomial(size=x.shape, n=1, p=keep, dtype=x.dtype)
    return x * mask * (1.0 / keep)


# ---------------------------------------------------------------------------------------------
# layers with parameters

class Dense:
    """``x @ W + b`` with W drawn by ``init`` and b = 0.

    Gradient: dW = xᵀ g, db = Σ_rows g, dx = g Wᵀ.
    """

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator, init, dtype: str,
                 name: str):
        self.n_in, self.n_out = n_in, n_out
        self.W = make_shared(inits.get(init)(rng, (n_in, n_out)), dtype, f"{name}.W")
        self.b = make_shared(np.zeros(n_out), dtype, f"{name}.b")
        self.params = [self.W, self.b]

    def __call__(self, x: Variable) -> Variable:
        return T.dot(x, self.W) + self.b


class BatchNorm:
    """Batch normalisation over the rows: ``gamma * (x - mean) / sqrt(var + eps) + beta``.

    Training uses the minibatch statistics (the gradient flows through them) and appends the
    updates ``running ← momentum * running + (1 - momentum) * batch_statistic`` to ``updates``;
    test mode uses the running averages.
    """

    def __init__(self, n: int, dtype: str, name: str, momentum: float = 0.9, eps: float = 1e-5):
        self.momentum, self.eps = momentum, eps
        self.gamma = make_shared(np.ones(n), dtype, f"{name}.gamma")
        self.beta = make_shared(np.zeros(n), dtype, f"{name}.beta")
        self.running_mean = make_shared(np.zeros(n), dtype, f"{name}.running_mean")
        self.running_var = make_shared(np.ones(n), dtype, f"{name}.running_var")
        self.params = [self.gamma, self.beta]
        self.state = [self.running_mean, self.running_var]

    def __call__(self, x: Variable, train: bool, updates: Optional[Updates]) -> Variable:
        if train:
            mean = T.mean(x, axis=0)
            var = T.mean(T.sqr(x - mean), axis=0)
            if updates is not None:
                m = self.momentum
                updates.append((self.running_mean, m * self.running_mean + (1 - m) * mean))
                updates.append((self.running_var, m * self.running_var + (1 - m) * var))
        else:
            mean, var = self.running_mean, self.running_var
        return self.gamma * (x - mean) / T.sqrt(var + self.eps) + self.beta
