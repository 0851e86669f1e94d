"""Submodules reached as attributes (``theano.tensor.nnet``), imported on first use."""
import importlib


def submodule(package: str, name: str, known=()):
    """``package.name`` imported, or AttributeError (so that ``hasattr`` answers False) when
    ``name`` is not one of the ``known`` submodules or has no counterpart here."""
    if name in known:
        target = f"{package}.{name}"
        try:
            return importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if exc.name != target:
                raise
            raise AttributeError(f"{package.replace('symgraph.compat.', '')}.{name} has no "
                                 f"counterpart in symgraph (see docs/theano_compat.md)") from None
    raise AttributeError(f"module {package.replace('symgraph.compat.', '')!r} (symgraph) has no "
                         f"attribute {name!r}")
