"""``theano.tensor.extra_ops``: the extra array functions legacy programs import from here."""
from symgraph.ops.join import Repeat, repeat, tile  # noqa: F401
from symgraph.ops.elemwise import clip  # noqa: F401


def to_one_hot(y, nb_class, dtype=None):
    """One-hot rows of the integer vector ``y`` (see ``T.nnet.to_one_hot``)."""
    from symgraph.ops.nnet import to_one_hot as _to_one_hot
    return _to_one_hot(y, nb_class, dtype=dtype)


def squeeze(x):
    """Drop every broadcastable (static length 1) dimension."""
    from symgraph.ops.join import squeeze as _squeeze
    return _squeeze(x)
