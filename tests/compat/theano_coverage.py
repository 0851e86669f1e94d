"""Coverage of Theano's public API under the redirection.

``theano_names.json`` lists the public names of each Theano module as Theano 1.0.5 itself
reports them (``list_theano_names.py``); ``docs/theano_compat.md`` lists the deliberate
omissions (a table of module, name patterns, reason). ``python tests/compat/theano_coverage.py``
prints names covered / public names per module.
"""
from __future__ import annotations

import fnmatch
import importlib
import json
import os
import re
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NAMES = os.path.join(HERE, "theano_names.json")
DOC = os.path.join(ROOT, "docs", "theano_compat.md")


def reference_names() -> Dict[str, List[str]]:
    with open(NAMES) as f:
        return json.load(f)


def omissions() -> List[Tuple[str, List[str], str]]:
    """``(module, patterns, reason)`` rows of the omissions table of the docs."""
    rows = []
    with open(DOC) as f:
        text = f.read()
    table = text.split("## Deliberate omissions", 1)[1].split("\n## ", 1)[0]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        module = cells[0].strip("`")
        patterns = re.findall(r"`([^`]+)`", cells[1])
        rows.append((module, patterns, cells[2]))
    return rows


def omitted(module: str, name: str, rows) -> bool:
    return any(m in ("*", module) and any(fnmatch.fnmatchcase(name, p) for p in patterns)
               for m, patterns, _ in rows)


def coverage() -> Dict[str, dict]:
    """Per module: the reference names, those present, those omitted, those missing."""
    import symgraph.compat.theano_alias  # noqa: F401
    rows = omissions()
    out = {}
    for module, names in reference_names().items():
        mod = importlib.import_module(module)
        present = [n for n in names if hasattr(mod, n)]
        rest = [n for n in names if n not in present]
        out[module] = {"names": names, "present": present,
                       "omitted": [n for n in rest if omitted(module, n, rows)],
                       "missing": [n for n in rest if not omitted(module, n, rows)]}
    return out


if __name__ == "__main__":
    import sys
    sys.path.insert(0, ROOT)  # this checkout's symgraph, not an installed one
    total = present = missing = 0
    print(f"{'module':40s} {'covered':>8s} {'public':>7s} {'omitted':>8s} {'missing':>8s}")
    for module, c in coverage().items():
        n, p = len(c["names"]), len(c["present"])
        total, present, missing = total + n, present + p, missing + len(c["missing"])
        print(f"{module:40s} {p:8d} {n:7d} {len(c['omitted']):8d} {len(c['missing']):8d}"
              + (f"  missing: {' '.join(c['missing'])}" if c["missing"] else ""))
    print(f"{'total':40s} {present:8d} {total:7d} {total - present - missing:8d} {missing:8d}")
