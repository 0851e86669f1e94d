"""Look at graphs: ``debugprint`` (a text tree with types), ``to_dot``/``pydotprint`` (DOT,
drawn to SVG/PNG when Graphviz's ``dot`` program is installed) and ``show_source`` (the code
the linker generated).

Each accepts a variable, a list of variables, or a compiled :class:`~symgraph.Function` (whose
optimized graph is shown). networkx is used here only, to build the DOT graph.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from typing import IO, Dict, List, Optional, Sequence, Union

from symgraph.graph import Constant, Variable, toposort
from symgraph.shared import SharedVariable

Graphable = Union[Variable, Sequence[Variable], "object"]


def _roots(obj) -> List[Variable]:
    """Output variables of ``obj`` (a variable, a list of them, or a compiled function)."""
    fgraph = getattr(obj, "fgraph", None)
    if fgraph is not None:
        return list(fgraph.outputs)
    if isinstance(obj, Variable):
        return [obj]
    if isinstance(obj, (list, tuple)) and all(isinstance(v, Variable) for v in obj):
        return list(obj)
    raise TypeError(f"expected a variable, a list of variables or a compiled function, got "
                    f"{type(obj).__name__}")


def _type_str(var: Variable) -> str:
    dims = ", ".join("?" if s is None else str(s) for s in var.type.shape)
    if var.ndim == 1:
        dims += ","
    return f"{var.dtype}({dims})"


def _leaf_label(var: Variable) -> str:
    if isinstance(var, SharedVariable):
        return f"{var.name or 'shared'} [shared]"
    if isinstance(var, Constant):
        return f"Constant{{{var}}}"
    return var.name or "<input>"


def debugprint(obj, file: Optional[IO[str]] = None, print_type: bool = True,
               ids: bool = True, depth: int = -1) -> str:
    """Print (to ``file``, default stdout) and return a text tree of the graph of ``obj``.

    Each line shows an op application (or an input), its output type, and an id; a node
    already printed is referred to by its id instead of being expanded again. ``depth``
    (when not negative) stops the tree that many levels below each output.
    """
    names: Dict[object, str] = {}
    lines: List[str] = []

    def ident(key) -> str:
        if key not in names:
            names[key] = _letters(len(names))
        return names[key]

    def walk(root: Variable) -> None:
        # depth first, inputs in order, with an explicit stack (graphs of any depth)
        stack = [(root, 0)]
        while stack:
            var, level = stack.pop()
            pad = " |" * level
            typ = f" {_type_str(var)}" if print_type else ""
            node = var.owner
            if node is None:
                tag = f" [id {ident(var)}]" if ids else ""
                lines.append(f"{pad}{_leaf_label(var)}{tag}{typ}")
                continue
            seen = node in names
            tag = f" [id {ident(node)}]" if ids else ""
            out = f".{var.index}" if len(node.outputs) > 1 else ""
            name = f" '{var.name}'" if var.name else ""
            lines.append(f"{pad}{node.op}{out}{name}{tag}{typ}" + (" ..." if seen else ""))
            if not seen and level != depth:
                stack.extend((inp, level + 1) for inp in reversed(node.inputs))

    roots = _roots(obj)
    for k, root in enumerate(roots):
        if len(roots) > 1:
            lines.append(f"output {k}:")
        walk(root)
    fn_updates = getattr(obj, "updates", None)
    if fn_updates and getattr(obj, "fgraph", None) is not None:
        n_up = len(fn_updates)
        lines.append(f"(the last {n_up} output(s) are the new values of "
                     f"{', '.join(str(t) for t, _ in fn_updates)})")
    text = "\n".join(lines)
    print(text, file=file if file is not None else sys.stdout)
    return text


def _letters(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(ord("A") + r) + s
    return s


def to_networkx(obj):
    """A ``networkx.DiGraph`` with one node per variable and per op application."""
    import networkx as nx
    g = nx.DiGraph()
    roots = _roots(obj)
    ids: Dict[object, str] = {}

    def nid(x) -> str:
        if x not in ids:
            ids[x] = f"n{len(ids)}"
        return ids[x]

    for node in toposort(roots):
        g.add_node(nid(node), label=str(node.op), shape="box", kind="apply")
        for i, inp in enumerate(node.inputs):
            if inp.owner is None:
                shape = "ellipse"
                color = "lightblue" if isinstance(inp, SharedVariable) else \
                    "lightgrey" if isinstance(inp, Constant) else "lightgreen"
                g.add_node(nid(inp), label=f"{_leaf_label(inp)}\\n{_type_str(inp)}",
                           shape=shape, style="filled", fillcolor=color, kind="input")
                g.add_edge(nid(inp), nid(node), label=str(i))
            else:
                g.add_edge(nid(inp.owner), nid(node), label=_type_str(inp))
    for k, out in enumerate(roots):
        o = f"out{k}"
        g.add_node(o, label=f"output {k}\\n{_type_str(out)}", shape="plaintext", kind="output")
        if out.owner is None and nid(out) not in g:
            g.add_node(nid(out), label=_leaf_label(out), shape="ellipse", kind="input")
        g.add_edge(nid(out.owner) if out.owner is not None else nid(out), o)
    return g


def to_dot(obj) -> str:
    """DOT source of the graph of ``obj`` (ops as boxes, inputs as ellipses, shared in blue)."""
    g = to_networkx(obj)
    out = ["digraph symgraph {", '  rankdir="TB";', "  node [fontname=Helvetica];"]
    for n, attrs in g.nodes(data=True):
        items = [f'{k}="{_esc(v)}"' for k, v in attrs.items() if k != "kind"]
        out.append(f"  {n} [{', '.join(items)}];")
    for a, b, attrs in g.edges(data=True):
        label = f' [label="{_esc(attrs["label"])}"]' if attrs.get("label") else ""
        out.append(f"  {a} -> {b}{label};")
    out.append("}")
    return "\n".join(out) + "\n"


def _esc(value) -> str:
    return str(value).replace('"', '\\"')


def pydotprint(obj, outfile: str = "symgraph.png", format: Optional[str] = None) -> str:
    """Write the graph of ``obj``: DOT text for ``.dot`` files, else an image rendered by
    Graphviz's ``dot`` (``format`` from the extension: png, svg, pdf). Returns the path."""
    dot = to_dot(obj)
    fmt = format or (outfile.rsplit(".", 1)[-1] if "." in outfile else "png")
    if fmt == "dot":
        with open(outfile, "w") as fh:
            fh.write(dot)
        return outfile
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(f"pydotprint: rendering {fmt} needs Graphviz's 'dot' program; "
                           f"install graphviz, or write the DOT text with outfile='*.dot'")
    subprocess.run([exe, f"-T{fmt}", "-o", outfile], input=dot.encode(), check=True)
    return outfile


def show_source(fn, file: Optional[IO[str]] = None) -> str:
    """Print and return the Python source the linker generated for compiled ``fn``."""
    src = getattr(fn, "source", None)
    if src is None:
        raise TypeError(f"show_source expects a compiled function, got {type(fn).__name__}")
    print(src, file=file if file is not None else sys.stdout)
    return src


pp = debugprint
