"""``theano.compile.profiling``: :class:`ProfileStats` (symgraph's profile of a compiled
function, which Theano's name and constructor arguments also make), and the printing of
profiles when the program ends.

As in Theano 1.0.5, a ``ProfileStats(atexit_print=True)`` (the default, which
``theano.function(..., profile=True)`` and the ``profile`` flag make) is printed when the
program ends if ``config.profile`` is set then: to ``config.profiling.destination``
(``'stderr'``, the default, ``'stdout'`` or a file name), largest compile + call time first,
only those that were called or took over a second to compile, followed by their sum when
several were printed. Profiles of functions compiled with ``mode='ProfileMode'`` are printed
at exit whatever ``config.profile`` says, as Theano's ``ProfileMode`` did.
"""
import atexit
import sys

from symgraph.compile.profile import ProfileStats as _ProfileStats
from symgraph.compat.theano.configparser import flag

#: the profiles printed when the program ends (Theano's ``_atexit_print_list``)
_atexit_print_list = []
_atexit_registered = False

#: keyword arguments naming Theano ProfileStats attributes that symgraph's profile has
_ATTRIBUTES = ("message", "compile_time")


def _register(stats) -> None:
    global _atexit_registered
    _atexit_print_list.append(stats)
    if not _atexit_registered:
        atexit.register(_atexit_print_fn)
        _atexit_registered = True


def _destination():
    where = str(flag("profiling.destination"))
    if where == "stderr":
        return sys.stderr, False
    if where == "stdout":
        return sys.stdout, False
    return open(where, "w"), True


def _atexit_print_fn() -> None:
    """Print the registered profiles (see the module's documentation)."""
    chosen = [ps for ps in _atexit_print_list
              if flag("profile") or getattr(ps, "_profile_mode", False)]
    if not chosen:
        return
    out, close = _destination()
    try:
        printed = []
        for ps in sorted(chosen, key=lambda p: p.compile_time + p.call_time, reverse=True):
            if ps.calls >= 1 or ps.compile_time > 1:
                ps.summary(file=out, n_ops_to_print=int(flag("profiling.n_ops")),
                           n_apply_to_print=int(flag("profiling.n_apply")))
                printed.append(ps)
            else:
                print("Skipping empty Profile")
        if len(printed) > 1:
            _sum(printed).summary(file=out, n_ops_to_print=int(flag("profiling.n_ops")),
                                  n_apply_to_print=int(flag("profiling.n_apply")))
    finally:
        if close:
            out.close()


def _sum(profiles):
    """One profile holding the calls, times and nodes of all ``profiles``."""
    cum = _ProfileStats(f"Sum of all({len(profiles)}) printed profiles at exit excluding Scan "
                        f"op profile.",
                        flag_time_thunks=all(p.flag_time_thunks for p in profiles))
    for ps in profiles:
        cum.calls += ps.calls
        cum.call_time += ps.call_time
        cum.compile_time += ps.compile_time
        cum.labels += ps.labels
        cum.classes += ps.classes
        cum.ops += ps.ops
        cum.times += ps.times
    return cum


class ProfileStats(_ProfileStats):
    """``ProfileStats(atexit_print=True, flag_time_thunks=None, gpu_checks=True, **kwargs)``:
    pass it as ``function(..., profile=stats)`` to collect that function's times.

    Theano set any keyword as an attribute; here a keyword other than ``message`` and
    ``compile_time`` raises a :class:`TypeError`, since symgraph's profile would not use it.
    ``fct_callcount`` and ``fct_call_time`` (Theano's names) read :attr:`calls` and
    :attr:`call_time`.

    Parameters
    ----------
    atexit_print : bool
        Print the summary when the program ends (when ``config.profile`` is set then; see
        the module's documentation).
    flag_time_thunks : bool, optional
        Time every node (default: the ``profiling.time_thunks`` flag, True). False: only the
        calls and their time are recorded.
    gpu_checks : bool
        Theano checked that GPU ops ran synchronously, without which their times were wrong.
        symgraph has no GPU back end, so there is nothing to check and this changes nothing.
    message : str, optional
        The name shown in the summary (a keyword argument, as in Theano).
    compile_time : float, optional
        The compile time to start from (a Theano attribute set by keyword).
    """

    def __init__(self, atexit_print=True, flag_time_thunks=None, gpu_checks=True, **kwargs):
        unknown = sorted(set(kwargs) - set(_ATTRIBUTES))
        if unknown:
            raise TypeError(f"ProfileStats: unsupported keyword argument(s) {unknown}; "
                            f"symgraph's profile takes atexit_print, flag_time_thunks, "
                            f"gpu_checks, message and compile_time")
        if flag_time_thunks is None:
            flag_time_thunks = flag("profiling.time_thunks")
        super().__init__(name=kwargs.get("message"), flag_time_thunks=flag_time_thunks)
        self.compile_time = float(kwargs.get("compile_time", 0.0))
        if atexit_print:
            _register(self)

    @property
    def message(self):
        return self.name

    @message.setter
    def message(self, value):
        self.name = value

    @property
    def fct_callcount(self) -> int:
        return self.calls

    @property
    def fct_call_time(self) -> float:
        return self.call_time


ScanProfileStats = ProfileStats
