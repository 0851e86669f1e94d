"""symgraph.d3viz: what the page draws (the rewritten graph of a compiled function, or the
graph as built), how inputs, shared variables, outputs and updates are marked, a page that
needs no network and cannot be broken by names, and Theano's signature with clear refusals.
The page's behaviour in a browser is tested in tests/benchmarks/dae_demo/test_dae_browser.py."""
import json
import re
from collections import Counter

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.graph_html import d3viz, graph_data, to_html


@pytest.fixture
def train_step():
    x = T.matrix("x")
    W = symgraph.shared(np.full((3, 2), 0.1), name="W")
    b = symgraph.shared(np.zeros(2), name="b")
    step = symgraph.shared(np.int64(0), name="step")
    unused = T.scalar("unused")
    cost = T.mean(T.sqr(T.tanh(T.dot(x, W) + b)))
    gW, gb = symgraph.grad(cost, [W, b])
    f = symgraph.function([x, unused], cost, on_unused_input="ignore", name="train_step",
                          updates=[(W, W - 0.1 * gW), (b, b - 0.1 * gb), (step, step + 1)])
    return f, cost


def _by_kind(data):
    kinds = {}
    for n in data["nodes"]:
        kinds.setdefault(n["kind"], []).append(n)
    return kinds


def test_a_compiled_function_is_drawn_as_rewritten(train_step):
    f, _ = train_step
    data = graph_data(f)
    kinds = _by_kind(data)
    ops = kinds.get("apply", []) + kinds.get("fused", [])
    assert len(ops) == len(f.fgraph.apply_nodes)
    assert Counter(n["info"][1][1] for n in ops) == Counter(
        type(n.op).__name__ for n in f.fgraph.apply_nodes)
    assert data["what"] == "compiled function (rewritten graph)"
    assert data["title"] == "train_step"
    # explicit inputs in argument order (the unused one too), once each
    assert [n["label"] for n in kinds["input"]] == ["x", "unused"]
    assert ["argument 1" in n["info"][0][1] for n in kinds["input"]] == [False, True]
    # every update drawn, pointing at its (marked) shared variable
    shared = {n["id"]: n for n in kinds["shared"]}
    assert len(kinds["update"]) == 3
    assert sorted(shared[u["target"]]["label"] for u in kinds["update"]) == ["W", "b", "step"]
    assert all(shared[u["target"]]["updated"] for u in kinds["update"])
    assert [n["label"] for n in kinds["output"]] == ["output 0"]
    # each op receives one edge per input
    into = Counter(e["target"] for e in data["edges"])
    node_of = {n["id"]: n for n in data["nodes"]}
    for n in ops:
        n_inputs = sum(1 for k, _ in n["info"] if re.fullmatch(r"input \d+", k))
        assert into[n["id"]] == n_inputs, n["label"]
    assert all(node_of[e["source"]] and node_of[e["target"]] for e in data["edges"])
    assert data["summary"][-2:] == ["1 output", "3 updates"]
    for n in ops:  # hover shows op, type and shape
        keys = [k for k, _ in n["info"]]
        assert keys[0] == "op" and any(k.endswith("type") for k in keys) and \
            any(k.endswith("shape") for k in keys)


def test_variables_are_drawn_as_built():
    x = T.vector("x")
    y = T.exp(x) * 1.0 + 0.0
    built = _by_kind(graph_data(y))
    compiled = _by_kind(graph_data(symgraph.function([x], y)))
    assert "fused" not in built and len(built["apply"]) >= 3  # exp, mul, add: no rewrite
    assert len(compiled["fused"]) == 1 and "apply" not in compiled
    assert graph_data([y, x])["what"] == "graph as built (not rewritten)"
    assert len(_by_kind(graph_data([y, x]))["output"]) == 2


def test_non_compact_draws_every_intermediate_variable():
    x = T.vector("x")
    y = T.tanh(T.exp(x))
    compact, full = _by_kind(graph_data(y)), _by_kind(graph_data(y, compact=False))
    assert "variable" not in compact
    assert len(full["variable"]) == len(full["apply"]) == 2


def test_a_leaf_read_at_distant_depths_is_drawn_near_each_use():
    x = T.vector("x")
    h = x
    for _ in range(6):
        h = T.tanh(h)
    y = T.dot(h, x)
    data = graph_data(y)
    xs = [n for n in data["nodes"] if n["kind"] == "input"]
    assert len(xs) == 2 and xs[0]["same"] == xs[1]["same"]
    assert "1 input" in data["summary"]
    # every edge is short: the copy of x sits just above the dot
    rank = {n["id"]: n["rank"] for n in data["nodes"]}
    assert max(rank[e["target"]] - rank[e["source"]] for e in data["edges"]) == 1


def test_the_page_is_self_contained_and_holds_the_data(train_step, tmp_path):
    f, _ = train_step
    path = d3viz(f, tmp_path / "deep" / "folder" / "graph.html")
    page = open(path, encoding="utf-8").read()
    assert path.endswith("graph.html")
    # no file or network fetched: no src/href attributes, no stylesheet links or imports
    assert not re.search(r"\b(src|href)\s*=", page)
    assert "<link" not in page and "@import" not in page
    assert not re.search(r"url\((?!#)", page)  # only the page's own arrow markers
    assert "fetch(" not in page and "XMLHttpRequest" not in page
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"]
    payload = re.search(r'<script id="graph-data" type="application/json">(.*?)</script>',
                        page, re.S).group(1)
    assert json.loads(payload) == json.loads(json.dumps(graph_data(f)))


def test_names_cannot_break_out_of_the_page():
    evil = "</script><script>alert(1)</script><!--"
    x = T.vector(evil)
    page = to_html(T.exp(x), title="<b>title</b> & co")
    assert evil not in page and "<b>" not in page
    assert "<title>&lt;b&gt;title&lt;/b&gt; &amp; co</title>" in page
    payload = re.search(r'type="application/json">(.*?)</script>', page, re.S).group(1)
    labels = [n["label"] for n in json.loads(payload)["nodes"]]
    assert any(label.startswith("</script>") for label in labels)


def test_theano_signature_and_refusals(train_step, tmp_path):
    f, cost = train_step
    # Theano's positional order: fct, outfile, copy_deps, then the formatter's compact
    d3viz(f, tmp_path / "a.html", False, False)
    assert '"kind":"variable"' in (tmp_path / "a.html").read_text()
    d3viz(cost, str(tmp_path / "b.html"))
    with pytest.raises(TypeError, match="copy_deps"):
        d3viz(f, tmp_path / "c.html", copy_deps="yes")
    with pytest.raises(TypeError, match="compact"):
        d3viz(f, tmp_path / "c.html", compact=None)
    with pytest.raises(TypeError, match="colorCodes"):
        d3viz(f, tmp_path / "c.html", colorCodes={})
    with pytest.raises(TypeError, match="positional"):
        d3viz(f, tmp_path / "c.html", True, True, "extra")
    with pytest.raises(TypeError, match="title"):
        d3viz(f, tmp_path / "c.html", title=3)
    for bad in (3, [], [1, 2], "f"):
        with pytest.raises(TypeError, match="d3viz: expected a compiled function"):
            d3viz(bad, tmp_path / "c.html")
    assert not (tmp_path / "c.html").exists()
    assert symgraph.d3viz is d3viz
