"""debugprint, DOT output and the generated source."""
import io
import shutil

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import printing


def _graph():
    x = T.matrix("x")
    W = symgraph.shared(np.ones((3, 2)), "W")
    return x, W, T.exp(T.dot(x, W)) * 2 + 1


def test_debugprint_variable_lists_ops_types_and_shared():
    x, W, y = _graph()
    buf = io.StringIO()
    text = printing.debugprint(y, file=buf)
    assert buf.getvalue().strip() == text
    lines = text.splitlines()
    assert lines[0].startswith("add") and "float64(?, ?)" in lines[0]
    assert any(line.strip(" |").startswith("Dot") for line in lines)
    assert any("W [shared]" in line for line in lines)
    assert any(line.strip(" |").startswith("x ") for line in lines)
    # nesting: the Dot sits deeper than the exp that reads it
    depth = {line.strip(" |").split()[0]: line.count("|") for line in lines}
    assert depth["Dot"] > depth["exp"] > depth["mul"]


def test_debugprint_function_shows_the_compiled_graph_and_updates():
    x, W, y = _graph()
    f = symgraph.function([x], y, updates=[(W, W - 0.1 * T.dot(x.T, y))])
    text = printing.debugprint(f, file=io.StringIO())
    assert "Composite{" in text and "Gemm" in text
    assert "new values of W" in text
    # a node printed twice is referenced by id, not expanded again
    assert "..." in text


def test_to_dot_contains_every_op_and_input():
    x, W, y = _graph()
    dot = printing.to_dot(y)
    assert dot.startswith("digraph")
    for label in ("Dot", "exp", "mul", "add", "W [shared]", "output 0"):
        assert label in dot
    assert dot.count("->") >= 6


def test_to_networkx_is_acyclic_and_complete():
    nx = pytest.importorskip("networkx")
    x, W, y = _graph()
    g = printing.to_networkx(y)
    assert nx.is_directed_acyclic_graph(g)
    kinds = [d["kind"] for _, d in g.nodes(data=True)]
    assert kinds.count("apply") == 4 and kinds.count("output") == 1


def test_pydotprint_writes_dot_text(tmp_path):
    x, W, y = _graph()
    path = printing.pydotprint(y, str(tmp_path / "g.dot"))
    assert open(path).read() == printing.to_dot(y)


def test_pydotprint_renders_or_says_what_is_missing(tmp_path):
    x, W, y = _graph()
    out = str(tmp_path / "g.svg")
    if shutil.which("dot"):
        printing.pydotprint(y, out)
        assert "<svg" in open(out).read()
    else:
        with pytest.raises(RuntimeError, match="Graphviz"):
            printing.pydotprint(y, out)


def test_show_source_prints_the_generated_function():
    x, W, y = _graph()
    f = symgraph.function([x], y)
    buf = io.StringIO()
    src = printing.show_source(f, file=buf)
    assert src == f.source and src.startswith("# back end: numpy\ndef ")
    with pytest.raises(TypeError):
        printing.show_source(y)


def test_bad_argument_is_named():
    with pytest.raises(TypeError, match="compiled function"):
        printing.debugprint(42)


def test_printing_is_reachable_after_import_symgraph():
    """``symgraph.printing.debugprint(f)`` works with no other import (as the README writes)."""
    import subprocess
    import sys
    code = ("import symgraph, symgraph.tensor as T\n"
            "x = T.vector('x')\n"
            "symgraph.printing.debugprint(symgraph.function([x], 2 * x))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "x" in out and out.strip()
