"""Imports run one way: no import circle anywhere in the repository, and no module imports one
of a higher layer.

Every ``import`` and ``from ... import`` statement of every module is read with :mod:`ast`,
including those inside functions (a lazy import is still a dependency). ``from pkg import name``
counts as an import of the submodule ``pkg.name`` when there is one, else of ``pkg`` itself.
The layers are listed bottom-up in :data:`LAYERS`; a module may import modules of its own layer
or of a lower one, and the graph of all imports must have no cycle.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("symgraph", "optimizers", "models", "benchmarks")

#: bottom-up; a module belongs to the first layer with a matching prefix (longest match wins)
LAYERS: List[List[str]] = [
    ["symgraph.config", "symgraph.gc_pause"],
    ["symgraph.types"],
    ["symgraph.graph"],
    ["symgraph.op", "symgraph.fgraph"],
    ["symgraph.ops", "symgraph.shared"],
    ["symgraph.gradient", "symgraph.rewrite", "symgraph.verify"],
    ["symgraph.backends"],
    ["symgraph.compile"],
    ["symgraph.scan", "symgraph.random", "symgraph.printing", "symgraph.testing",
     "symgraph.jacobian", "symgraph.graph_html", "symgraph.graph_layout", "symgraph.sparse"],
    ["symgraph.tensor", "symgraph.sandbox"],
    ["symgraph.compat"],
    ["symgraph"],  # the package face re-exports the public API
    ["optimizers"],
    ["models"],
    ["benchmarks"],
]


def _modules() -> Dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join(parts)] = path
    return mods


def _owner(name: str, mods) -> str:
    """The module of ``name`` (a dotted name may end in an attribute)."""
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name


def imports_of(source: str, module: str, is_package: bool, mods) -> Set[str]:
    """The repository modules that ``source`` (the text of ``module``) imports."""
    package = module if is_package else module.rpartition(".")[0]
    found: Set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                       for a in node.names]
        else:
            continue
        found |= {_owner(t, mods) for t in targets}
    found.discard(module)
    found.discard("")
    return found


def import_graph() -> nx.DiGraph:
    mods = _modules()
    graph = nx.DiGraph()
    for mod, path in mods.items():
        graph.add_node(mod)
        for target in imports_of(path.read_text(), mod, path.name == "__init__.py", mods):
            graph.add_edge(mod, target)
    return graph


def layer_of(mod: str) -> int:
    best, found = -1, None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and len(p) > best:
                best, found = len(p), i
    if found is None:
        raise AssertionError(f"module {mod} is in no layer of tests/test_layers.py")
    return found


GRAPH = import_graph()


def test_every_module_has_a_layer():
    for mod in GRAPH:
        layer_of(mod)


def test_no_import_circle():
    cycles = [sorted(c) for c in nx.strongly_connected_components(GRAPH) if len(c) > 1]
    assert not cycles, "import circles:\n" + "\n".join(
        "  " + " <-> ".join(c) + "\n" + "\n".join(
            f"      {a} -> {b}" for a, b in GRAPH.subgraph(c).edges) for c in cycles)


def test_no_import_runs_up_a_layer():
    upward = [(a, b) for a, b in GRAPH.edges if layer_of(b) > layer_of(a)]
    assert not upward, "imports running up a layer:\n" + "\n".join(
        f"  {a} -> {b}" for a, b in upward)


def test_the_linker_imports_no_op_class_and_no_kernel_generator():
    """``symgraph.compile`` asks ops what it needs (``Op`` attributes) instead of importing op
    families, and reaches the back ends through their registry only (never numba's code)."""
    allowed_ops = {"symgraph.ops.namespace", "symgraph.ops.variable"}
    allowed_backends = {"symgraph.backends", "symgraph.backends.buffers"}
    wrong = [(a, b) for a, b in GRAPH.edges if a.startswith("symgraph.compile.") and (
        (b.startswith("symgraph.ops") and b not in allowed_ops) or
        (b.startswith("symgraph.backends") and b not in allowed_backends))]
    assert not wrong, "\n".join(f"{a} -> {b}" for a, b in wrong)


@pytest.mark.parametrize("source, module, expected", [
    ("import symgraph.ops.elemwise", "symgraph.gradient", {"symgraph.ops.elemwise"}),
    ("from symgraph.ops import elemwise", "symgraph.gradient", {"symgraph.ops.elemwise"}),
    ("from symgraph.ops.elemwise import add", "symgraph.gradient", {"symgraph.ops.elemwise"}),
    ("from symgraph import config", "symgraph.gradient", {"symgraph.config"}),
    ("from symgraph import function", "symgraph.gradient", {"symgraph"}),
    ("def f():\n    if x:\n        from symgraph.compile import mode", "symgraph.gradient",
     {"symgraph.compile.mode"}),
    ("from . import engine", "symgraph.rewrite.cse", {"symgraph.rewrite.engine"}),
    ("from ..ops import shape", "symgraph.rewrite.cse", {"symgraph.ops.shape"}),
    ("import numpy as np\nfrom typing import List", "symgraph.graph", set()),
])
def test_the_reader_sees_every_kind_of_import(source, module, expected):
    """The checker itself: each spelling of an import, at any depth, is an edge."""
    assert imports_of(source, module, False, _modules()) == expected
