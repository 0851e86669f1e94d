"""``theano.compile``: ``function``, ``In``/``Out``, shared variables, modes, profiling,
``as_op`` and ``OpFromGraph``."""
from symgraph.compat.theano._lazy import submodule
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
               "builders", "debugmode")


def __getattr__(name):
    return submodule(__name__, name, _SUBMODULES)

from symgraph.compat.theano.compile.mode import (predefined_linkers,  # noqa: E402,F401
                                                 predefined_optimizers, register_linker,
                                                 register_optimizer, instantiated_default_mode)
from symgraph.compat.theano.compile.function import orig_function, pfunc  # noqa: E402,F401
from symgraph.compat.theano.compile.profiling import ScanProfileStats  # noqa: E402,F401
from symgraph.compat.theano.gof.null_type import DisconnectedType, NullType  # noqa: E402,F401
from symgraph.compat.theano.gof.graph import io_connection_pattern  # noqa: E402,F401
from symgraph.compat.theano.compile.ops import (  # noqa: E402,F401
    register_deep_copy_op_c_code, register_rebroadcast_c_code, register_shape_c_code,
    register_shape_i_c_code, register_specify_shape_c_code, register_view_op_c_code)
from symgraph.graph import Variable  # noqa: E402,F401
from symgraph.compat.theano.configparser import config  # noqa: E402,F401
from symgraph.compat.theano import gof  # noqa: E402,F401


class AliasedMemoryError(Exception):
    """Two outputs or updates that must not share memory do."""


def rebuild_collect_shared(outputs, inputs=None, replace=None, updates=None,
                           rebuild_strict=True, copy_inputs_over=True, no_default_updates=False):
    """``(inputs, outputs, [shared variables, updates])`` of a graph after ``replace``."""
    from symgraph.graph import clone_replace, graph_inputs
    from symgraph.shared import SharedVariable
    outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    if replace:
        outs = clone_replace(outs, dict(replace))
    shared_vars = [v for v in graph_inputs(outs) if isinstance(v, SharedVariable)]
    return list(inputs or []), outs if isinstance(outputs, (list, tuple)) else outs[0], \
        [shared_vars, list((updates or {}).items()) if isinstance(updates, dict) else
         list(updates or [])]
