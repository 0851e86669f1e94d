"""Independent NumPy implementations of the update equations of issue 6, for the tests.

Each ``STEP[name](p, g, state, t, **hyper)`` returns ``(new_p, new_state)``; hyper-parameters
are Python floats so NumPy's weak-scalar rules keep float32 arrays in float32, and ``t`` is the
step number (from 1) in the parameter's dtype.
"""
import numpy as np


def sgd(p, g, s, t, lr=0.01):
    return p - lr * g, s


def momentum(p, g, s, t, lr=0.01, momentum=0.9):
    v = momentum * s.get("v", np.zeros_like(p)) - lr * g
    return p + v, {"v": v}


def nesterov(p, g, s, t, lr=0.01, momentum=0.9):
    v = momentum * s.get("v", np.zeros_like(p)) - lr * g
    return p + momentum * v - lr * g, {"v": v}


def adagrad(p, g, s, t, lr=0.01, eps=1e-6):
    a = s.get("a", np.zeros_like(p)) + g * g
    return p - lr * g / np.sqrt(a + eps), {"a": a}


def rmsprop(p, g, s, t, lr=0.001, alpha=0.99, eps=1e-8):
    sq = alpha * s.get("s", np.zeros_like(p)) + (1 - alpha) * g * g
    return p - lr * g / np.sqrt(sq + eps), {"s": sq}


def adadelta(p, g, s, t, lr=1.0, rho=0.95, eps=1e-6):
    a = rho * s.get("a", np.zeros_like(p)) + (1 - rho) * g * g
    u = s.get("u", np.zeros_like(p))
    d = -np.sqrt(u + eps) / np.sqrt(a + eps) * g
    u = rho * u + (1 - rho) * d * d
    return p + lr * d, {"a": a, "u": u}


def adam(p, g, s, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * s.get("m", np.zeros_like(p)) + (1 - beta1) * g
    v = beta2 * s.get("v", np.zeros_like(p)) + (1 - beta2) * g * g
    return p - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps), \
        {"m": m, "v": v}


def adamw(p, g, s, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    m = beta1 * s.get("m", np.zeros_like(p)) + (1 - beta1) * g
    v = beta2 * s.get("v", np.zeros_like(p)) + (1 - beta2) * g * g
    step = (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return p - lr * weight_decay * p - lr * step, {"m": m, "v": v}


def adamax(p, g, s, t, lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * s.get("m", np.zeros_like(p)) + (1 - beta1) * g
    u = np.maximum(beta2 * s.get("u", np.zeros_like(p)), np.abs(g))
    return p - (lr / (1 - beta1 ** t)) * m / (u + eps), {"m": m, "u": u}


def nadam(p, g, s, t, lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * s.get("m", np.zeros_like(p)) + (1 - beta1) * g
    v = beta2 * s.get("v", np.zeros_like(p)) + (1 - beta2) * g * g
    m_hat = beta1 * m / (1 - beta1 ** (t + 1)) + (1 - beta1) * g / (1 - beta1 ** t)
    return p - lr * m_hat / (np.sqrt(v / (1 - beta2 ** t)) + eps), {"m": m, "v": v}


STEP = {"sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad,
        "rmsprop": rmsprop, "adadelta": adadelta, "adam": adam, "adamw": adamw,
        "adamax": adamax, "nadam": nadam}


def linreg_grads(X, y, W, b):
    """Gradients of ``mean((X W + b - y)²)`` (mean over every element) w.r.t. W and b."""
    r = X @ W + b - y
    scale = X.dtype.type(2.0 / r.size)
    return (X.T @ r) * scale, r.sum(axis=0) * scale


def preprocess(grads, params, clip_value=None, clip_norm=None, weight_decay=0.0):
    """Clip by value, then by global norm, then add L2 weight decay (the base class order)."""
    if clip_value is not None:
        grads = [np.clip(g, -clip_value, clip_value) for g in grads]
    if clip_norm is not None:
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        grads = [g * (clip_norm / max(norm, clip_norm)) for g in grads]
    if weight_decay:
        grads = [g + weight_decay * p for g, p in zip(grads, params)]
    return grads
