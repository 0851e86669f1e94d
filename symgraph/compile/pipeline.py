"""The ordered list of rewrite phases, and the one function that runs them.

Importing a rule module registers its rules with :mod:`symgraph.rewrite.engine`; every module
is imported here by name, so a missing one is an import error, not a silently skipped phase.
"""
from __future__ import annotations

from symgraph.compile.mode import Mode
from symgraph.fgraph import FunctionGraph
from symgraph.rewrite import (algebra, conv_epilogue, cse, engine, folding,  # noqa: F401
                              fusion, nnet_stability, reductions, shapes, specialize,
                              stability, subtensor)

#: every phase a mode may run, in the order they run
PHASES = ("merge", "canonicalize", "stabilize", "specialize", "fuse")


def optimize(fgraph: FunctionGraph, mode: Mode) -> FunctionGraph:
    """Run ``mode.phases`` in order on ``fgraph`` (in place) and return it."""
    for phase in mode.phases:
        if phase not in PHASES:
            raise ValueError(f"mode {mode.name}: unknown rewrite phase {phase!r}; phases are "
                             f"{', '.join(PHASES)}")
        engine.run_phase(fgraph, phase)
    return fgraph
