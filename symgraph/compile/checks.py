"""Run-time checks of the debug and NaN-guard modes, called after every node."""
from __future__ import annotations

import numpy as np


class NodeCheckError(AssertionError):
    """A node's compiled value differs from its reference, or is not finite."""


def _describe(node) -> str:
    ins = ", ".join(f"{v}" for v in node.inputs)
    return f"{node.op}({ins})"


def snapshot(inputs: tuple) -> tuple:
    """Copies of a node's input values, taken before it runs (DebugMode)."""
    return tuple(np.array(i, copy=True) for i in inputs)


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def make_hook(kind, node):
    """Return ``hook(outputs, inputs, before=None)`` for ``kind`` in ``('debug', 'nanguard')``,
    or for a callable ``kind(node, inputs, outputs)`` (a monitor, called after every node).

    ``before`` (DebugMode) holds copies of the inputs taken before the node ran: an input that
    changed is an undeclared in-place write, and the reference ``perform`` runs on the copies.
    """
    if callable(kind):
        def monitor(outputs, inputs, before=None):
            kind(node, inputs, outputs)
        return monitor
    if kind == "nanguard":
        def nanguard(outputs, inputs, before=None):
            for val, var in zip(inputs, node.inputs):
                # an earlier node would have raised: a non-finite input comes from outside
                arr = np.asarray(val)
                if var.owner is None and arr.dtype.kind in "fc" and \
                        not np.all(np.isfinite(arr)):
                    what = "nan" if np.any(np.isnan(arr)) else "inf"
                    kind = "constant" if hasattr(var, "data") else \
                        "shared variable" if hasattr(var, "container") else "input"
                    raise NodeCheckError(f"NanGuardMode: {what} in {kind} {var} (type "
                                         f"{var.type}), read by {_describe(node)}")
            for out, var in zip(outputs, node.outputs):
                arr = np.asarray(out)
                if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
                    what = "nan" if np.any(np.isnan(arr)) else "inf"
                    raise NodeCheckError(f"NanGuardMode: {what} produced by {_describe(node)} "
                                         f"(output {var} of type {var.type})")
        return nanguard
    if kind == "debug":
        def debug(outputs, inputs, before=None):
            if before is not None:
                for k, (was, now) in enumerate(zip(before, inputs)):
                    if not _same(was, now):
                        raise NodeCheckError(
                            f"DebugMode: {_describe(node)} modified its input {k} "
                            f"({node.inputs[k]}) in place; an op must not write into its "
                            f"inputs")
                # a result living in an input's memory must be declared (view_map): the linker
                # copies declared views before handing them out, and never writes into them
                declared = getattr(node.op, "view_map", {}) or {}
                for i, out in enumerate(outputs):
                    for k, now in enumerate(inputs):
                        if isinstance(out, np.ndarray) and isinstance(now, np.ndarray) and \
                                k not in declared.get(i, ()) and np.shares_memory(out, now):
                            raise NodeCheckError(
                                f"DebugMode: {_describe(node)} returned output {i} in the "
                                f"memory of input {k} ({node.inputs[k]}) without declaring "
                                f"it in view_map")
                inputs = [np.array(b) for b in before]
            ref = node.op.runner(node)(*[np.array(i) if isinstance(i, np.ndarray) else i
                                    for i in inputs])
            refs = ref if len(node.outputs) > 1 else (ref,)
            for out, want, var in zip(outputs, refs, node.outputs):
                got, want = np.asarray(out), np.asarray(want)
                if got.shape != want.shape:
                    raise NodeCheckError(f"DebugMode: {_describe(node)} computed shape "
                                         f"{got.shape}, perform gives {want.shape}")
                static = var.type.shape
                if got.ndim != len(static) or any(
                        want_d is not None and want_d != got_d
                        for want_d, got_d in zip(static, got.shape)):
                    raise NodeCheckError(f"DebugMode: {_describe(node)} computed shape "
                                         f"{got.shape}, its type says {var.type}")
                if got.dtype != np.dtype(var.type.dtype):
                    raise NodeCheckError(f"DebugMode: {_describe(node)} computed dtype "
                                         f"{got.dtype}, its type says {var.type.dtype}")
                tol = 1e-4 if got.dtype in (np.float32, np.float16) else 1e-7
                if got.dtype.kind in "fc":
                    ok = np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
                else:
                    ok = np.array_equal(got, want)
                if not ok:
                    raise NodeCheckError(f"DebugMode: {_describe(node)} differs from its "
                                         f"perform reference (max abs diff "
                                         f"{np.max(np.abs(got - want)) if got.size else 0})")
        return debug
    raise ValueError(f"unknown check {kind!r}")
