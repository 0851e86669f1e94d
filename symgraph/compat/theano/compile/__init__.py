"""``theano.compile``: ``function``, ``In``/``Out``, shared variables, modes, profiling,
``as_op`` and ``OpFromGraph``."""
import importlib

from symgraph.compat.theano.compile.function import function, function_dump  # noqa: F401
from symgraph.compat.theano.compile.io import In, Out, Param, SymbolicInput  # noqa: F401
from symgraph.compat.theano.compile.io import SymbolicOutput  # noqa: F401
from symgraph.compat.theano.compile.mode import (FAST_COMPILE, FAST_RUN, Mode,  # noqa: F401
                                                 get_default_mode, get_mode,
                                                 predefined_modes, register_mode)
from symgraph.compat.theano.compile.monitormode import MonitorMode  # noqa: F401
from symgraph.compat.theano.compile.ops import (as_op, DeepCopyOp, Shape, Shape_i,  # noqa
                                                SpecifyShape, ViewOp, deep_copy_op, shape,
                                                specify_shape, view_op, FromFunctionOp,
                                                Rebroadcast)
from symgraph.compat.theano.compile.builders import OpFromGraph  # noqa: F401
from symgraph.compat.theano.compile.profiling import ProfileStats  # noqa: F401
from symgraph.compat.theano.compile.sharedvalue import (SharedVariable, shared,  # noqa: F401
                                                        shared_constructor)
from symgraph.compat.theano.compile.debugmode import DebugMode  # noqa: F401
from symgraph.compile.function import Function  # noqa: F401
from symgraph.compat.theano.gof.graph import is_same_graph  # noqa: F401


class UnusedInputError(ValueError):
    """An explicit input not used by the outputs or updates (``on_unused_input='raise'``)."""


_SUBMODULES = ("function", "io", "mode", "ops", "sharedvalue", "profiling", "monitormode",
               "builders", "debugmode", "nanguardmode", "pfunc", "function_module")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'theano.compile' (symgraph) has no attribute {name!r}")
