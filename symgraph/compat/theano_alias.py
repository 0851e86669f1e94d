"""Importing this module redirects ``import theano`` (and every ``theano.*`` path) to symgraph.

The redirection returns the symgraph module objects themselves, so identities that programs
test (``activation == theano.tensor.nnet.sigmoid``) hold across spellings.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: Theano module paths whose symgraph counterpart is not the same path under ``symgraph``
_SPECIAL = {
    "theano": "symgraph.compat.theano",
    "theano.scalar": "symgraph.compat.scalar",
    "theano.ifelse": "symgraph.compat.ifelse",
    "theano.tensor.signal.downsample": "symgraph.tensor.signal.pool",
    "theano.scan_module": "symgraph.scan",
    "theano.compile": "symgraph.compile",
}


def target_of(name: str) -> str:
    """The symgraph module standing for the Theano module ``name``."""
    if name in _SPECIAL:
        return _SPECIAL[name]
    return "symgraph" + name[len("theano"):]


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


install()
