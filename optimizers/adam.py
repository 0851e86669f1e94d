"""The Adam family: Adam, AdaMax, Nadam and AdamW (bias-corrected moment estimates)."""
from __future__ import annotations

from typing import Optional

import symgraph.tensor as T
from optimizers.base import Hyper, Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), moments ``m``, ``v`` starting at 0, ``t`` starting at 1.

    Update::

        m ← beta1·m + (1 − beta1)·g
        v ← beta2·v + (1 − beta2)·g²
        p ← p − lr·(m / (1 − beta1^t)) / (sqrt(v / (1 − beta2^t)) + eps)

    This is torch.optim.Adam's convention too (``eps`` outside the square root).
    """

    name = "adam"
    state_names = ("m", "v")

    def __init__(self, lr: Hyper = 0.001, beta1: Hyper = 0.9, beta2: Hyper = 0.999,
                 eps: Hyper = 1e-8, *, weight_decay: Hyper = 0.0,
                 clip_norm: Optional[Hyper] = None, clip_value: Optional[Hyper] = None):
        super().__init__(weight_decay=weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.validate()

    def moments(self, p, g, state):
        """The new ``m`` and ``v`` (shared by the family)."""
        b1, b2 = self.hyper("beta1", p.dtype), self.hyper("beta2", p.dtype)
        m = b1 * state["m"] + (1 - b1) * g
        v = b2 * state["v"] + (1 - b2) * T.sqr(g)
        return m, v

    def direction(self, p, m, v, t, lr=1):
        """``lr·(m / (1 − beta1^t)) / (sqrt(v / (1 − beta2^t)) + eps)``.

        Evaluated in the paper's efficient order (Kingma & Ba, §2), which is the same number:
        with ``c = sqrt(1 − beta2^t)``, it equals ``(lr·c / (1 − beta1^t))·m / (sqrt(v) + eps·c)``,
        so the bias corrections are scalar work and the arrays see one sqrt, one add, one
        division and one scaling.
        """
        b1, b2 = self.hyper("beta1", p.dtype), self.hyper("beta2", p.dtype)
        eps = self.hyper("eps", p.dtype)
        c = T.sqrt(1 - b2 ** t)
        return (lr * c / (1 - b1 ** t)) * m / (T.sqrt(v) + eps * c)

    def step(self, p, g, state, t):
        m, v = self.moments(p, g, state)
        return p - self.direction(p, m, v, t, self.hyper("lr", p.dtype)), {"m": m, "v": v}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019; torch.optim.AdamW).

    ``weight_decay`` is not added to the gradient; it shrinks the parameter directly::

        m ← beta1·m + (1 − beta1)·g
        v ← beta2·v + (1 − beta2)·g²
        p ← p − lr·weight_decay·p − lr·(m / (1 − beta1^t)) / (sqrt(v / (1 − beta2^t)) + eps)

    (the paper's schedule multiplier ``eta_t`` is folded into ``lr``).
    """

    name = "adamw"

    def __init__(self, lr: Hyper = 0.001, beta1: Hyper = 0.9, beta2: Hyper = 0.999,
                 eps: Hyper = 1e-8, *, weight_decay: Hyper = 0.01,
                 clip_norm: Optional[Hyper] = None, clip_value: Optional[Hyper] = None):
        super().__init__(lr, beta1, beta2, eps, weight_decay=weight_decay, clip_norm=clip_norm,
                         clip_value=clip_value)

    def l2_in_gradient(self) -> bool:
        return False

    def step(self, p, g, state, t):
        m, v = self.moments(p, g, state)
        lr, wd = self.hyper("lr", p.dtype), self.hyper("weight_decay", p.dtype)
        return p - lr * wd * p - self.direction(p, m, v, t, lr), {"m": m, "v": v}


class AdaMax(Adam):
    """AdaMax, the infinity-norm variant of Adam (Kingma & Ba, 2015, Algorithm 2).

    Moments ``m`` and ``u`` start at 0::

        m ← beta1·m + (1 − beta1)·g
        u ← max(beta2·u, |g|)
        p ← p − (lr / (1 − beta1^t))·m / (u + eps)

    ``eps`` (not in the paper's algorithm) guards against ``u = 0``, as in Lasagne.
    """

    name = "adamax"
    state_names = ("m", "u")

    def __init__(self, lr: Hyper = 0.002, beta1: Hyper = 0.9, beta2: Hyper = 0.999,
                 eps: Hyper = 1e-8, *, weight_decay: Hyper = 0.0,
                 clip_norm: Optional[Hyper] = None, clip_value: Optional[Hyper] = None):
        super().__init__(lr, beta1, beta2, eps, weight_decay=weight_decay, clip_norm=clip_norm,
                         clip_value=clip_value)

    def step(self, p, g, state, t):
        lr, b1 = self.hyper("lr", p.dtype), self.hyper("beta1", p.dtype)
        b2, eps = self.hyper("beta2", p.dtype), self.hyper("eps", p.dtype)
        m = b1 * state["m"] + (1 - b1) * g
        u = T.maximum(b2 * state["u"], T.abs(g))
        return p - (lr / (1 - b1 ** t)) * m / (u + eps), {"m": m, "u": u}


class Nadam(Adam):
    """Nadam: Adam with Nesterov momentum (Dozat, 2016), with a constant ``beta1``.

    Moments ``m``, ``v`` start at 0, ``t`` at 1::

        m ← beta1·m + (1 − beta1)·g
        v ← beta2·v + (1 − beta2)·g²
        m̂ = beta1·m / (1 − beta1^(t+1)) + (1 − beta1)·g / (1 − beta1^t)
        p ← p − lr·m̂ / (sqrt(v / (1 − beta2^t)) + eps)

    (Dozat's momentum warm-up schedule ``mu_t``, used by torch.optim.NAdam, is not applied.)
    """

    name = "nadam"

    def __init__(self, lr: Hyper = 0.002, beta1: Hyper = 0.9, beta2: Hyper = 0.999,
                 eps: Hyper = 1e-8, *, weight_decay: Hyper = 0.0,
                 clip_norm: Optional[Hyper] = None, clip_value: Optional[Hyper] = None):
        super().__init__(lr, beta1, beta2, eps, weight_decay=weight_decay, clip_norm=clip_norm,
                         clip_value=clip_value)

    def step(self, p, g, state, t):
        m, v = self.moments(p, g, state)
        lr, b1 = self.hyper("lr", p.dtype), self.hyper("beta1", p.dtype)
        b2, eps = self.hyper("beta2", p.dtype), self.hyper("eps", p.dtype)
        m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)
        return p - lr * m_hat / (T.sqrt(v / (1 - b2 ** t)) + eps), {"m": m, "v": v}
