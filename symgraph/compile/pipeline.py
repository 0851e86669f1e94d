"""The ordered list of rewrite phases, and the one function that runs them."""
from __future__ import annotations

import importlib

from symgraph.compile.mode import Mode
from symgraph.fgraph import FunctionGraph
from symgraph.rewrite import engine

#: modules whose import registers the rules of each phase
_RULE_MODULES = ("symgraph.rewrite.cse", "symgraph.rewrite.folding", "symgraph.rewrite.algebra",
                 "symgraph.rewrite.shapes", "symgraph.rewrite.reductions",
                 "symgraph.rewrite.subtensor",
                 "symgraph.rewrite.stability",
                 "symgraph.rewrite.nnet_stability", "symgraph.rewrite.specialize",
                 "symgraph.rewrite.fusion")
_loaded = False


def _load_rules() -> None:
    global _loaded
    if _loaded:
        return
    for name in _RULE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    _loaded = True


def optimize(fgraph: FunctionGraph, mode: Mode) -> FunctionGraph:
    """Run ``mode.phases`` in order on ``fgraph`` (in place) and return it."""
    if not mode.phases:
        return fgraph
    _load_rules()
    for phase in mode.phases:
        engine.run_phase(fgraph, phase)
    return fgraph
