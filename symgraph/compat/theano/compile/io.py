"""``theano.compile.io``: ``In`` and ``Out`` (symgraph's), and the deprecated ``Param``."""
import warnings

from symgraph.compile.function import In, Out  # noqa: F401
from symgraph.shared import SharedVariable  # noqa: F401

SymbolicInput = In
SymbolicOutput = Out


def Param(variable, default=None, name=None, mutable=False, strict=False,
          allow_downcast=None, implicit=None, borrow=None):
    """Theano's deprecated spelling of ``In(variable, value=default, ...)``."""
    warnings.warn("The Param class is deprecated. Replace Param(default=N) by In(value=N)",
                  stacklevel=2)
    return In(variable, name=name, value=default, mutable=mutable, strict=strict,
              allow_downcast=allow_downcast, borrow=bool(borrow), implicit=bool(implicit))
