"""Batch normalisation (Ioffe & Szegedy, 2015) built from elementwise and reduction primitives.

Being compositions, the functions here are differentiated, fused and rewritten like any other
graph; no dedicated op is needed. Running averages are ordinary symbolic expressions that the
caller passes to ``function(updates=...)``, in Theano's style::

    out, mean, invstd, new_rm, new_rv = batch_normalization_train(
        x, gamma, beta, running_mean=rm, running_var=rv)
    train = function([x], cost, updates=[(rm, new_rm), (rv, new_rv)] + sgd_updates)
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

from symgraph.graph import Variable
from symgraph.ops import elemwise as E
from symgraph.ops.reduce import mean as _mean
from symgraph.ops.reduce import normalize_axis
from symgraph.ops.shape import dimshuffle, shape_i
from symgraph.ops.variable import as_tensor_variable

Axes = Union[str, int, Sequence[int]]


def _axes(axes: Axes, ndim: int) -> Tuple[int, ...]:
    """``'per-activation'`` = (0,), ``'spatial'`` = (0, 2, 3, ...), or explicit axes."""
    if axes == "per-activation":
        return (0,)
    if axes == "spatial":
        return (0,) + tuple(range(2, ndim))
    if isinstance(axes, str):
        raise ValueError(f"batch normalization: axes must be 'per-activation', 'spatial' or a "
                         f"tuple of ints, got {axes!r}")
    return normalize_axis(axes, ndim, "batch normalization")


def _to_input_rank(p, x: Variable, axes: Tuple[int, ...], what: str) -> Variable:
    """``p`` broadcastable against ``x``: either of ``x``'s rank, or missing the ``axes``."""
    p = as_tensor_variable(p)
    if p.ndim == x.ndim:
        return p
    kept = [i for i in range(x.ndim) if i not in axes]
    if p.ndim != len(kept):
        raise TypeError(f"batch normalization: {what} {p} has {p.ndim} dimensions; expected "
                        f"{x.ndim} (like the input) or {len(kept)} (the input without the "
                        f"normalized axes {axes})")
    pattern, k = [], 0
    for i in range(x.ndim):
        if i in axes:
            pattern.append("x")
        else:
            pattern.append(k)
            k += 1
    return dimshuffle(p, pattern)


def _like(stat: Variable, target: Variable, axes: Tuple[int, ...]) -> Variable:
    """A keepdims statistic reshaped to the rank of ``target`` (dropping ``axes``)."""
    if target.ndim == stat.ndim:
        return stat
    return dimshuffle(stat, [i for i in range(stat.ndim) if i not in axes])


def batch_normalization_train(inputs, gamma, beta, axes: Axes = "per-activation",
                              epsilon: float = 1e-4, running_average_factor: float = 0.1,
                              running_mean=None, running_var=None):
    """Normalize ``inputs`` with the statistics of the batch over ``axes``, then scale and
    shift: ``out = (x - mean) * invstd * gamma + beta`` with ``invstd = 1/sqrt(var + eps)``.

    Parameters follow Theano's ``bn.batch_normalization_train``; ``gamma``/``beta`` (and the
    running averages) either have the rank of ``inputs`` with length-1 normalized axes, or
    omit those axes. Returns ``(out, mean, invstd)``, plus ``(new_running_mean,
    new_running_var)`` when ``running_mean``/``running_var`` are given:
    ``new_rm = rm (1 - f) + mean f`` and ``new_rv = rv (1 - f) + var m / (m - 1) f`` (the
    unbiased variance over the ``m`` normalized entries). ``mean`` and ``invstd`` have the
    rank of ``gamma``.

    Gradient: that of the composition, i.e. the usual batch-norm backward pass
    ``gx = gamma invstd (g - mean(g) - xhat mean(g xhat))``.
    """
    x = as_tensor_variable(inputs)
    ax = _axes(axes, x.ndim)
    g = _to_input_rank(gamma, x, ax, "gamma")
    b = _to_input_rank(beta, x, ax, "beta")
    mean = _mean(x, ax, keepdims=True)
    centred = x - mean
    var = _mean(E.sqr(centred), ax, keepdims=True)
    invstd = E.true_div(1, E.sqrt(var + epsilon))
    out = centred * (invstd * g) + b
    gamma_v = as_tensor_variable(gamma)
    results = [out, _like(mean, gamma_v, ax), _like(invstd, gamma_v, ax)]
    if running_mean is None and running_var is None:
        return tuple(results)
    if running_mean is None or running_var is None:
        raise ValueError("batch_normalization_train: give both running_mean and running_var")
    f = running_average_factor
    m = 1
    for a in ax:
        m = m * shape_i(x, a)
    m = E.cast(m, var.dtype) if isinstance(m, Variable) else float(m)
    unbiased = var * (m / (m - 1))
    rm, rv = as_tensor_variable(running_mean), as_tensor_variable(running_var)
    new_rm = rm * (1 - f) + _like(mean, rm, ax) * f
    new_rv = rv * (1 - f) + _like(unbiased, rv, ax) * f
    results += [E.cast(new_rm, rm.dtype), E.cast(new_rv, rv.dtype)]
    return tuple(results)


def batch_normalization_test(inputs, gamma, beta, mean, var, axes: Axes = "per-activation",
                             epsilon: float = 1e-4) -> Variable:
    """Normalize with given (running) statistics: ``(x - mean) gamma / sqrt(var + eps) + beta``.

    ``gamma``, ``beta``, ``mean``, ``var`` have the rank of ``inputs`` (length-1 normalized
    axes) or omit the normalized ``axes``. Gradient: that of the composition.
    """
    x = as_tensor_variable(inputs)
    ax = _axes(axes, x.ndim)
    g, b, mu, v = (_to_input_rank(p, x, ax, name) for p, name in
                   ((gamma, "gamma"), (beta, "beta"), (mean, "mean"), (var, "var")))
    return (x - mu) * (g / E.sqrt(v + epsilon)) + b


def batch_normalization(inputs, gamma, beta, mean, std, mode: str = "low_mem") -> Variable:
    """Theano's elementwise form ``(inputs - mean) * (gamma / std) + beta`` (all broadcast;
    ``mode`` is accepted for compatibility)."""
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f"batch_normalization: mode must be 'low_mem' or 'high_mem', got "
                         f"{mode!r}")
    x = as_tensor_variable(inputs)
    return (x - mean) * (as_tensor_variable(gamma) / std) + beta


__all__ = ["batch_normalization_train", "batch_normalization_test", "batch_normalization"]
