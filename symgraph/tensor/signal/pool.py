"""``theano.tensor.signal.pool``: ``pool_2d`` (and the legacy ``max_pool_2d``)."""
from symgraph.ops.pool import Pool2d, Pool2dGrad, pool_2d  # noqa: F401


def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
    """Legacy spelling of :func:`pool_2d` (Theano 0.7)."""
    return pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding, mode=mode)
