"""``theano.tensor.nnet.abstract_conv``: 2-d convolution, its transposes (the gradients with
respect to the input and to the filters, which layer libraries use as transposed and dilated
convolutions), grouped convolution, and the shape helpers.

Everything runs on symgraph's three convolution ops (:mod:`symgraph.ops.conv`): ``Conv2d``,
``Conv2dGradInputs`` (a transposed convolution) and ``Conv2dGradWeights``. Theano's 3-d
convolutions and unshared convolutions have no counterpart and raise ``NotImplementedError``.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from symgraph.graph import Variable
from symgraph.op import Op  # noqa: F401
from symgraph.graph import Apply  # noqa: F401
from symgraph.ops import conv as _conv
from symgraph.ops.join import concatenate, stack
from symgraph.ops.variable import as_tensor_variable
from symgraph.compat.theano.tensor.basic import (NotScalarConstantError,  # noqa: F401
                                                 get_scalar_constant_value, patternbroadcast)


def _no_3d(name):
    def fail(*args, **kwargs):
        raise NotImplementedError(f"{name}: 3-d convolution is not available in symgraph; use "
                                  f"2-d convolutions (conv2d) over reshaped volumes")
    fail.__name__ = name
    return fail


def _check_unshared(unshared, what):
    if unshared:
        raise NotImplementedError(f"{what}(unshared=True): locally connected (unshared) "
                                  f"convolution is not available in symgraph")


def _border(border_mode, kshape, dilation):
    """The core op's padding: ints, or 'full'/'half' when the kernel size is unknown."""
    if isinstance(border_mode, tuple) and len(border_mode) == 2 and \
            all(isinstance(b, tuple) for b in border_mode):
        raise NotImplementedError("asymmetric padding ((top, bottom), (left, right)) is not "
                                  "supported; pad the input with T.set_subtensor first")
    if border_mode in ("full", "half"):
        if None in kshape:
            return border_mode
        return _conv.padding(border_mode, kshape, dilation)
    return _conv.padding(border_mode, (0, 0))


def _check_hint(fname: str, what: str, var: Variable, given) -> None:
    """A shape hint (Theano used these to choose an implementation): the computation does not
    need it, so it is checked against ``var``'s static shape (None or symbolic entries, and
    unknown static dims, are not checked)."""
    if given is None or isinstance(given, Variable):
        return
    given = list(given)
    if len(given) != var.ndim:
        raise ValueError(f"{fname}: {what} has {len(given)} entries but {var} is "
                         f"{var.ndim}-d")
    for axis, (have, want) in enumerate(zip(var.type.shape, given)):
        if have is not None and isinstance(want, (int, np.integer)) and have != want:
            raise ValueError(f"{fname}: {what}[{axis}] = {want} but {var} has static shape "
                             f"{var.type.shape}")


def _kshape(filters: Variable, filter_shape):
    ks = (filters.type.shape[2], filters.type.shape[3])
    if filter_shape is not None and len(filter_shape) == 4:
        ks = tuple(ks[i] if filter_shape[2 + i] is None else int(filter_shape[2 + i])
                   for i in range(2))
    return ks


def _groups(num_groups: int, what: str) -> int:
    num_groups = int(num_groups)
    if num_groups < 1:
        raise ValueError(f"{what}: num_groups must be positive, got {num_groups}")
    return num_groups


def _split(x: Variable, axis: int, groups: int):
    n = x.shape[axis] // groups
    parts = []
    for g in range(groups):
        index = [slice(None)] * x.ndim
        index[axis] = slice(g * n, (g + 1) * n)
        parts.append(x[tuple(index)])
    return parts


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), filter_flip: bool = True, image_shape=None,
           filter_dilation=(1, 1), num_groups: int = 1, unshared: bool = False, **kwargs
           ) -> Variable:
    """Theano's ``conv2d``: a batch of (channels, rows, cols) images convolved with
    (out channels, in channels / num_groups, rows, cols) filters.

    ``border_mode`` is 'valid', 'full', 'half', an int or a pair of ints (zero padding);
    ``subsample`` the strides; ``filter_dilation`` the spacing of the filter taps;
    ``num_groups`` splits the channels into groups convolved separately.
    """
    _check_unshared(unshared, "conv2d")
    if kwargs:
        raise TypeError(f"conv2d: unexpected arguments {sorted(kwargs)}")
    groups = _groups(num_groups, "conv2d")
    x, w = as_tensor_variable(input), as_tensor_variable(filters)
    if groups == 1:
        return _conv.conv2d(x, w, input_shape=input_shape, filter_shape=filter_shape,
                            border_mode=border_mode, subsample=subsample,
                            filter_flip=filter_flip, image_shape=image_shape,
                            filter_dilation=filter_dilation)
    outs = [_conv.conv2d(xg, wg, border_mode=border_mode, subsample=subsample,
                         filter_flip=filter_flip, filter_dilation=filter_dilation)
            for xg, wg in zip(_split(x, 1, groups), _split(w, 0, groups))]
    return concatenate(outs, axis=1)


def _shape_vector(entries: Sequence, defaults: Sequence) -> Variable:
    """A 4-entry int64 shape vector: ``entries`` (ints, None or scalars), None taking the
    matching entry of ``defaults``."""
    vals = []
    for e, d in zip(entries, defaults):
        e = d if e is None else e
        vals.append(as_tensor_variable(e, dtype="int64") if not isinstance(e, (int, np.integer))
                    else as_tensor_variable(np.int64(e)))
    return stack(vals)


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None,
                           border_mode="valid", subsample=(1, 1), filter_flip: bool = True,
                           filter_dilation=(1, 1), num_groups: int = 1, unshared: bool = False
                           ) -> Variable:
    """The gradient of :func:`conv2d` with respect to its input, for the output gradient
    ``output_grad``: a transposed convolution producing a tensor of ``input_shape`` (whose
    last two entries are needed; the batch and channel entries may be None)."""
    _check_unshared(unshared, "conv2d_grad_wrt_inputs")
    groups = _groups(num_groups, "conv2d_grad_wrt_inputs")
    gz, w = as_tensor_variable(output_grad), as_tensor_variable(filters)
    if isinstance(input_shape, Variable):
        input_shape = [input_shape[k] for k in range(4)]
    input_shape = list(input_shape)
    if len(input_shape) != 4 or input_shape[2] is None or input_shape[3] is None:
        raise ValueError(f"conv2d_grad_wrt_inputs: input_shape must have 4 entries with the "
                         f"rows and columns given, got {input_shape}")
    dilation = _conv._pair(filter_dilation, "filter_dilation")
    pad = _border(border_mode, _kshape(w, filter_shape), dilation)
    stride = _conv._pair(subsample, "subsample")
    if groups == 1:
        shape = _shape_vector(input_shape, [gz.shape[0], w.shape[1], None, None])
        return _conv.Conv2dGradInputs(pad, stride, filter_flip, dilation)(gz, w, shape)
    outs = []
    for gzg, wg in zip(_split(gz, 1, groups), _split(w, 0, groups)):
        shape = _shape_vector([input_shape[0], None] + input_shape[2:],
                              [gz.shape[0], w.shape[1], None, None])
        outs.append(_conv.Conv2dGradInputs(pad, stride, filter_flip, dilation)(gzg, wg, shape))
    return concatenate(outs, axis=1)


def conv2d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None,
                            border_mode="valid", subsample=(1, 1), filter_flip: bool = True,
                            filter_dilation=(1, 1), num_groups: int = 1, unshared: bool = False
                            ) -> Variable:
    """The gradient of :func:`conv2d` with respect to its filters, for the output gradient
    ``output_grad``; ``filter_shape`` needs its last two entries. ``input_shape``, a hint, is
    checked against ``input``'s static shape."""
    _check_unshared(unshared, "conv2d_grad_wrt_weights")
    groups = _groups(num_groups, "conv2d_grad_wrt_weights")
    x, gz = as_tensor_variable(input), as_tensor_variable(output_grad)
    _check_hint("conv2d_grad_wrt_weights", "input_shape", x, input_shape)
    if isinstance(filter_shape, Variable):
        filter_shape = [filter_shape[k] for k in range(4)]
    filter_shape = list(filter_shape)
    if len(filter_shape) != 4 or filter_shape[2] is None or filter_shape[3] is None:
        raise ValueError(f"conv2d_grad_wrt_weights: filter_shape must have 4 entries with the "
                         f"rows and columns given, got {filter_shape}")
    dilation = _conv._pair(filter_dilation, "filter_dilation")
    kshape = tuple(int(k) if isinstance(k, (int, np.integer)) else None
                   for k in filter_shape[2:])
    pad = _border(border_mode, kshape, dilation)
    stride = _conv._pair(subsample, "subsample")
    op = _conv.Conv2dGradWeights(pad, stride, filter_flip, dilation)
    if groups == 1:
        shape = _shape_vector(filter_shape, [gz.shape[1], x.shape[1], None, None])
        return op(x, gz, shape)
    outs = []
    for xg, gzg in zip(_split(x, 1, groups), _split(gz, 1, groups)):
        shape = _shape_vector([None, None] + filter_shape[2:],
                              [gzg.shape[1], xg.shape[1], None, None])
        outs.append(op(xg, gzg, shape))
    return concatenate(outs, axis=0)


def conv2d_transpose(input, filters, output_shape, filter_shape=None, border_mode="valid",
                     input_dilation=(1, 1), filter_flip: bool = True, filter_dilation=(1, 1),
                     num_groups: int = 1, unshared: bool = False) -> Variable:
    """Transposed convolution (the adjoint of :func:`conv2d`): ``input`` of shape (batch, in
    channels, rows, cols) and ``filters`` of shape (in channels, out channels, rows, cols)
    give a tensor of ``output_shape``; ``input_dilation`` is the stride of the forward
    convolution."""
    return conv2d_grad_wrt_inputs(input, filters, output_shape, filter_shape, border_mode,
                                  input_dilation, filter_flip, filter_dilation, num_groups,
                                  unshared)


def separable_conv2d(input, depthwise_filters, pointwise_filters, num_channels,
                     input_shape=None, depthwise_filter_shape=None,
                     pointwise_filter_shape=None, border_mode="valid", subsample=(1, 1),
                     filter_flip: bool = True, filter_dilation=(1, 1)) -> Variable:
    """A depthwise convolution (one group per input channel) followed by a 1x1 pointwise
    convolution. The shape hints are checked against the static shapes, as by
    :func:`conv2d`."""
    depth = conv2d(input, depthwise_filters, input_shape=input_shape,
                   filter_shape=depthwise_filter_shape, border_mode=border_mode,
                   subsample=subsample, filter_flip=filter_flip,
                   filter_dilation=filter_dilation, num_groups=num_channels)
    return conv2d(depth, pointwise_filters, filter_shape=pointwise_filter_shape,
                  border_mode="valid", filter_flip=filter_flip)


def causal_conv1d(input, filters, filter_shape, input_shape=None, subsample=1,
                  filter_flip: bool = True, filter_dilation=1, num_groups: int = 1,
                  unshared: bool = False) -> Variable:
    """1-d convolution over (batch, channels, time) in which an output sees only the present
    and the past (the input is padded on the left). ``input_shape``, a hint, is checked
    against ``input``'s static shape."""
    x = as_tensor_variable(input)
    _check_hint("causal_conv1d", "input_shape", x, input_shape)
    k = int(filter_shape[-1])
    pad = int(filter_dilation) * (k - 1)
    zeros = x[:, :, :1] * 0
    left = concatenate([zeros] * pad + [x], axis=2) if pad else x
    out = conv2d(left.dimshuffle(0, 1, "x", 2), as_tensor_variable(filters).dimshuffle(
        0, 1, "x", 2), border_mode="valid", subsample=(1, int(subsample)),
        filter_flip=filter_flip, filter_dilation=(1, int(filter_dilation)),
        num_groups=num_groups, unshared=unshared)
    return out[:, :, 0, :]


# ---------------------------------------------------------------------------------------
# Theano's op classes: configured once, called on (image, filters) or their gradients
# ---------------------------------------------------------------------------------------

class BaseAbstractConv:
    """The configuration of a 2-d convolution (``imshp``/``kshp`` are optional static
    shapes); calling an instance builds the graph on symgraph's convolution ops."""

    convdim = 2

    def __init__(self, convdim=2, imshp=None, kshp=None, border_mode="valid", subsample=None,
                 filter_flip=True, filter_dilation=None, num_groups=1, unshared=False):
        if convdim != 2:
            _no_3d(type(self).__name__)()
        _check_unshared(unshared, type(self).__name__)
        self.imshp = tuple(imshp) if imshp is not None else (None,) * 4
        self.kshp = tuple(kshp) if kshp is not None else (None,) * 4
        self.border_mode = border_mode
        self.subsample = tuple(subsample) if subsample is not None else (1, 1)
        self.filter_flip = bool(filter_flip)
        self.filter_dilation = tuple(filter_dilation) if filter_dilation is not None else (1, 1)
        self.num_groups = int(num_groups)


class AbstractConv2d(BaseAbstractConv):
    """``AbstractConv2d(...)(img, kern)``: the convolution."""

    def __init__(self, imshp=None, kshp=None, border_mode="valid", subsample=(1, 1),
                 filter_flip=True, filter_dilation=(1, 1), num_groups=1, unshared=False):
        super().__init__(2, imshp, kshp, border_mode, subsample, filter_flip, filter_dilation,
                         num_groups, unshared)

    def __call__(self, img, kern):
        return conv2d(img, kern, None, self.kshp, self.border_mode, self.subsample,
                      self.filter_flip, filter_dilation=self.filter_dilation,
                      num_groups=self.num_groups)


class AbstractConv2d_gradInputs(AbstractConv2d):
    """``AbstractConv2d_gradInputs(...)(kern, topgrad, shape)``: the transposed convolution
    giving an input of rows and columns ``shape``."""

    def __call__(self, kern, topgrad, shape):
        topgrad = as_tensor_variable(topgrad)
        shape = list(shape) if not isinstance(shape, Variable) else [shape[0], shape[1]]
        return conv2d_grad_wrt_inputs(topgrad, kern, [self.imshp[0], self.imshp[1]] + shape,
                                      self.kshp, self.border_mode, self.subsample,
                                      self.filter_flip, self.filter_dilation, self.num_groups)


class AbstractConv2d_gradWeights(AbstractConv2d):
    """``AbstractConv2d_gradWeights(...)(img, topgrad, shape)``: the gradient with respect to
    filters of rows and columns ``shape``."""

    def __call__(self, img, topgrad, shape):
        shape = list(shape) if not isinstance(shape, Variable) else [shape[0], shape[1]]
        return conv2d_grad_wrt_weights(img, topgrad, [self.kshp[0], self.kshp[1]] + shape,
                                       self.imshp, self.border_mode, self.subsample,
                                       self.filter_flip, self.filter_dilation, self.num_groups)


AbstractConv = BaseAbstractConv
AbstractConv_gradInputs = AbstractConv2d_gradInputs
AbstractConv_gradWeights = AbstractConv2d_gradWeights


def _no_3d_class(name):
    class NotAvailable:
        def __init__(self, *args, **kwargs):
            _no_3d(name)()
    NotAvailable.__name__ = name
    return NotAvailable


AbstractConv3d = _no_3d_class("AbstractConv3d")
AbstractConv3d_gradInputs = _no_3d_class("AbstractConv3d_gradInputs")
AbstractConv3d_gradWeights = _no_3d_class("AbstractConv3d_gradWeights")
conv3d = _no_3d("conv3d")
conv3d_grad_wrt_inputs = _no_3d("conv3d_grad_wrt_inputs")
conv3d_grad_wrt_weights = _no_3d("conv3d_grad_wrt_weights")
separable_conv3d = _no_3d("separable_conv3d")


# ---------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------

def get_conv_shape_1axis(image_shape, kernel_shape, border_mode, subsample, dilation=1):
    """Output length along one axis (None when an input is None)."""
    if None in (image_shape, kernel_shape, border_mode, subsample, dilation):
        return None
    extent = dilation * (kernel_shape - 1) + 1
    if border_mode == "half":
        pad = extent // 2
    elif border_mode == "full":
        pad = extent - 1
    elif border_mode == "valid":
        pad = 0
    else:
        pad = int(border_mode)
        if pad < 0:
            raise ValueError("border_mode must be >= 0")
    return (image_shape + 2 * pad - extent) // subsample + 1


def get_conv_output_shape(image_shape, kernel_shape, border_mode, subsample,
                          filter_dilation=None):
    """``(batch, out channels, rows, cols)`` of a convolution (None entries where unknown)."""
    bsize, nkern = image_shape[0], kernel_shape[0]
    nd = len(image_shape) - 2
    dil = filter_dilation or (1,) * nd
    modes = border_mode if isinstance(border_mode, tuple) else (border_mode,) * nd
    spatial = tuple(get_conv_shape_1axis(image_shape[2 + i], kernel_shape[-nd + i], modes[i],
                                         subsample[i], dil[i]) for i in range(nd))
    return (bsize, nkern) + spatial


def get_conv_gradweights_shape_1axis(image_shape, top_shape, border_mode, subsample,
                                     dilation):
    """Filter length along one axis that maps ``image_shape`` to ``top_shape``."""
    if None in (image_shape, top_shape, border_mode, subsample, dilation):
        return None
    if subsample != 1 or border_mode == "half":
        return None
    if border_mode == "full":
        extent = top_shape - image_shape + 1
    elif border_mode == "valid":
        extent = image_shape - top_shape + 1
    else:
        extent = image_shape + 2 * int(border_mode) - top_shape + 1
    return (extent - 1) // dilation + 1


def get_conv_gradweights_shape(image_shape, top_shape, border_mode, subsample,
                               filter_dilation=None, num_groups=1):
    nd = len(image_shape) - 2
    dil = filter_dilation or (1,) * nd
    modes = border_mode if isinstance(border_mode, tuple) else (border_mode,) * nd
    nchan = image_shape[1] // num_groups if image_shape[1] is not None else None
    return (top_shape[1], nchan) + tuple(get_conv_gradweights_shape_1axis(
        image_shape[2 + i], top_shape[2 + i], modes[i], subsample[i], dil[i]) for i in range(nd))


def get_conv_gradinputs_shape_1axis(kernel_shape, top_shape, border_mode, subsample, dilation):
    """Input length along one axis that a convolution maps to ``top_shape`` (the smallest)."""
    if None in (kernel_shape, top_shape, border_mode, subsample, dilation):
        return None
    if subsample != 1:
        return None
    extent = dilation * (kernel_shape - 1) + 1
    pad = {"valid": 0, "full": extent - 1, "half": extent // 2}.get(border_mode)
    if pad is None:
        pad = int(border_mode)
    return (top_shape - 1) * subsample + extent - 2 * pad


def get_conv_gradinputs_shape(kernel_shape, top_shape, border_mode, subsample,
                              filter_dilation=None, num_groups=1):
    nd = len(top_shape) - 2
    dil = filter_dilation or (1,) * nd
    modes = border_mode if isinstance(border_mode, tuple) else (border_mode,) * nd
    nchan = kernel_shape[1] * num_groups if kernel_shape[1] is not None else None
    return (top_shape[0], nchan) + tuple(get_conv_gradinputs_shape_1axis(
        kernel_shape[-nd + i], top_shape[2 + i], modes[i], subsample[i], dil[i])
        for i in range(nd))


def check_conv_gradinputs_shape(image_shape, kernel_shape, output_shape, border_mode,
                                subsample, filter_dilation=None) -> bool:
    """True when a convolution of ``image_shape`` by ``kernel_shape`` gives ``output_shape``
    (None entries match anything)."""
    computed = get_conv_output_shape(image_shape, kernel_shape, border_mode, subsample,
                                     filter_dilation)
    return all(a is None or b is None or a == b for a, b in zip(computed, output_shape))


def border_mode_to_pad(mode, convdim, kshp):
    """The padding pairs ``border_mode`` means for kernel shape ``kshp``."""
    if mode == "full":
        return tuple((k - 1, k - 1) for k in kshp)
    if mode == "half":
        return tuple((k // 2, k // 2) for k in kshp)
    if mode == "valid":
        return ((0, 0),) * convdim
    if isinstance(mode, int):
        return ((mode, mode),) * convdim
    return tuple((m, m) if isinstance(m, int) else tuple(m) for m in mode)


def assert_conv_shape(shape):
    """``shape`` (a convolution output shape); symgraph's ops check shapes when they run."""
    return shape


def assert_shape(x, expected_shape, msg="Unexpected shape."):
    """``x``, checked to have ``expected_shape`` (None entries unchecked) when the graph
    runs; ``msg`` names the check in the error."""
    from symgraph.ops.specify_shape import specify_shape
    return specify_shape(x, [None if s is None else s for s in expected_shape], msg)


def bilinear_kernel_1D(ratio: int, normalize: bool = True) -> Variable:
    """The 1-d triangular kernel of bilinear upsampling by ``ratio``."""
    half = np.arange(1, ratio + 1, dtype="float64")
    kern = np.concatenate([half, half[-2::-1]])
    if normalize:
        kern = kern / ratio
    return as_tensor_variable(kern)


def bilinear_kernel_2D(ratio: int, normalize: bool = True) -> Variable:
    """The outer product of two :func:`bilinear_kernel_1D`."""
    k = bilinear_kernel_1D(ratio, normalize)
    return k.dimshuffle(0, "x") * k.dimshuffle("x", 0)


def bilinear_upsampling(input, ratio=None, frac_ratio=None, batch_size=None,
                        num_input_channels=None, use_1D_kernel=True) -> Variable:
    """Upsample (batch, channels, rows, cols) images by the integer ``ratio`` with bilinear
    interpolation (edges replicated), as Theano: a transposed convolution with the
    bilinear kernel. ``batch_size`` and ``num_input_channels``, hints, are checked against
    ``input``'s static shape. ``use_1D_kernel`` changes nothing: Theano chose between two 1-d
    convolutions and one 2-d one, which compute the same values; here the 2-d one runs."""
    if frac_ratio is not None:
        raise NotImplementedError("bilinear_upsampling(frac_ratio=...): fractional ratios are "
                                  "not supported; give an integer ratio")
    x = as_tensor_variable(input)
    _check_hint("bilinear_upsampling", "(batch_size, num_input_channels)", x,
                [batch_size, num_input_channels, None, None])
    r = int(ratio)
    rows, cols = x.shape[2], x.shape[3]
    flat = x.reshape((-1, 1, rows, cols), ndim=4)
    # replicate the border pixel once on each side, as Theano does
    padded = concatenate([flat[:, :, :1, :], flat, flat[:, :, -1:, :]], axis=2)
    padded = concatenate([padded[:, :, :, :1], padded, padded[:, :, :, -1:]], axis=3)
    kern = bilinear_kernel_2D(r).dimshuffle("x", "x", 0, 1)
    # the upsampled image of the padded one, cropped to (rows * r, cols * r)
    up = conv2d_grad_wrt_inputs(padded, kern.astype(x.dtype),
                                [None, 1, (rows + 2) * r, (cols + 2) * r],
                                filter_shape=(1, 1, 2 * r - 1, 2 * r - 1),
                                border_mode=(r - 1, r - 1), subsample=(r, r),
                                filter_flip=True)
    crop = up[:, :, r:r + rows * r, r:r + cols * r]
    return crop.reshape((x.shape[0], x.shape[1], rows * r, cols * r), ndim=4)


def frac_bilinear_upsampling(input, frac_ratio):
    raise NotImplementedError("frac_bilinear_upsampling: fractional ratios are not supported; "
                              "use bilinear_upsampling with an integer ratio")


imported_scipy_signal = False
