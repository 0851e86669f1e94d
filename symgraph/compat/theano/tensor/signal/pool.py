"""``theano.tensor.signal.pool``: ``pool_2d`` and the legacy ``max_pool_2d``,
``max_pool_2d_same_size``; 3-d pooling is not available."""
from symgraph.ops.pool import Pool2d as Pool, Pool2dGrad as PoolGrad  # noqa: F401
from symgraph.ops.pool import MaxPool2dGradGrad as DownsampleFactorMaxGradGrad  # noqa: F401
from symgraph.ops.pool import pool_2d  # noqa: F401
from symgraph.tensor.signal.pool import max_pool_2d  # noqa: F401
from symgraph.ops.variable import as_tensor_variable

MaxPoolGrad = AveragePoolGrad = PoolGrad


def max_pool_2d_same_size(input, patch_size):
    """``input`` with every entry that is not the maximum of its ``patch_size`` block zeroed
    (the output has the input's shape)."""
    import symgraph.tensor as T
    x = as_tensor_variable(input)
    pooled = pool_2d(x, ws=patch_size, ignore_border=True)
    up = T.repeat(T.repeat(pooled, patch_size[0], axis=-2), patch_size[1], axis=-1)
    cropped = x[..., :up.shape[-2], :up.shape[-1]]
    keep = T.eq(cropped, up)
    out = T.zeros_like(x)
    return T.set_subtensor(out[..., :up.shape[-2], :up.shape[-1]], T.switch(keep, cropped, 0))


def pool_3d(*args, **kwargs):
    raise NotImplementedError("pool_3d: 3-d pooling is not available in symgraph; pool "
                              "reshaped volumes with pool_2d")


from symgraph.graph import Apply, Variable  # noqa: E402,F401
from symgraph.compat.theano.gof.null_type import DisconnectedType  # noqa: E402,F401
