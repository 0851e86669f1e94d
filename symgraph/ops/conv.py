"""2-d convolution of NCHW batches: BLAS products over a chunk of images at a time.

``conv2d(x, w)`` with ``x`` of shape (N, C, H, W) and filters ``w`` of shape (O, C, kh, kw).
With ``filter_flip=True`` (Theano's default) it is a true convolution, otherwise a
cross-correlation. A filter dilation ``(dh, dw)`` spreads the kernel taps ``dh`` rows and ``dw``
columns apart (an implicit kernel of ``d * (k - 1) + 1`` with zeros between the taps): the
im2col view simply steps ``d`` elements per tap, so no dilated kernel is ever built.

The gradients are two ops of their own, written with the same column matrices (the kernels
are in :mod:`symgraph.ops.conv_kernels`; stride-1 layers take the shifted products of
:mod:`symgraph.ops.conv_shift`, which need no column matrix):

* w.r.t. the filters: ``gw[o, c, i, j] = sum_{n, y, x} gz[n, o, y, x] * cols[n, c, i, j, y, x]``
* w.r.t. the input: ``gcols = w^T . gz`` scattered back over the windows (col2im): one
  product and one scatter-add, not a full convolution (for stride 1: the correlation of
  ``gz`` with the transposed, flipped filters, without a scatter).

With a back end that has compiled convolution loops (numba), float32 3x3 stride-1 layers of
8 channels or more run Winograd's F(4x4, 3x3) in all three directions instead
(:mod:`symgraph.backends.numba_winograd`, reached through the ``loops`` the emitted code
passes): a quarter of the multiply-adds, results within 1e-5 of the output's largest entry
where the BLAS paths are within 1e-6 (``python -m benchmarks.conv_layers``).

In a compiled function each op writes its result into a buffer planned by the linker and keeps
its column matrices in the function's work arrays, so a train step allocates nothing after its
first call; the layout stays NCHW from op to op (no transpose copies).

All three ops are bilinear, and each gradient op is the adjoint of the forward convolution in
one argument, so their own gradients are again these three ops (see their ``grad``): second
derivatives (Hessian-vector products, gradient penalties) need no further kernels.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops import conv_kernels as K
from symgraph.ops import elemwise as E
from symgraph.ops.reduce import sum as reduce_sum
from symgraph.ops.shape import MakeVector, Shape, shape_entries
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType, discrete_dtypes, float_dtypes, result_dtype

BorderMode = Union[str, int, Tuple[int, int]]
Pair = Tuple[int, int]


def _pair(v, what: str) -> Pair:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    v = tuple(int(e) for e in v)
    if len(v) != 2:
        raise ValueError(f"{what} must be an int or a pair of ints, got {v}")
    return v


def dilated_size(k: int, dilation: int) -> int:
    """Extent of a kernel of ``k`` taps spaced ``dilation`` apart: ``dilation * (k - 1) + 1``."""
    return dilation * (k - 1) + 1


def padding(border_mode: BorderMode, kshape: Pair, dilation: Pair = (1, 1)) -> Pair:
    """Zero padding (rows, cols) that ``border_mode`` means for a kernel of ``kshape``.

    'full' and 'half' are relative to the dilated kernel extent (as in Theano).
    """
    if border_mode in ("valid", "full", "half"):
        if border_mode == "valid":
            return 0, 0
        kh, kw = (dilated_size(k, d) for k, d in zip(kshape, dilation))
        if border_mode == "full":
            return kh - 1, kw - 1
        return kh // 2, kw // 2
    if isinstance(border_mode, str):
        raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half', an int or a pair "
                         f"of ints, got {border_mode!r}")
    pad = _pair(border_mode, "conv2d border_mode")
    if min(pad) < 0:
        raise ValueError(f"conv2d: negative padding {pad}")
    return pad


def _out_len(n: Optional[int], k: Optional[int], pad: int, stride: int, dil: int = 1
             ) -> Optional[int]:
    if n is None or k is None:
        return None
    return (n + 2 * pad - dilated_size(k, dil)) // stride + 1


def _static_shape(vec: Variable) -> Tuple[Optional[int], ...]:
    """Entries of a length-4 shape vector known at build time (``None`` elsewhere)."""
    if isinstance(vec, Constant):
        return tuple(int(v) for v in vec.data)
    owner = vec.owner
    if owner is not None and isinstance(owner.op, Shape):
        return tuple(owner.inputs[0].type.shape)
    if owner is not None and isinstance(owner.op, MakeVector):
        return tuple(int(v.data) if isinstance(v, Constant) else None for v in owner.inputs)
    return (None,) * 4


def _check_shape_vector(op, vec: Variable, what: str) -> None:
    if vec.ndim != 1 or vec.dtype not in discrete_dtypes or vec.type.shape[0] not in (None, 4):
        raise TypeError(f"{op}: {what} must be an integer vector of 4 entries, got {vec} of type "
                        f"{vec.type}")


def _conv_out_shape(xshape, wshape, params) -> Tuple[int, int, int, int]:
    """Output shape of :class:`Conv2d` for operand shapes ``xshape``, ``wshape``."""
    pad, stride, _, dilation = params
    g = K.geometry(xshape, wshape[2:], pad, stride, dilation)
    return xshape[0], wshape[0], g.ho, g.wo


def _pads(pad: str, kh: int, kw: int, dilation: Pair) -> Pair:
    """The padding ``'full'`` or ``'half'`` stands for with a ``kh`` x ``kw`` kernel."""
    return _ConvBase(pad, (1, 1), False, dilation).pads(kh, kw)


class _ConvBase(Op):
    """``pad`` is a pair of ints, or ``'full'``/``'half'`` when the kernel size is known only
    when the graph runs (the padding is then derived from the kernel's shape)."""

    copies = True
    props = ("pad", "stride", "flip", "dilation")
    emit_helpers = {"_conv_forward": K.forward, "_conv_grad_weights": K.grad_weights,
                    "_conv_grad_inputs": K.grad_inputs, "_conv_out_shape": _conv_out_shape,
                    "_conv_pads": _pads}

    def __init__(self, pad, stride: Pair, flip: bool, dilation: Pair = (1, 1)):
        self.pad = pad if pad in ("full", "half") else tuple(pad)
        self.stride, self.flip = tuple(stride), bool(flip)
        self.dilation = tuple(dilation)

    def params(self) -> tuple:
        return self.pad, self.stride, self.flip, self.dilation

    def pad_of(self, k, axis: int):
        """Padding of ``axis`` for a kernel of ``k`` taps (an int, a symbolic scalar, or None
        when it depends on an unknown kernel size)."""
        if self.pad not in ("full", "half"):
            return self.pad[axis]
        if k is None:
            return None
        extent = (k - 1) * self.dilation[axis] + 1
        return extent - 1 if self.pad == "full" else extent // 2

    def pads(self, kh: int, kw: int) -> Pair:
        return int(self.pad_of(int(kh), 0)), int(self.pad_of(int(kw), 1))

    def _pad_source(self, kh: str, kw: str) -> str:
        """The padding as source: a literal pair, or (``'full'``/``'half'``) the expression
        deriving it from the kernel sizes ``kh``, ``kw`` (expressions) when the call runs."""
        if self.pad not in ("full", "half"):
            return repr(tuple(self.pad))
        return f"_conv_pads({self.pad!r}, {kh}, {kw}, {self.dilation!r})"

    def can_emit_into(self, node) -> bool:
        """Float results go into a planned buffer (work arrays in the function's scratch)."""
        return node.outputs[0].dtype in ("float32", "float64")

    def _forward_source(self, x: str, w: str):
        """``(pad, shape)``: source of the padding and of the output shape of the convolution
        of ``x`` by ``w`` (names in the emitted code)."""
        pad = self._pad_source(f"{w}.shape[2]", f"{w}.shape[3]")
        return pad, (f"_conv_out_shape({x}.shape, {w}.shape, ({pad}, {self.stride!r}, "
                     f"{self.flip!r}, {self.dilation!r}))")

    def _out_dim(self, n, k, axis: int):
        """Output length of ``axis`` (0 = rows, 1 = cols) as int or symbolic scalar."""
        ke = (k - 1) * self.dilation[axis] + 1
        return (n + 2 * self.pad_of(k, axis) - ke) // self.stride[axis] + 1

    def _static_out(self, n, k, axis: int):
        pad = self.pad_of(k, axis)
        if pad is None:
            return None
        return _out_len(n, k, pad, self.stride[axis], self.dilation[axis])


class Conv2d(_ConvBase):
    """Batched 2-d convolution (NCHW input, (O, C, kh, kw) filters).

    ``z[n, o, y, x] = sum_{c, i, j} xpad[n, c, y*sh + i*dh, x*sw + j*dw] * k[o, c, i, j]`` with
    ``k`` the (flipped, if ``flip``) filters. Gradient (bilinear): ``dx = J_x^T gz`` by
    :class:`Conv2dGradInputs`, ``dw = J_w^T gz`` by :class:`Conv2dGradWeights`.
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
               self._static_out(x.type.shape[2], w.type.shape[2], 0),
               self._static_out(x.type.shape[3], w.type.shape[3], 1))
        for d in shp[2:]:
            if d is not None and d <= 0:
                raise ValueError(f"conv2d: filters {w.type.shape} (dilation {self.dilation}) do "
                                 f"not fit the input {x.type.shape} with padding {self.pad}")
        return Apply(self, [x, w], [TensorVariable(TensorType(dtype, shp))])

    def perform(self, x, w):
        return K.forward(x, w, self.pads(w.shape[2], w.shape[3]), self.stride, self.flip,
                         self.dilation)

    def emit_into(self, node, names, buffer) -> str:
        x, w = names
        pad, shape = self._forward_source(x, w)
        return (f"_conv_forward({x}, {w}, {pad}, {self.stride!r}, {self.flip!r}, "
                f"{self.dilation!r}, {buffer(shape)}, {buffer.work}, {buffer.loops})")

    def infer_shape(self, node, shapes):
        (n, _, h, wd), (o, _, kh, kw) = shapes
        return [(n, o, self._out_dim(h, kh, 0), self._out_dim(wd, kw, 1))]

    def grad(self, inputs, outputs, output_grads):
        x, w = inputs
        (gz,) = output_grads
        gx = Conv2dGradInputs(*self.params())(gz, w, x.shape)
        gw = Conv2dGradWeights(*self.params())(x, gz, w.shape)
        return [gx, gw]


class Conv2dGradWeights(_ConvBase):
    """Gradient of :class:`Conv2d` w.r.t. its filters (inputs: x, gz, filter shape).

    ``gw = J_w^T gz``, bilinear in ``(x, gz)``: for an output gradient ``H`` (filter-shaped),
    ``<gw, H> = <gz, conv(x, H)> = <x, J_x^T(H) gz>``, so ``d/dx = Conv2dGradInputs(gz, H)`` and
    ``d/dgz = Conv2d(x, H)``; the integer shape input has none.
    """

    def make_node(self, x, gz, wshape) -> Apply:
        x, gz, wshape = (as_tensor_variable(v) for v in (x, gz, wshape))
        for v, what in ((x, "input"), (gz, "output gradient")):
            if v.ndim != 4:
                raise TypeError(f"Conv2dGradWeights: {what} must be 4-d, got {v} of type {v.type}")
        _check_shape_vector("Conv2dGradWeights", wshape, "filter shape")
        dtype = result_dtype(x.dtype, gz.dtype)
        known = _static_shape(wshape)
        shp = (gz.type.shape[1] if known[0] is None else known[0],
               x.type.shape[1] if known[1] is None else known[1]) + tuple(known[2:])
        return Apply(self, [x, gz, wshape], [TensorVariable(TensorType(dtype, shp))])

    def perform(self, x, gz, wshape):
        return K.grad_weights(x, gz, wshape, self.pads(wshape[2], wshape[3]), self.stride,
                              self.flip, self.dilation)

    def emit_into(self, node, names, buffer) -> str:
        x, gz, wshape = names
        pad = self._pad_source(f"{wshape}[2]", f"{wshape}[3]")
        return (f"_conv_grad_weights({x}, {gz}, {wshape}, {pad}, {self.stride!r}, "
                f"{self.flip!r}, {self.dilation!r}, {buffer(f'tuple({wshape})')}, "
                f"{buffer.work}, {buffer.loops})")

    def infer_shape(self, node, shapes):
        return [tuple(shape_entries(node.inputs[2]))]

    def grad(self, inputs, outputs, output_grads):
        x, gz, _ = inputs
        (g,) = output_grads
        gx = Conv2dGradInputs(*self.params())(gz, g, x.shape)
        ggz = Conv2d(*self.params())(x, g)
        return [gx, ggz, None]


class Conv2dGradInputs(_ConvBase):
    """Gradient of :class:`Conv2d` w.r.t. its input (inputs: gz, w, input shape).

    ``gx = J_x^T gz``, bilinear in ``(gz, w)``: for an output gradient ``G`` (input-shaped),
    ``<gx, G> = <gz, conv(G, w)>``, so ``d/dgz = Conv2d(G, w)`` and
    ``d/dw = Conv2dGradWeights(G, gz)``; the integer shape input has none.
    """

    def make_node(self, gz, w, xshape) -> Apply:
        gz, w, xshape = (as_tensor_variable(v) for v in (gz, w, xshape))
        for v, what in ((gz, "output gradient"), (w, "filters")):
            if v.ndim != 4:
                raise TypeError(f"Conv2dGradInputs: {what} must be 4-d, got {v} of type {v.type}")
        _check_shape_vector("Conv2dGradInputs", xshape, "input shape")
        dtype = result_dtype(gz.dtype, w.dtype)
        known = _static_shape(xshape)
        shp = (gz.type.shape[0] if known[0] is None else known[0],
               w.type.shape[1] if known[1] is None else known[1]) + tuple(known[2:])
        return Apply(self, [gz, w, xshape], [TensorVariable(TensorType(dtype, shp))])

    def perform(self, gz, w, xshape):
        return K.grad_inputs(gz, w, xshape, self.pads(w.shape[2], w.shape[3]), self.stride,
                             self.flip, self.dilation)

    def emit_into(self, node, names, buffer) -> str:
        gz, w, xshape = names
        pad = self._pad_source(f"{w}.shape[2]", f"{w}.shape[3]")
        return (f"_conv_grad_inputs({gz}, {w}, {xshape}, {pad}, {self.stride!r}, "
                f"{self.flip!r}, {self.dilation!r}, {buffer(f'tuple({xshape})')}, "
                f"{buffer.work}, {buffer.loops})")

    def infer_shape(self, node, shapes):
        return [tuple(shape_entries(node.inputs[2]))]

    def grad(self, inputs, outputs, output_grads):
        gz, w, _ = inputs
        (g,) = output_grads
        ggz = Conv2d(*self.params())(g, w)
        gw = Conv2dGradWeights(*self.params())(g, gz, w.shape)
        return [ggz, gw, None]


class Conv2dBias(_ConvBase):
    """``conv2d(x, w) + b`` per output channel, rectified when ``relu``: the epilogue of a
    convolution layer in the convolution's own pass (inputs: x, w, b of shape (O,)).

    Graphs do not build it: the rewrite :mod:`symgraph.rewrite.conv_epilogue` puts it in place
    of ``maximum(conv2d(x, w) + b.dimshuffle('x', 0, 'x', 'x'), 0)`` (or of the sum alone)
    when the convolution and the sum have no other reader. Its values are those of that graph:
    the same convolution, the sum and the rectifier in the same dtype, elementwise (NumPy's
    ``maximum``: a nan stays, ``-0.0`` stays).
    """

    props = ("pad", "stride", "flip", "dilation", "relu")
    emit_helpers = dict(_ConvBase.emit_helpers, _conv_forward_bias=K.forward_bias)

    def __init__(self, pad, stride: Pair, flip: bool, dilation: Pair = (1, 1),
                 relu: bool = False):
        super().__init__(pad, stride, flip, dilation)
        self.relu = bool(relu)

    def conv(self) -> Conv2d:
        return Conv2d(*self.params())

    def make_node(self, x, w, b) -> Apply:
        z = self.conv().make_node(x, w).outputs[0]
        b = as_tensor_variable(b)
        if b.ndim != 1 or b.dtype != z.dtype:
            raise TypeError(f"Conv2dBias: bias must be a vector of {z.dtype}, got {b} of type "
                            f"{b.type}")
        o = z.type.shape[1]
        if o is not None and b.type.shape[0] is not None and b.type.shape[0] != o:
            raise ValueError(f"Conv2dBias: {o} output channels but a bias of "
                             f"{b.type.shape[0]}")
        return Apply(self, [as_tensor_variable(x), as_tensor_variable(w), b],
                     [TensorVariable(z.type)])

    def perform(self, x, w, b):
        return K.forward_bias(x, w, b, self.pads(w.shape[2], w.shape[3]), self.stride,
                              self.flip, self.dilation, self.relu)

    def emit_into(self, node, names, buffer) -> str:
        x, w, b = names
        pad, shape = self._forward_source(x, w)
        return (f"_conv_forward_bias({x}, {w}, {b}, {pad}, {self.stride!r}, {self.flip!r}, "
                f"{self.dilation!r}, {self.relu!r}, {buffer(shape)}, {buffer.work}, "
                f"{buffer.loops})")

    def infer_shape(self, node, shapes):
        return self.conv().infer_shape(node, shapes[:2])

    def grad(self, inputs, outputs, output_grads):
        x, w, b = inputs
        (g,) = output_grads
        if self.relu:
            g = g * E.gt(outputs[0], 0)
        gx = Conv2dGradInputs(*self.params())(g, w, x.shape)
        gw = Conv2dGradWeights(*self.params())(x, g, w.shape)
        return [gx, gw, reduce_sum(g, axis=(0, 2, 3))]


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
    border_mode : 'valid', 'full', 'half', int or (int, int) zero padding; 'full' and 'half'
        pad by ``e - 1`` and ``e // 2`` with ``e = dilation * (k - 1) + 1`` the dilated extent
    subsample : strides (rows, cols)
    filter_flip : True for a true convolution (Theano's default), False for cross-correlation
    filter_dilation : spacing (rows, cols) between the filter taps (atrous convolution)
    """
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
    dilation = _pair(filter_dilation, "conv2d filter_dilation")
    if min(dilation) < 1:
        raise ValueError(f"conv2d: filter_dilation must be positive, got {dilation}")
    kshape = (w.type.shape[2], w.type.shape[3])
    if filter_shape is not None:
        kshape = (filter_shape[2], filter_shape[3])
    if border_mode in ("full", "half") and None in kshape:
        pad = border_mode  # derived from the filters' shape when the graph runs
    elif border_mode in ("full", "half"):
        pad = padding(border_mode, kshape, dilation)
    else:
        pad = padding(border_mode, (0, 0))
    stride = _pair(subsample, "conv2d subsample")
    if min(stride) < 1:
        raise ValueError(f"conv2d: subsample must be positive, got {stride}")
    return Conv2d(pad, stride, filter_flip, dilation)(x, w)
