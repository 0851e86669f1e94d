"""Theano's test values: with ``config.compute_test_value`` set to ``'warn'``, ``'raise'``,
``'pdb'`` or ``'ignore'``, every node built computes its outputs' ``tag.test_value`` from its
inputs' (``x.tag.test_value = ...``, constants and shared values), so a shape or type error
shows where the graph is built. ``'raise'`` makes a missing input test value an error,
``'warn'`` a warning, ``'ignore'`` skips the node; ``'off'`` (the default) does nothing.
"""
from __future__ import annotations

import warnings

from symgraph import op as _op
from symgraph.graph import Constant
from symgraph.compat.theano.configparser import flag


class TestValueError(ValueError):
    """An input of a node has no test value while ``compute_test_value='raise'``."""


_MISSING = object()


def _value_of(var):
    if isinstance(var, Constant):
        return var.data
    container = getattr(var, "container", None)
    if container is not None:
        return container.value
    value = getattr(var.tag, "test_value", _MISSING)
    if value is _MISSING:
        return _MISSING
    checked = var.type.filter(value, name=f"test value of {var}", allow_downcast=True)
    var.tag.test_value = checked
    return checked


def compute(node) -> None:
    """Set ``tag.test_value`` of ``node``'s outputs (a node hook of the core)."""
    mode = flag("compute_test_value")
    if mode == "off":
        return
    values = []
    for var in node.inputs:
        value = _value_of(var)
        if value is _MISSING:
            msg = (f"{var} (type {var.type}), an input of {node.op}, has no test value; set "
                   f"{var.name or 'it'}.tag.test_value")
            if mode in ("raise", "pdb"):
                raise TestValueError(msg)
            if mode == "warn":
                warnings.warn(msg, stacklevel=4)
            return
        values.append(value)
    results = node.op.runner(node)(*values)
    results = results if len(node.outputs) > 1 else (results,)
    for out, value in zip(node.outputs, results):
        out.tag.test_value = value


def install() -> None:
    if compute not in _op.NODE_HOOKS:
        _op.NODE_HOOKS.append(compute)
