"""Per-coordinate step sizes from running squared gradients: AdaGrad, RMSprop, AdaDelta."""
from __future__ import annotations

from typing import Optional

import symgraph.tensor as T
from optimizers.base import Hyper, Optimizer


class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al., 2011), accumulator ``a`` starting at 0.

    Update::

        a ← a + g²
        p ← p − lr·g / sqrt(a + eps)

    torch.optim.Adagrad puts ``eps`` outside the square root (``sqrt(a) + eps``).
    """

    name = "adagrad"
    state_names = ("accu",)

    def __init__(self, lr: Hyper = 0.01, eps: Hyper = 1e-6, *, weight_decay: Hyper = 0.0,
                 clip_norm: Optional[Hyper] = None, clip_value: Optional[Hyper] = None):
        super().__init__(weight_decay=weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.lr = lr
        self.eps = eps
        self.validate()

    def step(self, p, g, state, t):
        lr, eps = self.hyper("lr", p.dtype), self.hyper("eps", p.dtype)
        a = state["accu"] + T.sqr(g)
        return p - lr * g / T.sqrt(a + eps), {"accu": a}


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012), mean square ``s`` starting at 0.

    Update::

        s ← alpha·s + (1 − alpha)·g²
        p ← p − lr·g / sqrt(s + eps)

    torch.optim.RMSprop puts ``eps`` outside the square root (``sqrt(s) + eps``); the two agree
    exactly when ``eps = 0``.
    """

    name = "rmsprop"
    state_names = ("mean_square",)

    def __init__(self, lr: Hyper = 0.001, alpha: Hyper = 0.99, eps: Hyper = 1e-8, *,
                 weight_decay: Hyper = 0.0, clip_norm: Optional[Hyper] = None,
                 clip_value: Optional[Hyper] = None):
        super().__init__(weight_decay=weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.lr = lr
        self.alpha = alpha
        self.eps = eps
        self.validate()

    def step(self, p, g, state, t):
        lr, alpha = self.hyper("lr", p.dtype), self.hyper("alpha", p.dtype)
        eps = self.hyper("eps", p.dtype)
        s = alpha * state["mean_square"] + (1 - alpha) * T.sqr(g)
        return p - lr * g / T.sqrt(s + eps), {"mean_square": s}


class AdaDelta(Optimizer):
    """AdaDelta (Zeiler, 2012), accumulators ``a`` (gradients) and ``u`` (updates) at 0.

    Update::

        a ← rho·a + (1 − rho)·g²
        d = −sqrt(u + eps) / sqrt(a + eps) · g
        u ← rho·u + (1 − rho)·d²
        p ← p + lr·d

    ``lr`` (default 1, as in Zeiler's paper and torch) only scales the step; with the default
    this is exactly ``p ← p + d``.
    """

    name = "adadelta"
    state_names = ("accu_grad", "accu_delta")

    def __init__(self, lr: Hyper = 1.0, rho: Hyper = 0.95, eps: Hyper = 1e-6, *,
                 weight_decay: Hyper = 0.0, clip_norm: Optional[Hyper] = None,
                 clip_value: Optional[Hyper] = None):
        super().__init__(weight_decay=weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.lr = lr
        self.rho = rho
        self.eps = eps
        self.validate()

    def step(self, p, g, state, t):
        lr, rho = self.hyper("lr", p.dtype), self.hyper("rho", p.dtype)
        eps = self.hyper("eps", p.dtype)
        a = rho * state["accu_grad"] + (1 - rho) * T.sqr(g)
        d = -T.sqrt(state["accu_delta"] + eps) / T.sqrt(a + eps) * g
        u = rho * state["accu_delta"] + (1 - rho) * T.sqr(d)
        return p + lr * d, {"accu_grad": a, "accu_delta": u}
