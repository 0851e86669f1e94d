"""Node-by-node time of a compiled function: which lines of its generated code the time goes to.

A compiled function is one generated Python function with one line (or a few) per node of the
graph, each node's first line carrying a comment ``# Op -> type`` (fused programs: a comment
line of their own). :func:`profile_nodes` runs the function under a line tracer set on that
frame only (kernels and ``perform`` calls run untraced), charges the time between two line
events to the earlier line, and sums it per node; :func:`by_kind` then groups the nodes
(convolutions by direction, pooling and its gradient, elementwise programs, reductions,
products, the commit section). The tracer costs about a microsecond per line, negligible
against nodes of tens of microseconds or more, so the sum of the nodes stays within a few
percent of the untraced call.
"""
from __future__ import annotations

import re
import sys
import time
from collections import OrderedDict
from typing import Callable, Dict, List, Sequence, Tuple

_COMMENT = re.compile(r"#\s*(?P<op>[A-Za-z_][\w]*)(?P<props>\{.*?\})?(?:\s*->|\s*$)")

#: (label, test on the op name and its props) in the order they are tried
KINDS: Tuple[Tuple[str, Callable[[str, str], bool]], ...] = (
    ("conv forward (with bias and ReLU where fused)", lambda op, p: op in ("Conv2d",
                                                                            "Conv2dBias")),
    ("conv grad wrt inputs", lambda op, p: op == "Conv2dGradInputs"),
    ("conv grad wrt filters", lambda op, p: op == "Conv2dGradWeights"),
    ("pool forward", lambda op, p: op == "Pool2d"),
    ("pool grad", lambda op, p: op in ("Pool2dGrad", "MaxPool2dGradGrad")),
    ("ReLU mask / bias add (elementwise)", lambda op, p: op == "Composite"),
    ("bias sums (reductions)", lambda op, p: op in ("Sum", "SumToDims", "SumToShape")),
    ("matrix products", lambda op, p: op in ("Dot", "Gemm", "Matmul")),
    ("softmax cross-entropy", lambda op, p: op.startswith("Softmax")),
    ("random (dropout masks)", lambda op, p: op == "RandomDraw"),
    ("layout (reshape, dimshuffle)", lambda op, p: op in ("Reshape", "DimShuffle", "Flatten")),
)


def _line_owners(source: str) -> Dict[int, str]:
    """Line number (1-based, in the generated source) -> the node label it belongs to."""
    owners: Dict[int, str] = {}
    current = "entry (input checks, shared reads)"
    commit = False
    for no, text in enumerate(source.splitlines(), start=1):
        stripped = text.strip()
        if stripped.startswith("# commit") or stripped.startswith("_out ="):
            commit = True
        if commit:
            owners[no] = "commit (updates: Adam)"
            continue
        if "#" in text:
            m = _COMMENT.search(text[text.index("#"):])
            if m and m.group("op") not in ("shared",):
                current = f"{m.group('op')}{m.group('props') or ''}@{no}"
        owners[no] = current
    return owners


def profile_nodes(f, args: Sequence, calls: int = 5,
                  clock: Callable[[], float] = time.thread_time) -> "OrderedDict[str, float]":
    """Median seconds per call of every node of the compiled function ``f`` over ``calls``
    traced calls with ``args`` (labels ``Op{props}@line``, in program order). The default
    clock is this thread's CPU time, which a machine shared with other jobs disturbs less than
    the wall clock (time spent descheduled is not counted)."""
    code = f._fn.__code__
    owners = _line_owners(f._main_source)
    per_call: List[Dict[str, float]] = []
    state = {"line": None, "t": 0.0, "acc": None}

    def local(frame, event, arg):
        now = clock()
        prev = state["line"]
        if prev is not None:
            label = owners.get(prev, "other")  # the source compiled is f._main_source
            state["acc"][label] = state["acc"].get(label, 0.0) + now - state["t"]
        state["line"] = frame.f_lineno if event == "line" else None
        state["t"] = clock()
        return local

    def glob(frame, event, arg):
        return local if frame.f_code is code else None

    f(*args)  # warm
    for _ in range(calls):
        state.update(line=None, acc={})
        sys.settrace(glob)
        try:
            f(*args)
        finally:
            sys.settrace(None)
        per_call.append(state["acc"])
    labels = list(OrderedDict.fromkeys(k for acc in per_call for k in acc))
    out: "OrderedDict[str, float]" = OrderedDict()
    for k in labels:
        vals = sorted(acc.get(k, 0.0) for acc in per_call)
        out[k] = vals[len(vals) // 2]
    return out


def kind_of(label: str) -> str:
    """The group (:data:`KINDS`) of a node label from :func:`profile_nodes`."""
    if "@" not in label:
        return label
    head = label.rsplit("@", 1)[0]
    op, _, props = head.partition("{")
    for kind, test in KINDS:
        if test(op, props):
            return kind
    return "other (shapes, scalars, ...)"


def by_kind(nodes: Dict[str, float]) -> "OrderedDict[str, Tuple[float, int]]":
    """(seconds, node count) per group, largest first."""
    acc: Dict[str, List[float]] = {}
    for label, t in nodes.items():
        acc.setdefault(kind_of(label), []).append(t)
    rows = sorted(((k, (sum(v), len(v))) for k, v in acc.items()), key=lambda kv: -kv[1][0])
    return OrderedDict(rows)
