"""symgraph: a symbolic graph compiler for array programs, in pure Python and NumPy.

Build a graph with :mod:`symgraph.tensor`, differentiate it with :func:`grad`, and compile it
with :func:`function` into one generated NumPy function that applies shared-variable updates.
"""
from symgraph.config import config, change_flags  # noqa: F401
from symgraph.graph import Variable, Constant, Apply  # noqa: F401
from symgraph.types import TensorType  # noqa: F401
from symgraph.shared import shared, SharedVariable  # noqa: F401
from symgraph.compile.function import function, Function, In, Out  # noqa: F401
from symgraph.compile.mode import Mode, FAST_RUN, FAST_COMPILE  # noqa: F401
from symgraph.gradient import grad, Lop, Rop  # noqa: F401
from symgraph.jacobian import jacobian, hessian  # noqa: F401
from symgraph.random import RandomStream  # noqa: F401
from symgraph.graph_html import d3viz  # noqa: F401
from symgraph import printing, tensor  # noqa: F401

__version__ = "0.1.0"
