"""``theano.compile.MonitorMode``: a mode that calls ``pre_func(i, node, fn)`` and
``post_func(i, node, fn)`` around every node, where ``fn.inputs`` and ``fn.outputs`` are
Theano's storage cells (one-element lists) of the node's values.

Nodes run one by one (no fusion). ``pre_func`` is called just before ``post_func`` with the
inputs (the outputs' cells hold None), once the node has run: the calls come in Theano's
order; only a ``pre_func`` that changes an input's value would see a difference.
"""
from __future__ import annotations

import numpy as np

from symgraph.compat.theano.compile.mode import Mode


class _Cells:
    def __init__(self, inputs, outputs):
        self.inputs = [[v] for v in inputs]
        self.outputs = [[v] for v in outputs]


class MonitorMode(Mode):
    """``MonitorMode(pre_func=None, post_func=None, optimizer='default', linker=None)``."""

    def __init__(self, pre_func=None, post_func=None, optimizer="default", linker=None,
                 **fields):
        if fields:  # dataclasses.replace rebuilding from fields
            super().__init__(**fields)
            return
        super().__init__(linker=linker, optimizer=optimizer, name="MonitorMode")
        object.__setattr__(self, "pre_func", pre_func)
        object.__setattr__(self, "post_func", post_func)
        order = {}

        def monitor(node, inputs, outputs):
            i = order.setdefault(node, len(order))
            if pre_func is not None:
                pre_func(i, node, _Cells(inputs, [None] * len(outputs)))
            if post_func is not None:
                post_func(i, node, _Cells(inputs, outputs))
        object.__setattr__(self, "check", monitor)
        object.__setattr__(self, "fuse", False)


def detect_nan(i, node, fn):
    """A ``post_func`` printing the node and its values when an output has a NaN."""
    for output in fn.outputs:
        value = output[0]
        if isinstance(value, np.ndarray) and value.dtype.kind in "fc" and \
                np.isnan(value).any():
            print("*** NaN detected ***")
            print(node)
            print("Inputs : %s" % [cell[0] for cell in fn.inputs])
            print("Outputs: %s" % [cell[0] for cell in fn.outputs])
            break

