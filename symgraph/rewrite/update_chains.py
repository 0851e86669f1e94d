"""Elementwise intermediates recomputed inside the updates that read them.

An optimizer's state update often feeds a value that several updates read: AdaDelta's step
``dx = -sqrt(Edx2 + eps) / sqrt(Eg2' + eps) * g`` is read by the parameter's update
``p + dx`` and by ``Edx2' = rho * Edx2 + (1 - rho) * dx ** 2``, and it reads the new
``Eg2'``. Computed once, ``dx`` is an array of the parameter's size written and read back
through memory, and ``Eg2'``, which ``dx`` reads before the commit, cannot be computed into
its variable's spare buffer (:mod:`symgraph.compile.storage` defers an update only when its
value feeds nothing but deferred updates): it gets a new array every call.

:func:`inline_into_updates` puts the program of such an intermediate (a fused elementwise
program every reader of which is the fused program of an update of the same rank) inside each
of its readers (:func:`~symgraph.ops.composite.inline_producer`). The updates then form a chain
that a back end with compiled loops runs as one loop over the elements, reading each operand
once and writing only spare buffers; the intermediate costs a few more arithmetic operations
per element instead of two passes through memory. The steps and their order do not change, so
neither do the values.
"""
from __future__ import annotations

from typing import Optional, Set

from symgraph.fgraph import OUTPUT, FunctionGraph
from symgraph.graph import Apply, Variable
from symgraph.ops.composite import inline_producer
from symgraph.rewrite.fusion import not_smaller

#: an intermediate is not recomputed into readers whose programs would grow past this many
#: steps (the back ends keep longer programs out of compiled loops)
MAX_STEPS = 64


def _inlinable(fgraph: FunctionGraph, node: Apply, updates: Set[Variable]) -> Optional[list]:
    """The readers of ``node``'s output when it may be recomputed inside each of them: fused
    programs computing one of ``updates``, of its rank and not smaller than it (else it would
    be computed once per broadcast element)."""
    if node.op.program is None or len(node.outputs) != 1 or node.outputs[0].ndim == 0:
        return None
    out = node.outputs[0]
    readers = []
    for client, _ in fgraph.clients.get(out, ()):
        if client is OUTPUT or client.op.program is None or len(client.outputs) != 1:
            return None
        value = client.outputs[0]
        if value not in updates or not not_smaller(out, value) or \
                len(client.op.program) + len(node.op.program) > MAX_STEPS:
            return None
        readers.append(client)
    return readers or None


def inline_into_updates(fgraph: FunctionGraph, n_outputs: int) -> int:
    """Recompute, inside every reader, each fused intermediate read only by the fused updates
    (``fgraph.outputs[n_outputs:]``) of its rank; returns how many were.

    One pass from the outputs back: a node's readers change only when a node after it is
    recomputed into them, which the pass has then already done, so chains of intermediates
    go whole."""
    updates = set(fgraph.outputs[n_outputs:])
    count = 0
    for node in reversed(fgraph.toposort()):
        if node not in fgraph.apply_nodes:
            continue  # pruned: recomputed into its readers earlier in the pass
        readers = _inlinable(fgraph, node, updates)
        if readers is None:
            continue
        for reader in dict.fromkeys(readers):
            old = reader.outputs[0]
            new = inline_producer(reader, node.outputs[0])
            fgraph.replace(old, new, "inline_into_updates")
            updates.discard(old)
            updates.add(new)
        count += 1
    return count
