"""``theano.compile.debugmode``: ``DebugMode`` (every node's Python code checked against the
compiled one, see :data:`symgraph.compile.mode.DEBUG`)."""
import dataclasses

from symgraph.compile.mode import DEBUG


def _refuse(argument, value, supported):
    raise NotImplementedError(f"DebugMode({argument}={value!r}): not supported; symgraph's "
                              f"DebugMode supports {supported}")


def DebugMode(optimizer="fast_run", stability_patience=None, check_c_code=None,
              check_py_code=None, check_isfinite=None, check_preallocated_output=None,
              require_matching_strides=None, linker=None):
    """symgraph's DebugMode: after every node, its generated code's values are compared with
    the op's ``perform`` run on copies of the inputs, and an input written in place or an
    undeclared view is reported.

    Parameters
    ----------
    optimizer : str
        The rewrites run before the checks, named as for Theano's ``Mode`` (``'fast_run'``,
        ``'fast_compile'``, ``'merge'``, ...).
    stability_patience : None
        Theano re-ran its optimizer to check that it was stable; symgraph does not, so a
        value is refused.
    check_c_code : bool, optional
        Nothing to do: there is no C code; the generated Python code is always checked.
    check_py_code : bool, optional
        The check against ``perform`` is what DebugMode does: False is refused.
    check_isfinite : bool, optional
        symgraph's DebugMode does not look for NaN or inf (use ``mode='NanGuardMode'``):
        True is refused; None and False change nothing.
    check_preallocated_output : list, optional
        Nothing to do: ops are never handed preallocated output storage (each ``perform``
        gets empty cells), so there is no such case to check.
    require_matching_strides : optional
        Nothing to do: Theano compared the strides of the C and Python outputs; there is no
        C output.
    linker : str, optional
        Nothing to do: symgraph has one linker (one of Theano's linker names is expected).
    """
    from symgraph.compat.theano.compile.mode import LINKERS, OPTIMIZERS
    if optimizer not in OPTIMIZERS or OPTIMIZERS[optimizer] is None:
        raise ValueError(f"DebugMode: unknown optimizer {optimizer!r}; expected one of "
                         f"{sorted(k for k in OPTIMIZERS if k and k != 'default')}")
    if stability_patience is not None:
        _refuse("stability_patience", stability_patience, "None (no stability check)")
    if check_py_code is False:
        _refuse("check_py_code", False, "checking every node against its perform")
    if check_isfinite:
        _refuse("check_isfinite", check_isfinite,
                "None or False; mode='NanGuardMode' reports NaN and inf")
    if linker not in LINKERS:
        raise ValueError(f"DebugMode: unknown linker {linker!r}; expected one of "
                         f"{[k for k in LINKERS if k]}")
    phases = OPTIMIZERS[optimizer]
    if phases == DEBUG.phases:
        return DEBUG
    return dataclasses.replace(DEBUG, phases=tuple(phases))
