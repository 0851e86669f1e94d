"""Comparison of differential results (see ``differential_runner.py``): arrays equal to 1e-6
relative (same shape, same kind of number), errors of the same built-in class (an error that
Theano raises as a bare ``Exception`` subclass matches any error)."""
from typing import Optional

import numpy as np

RTOL, ATOL = 1e-6, 1e-9


def difference(ref: dict, ours: dict) -> Optional[str]:
    """None when ``ours`` agrees with ``ref``, else what differs."""
    if "error" in ref or "error" in ours:
        if ref.get("error") == "Exception" and "error" in ours:
            return None
        if ref.get("error") != ours.get("error"):
            return (f"Theano: {ref.get('error', 'a result')} {ref.get('message', '')[:120]!r}; "
                    f"symgraph: {ours.get('error', 'a result')} "
                    f"{ours.get('message', '')[:200]!r}")
        return None
    if "list" in ref:
        if "list" not in ours or len(ref["list"]) != len(ours["list"]):
            return f"Theano gives a list of {len(ref['list'])}, symgraph {str(ours)[:120]}"
        for k, (a, b) in enumerate(zip(ref["list"], ours["list"])):
            d = difference(a, b)
            if d:
                return f"[{k}] {d}"
        return None
    if "repr" in ref:
        return None if ref == ours else f"Theano {ref['repr']!r}, symgraph {ours}"
    if "complex" in ref:
        if "complex" not in ours:
            return f"Theano gives complex numbers, symgraph {str(ours)[:80]}"
        a, b = np.asarray(ref["complex"]), np.asarray(ours["complex"])
        return None if a.shape == b.shape and np.allclose(a, b, RTOL, ATOL) else \
            "complex values differ"
    if "array" not in ours:
        return f"Theano gives an array, symgraph {str(ours)[:120]}"
    if list(ref["shape"]) != list(ours["shape"]):
        return f"shape: Theano {ref['shape']}, symgraph {ours['shape']}"
    kinds = {ref["kind"], ours["kind"]}
    if len(kinds) > 1 and not kinds <= {"i", "u"}:
        return f"kind of number: Theano {ref['kind']!r}, symgraph {ours['kind']!r}"
    a = np.asarray(ref["array"], dtype=float)
    b = np.asarray(ours["array"], dtype=float)
    if not np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True):
        return f"values: Theano {a.ravel()[:4]}, symgraph {b.ravel()[:4]}"
    return None
