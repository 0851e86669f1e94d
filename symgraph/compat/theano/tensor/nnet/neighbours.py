"""``theano.tensor.nnet.neighbours``: ``images2neibs`` (the patches of a batch of images as the
rows of a matrix) and ``neibs2images`` (its inverse for non-overlapping patches).

``Images2Neibs`` reads a strided view of the (padded) images; its gradient, ``Neibs2Images``,
adds each row back onto the patch it came from. The two are each other's adjoint, so both have
gradients of any order.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops.join import stack
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType

MODES = ("valid", "ignore_borders", "half", "full")


def _geometry(shape, neib, step, mode):
    """(padding rows, padding cols, windows along rows, windows along cols)."""
    (h, w), (nh, nw), (sh, sw) = shape, neib, step
    if mode == "half":
        ph, pw = nh // 2, nw // 2
    elif mode == "full":
        ph, pw = nh - 1, nw - 1
    else:
        ph = pw = 0
    hp, wp = h + 2 * ph, w + 2 * pw
    if mode == "valid" and ((hp - nh) % sh or (wp - nw) % sw or hp < nh or wp < nw):
        # a TypeError, as Theano raises here
        raise TypeError(f"images2neibs(mode='valid'): patches {neib} with step {step} do not "
                        f"tile images of {shape} exactly; use mode='ignore_borders'")
    return ph, pw, (hp - nh) // sh + 1, (wp - nw) // sw + 1


def _neibs(x, neib, step, mode):
    n, c, h, w = x.shape
    ph, pw, oh, ow = _geometry((h, w), neib, step, mode)
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    x = np.ascontiguousarray(x)
    s = x.strides
    view = as_strided(x, (n, c, oh, ow) + tuple(neib),
                      (s[0], s[1], s[2] * step[0], s[3] * step[1], s[2], s[3]), writeable=False)
    return view.reshape(n * c * oh * ow, neib[0] * neib[1])


def _images(rows, shape, neib, step, mode):
    n, c, h, w = (int(v) for v in shape)
    ph, pw, oh, ow = _geometry((h, w), neib, step, mode)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=rows.dtype)
    patches = rows.reshape(n, c, oh, ow, neib[0], neib[1])
    for i in range(neib[0]):
        for j in range(neib[1]):
            out[:, :, i:i + step[0] * oh:step[0], j:j + step[1] * ow:step[1]] += \
                patches[:, :, :, :, i, j]
    return np.ascontiguousarray(out[:, :, ph:ph + h, pw:pw + w])


class _NeibsBase(Op):
    props = ("neib_shape", "neib_step", "mode")
    copies = True

    def __init__(self, neib_shape: Sequence[int], neib_step: Sequence[int], mode: str):
        if mode not in MODES:
            raise NotImplementedError(f"images2neibs: mode {mode!r} is not supported; use one of "
                                      f"{MODES}")
        self.neib_shape = tuple(int(v) for v in neib_shape)
        self.neib_step = tuple(int(v) for v in neib_step)
        self.mode = mode


class Images2Neibs(_NeibsBase):
    """The ``neib_shape`` patches of a 4-d tensor, every ``neib_step``, as the rows of a matrix
    (patches of image 0 channel 0 first, row-major). Gradient: :class:`Neibs2Images`."""

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim != 4:
            raise TypeError(f"images2neibs: expected a 4-d tensor, got {x} of type {x.type}")
        cols = self.neib_shape[0] * self.neib_shape[1]
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, (None, cols)))])

    def perform(self, x):
        return _neibs(x, self.neib_shape, self.neib_step, self.mode)

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        return [Neibs2Images(self.neib_shape, self.neib_step, self.mode)(output_grads[0],
                                                                         x.shape)]


class Neibs2Images(_NeibsBase):
    """The adjoint of :class:`Images2Neibs`: each row added back onto its patch of a zero
    tensor of ``shape``. Gradient: :class:`Images2Neibs` of the output gradient."""

    def make_node(self, rows, shape) -> Apply:
        rows, shape = as_tensor_variable(rows), as_tensor_variable(shape)
        return Apply(self, [rows, shape], [TensorVariable(TensorType(rows.dtype, (None,) * 4))])

    def perform(self, rows, shape):
        return _images(rows, shape, self.neib_shape, self.neib_step, self.mode)

    def infer_shape(self, node, shapes):
        s = node.inputs[1]
        return [tuple(s[k] for k in range(4))]

    def grad(self, inputs, outputs, output_grads):
        return [Images2Neibs(self.neib_shape, self.neib_step, self.mode)(output_grads[0]), None]


def images2neibs(ten4, neib_shape, neib_step=None, mode: str = "valid") -> Variable:
    """The ``neib_shape`` patches of a (batch, channels, rows, cols) tensor as the rows of a
    matrix; ``neib_step`` defaults to ``neib_shape`` (non-overlapping patches)."""
    neib_shape = tuple(int(v) for v in neib_shape)
    step = neib_shape if neib_step is None else tuple(int(v) for v in neib_step)
    return Images2Neibs(neib_shape, step, mode)(ten4)


def neibs2images(neibs, neib_shape, original_shape, mode: str = "valid") -> Variable:
    """The images whose non-overlapping ``neib_shape`` patches are the rows of ``neibs``."""
    neib_shape = tuple(int(v) for v in neib_shape)
    if isinstance(original_shape, (list, tuple)):
        original_shape = stack([as_tensor_variable(s, dtype="int64") if not isinstance(
            s, (int, np.integer)) else as_tensor_variable(np.int64(s)) for s in original_shape])
    return Neibs2Images(neib_shape, neib_shape, mode)(neibs, original_shape)


from symgraph.compat.theano.gradient import grad_not_implemented, grad_undefined  # noqa: E402
