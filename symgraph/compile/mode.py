"""Compilation modes: frozen descriptions of which passes run and how the linker checks."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Tuple, Union


@dataclass(frozen=True)
class Mode:
    """What ``function(...)`` does between the graph and the generated code.

    Attributes
    ----------
    name : str
        For messages.
    phases : tuple of str
        Rewrite phases run in order (see :mod:`symgraph.compile.pipeline`); empty = none.
    fuse : bool
        Emit fused elementwise kernels and planned buffers (the fast linker).
    backend : str
        ``'numpy'``, ``'numba'`` (compiled fused kernels, the ``[fast]`` extra),
        ``'numba-parallel'``, or ``'auto'`` (the default: numba when it is installed, else
        NumPy; the environment variable ``SYMGRAPH_BACKEND`` may name the one ``'auto'``
        picks). See :mod:`symgraph.backends`.
    check : str, callable or None
        ``'debug'`` runs every node's ``perform`` alongside and reports the first node whose
        value differs; ``'nanguard'`` names the first node producing nan or inf; a callable
        ``check(node, input_values, output_values)`` is called after every node (a monitor:
        nodes then run one by one, without fusion).
    profile : bool
        Profile the functions compiled with this mode (``'PROFILE_MODE'``): ``function``
        then makes each a :class:`~symgraph.compile.profile.ProfileStats` unless its
        ``profile`` argument says otherwise.
    """

    name: str = "FAST_RUN"
    phases: Tuple[str, ...] = ("merge", "canonicalize", "stabilize", "specialize", "fuse")
    fuse: bool = True
    backend: str = "auto"
    check: Union[None, str, Callable] = None
    profile: bool = False

    def including(self, *phases: str) -> "Mode":
        return replace(self, phases=self.phases + tuple(p for p in phases
                                                        if p not in self.phases))

    def excluding(self, *phases: str) -> "Mode":
        return replace(self, phases=tuple(p for p in self.phases if p not in phases))


FAST_RUN = Mode()
FAST_COMPILE = Mode("FAST_COMPILE", phases=(), fuse=False)
DEBUG = Mode("DebugMode", check="debug")
NANGUARD = Mode("NanGuardMode", check="nanguard")
NUMBA = Mode("NUMBA", backend="numba")
NUMPY = Mode("NUMPY", backend="numpy")
PROFILE = Mode("PROFILE_MODE", profile=True)

_BY_NAME = {"FAST_RUN": FAST_RUN, "FAST_COMPILE": FAST_COMPILE, "DebugMode": DEBUG,
            "DEBUG_MODE": DEBUG, "NanGuardMode": NANGUARD, "NUMBA": NUMBA, "NUMPY": NUMPY,
            "Mode": FAST_RUN, "PROFILE_MODE": PROFILE, "FAST": NUMBA}


def get_mode(mode: Union[None, str, Mode]) -> Mode:
    """Resolve ``mode`` (None, a name such as ``'FAST_RUN'``, or a :class:`Mode`)."""
    if mode is None:
        return FAST_RUN
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str) and mode in _BY_NAME:
        return _BY_NAME[mode]
    raise ValueError(f"unknown mode {mode!r}; expected a Mode or one of {sorted(_BY_NAME)}")
