"""2-d convolution of NCHW batches: im2col through a strided view plus one BLAS product.

``conv2d(x, w)`` with ``x`` of shape (N, C, H, W) and filters ``w`` of shape (O, C, kh, kw).
With ``filter_flip=True`` (Theano's default) it is a true convolution, otherwise a
cross-correlation. The gradients are two ops of their own, written with the same im2col view:

* w.r.t. the filters: ``gw[o, c, i, j] = sum_{n, y, x} gz[n, o, y, x] * cols[n, c, y, x, i, j]``
* w.r.t. the input: ``gcols = gz . w`` scattered back over the windows (col2im).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np
from numpy.lib.stride_tricks import as_strided

from symgraph.graph import Apply, Variable, as_tensor_variable
from symgraph.op import Op
from symgraph.ops.shape import shape_i
from symgraph.types import TensorType, float_dtypes, result_dtype

BorderMode = Union[str, int, Tuple[int, int]]


def _pair(v, what: str) -> Tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    v = tuple(int(e) for e in v)
    if len(v) != 2:
        raise ValueError(f"{what} must be an int or a pair of ints, got {v}")
    return v


def padding(border_mode: BorderMode, kshape: Tuple[int, int]) -> Tuple[int, int]:
    """Zero padding (rows, cols) that ``border_mode`` means for a kernel of ``kshape``."""
    kh, kw = kshape
    if border_mode == "valid":
        return 0, 0
    if border_mode == "full":
        return kh - 1, kw - 1
    if border_mode == "half":
        return kh // 2, kw // 2
    if isinstance(border_mode, str):
        raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half', an int or a pair "
                         f"of ints, got {border_mode!r}")
    pad = _pair(border_mode, "conv2d border_mode")
    if min(pad) < 0:
        raise ValueError(f"conv2d: negative padding {pad}")
    return pad


def _out_len(n: Optional[int], k: Optional[int], pad: int, stride: int) -> Optional[int]:
    if n is None or k is None:
        return None
    return (n + 2 * pad - k) // stride + 1


def im2col(x: np.ndarray, kh: int, kw: int, pad: Tuple[int, int], stride: Tuple[int, int]
           ) -> np.ndarray:
    """Strided view of shape (N, C, Ho, Wo, kh, kw) over the zero-padded ``x`` (no copy)."""
    ph, pw = pad
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, h, w = x.shape
    sh, sw = stride
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    if ho <= 0 or wo <= 0:
        raise ValueError(f"conv2d: kernel ({kh}, {kw}) larger than the padded input ({h}, {w})")
    s = x.strides
    return as_strided(x, (n, c, ho, wo, kh, kw),
                      (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]), writeable=False)


def _kernel(w: np.ndarray, flip: bool) -> np.ndarray:
    return w[:, :, ::-1, ::-1] if flip else w


def conv_forward(x, w, pad, stride, flip):
    cols = im2col(x, w.shape[2], w.shape[3], pad, stride)
    # (N, C, Ho, Wo, kh, kw) x (O, C, kh, kw) -> (N, Ho, Wo, O): one GEMM after tensordot's copy
    out = np.tensordot(cols, _kernel(w, flip), axes=([1, 4, 5], [1, 2, 3]))
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def conv_grad_weights(x, gz, kshape, pad, stride, flip):
    cols = im2col(x, kshape[0], kshape[1], pad, stride)
    gw = np.tensordot(gz, cols, axes=([0, 2, 3], [0, 2, 3]))  # (O, C, kh, kw)
    return np.ascontiguousarray(_kernel(gw, flip))


def conv_grad_inputs(gz, w, xshape, pad, stride, flip):
    n, c, h, wd = (int(s) for s in xshape)
    kh, kw = w.shape[2], w.shape[3]
    ph, pw = pad
    sh, sw = stride
    ho, wo = gz.shape[2], gz.shape[3]
    gcols = np.tensordot(gz, _kernel(w, flip), axes=([1], [0]))  # (N, Ho, Wo, C, kh, kw)
    gx = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=gcols.dtype)
    for i in range(kh):
        for j in range(kw):
            gx[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += gcols[:, :, :, :, i, j].transpose(
                0, 3, 1, 2)
    return gx[:, :, ph:ph + h, pw:pw + wd]


class _ConvBase(Op):
    props = ("pad", "stride", "flip")

    def __init__(self, pad: Tuple[int, int], stride: Tuple[int, int], flip: bool):
        self.pad, self.stride, self.flip = tuple(pad), tuple(stride), bool(flip)


class Conv2d(_ConvBase):
    """Batched 2-d convolution (NCHW input, (O, C, kh, kw) filters).

    Gradient: :class:`Conv2dGradInputs` for the input, :class:`Conv2dGradWeights` for the filters.
    """

    def make_node(self, x, w) -> Apply:
        x, w = as_tensor_variable(x), as_tensor_variable(w)
        if x.ndim != 4:
            raise TypeError(f"conv2d: input must be 4-d (batch, channels, rows, cols), got {x} "
                            f"of type {x.type}")
        if w.ndim != 4:
            raise TypeError(f"conv2d: filters must be 4-d (out, in, rows, cols), got {w} of "
                            f"type {w.type}")
        cx, cw = x.type.shape[1], w.type.shape[1]
        if cx is not None and cw is not None and cx != cw:
            raise ValueError(f"conv2d: input has {cx} channels but filters expect {cw}")
        dtype = result_dtype(x.dtype, w.dtype)
        if dtype not in float_dtypes:
            raise TypeError(f"conv2d: needs float inputs, got {x.dtype} and {w.dtype}")
        shp = (x.type.shape[0], w.type.shape[0],
               _out_len(x.type.shape[2], w.type.shape[2], self.pad[0], self.stride[0]),
               _out_len(x.type.shape[3], w.type.shape[3], self.pad[1], self.stride[1]))
        for d in shp[2:]:
            if d is not None and d <= 0:
                raise ValueError(f"conv2d: filters {w.type.shape} do not fit the input "
                                 f"{x.type.shape} with padding {self.pad}")
        return Apply(self, [x, w], [Variable(TensorType(dtype, shp))])

    def perform(self, x, w):
        return conv_forward(x, w, self.pad, self.stride, self.flip).astype(
            np.result_type(x, w), copy=False)

    def infer_shape(self, node, shapes):
        (n, _, h, wd), (o, _, kh, kw) = shapes
        return [(n, o, (h + 2 * self.pad[0] - kh) // self.stride[0] + 1,
                 (wd + 2 * self.pad[1] - kw) // self.stride[1] + 1)]

    def grad(self, inputs, outputs, output_grads):
        x, w = inputs
        (gz,) = output_grads
        gx = Conv2dGradInputs(self.pad, self.stride, self.flip)(gz, w, x.shape)
        gw = Conv2dGradWeights(self.pad, self.stride, self.flip)(x, gz, w.shape)
        return [gx, gw]


class Conv2dGradWeights(_ConvBase):
    """Gradient of :class:`Conv2d` w.r.t. its filters (inputs: x, gz, filter shape)."""

    def make_node(self, x, gz, wshape) -> Apply:
        x, gz, wshape = (as_tensor_variable(v) for v in (x, gz, wshape))
        dtype = result_dtype(x.dtype, gz.dtype)
        return Apply(self, [x, gz, wshape], [Variable(TensorType(dtype, (None,) * 4))])

    def perform(self, x, gz, wshape):
        return conv_grad_weights(x, gz, (int(wshape[2]), int(wshape[3])), self.pad,
                                 self.stride, self.flip).astype(np.result_type(x, gz), copy=False)

    def infer_shape(self, node, shapes):
        from symgraph.ops.shape import shape_entries
        return [tuple(shape_entries(node.inputs[2]))]


class Conv2dGradInputs(_ConvBase):
    """Gradient of :class:`Conv2d` w.r.t. its input (inputs: gz, w, input shape)."""

    def make_node(self, gz, w, xshape) -> Apply:
        gz, w, xshape = (as_tensor_variable(v) for v in (gz, w, xshape))
        dtype = result_dtype(gz.dtype, w.dtype)
        return Apply(self, [gz, w, xshape], [Variable(TensorType(dtype, (None,) * 4))])

    def perform(self, gz, w, xshape):
        return conv_grad_inputs(gz, w, xshape, self.pad, self.stride, self.flip).astype(
            np.result_type(gz, w), copy=False)

    def infer_shape(self, node, shapes):
        from symgraph.ops.shape import shape_entries
        return [tuple(shape_entries(node.inputs[2]))]


def conv2d(input, filters, input_shape: Optional[Sequence] = None,
           filter_shape: Optional[Sequence] = None, border_mode: BorderMode = "valid",
           subsample: Sequence[int] = (1, 1), filter_flip: bool = True,
           image_shape: Optional[Sequence] = None, filter_dilation: Sequence[int] = (1, 1),
           **kwargs) -> Variable:
    """2-d convolution of a batch of multi-channel images (Theano's ``nnet.conv2d``).

    Parameters
    ----------
    input : 4-d tensor (batch, channels, rows, cols)
    filters : 4-d tensor (out channels, in channels, rows, cols)
    input_shape, filter_shape : optional static shapes (checked against the types; ``None``
        entries allowed). ``image_shape`` is the legacy name of ``input_shape``.
    border_mode : 'valid', 'full', 'half', int or (int, int) zero padding
    subsample : strides (rows, cols)
    filter_flip : True for a true convolution (Theano's default), False for cross-correlation
    """
    if tuple(filter_dilation) != (1, 1):
        raise NotImplementedError("conv2d: filter_dilation other than (1, 1) is not supported")
    x, w = as_tensor_variable(input), as_tensor_variable(filters)
    input_shape = input_shape if input_shape is not None else image_shape
    for var, given, what in ((x, input_shape, "input_shape"), (w, filter_shape, "filter_shape")):
        if given is None:
            continue
        given = tuple(None if g is None else int(g) for g in given)
        if len(given) != 4:
            raise ValueError(f"conv2d: {what} must have 4 entries, got {given}")
        for axis, (a, b) in enumerate(zip(var.type.shape, given)):
            if a is not None and b is not None and a != b:
                raise ValueError(f"conv2d: {what}[{axis}] = {b} but {var} has static shape "
                                 f"{var.type.shape}")
    kshape = (w.type.shape[2], w.type.shape[3])
    if filter_shape is not None:
        kshape = (int(filter_shape[2]), int(filter_shape[3]))
    if border_mode in ("full", "half") and None in kshape:
        raise ValueError(f"conv2d: border_mode={border_mode!r} needs the filter size: give "
                         f"filter_shape=")
    pad = padding(border_mode, kshape) if border_mode in ("full", "half") else \
        padding(border_mode, (0, 0))
    stride = _pair(subsample, "conv2d subsample")
    if min(stride) < 1:
        raise ValueError(f"conv2d: subsample must be positive, got {stride}")
    return Conv2d(pad, stride, filter_flip)(x, w)
