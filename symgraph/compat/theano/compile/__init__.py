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
    """Theano's helper of ``pfunc``: ``outputs`` and the ``updates`` rebuilt with ``replace``
    (``{old: new}`` or pairs) substituted, and what they need.

    Returns ``(input_variables, cloned_outputs, [clone_d, update_d, update_expr,
    shared_inputs])`` as Theano 1.0.5 did: ``clone_d`` maps each variable of the given graphs
    to its counterpart, ``update_d`` and ``update_expr`` hold the rebuilt updates (those
    given, then the default updates of the shared variables met, unless
    ``no_default_updates`` is True or lists them), ``shared_inputs`` the shared variables
    read or updated. ``rebuild_strict=False`` lets a replacement have another type (the nodes
    after it are rebuilt, see :func:`symgraph.graph.clone_replace`). ``copy_inputs_over=False``
    gives the rebuilt graphs copies of their inputs (``inputs`` and the other leaves but
    constants) instead of the variables themselves.
    """
    from symgraph.compile.function import (Out, _add_default_updates,  # noqa: F811
                                           _normalize_updates, check_rebuilt_updates)
    from symgraph.graph import Constant, ancestors, clone_replace, graph_inputs
    from symgraph.shared import SharedVariable, shared
    if not isinstance(no_default_updates, (bool, list)):
        raise TypeError("rebuild_collect_shared: no_default_updates must be a bool or a list "
                        f"of shared variables, got {no_default_updates!r}")
    single = not isinstance(outputs, (list, tuple))
    outs = [] if outputs is None else [outputs] if single else list(outputs)
    wrap = [o.borrow if isinstance(o, Out) else None for o in outs]
    outs = [o.variable if isinstance(o, Out) else o for o in outs]
    for o in outs:
        if not isinstance(o, Variable):
            raise TypeError(f"rebuild_collect_shared: outputs must be Variables or Out, got "
                            f"{o!r}")
    pairs = list(replace.items()) if isinstance(replace, dict) else list(replace or [])
    subs = {}
    for old, new in pairs:
        if not isinstance(old, Variable):
            raise TypeError(f"rebuild_collect_shared: replace keys must be Variables, got "
                            f"{old!r}")
        subs[old] = new if isinstance(new, Variable) else shared(new)
    update_expr = _normalize_updates(updates)
    update_expr = _add_default_updates(outs, update_expr, no_default_updates)
    originals = outs + [v for _, v in update_expr]
    clone_d = {}
    values = clone_replace(originals, subs, strict=rebuild_strict, memo=clone_d)
    input_variables = list(inputs or [])
    if not copy_inputs_over:
        leaves = {v: v.clone() for v in list(graph_inputs(values)) + input_variables
                  if not isinstance(v, Constant)}
        second = {}
        values = clone_replace(values, leaves, strict=rebuild_strict, memo=second)
        clone_d = {k: second.get(v, v) for k, v in clone_d.items()}
        for k, v in second.items():
            clone_d.setdefault(k, v)
        input_variables = [leaves.get(i, i) for i in input_variables]
    for v in input_variables:
        if isinstance(v, SharedVariable):
            raise TypeError(f"Cannot use a shared variable ({v}) as explicit input. Consider "
                            f"substituting a non-shared variable via the `givens` parameter")
    for v in ancestors(originals):
        clone_d.setdefault(v, v)
    n = len(outs)
    cloned = [v if borrow is None else Out(v, borrow=borrow)
              for v, borrow in zip(values[:n], wrap)]
    update_expr = [(t, v) for (t, _), v in zip(update_expr, values[n:])]
    check_rebuilt_updates(update_expr, "rebuild_collect_shared: the replacements")
    shared_inputs = [v for v in graph_inputs(values) if isinstance(v, SharedVariable)]
    shared_inputs += [t for t, _ in update_expr if t not in shared_inputs]
    cloned_outputs = cloned[0] if single and outputs is not None else cloned
    return input_variables, cloned_outputs, [clone_d, dict(update_expr), update_expr,
                                             shared_inputs]
