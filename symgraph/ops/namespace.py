"""``T``: the tensor functions of every op family, as seen from inside the families.

Gradients cross the op families in both directions (the gradient of a broadcasting ``add`` sums,
the gradient of a ``sum`` broadcasts), and a variable's operators need every family. Imports
run one way, so a family imports the families below it directly and reaches anything else
through ``T``, which :mod:`symgraph.ops` binds to itself once every family has loaded. The
compile layer adds the one function of its own that variables offer (``eval``). Code written
against ``T`` reads like user code written against ``symgraph.tensor``.
"""
from __future__ import annotations

from types import ModuleType
from typing import Callable, Dict, Optional


class _Namespace:
    """Attribute access forwarded to the bound module, plus a few named extras."""

    def __init__(self):
        self._module: Optional[ModuleType] = None
        self._extra: Dict[str, Callable] = {}

    def __getattr__(self, name: str):
        extra = self.__dict__["_extra"]
        if name in extra:
            return extra[name]
        module = self.__dict__["_module"]
        if module is None:
            raise RuntimeError(f"symgraph.ops.namespace.T.{name} used before symgraph.ops "
                               f"finished loading (import symgraph first)")
        try:
            return getattr(module, name)
        except AttributeError:
            raise AttributeError(f"the tensor namespace has no function {name!r}") from None


T = _Namespace()


def bind(module: ModuleType) -> None:
    """Make ``T.<name>`` resolve to ``module.<name>`` (done once by :mod:`symgraph.ops`)."""
    T._module = module


def provide(name: str, fn: Callable) -> None:
    """Add ``fn`` as ``T.<name>`` (a higher layer's function that variables offer)."""
    T._extra[name] = fn
