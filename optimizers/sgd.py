"""First-order rules without per-coordinate scaling: SGD, momentum and Nesterov momentum."""
from __future__ import annotations

from typing import Optional

from optimizers.base import Hyper, Optimizer


class SGD(Optimizer):
    """Plain stochastic gradient descent.

    Update (``g`` the gradient after clipping and weight decay)::

        p ← p − lr·g
    """

    name = "sgd"

    def __init__(self, lr: Hyper = 0.01, *, weight_decay: Hyper = 0.0,
                 clip_norm: Optional[Hyper] = None, clip_value: Optional[Hyper] = None):
        super().__init__(weight_decay=weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.lr = lr
        self.validate()

    def step(self, p, g, state, t):
        return p - self.hyper("lr", p.dtype) * g, {}


class Momentum(Optimizer):
    """SGD with (heavy-ball) momentum, velocity ``v`` starting at 0.

    Update::

        v ← momentum·v − lr·g
        p ← p + v

    torch.optim.SGD keeps ``v' ← momentum·v' + g; p ← p − lr·v'`` instead: ``v = −lr·v'``,
    so the trajectories agree while ``lr`` is constant and differ when it changes.
    """

    name = "momentum"
    state_names = ("velocity",)

    def __init__(self, lr: Hyper = 0.01, momentum: Hyper = 0.9, *, weight_decay: Hyper = 0.0,
                 clip_norm: Optional[Hyper] = None, clip_value: Optional[Hyper] = None):
        super().__init__(weight_decay=weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.lr = lr
        self.momentum = momentum
        self.validate()

    def step(self, p, g, state, t):
        lr, mu = self.hyper("lr", p.dtype), self.hyper("momentum", p.dtype)
        v = mu * state["velocity"] - lr * g
        return p + v, {"velocity": v}


class Nesterov(Momentum):
    """SGD with Nesterov momentum (the look-ahead form of Sutskever et al., 2013).

    Update::

        v ← momentum·v − lr·g
        p ← p + momentum·v − lr·g

    (``v`` on the second line is the new velocity.)
    """

    name = "nesterov"

    def step(self, p, g, state, t):
        lr, mu = self.hyper("lr", p.dtype), self.hyper("momentum", p.dtype)
        v = mu * state["velocity"] - lr * g
        return p + mu * v - lr * g, {"velocity": v}
