"""``theano.tensor.nnet.conv``: the legacy ``conv2d(input, filters, image_shape,
filter_shape, border_mode, subsample)`` (a true convolution, 'valid' or 'full')."""
from symgraph.tensor.nnet.conv import conv2d  # noqa: F401
from symgraph.compat.theano.tensor.nnet.abstract_conv import (  # noqa: F401
    get_conv_output_shape, get_conv_shape_1axis)
from symgraph.compat.theano.tensor.basic import (  # noqa: F401
    NotScalarConstantError, get_scalar_constant_value, patternbroadcast)
from symgraph.ops.conv import Conv2d as ConvOp  # noqa: F401

from symgraph.graph import Apply  # noqa: E402,F401
from symgraph.ops.variable import as_tensor_variable  # noqa: E402,F401
from symgraph.compat.theano.gof.op import OpenMPOp  # noqa: E402,F401
imported_scipy_signal = False
