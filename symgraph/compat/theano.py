"""The ``theano`` top-level namespace as legacy programs use it."""
from symgraph import config, function, In, Out, shared, grad, Mode  # noqa: F401
from symgraph.compile.mode import FAST_COMPILE, FAST_RUN  # noqa: F401
from symgraph.scan import scan  # noqa: F401
from symgraph import tensor, gradient  # noqa: F401
from symgraph.shared import SharedVariable  # noqa: F401
from symgraph.graph import Variable, Constant, Apply  # noqa: F401

__version__ = "1.0.5+symgraph"


def __getattr__(name):
    import importlib
    if name in ("printing", "sandbox", "scalar", "ifelse", "compile"):
        from symgraph.compat.theano_alias import target_of
        return importlib.import_module(target_of(f"theano.{name}"))
    raise AttributeError(f"module 'theano' (symgraph) has no attribute {name!r}")
