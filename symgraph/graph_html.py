"""An interactive drawing of a graph as ONE self-contained HTML file: :func:`d3viz`.

``symgraph.d3viz(f, "graph.html")`` draws the graph a compiled function really runs (its
rewritten :class:`~symgraph.fgraph.FunctionGraph`: fused kernels, ``Gemm``...), or the graph
of a variable or list of variables as built. The page needs no network: its script and style
are inline (``symgraph/assets/``) and the layout is computed here
(:func:`symgraph.graph_layout.layered_layout`). In the browser: drag to pan, wheel or pinch to
zoom, hover a node or an edge for its op, type and shape, click an op to fold the part of the
graph that only feeds it (click again to unfold), search by name. Explicit inputs, shared
variables (those the function updates marked), constants, outputs and updates have their own
colours; hovering an update shows the shared variable it writes.

Theano's ``theano.d3viz.d3viz(fct, outfile, copy_deps=True, *args, **kwargs)`` maps onto
:func:`d3viz` (its ``compact`` formatter option included).
"""
from __future__ import annotations

import html
import json
import os
from importlib import resources
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from symgraph.compile.function import Function
from symgraph.fgraph import FunctionGraph
from symgraph.graph import Apply, Constant, Variable, toposort
from symgraph.graph_layout import layered_layout
from symgraph.shared import SharedVariable

Drawable = Union[Function, FunctionGraph, Variable, Sequence[Variable]]

#: pixels per character of the node labels (12 px monospace) and the node padding
CHAR_WIDTH = 7.4
PADDING = 22
NODE_HEIGHT = 30
LABEL_CHARS = 34
RANK_GAP = 76


def d3viz(fct: Drawable, outfile: Union[str, os.PathLike], copy_deps: bool = True,
          compact: bool = True, *, title: Optional[str] = None) -> str:
    """Write an interactive drawing of the graph of ``fct`` to the HTML file ``outfile``.

    Parameters
    ----------
    fct : Function, FunctionGraph, Variable or sequence of Variables
        A compiled function is drawn as it was rewritten and compiled (its ``fgraph``), with
        its explicit inputs, shared variables, outputs and updates marked; variables are drawn
        as built (before any rewrite).
    outfile : path
        The page to write (its folder is created when missing).
    copy_deps : bool
        Theano's option to copy the page's scripts next to it: this page inlines everything,
        so it is self-contained whatever the value.
    compact : bool
        Theano's formatter option: True draws variables as edges; False also draws every
        intermediate variable as a node of its own.
    title : str, optional
        The page's title (default: the function's name, or "symgraph graph").

    Returns
    -------
    str
        The path written.
    """
    if not isinstance(copy_deps, bool):
        raise TypeError(f"d3viz: copy_deps must be True or False, got {copy_deps!r}")
    page = to_html(fct, compact=compact, title=title)
    outfile = os.fspath(outfile)
    folder = os.path.dirname(os.path.abspath(outfile))
    os.makedirs(folder, exist_ok=True)
    with open(outfile, "w", encoding="utf-8") as fh:
        fh.write(page)
    return outfile


def to_html(obj: Drawable, compact: bool = True, title: Optional[str] = None) -> str:
    """The self-contained HTML page :func:`d3viz` writes, as a string."""
    data = graph_data(obj, compact=compact, title=title)
    assets = resources.files("symgraph") / "assets"
    css = (assets / "d3viz.css").read_text(encoding="utf-8")
    js = (assets / "d3viz.js").read_text(encoding="utf-8")
    # JSON inside <script>: no "</script>", "<!--" or other markup can close it early
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    t = html.escape(data["title"])
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="symgraph.d3viz">\n<title>{t}</title>\n'
            f'<style>\n{css}</style>\n</head>\n<body>\n'
            f'<header><h1>{t}</h1><p id="summary"></p>\n<div class="tools">'
            f'<input id="search" type="search" placeholder="find an op or a name" '
            f'aria-label="find an op or a name"> <button id="fit" type="button">Fit</button> '
            f'<button id="unfold" type="button">Unfold all</button></div></header>\n'
            f'<div id="legend"></div>\n'
            f'<svg id="graph" role="img" aria-label="{t}"><g id="viewport"><g id="edges"></g>'
            f'<g id="nodes"></g></g></svg>\n<div id="tooltip" hidden></div>\n'
            f'<script id="graph-data" type="application/json">{payload}</script>\n'
            f'<script>\n{js}</script>\n</body>\n</html>\n')


# ---------------------------------------------------------------------------------------------
# the graph as data

def _shape(var: Variable) -> str:
    dims = ", ".join("?" if s is None else str(s) for s in var.type.shape)
    return f"({dims}{',' if var.ndim == 1 else ''})"


def _type(var: Variable) -> str:
    return f"{var.dtype} {_shape(var)}"


def _short(text: str, n: int = LABEL_CHARS) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _op_label(node: Apply) -> str:
    text = str(node.op)
    if type(node.op).__name__ == "Composite" and text.startswith("Composite{"):
        text = text[len("Composite{"):-1]  # the fused expression itself
    if len(node.outputs) == 1 and node.outputs[0].name:
        text = f"{text} → {node.outputs[0].name}"
    return text


def _constant_text(c: Constant) -> str:
    data = np.asarray(c.data)
    if data.ndim == 0:
        return repr(data.item())
    if data.size <= 4:
        return np.array2string(data, separator=", ")
    return f"array{data.shape}"


def _roots(obj) -> Tuple[List[Variable], List[Variable], List[Tuple[SharedVariable, Variable]],
                         str, str]:
    """(outputs, explicit inputs, (target, new value) updates, what, default title)."""
    if isinstance(obj, Function):
        fg = obj.fgraph
        n_up = len(obj.updates)
        n_out = len(fg.outputs) - n_up
        updates = [(t, v) for (t, _), v in zip(obj.updates, fg.outputs[n_out:])]
        return (list(fg.outputs[:n_out]), [i.variable for i in obj.inputs], updates,
                "compiled function (rewritten graph)", obj.name)
    if isinstance(obj, FunctionGraph):
        explicit = [v for v in obj.inputs if not isinstance(v, SharedVariable)]
        return list(obj.outputs), explicit, [], "function graph", "symgraph graph"
    if isinstance(obj, Variable):
        obj = [obj]
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(v, Variable) for v in obj):
        return list(obj), [], [], "graph as built (not rewritten)", "symgraph graph"
    raise TypeError(f"d3viz: expected a compiled function, a FunctionGraph, a variable or a "
                    f"non-empty list of variables, got {type(obj).__name__}")


def graph_data(obj: Drawable, compact: bool = True, title: Optional[str] = None
               ) -> Dict[str, Any]:
    """Nodes, edges and their layout, as the page's script reads them (JSON-ready)."""
    if not isinstance(compact, bool):
        raise TypeError(f"d3viz: compact must be True or False, got {compact!r}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"d3viz: title must be a string, got {type(title).__name__}")
    outputs, explicit, updates, what, default_title = _roots(obj)
    explicit_pos = {v: k for k, v in enumerate(explicit)}
    updated = {t for t, _ in updates}
    stop = set(explicit) | {t for t, _ in updates}
    nodes: List[dict] = []
    edges: List[dict] = []
    ids: Dict[object, str] = {}

    def add(key, kind: str, label: str, info: List[Tuple[str, str]], **extra) -> str:
        ids[key] = f"n{len(nodes)}"
        nodes.append({"id": ids[key], "kind": kind, "label": _short(label), "info": info,
                      **extra})
        return ids[key]

    def leaf(var: Variable, at: object = 0) -> str:
        """The node of input, shared variable or constant ``var`` drawn for consumers at
        depth ``at``: a leaf read at several depths is drawn above each of them, so no edge
        crosses the whole drawing (hovering one copy highlights the others)."""
        key = (var, at)
        if key in ids:
            return ids[key]
        if isinstance(var, SharedVariable):
            value = var.get_value(borrow=True)
            info = [("shared variable", var.name or "(unnamed)"), ("type", var.dtype),
                    ("shape", _shape(var)), ("value shape", str(tuple(np.shape(value))))]
            if var in updated:
                info.append(("updated", "yes: the function writes a new value"))
            return add(key, "shared", var.name or "shared", info, updated=var in updated,
                       same=leaf_ids[var])
        if isinstance(var, Constant):
            text = _constant_text(var)
            return add(key, "constant", text, [("constant", _short(text, 80)),
                                               ("type", var.dtype), ("shape", _shape(var))],
                       same=leaf_ids[var])
        pos = explicit_pos.get(var)
        name = var.name or (f"input {pos}" if pos is not None else "input")
        info = [("input", name if pos is None else f"{name} (argument {pos})"),
                ("type", var.dtype), ("shape", _shape(var))]
        return add(key, "input", name, info, same=leaf_ids[var])

    def source(var: Variable, at: object) -> str:
        """The node an edge carrying ``var`` to a consumer at depth ``at`` leaves from."""
        if var.owner is None or var in stop:
            return leaf(var, at)
        return ids[var] if not compact else ids[var.owner]

    def edge(var: Variable, target: str, index: Optional[int], at: object) -> None:
        info = [("variable", var.name or "(unnamed)"), ("type", var.dtype),
                ("shape", _shape(var))]
        if var.owner is not None and len(var.owner.outputs) > 1:
            info.append(("output", f"{var.index} of {len(var.owner.outputs)}"))
        if index is not None:
            info.append(("input", str(index)))
            at = cluster.get((var, at), at)
        label = var.name if (var.name and var.owner is not None and var not in stop) else ""
        edges.append({"source": source(var, at), "target": target, "label": label or "",
                      "info": info})

    order = toposort(outputs + [v for _, v in updates], stop=stop)
    depth: Dict[Apply, int] = {}
    leaf_ids: Dict[Variable, str] = {}
    for node in order:
        depth[node] = max((depth[i.owner] + 1 for i in node.inputs
                           if i.owner is not None and i not in stop), default=0)
        for i in node.inputs:
            if i.owner is None or i in stop:
                leaf_ids.setdefault(i, f"v{len(leaf_ids)}")
    for v in explicit + outputs + [t for t, _ in updates] + [v for _, v in updates]:
        if v.owner is None or v in stop:
            leaf_ids.setdefault(v, f"v{len(leaf_ids)}")
    # a leaf gets one node per cluster of consumer depths (depths at most 1 apart share it)
    uses: Dict[Variable, set] = {}
    for node in order:
        for i in node.inputs:
            uses.setdefault(i, set()).add(depth[node])
    cluster: Dict[Tuple[Variable, int], int] = {}
    first_use: Dict[Variable, object] = {}
    for var, ds in uses.items():
        start = None
        for d in sorted(ds):
            if start is None or d - start > 1:
                start = d
            cluster[(var, d)] = start
        first_use[var] = min(ds)

    for v in explicit:  # inputs first, in argument order (also when unused)
        leaf(v, first_use.get(v, "unused"))
    for node in order:
        op = node.op
        info = [("op", _short(str(op), 400)), ("class", type(op).__name__)]
        for k, out in enumerate(node.outputs):
            prefix = f"output {k} " if len(node.outputs) > 1 else ""
            if out.name:
                info.append((f"{prefix}name", out.name))
            info += [(f"{prefix}type", out.dtype), (f"{prefix}shape", _shape(out))]
        for k, inp in enumerate(node.inputs):
            info.append((f"input {k}", _type(inp)))
        kind = "fused" if type(op).__name__ == "Composite" else "apply"
        nid = add(node, kind, _op_label(node), info)
        for k, inp in enumerate(node.inputs):
            edge(inp, nid, k, depth[node])
        if not compact:
            for out in node.outputs:
                vid = add(out, "variable", out.name or _type(out),
                          [("variable", out.name or "(unnamed)"), ("type", out.dtype),
                           ("shape", _shape(out))])
                edges.append({"source": nid, "target": vid, "label": "",
                              "info": [("output", str(out.index))]})
    for k, out in enumerate(outputs):
        name = f" '{out.name}'" if out.name else ""
        oid = add(("output", k), "output", f"output {k}" + (f": {out.name}" if out.name else ""),
                  [("output", f"{k}{name}"), ("type", out.dtype), ("shape", _shape(out))])
        edge(out, oid, None, "sink")
    for k, (target, value) in enumerate(updates):
        tid = leaf(target, first_use.get(target, "unused"))
        uid = add(("update", k), "update", f"update {target.name or 'shared'}",
                  [("update of", target.name or "(unnamed shared variable)"),
                   ("type", value.dtype), ("shape", _shape(value))], target=tid)
        edge(value, uid, None, "sink")

    widths = {n["id"]: len(n["label"]) * CHAR_WIDTH + PADDING for n in nodes}
    layout = layered_layout(widths, [(e["source"], e["target"]) for e in edges])
    for n in nodes:
        n.update(w=round(widths[n["id"]], 1), h=NODE_HEIGHT, x=round(layout.x[n["id"]], 1),
                 rank=layout.rank[n["id"]])
        n["info"] = [list(pair) for pair in n["info"]]
    for e, route in zip(edges, layout.routes):
        e["route"] = [[round(x, 1), r] for x, r in route]
        e["info"] = [list(pair) for pair in e["info"]]
    kinds = [n["kind"] for n in nodes]
    leaves = list(leaf_ids)
    counts = [(len(order), "op", "ops"), (kinds.count("fused"), "fused kernel", "fused kernels"),
              (sum(1 for v in leaves if not isinstance(v, (SharedVariable, Constant))),
               "input", "inputs"),
              (sum(1 for v in leaves if isinstance(v, SharedVariable)), "shared variable",
               "shared variables"),
              (sum(1 for v in leaves if isinstance(v, Constant)), "constant", "constants"),
              (len(outputs), "output", "outputs"), (len(updates), "update", "updates")]
    summary = [f"{n} {one if n == 1 else many}" for n, one, many in counts]
    return {"title": title if title is not None else default_title, "what": what,
            "summary": summary, "rankGap": RANK_GAP, "crossings": layout.crossings,
            "nodes": nodes, "edges": edges}
