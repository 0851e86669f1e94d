"""The ``theano`` top-level namespace as legacy programs use it."""
from symgraph import gradient, tensor  # noqa: F401
from symgraph.compile.function import In, Out, function  # noqa: F401
from symgraph.compile.mode import FAST_COMPILE, FAST_RUN, Mode  # noqa: F401
from symgraph.config import config  # noqa: F401
from symgraph.gradient import grad  # noqa: F401
from symgraph.graph import Apply, Constant, Variable  # noqa: F401
from symgraph.scan import scan  # noqa: F401
from symgraph.shared import SharedVariable, shared  # noqa: F401

__version__ = "1.0.5+symgraph"


def __getattr__(name):
    import importlib
    if name in ("printing", "sandbox", "scalar", "ifelse", "compile"):
        from symgraph.compat.theano_alias import target_of
        return importlib.import_module(target_of(f"theano.{name}"))
    raise AttributeError(f"module 'theano' (symgraph) has no attribute {name!r}")
