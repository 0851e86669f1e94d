"""Kernel generators behind one interface (:class:`~symgraph.backends.base.Backend`).

========================  ==============================================================
``'numpy'``               ufunc calls into planned buffers; chunked chains of updates
``'numba'``               compiled loops (``[fast]``), cached as object code on disk
``'numba-parallel'``      the same loops with their outer iterations on several threads
``'auto'``                ``'numba'`` when numba is installed, else ``'numpy'`` (the
                          environment variable ``SYMGRAPH_BACKEND``, read when a function
                          is compiled, may name another)
========================  ==============================================================

A new back end subclasses :class:`~symgraph.backends.base.Backend` (or one of the classes
here), in a module of its own in this package, and is listed in :data:`BACKENDS`.
"""
from __future__ import annotations

import os
from typing import Dict, Type

from symgraph.backends.base import Backend
from symgraph.backends.numba_backend import NumbaBackend, NumbaParallelBackend
from symgraph.backends.numba_loops import cache_dir, numba_available  # noqa: F401
from symgraph.backends.numpy_backend import NumpyBackend

#: name -> back-end class
BACKENDS: Dict[str, Type[Backend]] = {cls.name: cls for cls in
                                      (NumpyBackend, NumbaBackend, NumbaParallelBackend)}


def resolve(name: str) -> str:
    """The back end ``name`` stands for: ``'auto'`` picks ``$SYMGRAPH_BACKEND`` when set,
    else the fastest one installed."""
    if name == "auto":
        chosen = os.environ.get("SYMGRAPH_BACKEND", "").strip()
        if chosen and chosen != "auto":
            if chosen not in BACKENDS:
                raise ValueError(f"SYMGRAPH_BACKEND={chosen!r}: expected one of "
                                 f"{sorted(BACKENDS) + ['auto']}")
            return chosen
        return "numba" if numba_available() else "numpy"
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: expected one of "
                         f"{sorted(BACKENDS) + ['auto']}")
    return name


def get(name: str) -> Type[Backend]:
    """The back-end class of ``name`` (see :func:`resolve`)."""
    return BACKENDS[resolve(name)]
