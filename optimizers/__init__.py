"""Update rules: turn a cost (or gradients) and shared parameters into ordered updates::

    opt = optimizers.Adam(lr=1e-3)
    train = symgraph.function([x, y], cost, updates=opt.updates(cost, params))
    optimizers.get("adam", lr=1e-3)          # by name, for command lines

Each class states its update equations; hyper-parameters may be numbers, symbolic scalars or
shared variables (schedules). Pure symbolic: state lives in new shared variables.
"""
from __future__ import annotations

from typing import Dict, Type

from optimizers.base import Optimizer, as_hyper  # noqa: F401
from optimizers.sgd import SGD, Momentum, Nesterov
from optimizers.adaptive import AdaGrad, RMSprop, AdaDelta
from optimizers.adam import Adam, AdamW, AdaMax, Nadam

#: name -> class, for :func:`get` (names are lower case)
REGISTRY: Dict[str, Type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, AdaDelta, Adam,
                              AdamW, AdaMax, Nadam)
}

__all__ = ["Optimizer", "get", "names", "REGISTRY"] + [c.__name__ for c in REGISTRY.values()]


def names() -> list:
    """The registered optimizer names."""
    return list(REGISTRY)


def get(name: str, **hyper) -> Optimizer:
    """The optimizer registered as ``name`` (case-insensitive), built with ``hyper``.

    Raises ``KeyError`` listing the known names for an unknown one, and ``TypeError`` for a
    hyper-parameter the class does not take.
    """
    key = str(name).strip().lower().replace("-", "").replace("_", "")
    aliases = {"momentumsgd": "momentum", "nag": "nesterov", "rmsprop": "rmsprop"}
    key = aliases.get(key, key)
    if key not in REGISTRY:
        raise KeyError(f"unknown optimizer {name!r}; known: {', '.join(REGISTRY)}")
    cls = REGISTRY[key]
    try:
        return cls(**hyper)
    except TypeError as exc:
        raise TypeError(f"optimizers.get({name!r}): {exc}") from None
