"""Drawing computational graphs for the ``graphs`` experiment: the layered layout, the
matplotlib fallback and Graphviz's ``dot`` (when installed)."""
import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.from_scratch import graph_draw
from benchmarks.from_scratch.graphs import network_graphs, shopping


@st.composite
def dags(draw):
    n = draw(st.integers(2, 12))
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for b in range(1, n):
        for a in draw(st.sets(st.integers(0, b - 1), max_size=3)):
            g.add_edge(a, b)
    return g


@settings(max_examples=60, deadline=None)
@given(dags(), st.sampled_from(["TB", "LR"]))
def test_layered_positions_put_every_edge_downstream(g, rankdir):
    pos = graph_draw.layered_positions(g, rankdir)
    assert set(pos) == set(g)
    depth = {n: (-pos[n][1] if rankdir == "TB" else pos[n][0]) for n in g}
    for a, b in g.edges:
        assert depth[a] < depth[b]
    across = {}
    for n in g:  # no two nodes of a layer share a place
        key = (depth[n], pos[n][0] if rankdir == "TB" else pos[n][1])
        assert key not in across
        across[key] = n


def test_sources_sit_above_their_first_consumer():
    g = shopping({"shopping": {"apple": 100.0, "apple_num": 2.0, "orange": 150.0,
                               "orange_num": 3.0, "tax": 1.1}})["graph"]
    pos = graph_draw.layered_positions(g, "LR")
    tax_consumer = next(iter(g.successors("in:tax")))
    assert pos["in:tax"][0] == pos[tax_consumer][0] - 1  # beside the last product, as the book


def _check_pair(stem):
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert b"<svg" in svg.read_bytes()[:2000]


@pytest.mark.parametrize("which", ["shopping", "gradient_after"])
def test_matplotlib_fallback_draws_png_and_svg(tmp_path, monkeypatch, which):
    plt = pytest.importorskip("matplotlib.pyplot")
    monkeypatch.setattr(graph_draw, "dot_program", lambda: None)
    if which == "shopping":
        g = shopping({"shopping": {"apple": 100.0, "apple_num": 2.0, "orange": 150.0,
                                   "orange_num": 3.0, "tax": 1.1}})["graph"]
    else:
        g = network_graphs({"inputs": 6, "hidden": 4, "classes": 3,
                            "activation": "sigmoid"})[which]
    assert graph_draw.draw(plt, g, tmp_path / which, "a title\\nsecond line") == "matplotlib"
    _check_pair(tmp_path / which)


def test_dot_source_and_rendering(tmp_path):
    g = nx.DiGraph()
    g.add_node("a", label="x < 1 & y", kind="input")
    g.add_node("b", label="mul", kind="apply")
    g.add_edge("a", "b", label="2", grad="0.5")
    text = graph_draw.dot_source(g, "t", "LR")
    assert "x &lt; 1 &amp; y" in text and '<font color="red">0.5</font>' in text
    assert "rankdir=LR" in text and "n0 -> n1" in text
    if graph_draw.dot_program() is None:
        pytest.skip("Graphviz's dot is not installed")
    assert graph_draw.draw(None, g, tmp_path / "g", "t") == "graphviz"
    _check_pair(tmp_path / "g")
