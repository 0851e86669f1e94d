"""The one user-facing setting Theano programs expect: ``config.floatX``.

It is read when a graph is built (a constructor without a dtype, a Python float constant), never
at import time, and nothing here parses the environment. Everything that changes *compilation*
lives in a frozen :class:`symgraph.compile.mode.Mode` passed to ``function(...)`` instead.

Theano programs also assign nested flags such as ``config.warn.subtensor_merge_bug = False``;
those are accepted and ignored (see :class:`_Flags`).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

_FLOAT_DTYPES = ("float16", "float32", "float64")


class _Flags:
    """A namespace of accepted-and-ignored legacy flags (``config.warn.x = False``)."""

    def __getattr__(self, name: str) -> "_Flags":
        if name.startswith("__"):
            raise AttributeError(name)
        sub = _Flags()
        object.__setattr__(self, name, sub)
        return sub


class FlagChanges:
    """``change_flags``: the flags of a settings object set for the duration of a block."""

    @contextlib.contextmanager
    def change_flags(self, **flags) -> Iterator["FlagChanges"]:
        """Temporarily set flags, e.g. ``with config.change_flags(floatX='float32'):``; the
        old values come back when the block ends, however it ends."""
        old = {name: getattr(self, name) for name in flags}
        try:
            for name, value in flags.items():
                setattr(self, name, value)
            yield self
        finally:
            for name, value in old.items():
                setattr(self, name, value)


class Config(_Flags, FlagChanges):
    """Build-time settings.

    Attributes
    ----------
    floatX : str
        Default float dtype of constructors (``T.matrix()``) and of Python float constants that
        meet only integer tensors. ``'float64'`` by default, like Theano and NumPy.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_floatX", "float64")
        # legacy Theano flags that programs read; accepted and ignored
        for name, value in (("device", "cpu"), ("mode", "FAST_RUN"), ("optimizer", "fast_run"),
                            ("compute_test_value", "off"), ("exception_verbosity", "low"),
                            ("allow_gc", True), ("cast_policy", "custom"),
                            ("int_division", "floatX")):
            object.__setattr__(self, name, value)

    @property
    def floatX(self) -> str:
        return self._floatX

    @floatX.setter
    def floatX(self, value: str) -> None:
        if value not in _FLOAT_DTYPES:
            raise ValueError(f"config.floatX must be one of {_FLOAT_DTYPES}, got {value!r}")
        object.__setattr__(self, "_floatX", value)

    def __setattr__(self, name: str, value) -> None:
        if name == "floatX":
            Config.floatX.fset(self, value)
        else:
            object.__setattr__(self, name, value)



config = Config()
change_flags = config.change_flags
