"""Theano's names of tensor types: ``TensorType(float64, matrix)``, ``TensorType(float32, 4D)``.

Imported by ``theano``: from then on every type prints as Theano printed it (a display setting
only; :func:`restore` goes back to symgraph's ``TensorType(float64, (?, ?))``).
"""
from symgraph import types as _types

_NAMED = {(): "scalar", (False,): "vector", (False, True): "col", (True, False): "row",
          (False, False): "matrix"}


def theano_type_str(t) -> str:
    """``TensorType(<dtype>, <pattern>)`` with Theano's names for broadcastable patterns."""
    b = tuple(t.broadcastable)
    if b in _NAMED:
        pattern = _NAMED[b]
    elif any(b):
        pattern = str(b)
    else:
        pattern = f"{len(b)}D"
    return f"TensorType({t.dtype}, {pattern})"


def install() -> None:
    _types.set_display_style(theano_type_str)


def restore() -> None:
    _types.set_display_style(None)


install()
