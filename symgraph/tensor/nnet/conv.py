"""``theano.tensor.nnet.conv``: the legacy ``conv2d(input, filters, filter_shape, image_shape)``.

It computes the same true convolution as :func:`symgraph.ops.conv.conv2d` (filters flipped).
"""
from symgraph.ops.conv import conv2d as _conv2d


def conv2d(input, filters, image_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), filter_dilation=(1, 1), **kwargs):
    """Legacy 2-d convolution: ``border_mode`` is 'valid' or 'full'."""
    if border_mode not in ("valid", "full"):
        raise ValueError(f"nnet.conv.conv2d: border_mode must be 'valid' or 'full', got "
                         f"{border_mode!r}")
    return _conv2d(input, filters, input_shape=image_shape, filter_shape=filter_shape,
                   border_mode=border_mode, subsample=subsample, filter_flip=True,
                   filter_dilation=filter_dilation)
