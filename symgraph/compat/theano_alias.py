"""Importing this module redirects ``import theano`` (and every ``theano.*`` path) to symgraph.

``theano.X.Y`` is the module ``symgraph.compat.theano.X.Y``: Theano's module tree, whose modules
re-export symgraph's objects (so identities that programs test, such as
``activation == theano.tensor.nnet.sigmoid``, hold across spellings) and add Theano's own
spellings.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: Theano module paths served by a module of another name
_SPECIAL = {
    "theano.tensor.signal.downsample": "symgraph.compat.theano.tensor.signal.pool",
}


def target_of(name: str) -> str:
    """The symgraph module standing for the Theano module ``name``."""
    if name in _SPECIAL:
        return _SPECIAL[name]
    return "symgraph.compat." + name


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        pass  # already executed under its symgraph name


class TheanoAliasFinder(importlib.abc.MetaPathFinder):
    """Resolve ``theano`` and ``theano.*`` to symgraph modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "theano" and not fullname.startswith("theano."):
            return None
        real = target_of(fullname)
        if importlib.util.find_spec(real) is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(real), is_package=True)


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, TheanoAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, TheanoAliasFinder())


def uninstall() -> None:
    """Remove the finder and forget the ``theano`` modules it resolved."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, TheanoAliasFinder)]
    for name in [n for n in sys.modules if n == "theano" or n.startswith("theano.")]:
        del sys.modules[name]
    from symgraph import types
    types.set_display_style(None)


install()
