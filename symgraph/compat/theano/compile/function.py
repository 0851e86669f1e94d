"""``theano.function`` with Theano's argument order and the defaults of ``theano.config``
(``mode``, ``profile``, ``on_unused_input``)."""
from __future__ import annotations

import atexit
import pickle

from symgraph.compile.function import function as _function
from symgraph.compat.theano.compile.mode import get_mode
from symgraph.compat.theano.configparser import flag

#: functions compiled with profiling on while ``config.profile`` is set: their summaries are
#: printed when the program ends, as Theano did
_PROFILED = []


def _print_profiles():
    for f in _PROFILED:
        print(f.profile.summary())


def function(inputs, outputs=None, mode=None, updates=None, givens=None,
             no_default_updates=False, accept_inplace=False, name=None, rebuild_strict=True,
             allow_input_downcast=None, profile=None, on_unused_input=None):
    """Compile ``inputs -> outputs`` with ``updates`` (Theano's signature; see
    :func:`symgraph.function`). ``profile=True`` (or the ``profile`` flag) records the time of
    every node: ``f.profile.summary()``."""
    if on_unused_input is None:
        on_unused_input = flag("on_unused_input")
    at_exit = False
    if profile is None:
        profile = flag("profile")
        at_exit = bool(profile)
    if not isinstance(profile, bool) and profile is not None and \
            not hasattr(profile, "summary"):
        raise TypeError(f"function: profile must be a bool or a ProfileStats, got {profile!r}")
    f = _function(inputs, outputs, updates=updates, givens=givens, mode=get_mode(mode),
                  on_unused_input=on_unused_input, name=name,
                  no_default_updates=no_default_updates,
                  allow_input_downcast=allow_input_downcast, profile=profile or None)
    if at_exit:
        if not _PROFILED:
            atexit.register(_print_profiles)
        _PROFILED.append(f)
    return f


def function_dump(filename, inputs, outputs=None, mode=None, updates=None, givens=None,
                  no_default_updates=False, accept_inplace=False, name=None,
                  rebuild_strict=True, allow_input_downcast=None, profile=None,
                  on_unused_input=None, extra_tag_to_remove=None):
    """Pickle the arguments of a ``function`` call to ``filename`` (to reproduce a compilation
    elsewhere)."""
    d = dict(inputs=inputs, outputs=outputs, mode=mode, updates=updates, givens=givens,
             no_default_updates=no_default_updates, accept_inplace=accept_inplace, name=name,
             rebuild_strict=rebuild_strict, allow_input_downcast=allow_input_downcast,
             profile=profile, on_unused_input=on_unused_input)
    with open(filename, "wb") as f:
        pickle.dump(d, f, protocol=-1)


orig_function = pfunc = function
