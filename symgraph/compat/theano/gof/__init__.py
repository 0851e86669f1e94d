"""``theano.gof``: graph objects (``Apply``, ``Variable``, ``Constant``), the base of
Theano-style ops, graph walks (``gof.graph``) and helpers (``gof.utils``)."""
from symgraph.compat.theano._lazy import submodule
from symgraph.fgraph import FunctionGraph  # noqa: F401
from symgraph.graph import Apply, Constant, Variable  # noqa: F401
from symgraph.shared import Container  # noqa: F401
from symgraph.compat.theano.gof import graph, op, utils  # noqa: F401
from symgraph.compat.theano.gof.op import COp, Op, OpenMPOp, PureOp  # noqa: F401
from symgraph.compat.theano.gof.type import Type, PureType, CLinkerType  # noqa: F401
from symgraph.compat.theano.gof.utils import MethodNotDefined, hashtype  # noqa: F401
from symgraph.compat.theano.gof.graph import view_roots  # noqa: F401
from symgraph.compat.theano.gof.generic import Generic, generic  # noqa: F401


class InconsistencyError(Exception):
    """A graph change that would make the graph inconsistent (Theano's error)."""


class MissingInputError(Exception):
    """A compiled function's graph needs an input it was not given."""


_SUBMODULES = ("fg", "toolbox", "link", "opt", "type", "cc", "vm", "destroyhandler",
               "params_type", "null_type", "sched", "unify", "callcache", "cmodule",
               "compilelock", "optdb")


def __getattr__(name):
    return submodule(__name__, name, _SUBMODULES)
