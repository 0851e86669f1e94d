"""A layered drawing of a directed acyclic graph (the Sugiyama method, kept small).

:func:`layered_layout` places the nodes of a DAG in horizontal layers so that every edge points
down: a node's rank is the length of the longest path reaching it (nodes without predecessors
sit just above their first consumer), edges longer than one layer pass through invisible
dummy points, the order inside each layer is improved by barycenter sweeps (the order with
the fewest edge crossings is kept), and horizontal positions move each node towards the mean
of its neighbours subject to the layer's order and spacing (an isotonic regression, solved
exactly by pool-adjacent-violators). Used by :mod:`symgraph.graph_html`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Hashable, List, Mapping, Sequence, Tuple

import networkx as nx

Node = Hashable


@dataclass
class Layout:
    """Where things go.

    Attributes
    ----------
    rank : dict
        Node -> layer (0 at the top).
    x : dict
        Node -> horizontal centre, in the units of the node widths (>= 0).
    routes : list
        Per edge, in the order given, the ``(x, rank)`` points it passes between its ends
        (empty for an edge between adjacent layers).
    width : float
        Extent of the drawing (nodes and the points of long edges).
    n_ranks : int
    crossings : int
        Edge crossings between adjacent layers of the chosen order.
    """

    rank: Dict[Node, int]
    x: Dict[Node, float]
    routes: List[List[Tuple[float, int]]]
    width: float
    n_ranks: int
    crossings: int


def layered_layout(widths: Mapping[Node, float], edges: Sequence[Tuple[Node, Node]],
                   gap: float = 24.0, dummy_width: float = 8.0, sweeps: int = 12,
                   passes: int = 8) -> Layout:
    """Lay out the DAG with nodes ``widths`` (node -> width) and ``edges`` (may repeat).

    Parameters
    ----------
    gap : float
        Horizontal space between neighbouring nodes of a layer.
    dummy_width : float
        Width reserved for an edge passing through a layer.
    sweeps : int
        Barycenter sweeps (each down then up) of the crossing reduction.
    passes : int
        Sweeps of the horizontal placement.
    """
    g = nx.DiGraph()
    g.add_nodes_from(widths)
    for u, v in edges:
        if u not in widths or v not in widths:
            raise ValueError(f"layered_layout: edge ({u!r}, {v!r}) names an unknown node")
        g.add_edge(u, v)
    if not nx.is_directed_acyclic_graph(g):
        raise ValueError("layered_layout: the graph has a cycle")
    order = list(nx.lexicographical_topological_sort(g, key=list(widths).index))
    rank = _ranks(g, order)

    # the proper layered graph: every edge spans one layer, through dummies
    w = dict(widths)
    preds: Dict[Node, List[Node]] = {v: [] for v in order}
    succs: Dict[Node, List[Node]] = {v: [] for v in order}
    chains: Dict[Tuple[Node, Node], List[Node]] = {}
    for u, v in g.edges():
        chain = []
        prev = u
        for r in range(rank[u] + 1, rank[v]):
            d = ("__dummy__", u, v, r)
            rank[d], w[d] = r, dummy_width
            preds[d], succs[d] = [], []
            chain.append(d)
            succs[prev].append(d)
            preds[d].append(prev)
            prev = d
        succs[prev].append(v)
        preds[v].append(prev)
        chains[(u, v)] = chain
    n_ranks = max(rank.values(), default=-1) + 1
    layers: List[List[Node]] = [[] for _ in range(n_ranks)]
    for v in order:
        layers[rank[v]].append(v)
    for (u, v), chain in chains.items():  # dummies after the real nodes, then reordered
        for d in chain:
            layers[rank[d]].append(d)

    layers, crossings = _order(layers, preds, succs, sweeps)
    x = _place(layers, preds, succs, w, gap, passes)
    routes = [[(x[d], rank[d]) for d in chains[(u, v)]] for u, v in edges]
    width = max((x[v] + w[v] / 2 for v in x), default=0.0)
    return Layout({v: rank[v] for v in widths}, {v: x[v] for v in widths}, routes, width,
                  n_ranks, crossings)


def _ranks(g: nx.DiGraph, order: List[Node]) -> Dict[Node, int]:
    """Longest-path layers, then every node with consumers moved down to just above its
    highest consumer (so a value computed early but used late is drawn near its use)."""
    rank: Dict[Node, int] = {}
    for v in order:
        rank[v] = max((rank[u] + 1 for u in g.predecessors(v)), default=0)
    for v in reversed(order):
        if g.out_degree(v) > 0:
            rank[v] = min(rank[s] for s in g.successors(v)) - 1
    return rank


def _crossings(upper: List[Node], lower: List[Node], succs) -> int:
    """Pairs of edges between two adjacent layers that cross: pairs (a, b), (a', b') with
    a < a' and b > b' (inversions of the lower ends sorted by upper end, counted with a
    Fenwick tree)."""
    pos_l = {v: i for i, v in enumerate(lower)}
    ends = sorted((i, pos_l[s]) for i, u in enumerate(upper) for s in succs[u] if s in pos_l)
    tree = [0] * (len(lower) + 1)
    count = 0
    for seen, (_, b) in enumerate(ends):
        k, below = b + 1, 0  # edges so far whose lower end is <= b
        while k > 0:
            below += tree[k]
            k -= k & -k
        count += seen - below
        k = b + 1
        while k <= len(lower):
            tree[k] += 1
            k += k & -k
    return count


def _total_crossings(layers, succs) -> int:
    return sum(_crossings(layers[r], layers[r + 1], succs) for r in range(len(layers) - 1))


def _order(layers, preds, succs, sweeps: int):
    """Barycenter sweeps; the ordering with the fewest crossings wins."""
    best = [list(layer) for layer in layers]
    best_c = _total_crossings(best, succs)
    cur = [list(layer) for layer in layers]
    for _ in range(sweeps):
        if best_c == 0:
            break
        for r in range(1, len(cur)):
            cur[r] = _sorted_by_barycenter(cur[r], cur[r - 1], preds)
        for r in range(len(cur) - 2, -1, -1):
            cur[r] = _sorted_by_barycenter(cur[r], cur[r + 1], succs)
        c = _total_crossings(cur, succs)
        if c < best_c:
            best, best_c = [list(layer) for layer in cur], c
    return best, best_c


def _sorted_by_barycenter(layer, fixed, neighbours):
    pos = {v: i for i, v in enumerate(fixed)}
    keys = []
    for i, v in enumerate(layer):
        ps = [pos[n] for n in neighbours[v] if n in pos]
        # a node without neighbours there keeps its place relative to the others
        keys.append(sum(ps) / len(ps) * len(layer) / max(len(fixed), 1) if ps else i)
    return [v for _, _, v in sorted(zip(keys, range(len(layer)), layer),
                                    key=lambda t: (t[0], t[1]))]


def _place(layers, preds, succs, w, gap: float, passes: int) -> Dict[Node, float]:
    """x of every node: towards its neighbours' mean, in order, at least ``gap`` apart."""
    x: Dict[Node, float] = {}
    for layer in layers:
        pos = 0.0
        for v in layer:
            x[v] = pos + w[v] / 2
            pos += w[v] + gap
    for p in range(passes):
        direction = range(1, len(layers)) if p % 2 == 0 else range(len(layers) - 2, -1, -1)
        for r in direction:
            layer = layers[r]
            desired = []
            for v in layer:
                ns = (preds[v] if p % 2 == 0 else succs[v]) or preds[v] + succs[v]
                desired.append(sum(x[n] for n in ns) / len(ns) if ns else x[v])
            for v, xv in zip(layer, _fit_in_order(desired, [w[v] for v in layer], gap)):
                x[v] = xv
    left = min((x[v] - w[v] / 2 for v in x), default=0.0)
    return {v: xv - left for v, xv in x.items()}


def _fit_in_order(desired: List[float], widths: List[float], gap: float) -> List[float]:
    """The positions closest (least squares) to ``desired`` that keep the order and leave
    ``gap`` between neighbours: isotonic regression of ``desired - offset`` (PAV)."""
    offsets = [0.0]
    for a, b in zip(widths, widths[1:]):
        offsets.append(offsets[-1] + (a + b) / 2 + gap)
    blocks: List[List[float]] = []  # [mean, count]
    for d, o in zip(desired, offsets):
        blocks.append([d - o, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, n2 = blocks.pop()
            m1, n1 = blocks.pop()
            blocks.append([(m1 * n1 + m2 * n2) / (n1 + n2), n1 + n2])
    out = []
    for m, n in blocks:
        out.extend([m] * int(n))
    return [y + o for y, o in zip(out, offsets)]
