"""The loops a back end gives the pooling, convolution and product ops (``buffer.loops`` in
their emitted code, see :meth:`symgraph.op.Op.emit_into`): window loops, and products that
skip the zeros of a sparse left operand.

The NumPy back end has no window loops: those methods of :class:`WindowLoops` return None and
the op runs its NumPy code; its products leave out the all-zero columns or rows of their left
operand (:mod:`symgraph.backends.zero_slices`, BLAS on what remains). The numba back end's
compiled loops are :class:`symgraph.backends.numba_windows.NumbaWindowLoops`.
"""
from __future__ import annotations

from symgraph.backends import zero_slices


class WindowLoops:
    """Loops of the NumPy back end: no window loops (those methods return None, and the op
    runs its NumPy code); products without the all-zero slices of their left operand."""

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

    def correlate3x3(self, x, k, pad, out, work, bias=None, relu=False):
        """The stride-1 correlation of ``x`` (N, C, H, W) by 3x3 kernels ``k`` (O, C, 3, 3),
        padding ``pad``, into ``out`` (N, O, Ho, Wo), work arrays in ``work``, plus ``bias``
        (O,) and rectified when ``relu``; ``out``, or None when these loops do not take the
        case."""
        return None

    def correlate3x3_grad_weights(self, x, gz, pad, work):
        """The filter gradient of :meth:`correlate3x3` (``gz``: the gradient of its output),
        an (O, C, 3, 3) work array, or None when these loops do not take the case."""
        return None

    def sparse_product(self, a, b, out):
        """``a @ b`` (matrices) into ``out`` without the zeros of ``a`` (here: its all-zero
        columns and rows, :func:`symgraph.backends.zero_slices.product`); ``out``, or None
        (``out`` untouched) when these loops do not take the case or ``a`` is not sparse
        enough: the op then computes the dense product."""
        return zero_slices.product(a, b, out)

    def sparse_accumulate_late(self, c, alpha, a, b):
        """A callable without arguments, run by C alone, that adds ``alpha * a @ b`` (over the
        nonzero entries of ``a``) into ``c`` in place (see
        :meth:`symgraph.op.Op.emit_update_late`), or None as for :meth:`sparse_product`."""
        return None


NUMPY_LOOPS = WindowLoops()
