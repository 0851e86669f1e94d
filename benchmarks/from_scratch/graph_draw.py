"""Drawing a computational graph (a ``networkx.DiGraph``) to PNG and SVG: with Graphviz's
``dot`` program when it is installed, else with networkx's layered layout and matplotlib.

Node attributes: ``label`` (text; ``\\n`` separates lines) and ``kind`` (``apply``, ``input``,
``shared``, ``constant``, ``output``; as :func:`symgraph.printing.to_networkx` writes them).
Edge attributes: ``label`` (black) and optionally ``grad`` (the backward value, in red).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import networkx as nx

#: fill colours by node kind (as symgraph.printing's DOT output: shared blue, inputs green)
FILL = {"apply": "white", "input": "#c8f0c8", "shared": "#c8dcf0", "constant": "#e0e0e0",
        "output": "white"}
SHAPE = {"apply": "box", "input": "ellipse", "shared": "ellipse", "constant": "ellipse",
         "output": "plaintext"}


def dot_program() -> Optional[str]:
    """The path of Graphviz's ``dot``, or None when it is not installed."""
    return shutil.which("dot")


def _kind(g: nx.DiGraph, n) -> str:
    return g.nodes[n].get("kind", "apply")


def _html(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\\n", "<br/>"))


def dot_source(g: nx.DiGraph, title: str, rankdir: str = "TB") -> str:
    """The DOT text of ``g`` (HTML-like labels, so the gradients can be red)."""
    ids = {n: f"n{k}" for k, n in enumerate(g.nodes)}
    lines = ["digraph G {", f"  rankdir={rankdir};", "  labelloc=t; fontsize=16;",
             f"  label=<{_html(title)}>;", "  node [fontname=Helvetica, fontsize=11];",
             "  edge [fontname=Helvetica, fontsize=10];"]
    for n, attrs in g.nodes(data=True):
        kind = _kind(g, n)
        shape = attrs.get("shape", SHAPE.get(kind, "box"))
        fill = attrs.get("fillcolor", FILL.get(kind, "white"))
        lines.append(f"  {ids[n]} [label=<{_html(attrs.get('label', n))}>, shape={shape}, "
                     f"style=filled, fillcolor=\"{fill}\"];")
    for a, b, attrs in g.edges(data=True):
        label = _html(attrs.get("label", ""))
        if attrs.get("grad") is not None:
            label += f"<br/><font color=\"red\">{_html(attrs['grad'])}</font>"
        lines.append(f"  {ids[a]} -> {ids[b]}" + (f" [label=<{label}>];" if label else ";"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_dot(g: nx.DiGraph, stem: Path, title: str, rankdir: str = "TB",
             program: Optional[str] = None) -> None:
    """``stem.png`` and ``stem.svg`` rendered by Graphviz's ``dot``."""
    program = program or dot_program()
    if program is None:
        raise RuntimeError("draw_dot needs Graphviz's 'dot' program on the PATH")
    source = dot_source(g, title, rankdir).encode()
    for fmt in ("png", "svg"):
        subprocess.run([program, f"-T{fmt}", "-Gdpi=96", "-o", str(stem.with_suffix(f".{fmt}"))],
                       input=source, check=True, capture_output=True)


def layered_positions(g: nx.DiGraph, rankdir: str = "TB", sweeps: int = 4):
    """Node positions of a layered drawing (a small Sugiyama-style layout, as ``dot`` draws):
    each node one layer below its deepest predecessor, a source one layer above its first
    consumer, and the nodes of each layer ordered by the mean position of their neighbours
    (alternating downward and upward sweeps) so that few edges cross. Layers run top to
    bottom (``TB``) or left to right (``LR``); returns ``{node: (x, y)}``."""
    layer: Dict = {}
    for n in nx.topological_sort(g):
        layer[n] = 1 + max((layer[p] for p in g.predecessors(n)), default=-1)
    for n in g:
        if g.in_degree(n) == 0 and g.out_degree(n):
            layer[n] = min(layer[c] for c in g.successors(n)) - 1
    groups: Dict[int, List] = {}
    for n in nx.topological_sort(g):
        groups.setdefault(layer[n], []).append(n)
    order = {n: float(i) for members in groups.values() for i, n in enumerate(members)}

    def sort(depth: int, neighbours) -> None:
        members = groups[depth]
        key = {n: (sum(order[m] for m in neighbours(n)) / len(list(neighbours(n)))
                   if list(neighbours(n)) else order[n]) for n in members}
        members.sort(key=lambda n: key[n])
        for i, n in enumerate(members):
            order[n] = i - (len(members) - 1) / 2

    depths = sorted(groups)
    for _ in range(sweeps):
        for d in depths[1:]:
            sort(d, g.predecessors)
        for d in reversed(depths[:-1]):
            sort(d, g.successors)
    top = depths[0]
    if rankdir == "TB":
        return {n: (order[n], -(layer[n] - top)) for n in g}
    return {n: (layer[n] - top, -order[n]) for n in g}


def _label_inches(g: nx.DiGraph, n) -> float:
    """The drawn width of a node's label at 8 points (an estimate: 0.075 inch a character)."""
    lines = str(g.nodes[n].get("label", n)).split("\\n")
    return 0.075 * max(len(line) for line in lines) + 0.35


def _inches(g: nx.DiGraph, pos, rankdir: str):
    """Positions in inches: the nodes of a layer side by side in their order, each as wide as
    its label, layers 0.75 inch (top to bottom) or 2 inches (left to right) apart."""
    axis = 0 if rankdir == "TB" else 1
    layers: Dict[float, List] = {}
    for n, p in pos.items():
        layers.setdefault(p[1 - axis], []).append(n)
    out = {}
    for depth, members in layers.items():
        members.sort(key=lambda n: pos[n][axis])
        sizes = [_label_inches(g, n) if axis == 0 else 0.6 for n in members]
        total = sum(sizes)
        at = -total / 2
        for n, size in zip(members, sizes):
            across = at + size / 2
            at += size
            out[n] = (across, 0.75 * depth) if axis == 0 else (2.0 * depth, across)
    return out


def draw_matplotlib(plt, g: nx.DiGraph, stem: Path, title: str, rankdir: str = "TB") -> None:
    """``stem.png`` and ``stem.svg`` drawn with :func:`layered_positions` and matplotlib.

    Edges show their ``grad`` and ``label`` only in graphs that have gradients (the type
    labels of a larger graph would cover it without a router placing them, as ``dot`` does).
    """
    pos = _inches(g, layered_positions(g, rankdir), rankdir)
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    width, height = max(xs) - min(xs) + 1.6, max(ys) - min(ys) + 1.2
    fig = plt.figure(figsize=(max(5.0, width), max(2.5, height + 0.5)))
    ax = fig.add_axes([0, 0, 1, 1 - 0.5 / max(2.5, height + 0.5)])
    ax.set_xlim(min(xs) - 0.8, min(xs) - 0.8 + max(5.0, width))
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    nx.draw_networkx_edges(g, pos, ax=ax, arrows=True, arrowstyle="-|>", arrowsize=12,
                           node_size=2500, edge_color="0.4", width=1.0)
    for n, (x, y) in pos.items():
        kind = _kind(g, n)
        style = "round,pad=0.3" if kind in ("input", "shared", "constant") else "square,pad=0.3"
        label = str(g.nodes[n].get("label", n)).replace("\\n", "\n")
        ax.text(x, y, label, ha="center", va="center", fontsize=12 if len(label) == 1 else 8,
                zorder=3,
                bbox=dict(boxstyle=style, fc=FILL.get(kind, "white"),
                          ec="none" if kind == "output" else "0.3"))
    grads = {(a, b): d["grad"] for a, b, d in g.edges(data=True) if d.get("grad") is not None}
    values = {(a, b): d["label"] for a, b, d in g.edges(data=True)
              if d.get("label") and grads}
    if values:
        nx.draw_networkx_edge_labels(g, pos, edge_labels=values, ax=ax, font_size=8,
                                     verticalalignment="bottom" if grads else "center",
                                     bbox=dict(fc="white", ec="none", alpha=0.7, pad=0.5))
    if grads:
        nx.draw_networkx_edge_labels(g, pos, edge_labels=grads, ax=ax, font_size=8,
                                     font_color="red", verticalalignment="top",
                                     bbox=dict(fc="white", ec="none", alpha=0.7, pad=0.5))
    fig.suptitle(title.replace("\\n", "\n"), fontsize=10, y=0.995, va="top")
    ax.axis("off")
    fig.savefig(stem.with_suffix(".png"), dpi=100)
    fig.savefig(stem.with_suffix(".svg"))
    plt.close(fig)


def draw(plt, g: nx.DiGraph, stem: Path, title: str, rankdir: str = "TB") -> str:
    """Draw ``g`` to ``stem.png`` and ``stem.svg`` with Graphviz when installed, else with
    matplotlib (``plt``); return which one drew it (``"graphviz"`` or ``"matplotlib"``)."""
    if dot_program() is not None:
        draw_dot(g, stem, title, rankdir)
        return "graphviz"
    draw_matplotlib(plt, g, stem, title, rankdir)
    return "matplotlib"
