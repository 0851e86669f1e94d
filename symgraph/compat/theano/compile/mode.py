"""``theano.compile.mode``: Theano's ``Mode(linker, optimizer)`` and the named modes, as
symgraph :class:`~symgraph.compile.mode.Mode` objects.

Theano's optimizers map onto symgraph's rewrite phases (``'fast_compile'`` and ``None`` run
none, ``'merge'`` only common-subexpression merging, ``'stabilize'`` up to the stability
rewrites, ``'fast_run'``/``'o4'``/``'unsafe'`` all of them). Every Theano linker runs the one
generated Python function. ``including``/``excluding`` take Theano's tags: those naming a
symgraph phase (``'fusion'``, ``'canonicalize'``, ``'stabilize'``, ``'specialize'``,
``'merge'``) change the phases; other tags name Theano optimizations that do not exist here,
so, as in Theano for an unknown tag, nothing changes.
"""
from __future__ import annotations

import dataclasses

from symgraph.compile import mode as _core
from symgraph.compat.theano.configparser import flag

_ALL = _core.FAST_RUN.phases
OPTIMIZERS = {
    "None": (), None: (), "fast_compile": (), "merge": ("merge",),
    "stabilize": ("merge", "canonicalize", "stabilize"),
    "fast_run": _ALL, "o1": ("merge", "canonicalize"), "o2": ("merge", "canonicalize",
                                                            "stabilize"),
    "o3": _ALL, "o4": _ALL, "unsafe": _ALL, "default": None,
}
LINKERS = ("cvm", "vm", "py", "c", "c|py", "c|py_nogc", "cvm_nogc", "vm_nogc", "default",
           None)
_TAG_PHASES = {"fusion": "fuse", "local_elemwise_fusion": "fuse", "elemwise_fusion": "fuse",
               "fuse": "fuse", "canonicalize": "canonicalize", "stabilize": "stabilize",
               "specialize": "specialize", "merge": "merge"}


class Mode(_core.Mode):
    """``Mode(linker=None, optimizer='default')`` in Theano's spelling (``'default'`` takes
    ``config.optimizer``). ``profile=True`` profiles the functions compiled with it (what the
    ``'ProfileMode'`` name gives)."""

    def __init__(self, linker=None, optimizer="default", name=None, phases=None, fuse=None,
                 backend=None, check=None, profile=False):
        if phases is None:
            if optimizer not in OPTIMIZERS:
                raise ValueError(f"Mode: unknown optimizer {optimizer!r}; expected one of "
                                 f"{sorted(k for k in OPTIMIZERS if k)}")
            phases = OPTIMIZERS[optimizer]
            if phases is None:
                phases = OPTIMIZERS[flag("optimizer")]
        if linker not in LINKERS:
            raise ValueError(f"Mode: unknown linker {linker!r}; expected one of "
                             f"{[k for k in LINKERS if k]}")
        values = dict(name=name or "Mode", phases=tuple(phases),
                      fuse=bool(phases) if fuse is None else fuse,
                      backend=backend or "auto", check=check, profile=bool(profile))
        for key, value in values.items():
            object.__setattr__(self, key, value)

    def _with(self, phases):
        return dataclasses.replace(self, phases=tuple(phases))

    def including(self, *tags):
        extra = [_TAG_PHASES[t] for t in tags if t in _TAG_PHASES]
        return self._with(self.phases + tuple(p for p in extra if p not in self.phases))

    def excluding(self, *tags):
        drop = {_TAG_PHASES[t] for t in tags if t in _TAG_PHASES}
        return self._with(tuple(p for p in self.phases if p not in drop))

    def requiring(self, *tags):
        return self.including(*tags)


FAST_RUN = Mode(optimizer="fast_run", name="FAST_RUN")
FAST_COMPILE = Mode(optimizer="fast_compile", name="FAST_COMPILE")
predefined_modes = {"FAST_RUN": FAST_RUN, "FAST_COMPILE": FAST_COMPILE,
                    "DebugMode": _core.DEBUG, "DEBUG_MODE": _core.DEBUG,
                    "NanGuardMode": _core.NANGUARD, "NUMBA": _core.NUMBA}
predefined_linkers = {name: name for name in LINKERS if name}
predefined_optimizers = {name: phases for name, phases in OPTIMIZERS.items() if name}


def register_mode(name: str, mode) -> None:
    """Make ``mode`` available as ``function(..., mode=name)``."""
    if name in predefined_modes:
        raise ValueError(f"Mode name already taken: {name}")
    predefined_modes[name] = mode


def get_mode(orig_string):
    """A mode from a name (``'FAST_RUN'``...), a Mode, or None (the configured default)."""
    if orig_string is None:
        orig_string = flag("mode")
    if isinstance(orig_string, _core.Mode):
        return orig_string
    if orig_string == "Mode":
        return Mode(optimizer=flag("optimizer"))
    if orig_string in ("ProfileMode", "PROFILE_MODE"):
        # Theano's ProfileMode: every function compiled with it is profiled (and its profile
        # printed when the program ends, see symgraph.compat.theano.compile.profiling)
        return Mode(optimizer=flag("optimizer"), name=orig_string, profile=True)
    if orig_string in predefined_modes:
        return predefined_modes[orig_string]
    raise ValueError(f"unknown mode {orig_string!r}; expected a Mode or one of "
                     f"{sorted(predefined_modes) + ['Mode']}")


def get_default_mode():
    return get_mode(None)


def register_linker(name, linker):
    raise NotImplementedError("register_linker: symgraph has one linker (the generated Python "
                              "function); Theano linkers cannot be added")


def register_optimizer(name, opt):
    raise NotImplementedError("register_optimizer: Theano optimizers have no counterpart; "
                              "symgraph rewrites are registered with "
                              "symgraph.rewrite.engine.register(phase, *targets)")


def instantiated_default_mode():
    return get_default_mode()
