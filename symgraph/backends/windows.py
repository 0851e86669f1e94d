"""The window loops a back end gives the pooling ops (``buffer.loops`` in their emitted code,
see :meth:`symgraph.op.Op.emit_into`).

The NumPy back end has none: every method of :class:`WindowLoops` returns None and the op runs
its NumPy code. The numba back end's compiled loops are
:class:`symgraph.backends.numba_windows.NumbaWindowLoops`.
"""
from __future__ import annotations


class WindowLoops:
    """Window loops of the NumPy back end: none (every method returns None, and the op runs
    its NumPy code)."""

    name = "numpy"

    def max_pool(self, x, zshape, out, ws, stride, pad):
        """Max pooling of ``x`` (to shape ``zshape``) into the array ``out()`` returns (called
        only when the loops take the case, so an unused buffer is never allocated); that
        array, or None."""
        return None

    def max_pool_grad(self, x, gz, z, out, ws, stride, pad):
        """Max pooling's gradient (``z``: the pooled maxima or None) into the array ``out()``
        returns; that array, or None."""
        return None


NUMPY_LOOPS = WindowLoops()
