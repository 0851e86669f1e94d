"""``theano.tensor.signal``: pooling (``pool``; ``downsample`` is its legacy name)."""
from symgraph.compat.theano.tensor.signal import pool  # noqa: F401
