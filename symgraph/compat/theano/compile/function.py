"""``theano.function`` with Theano's argument order and the defaults of ``theano.config``
(``mode``, ``profile``, ``on_unused_input``)."""
from __future__ import annotations

import pickle

from symgraph.compile.function import function as _function
from symgraph.compat.theano.compile.mode import get_mode
from symgraph.compat.theano.compile.profiling import ProfileStats
from symgraph.compat.theano.configparser import flag


def function(inputs, outputs=None, mode=None, updates=None, givens=None,
             no_default_updates=False, accept_inplace=False, name=None, rebuild_strict=True,
             allow_input_downcast=None, profile=None, on_unused_input=None):
    """Compile ``inputs -> outputs`` with ``updates`` (Theano's signature; see
    :func:`symgraph.function`).

    ``profile=True`` (or, when ``profile`` is None, the ``profile`` flag or
    ``mode='ProfileMode'``; a string names the profile) records the time of every node:
    ``f.profile.summary()``; the profile is printed when the program ends (see
    :mod:`symgraph.compat.theano.compile.profiling`). ``rebuild_strict=False`` lets a
    ``givens`` value have another type than the variable it replaces (the graph after it is
    rebuilt with the types that follow).
    ``accept_inplace`` changes nothing: no op overwrites a value the graph still needs (an op
    with a ``destroy_map`` is given copies of the inputs it destroys), so there is no graph
    to refuse.
    """
    if on_unused_input is None:
        on_unused_input = flag("on_unused_input")
    mode = get_mode(mode)
    from_mode = False
    if profile is None:
        profile = flag("profile") or None
        if profile is None and mode.profile:
            profile, from_mode = True, True
    if not isinstance(profile, (bool, str)) and profile is not None and \
            not hasattr(profile, "summary"):
        raise TypeError(f"function: profile must be a bool, a str (the message of a new "
                        f"ProfileStats) or a ProfileStats, got {profile!r}")
    if profile is True or isinstance(profile, str):  # registered to be printed at exit
        profile = ProfileStats(message=name if profile is True else profile)
        profile._profile_mode = from_mode
    return _function(inputs, outputs, updates=updates, givens=givens, mode=mode,
                     on_unused_input=on_unused_input, name=name,
                     no_default_updates=no_default_updates,
                     allow_input_downcast=allow_input_downcast, profile=profile,
                     rebuild_strict=rebuild_strict)


def function_dump(filename, inputs, outputs=None, mode=None, updates=None, givens=None,
                  no_default_updates=False, accept_inplace=False, name=None,
                  rebuild_strict=True, allow_input_downcast=None, profile=None,
                  on_unused_input=None, extra_tag_to_remove=None):
    """Pickle the arguments of a ``function`` call to ``filename`` (to reproduce a compilation
    elsewhere): ``theano.function(**pickle.load(f))`` compiles it again.

    As in Theano, the variables are pickled without the ``trace`` and ``test_value`` entries
    of their ``tag``, nor those named in ``extra_tag_to_remove`` (removed from the tags of the
    graph's variables, as Theano's pickler did).
    """
    d = dict(inputs=inputs, outputs=outputs, mode=mode, updates=updates, givens=givens,
             no_default_updates=no_default_updates, accept_inplace=accept_inplace, name=name,
             rebuild_strict=rebuild_strict, allow_input_downcast=allow_input_downcast,
             profile=profile, on_unused_input=on_unused_input)
    _strip_tags(d, ["trace", "test_value"] + list(extra_tag_to_remove or []))
    with open(filename, "wb") as f:
        pickle.dump(d, f, protocol=-1)


def _strip_tags(d, names) -> None:
    from symgraph.graph import Variable, ancestors
    roots = []

    def collect(obj):
        if isinstance(obj, Variable):
            roots.append(obj)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                collect(k)
                collect(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                collect(v)
        elif hasattr(obj, "variable"):  # In / Out
            collect(obj.variable)
    collect(d)
    for v in ancestors(roots):
        tag = getattr(v, "tag", None)
        for name in names:
            if tag is not None and hasattr(tag, name):
                delattr(tag, name)


orig_function = pfunc = function
