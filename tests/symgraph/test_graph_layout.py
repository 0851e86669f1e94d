"""The layered layout: every edge points down, nodes of a layer never overlap, long edges are
routed through every layer they cross, the reported crossings are the drawing's (counted
again from the positions), and the placement is the least-squares one (against scipy)."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symgraph.graph_layout import _fit_in_order, layered_layout


def _segments(layout, edges):
    """Each distinct edge as its one-layer segments: (upper rank, x at the top, x at the
    bottom)."""
    segs = []
    for (u, v), route in dict(zip(edges, layout.routes)).items():
        pts = [(layout.x[u], layout.rank[u])] + list(route) + [(layout.x[v], layout.rank[v])]
        segs += [(r0, x0, x1) for (x0, r0), (x1, _) in zip(pts, pts[1:])]
    return segs


def _check(widths, edges, gap=24.0):
    lay = layered_layout(widths, edges, gap=gap)
    for u, v in edges:
        assert lay.rank[v] > lay.rank[u], (u, v)
    for r in range(lay.n_ranks):
        row = sorted((lay.x[v], widths[v]) for v in widths if lay.rank[v] == r)
        for (x0, w0), (x1, w1) in zip(row, row[1:]):
            assert x1 - x0 >= (w0 + w1) / 2 + gap - 1e-6
    for (u, v), route in zip(edges, lay.routes):
        assert [r for _, r in route] == list(range(lay.rank[u] + 1, lay.rank[v]))
    # the drawing (nodes and the points of long edges, 8 wide) starts at 0 and ends at width
    spans = [(lay.x[v] - widths[v] / 2, lay.x[v] + widths[v] / 2) for v in widths]
    spans += [(x - 4, x + 4) for route in lay.routes for x, _ in route]
    assert min(a for a, _ in spans) == pytest.approx(0, abs=1e-6)
    assert lay.width == pytest.approx(max(b for _, b in spans))
    # the crossings, counted again from the drawn positions
    segs = _segments(lay, edges)
    crossings = sum(1 for (ra, a0, a1), (rb, b0, b1) in itertools.combinations(segs, 2)
                    if ra == rb and (a0 - b0) * (a1 - b1) < 0)
    assert crossings == lay.crossings
    return lay


def test_a_diamond_and_a_long_edge():
    widths = {"a": 40, "b": 60, "c": 30, "d": 50, "e": 20}
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("a", "d"), ("d", "e")]
    lay = _check(widths, edges)
    assert [lay.rank[k] for k in "abcde"] == [0, 1, 1, 2, 3]
    assert lay.routes[4] == [(pytest.approx(lay.routes[4][0][0]), 1)]  # a -> d via layer 1
    assert lay.crossings == 0


def test_sources_sit_just_above_their_first_consumer():
    widths = dict.fromkeys("abcdw", 30)
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("w", "d"), ("a", "d")]
    lay = _check(widths, edges)
    assert lay.rank["w"] == lay.rank["d"] - 1 == 2


def test_repeated_edges_and_isolated_nodes():
    lay = _check({"x": 10, "y": 10, "z": 10}, [("x", "y"), ("x", "y")])
    assert lay.rank["z"] == 0 and len(lay.routes) == 2


def test_crossings_are_removed_when_possible():
    # two chains drawn crossed at first: the sweeps uncross them
    widths = dict.fromkeys(["a1", "a2", "b1", "b2", "c1", "c2"], 20)
    edges = [("a1", "b2"), ("a2", "b1"), ("b1", "c2"), ("b2", "c1")]
    assert _check(widths, edges).crossings == 0


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 14).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                         max_size=3 * n),
    st.lists(st.integers(5, 120), min_size=n, max_size=n))))
def test_random_dags(case):
    n, pairs, ws = case
    edges = [(f"n{min(a, b)}", f"n{max(a, b)}") for a, b in pairs if a != b]
    _check({f"n{i}": float(w) for i, w in enumerate(ws)}, edges)


def test_bad_graphs_are_refused():
    with pytest.raises(ValueError, match="cycle"):
        layered_layout({"a": 1, "b": 1}, [("a", "b"), ("b", "a")])
    with pytest.raises(ValueError, match="unknown node"):
        layered_layout({"a": 1}, [("a", "z")])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=1, max_size=12),
       st.lists(st.floats(1, 50), min_size=12, max_size=12), st.floats(0, 30))
def test_placement_is_the_least_squares_solution(desired, widths, gap):
    from scipy.optimize import isotonic_regression
    widths = widths[:len(desired)]
    got = np.array(_fit_in_order(desired, widths, gap))
    sep = (np.array(widths[:-1]) + np.array(widths[1:])) / 2 + gap
    offsets = np.concatenate([[0.0], np.cumsum(sep)])
    want = isotonic_regression(np.array(desired) - offsets).x + offsets
    np.testing.assert_allclose(got, want, atol=1e-8)
    assert np.all(np.diff(got) >= sep - 1e-8)
