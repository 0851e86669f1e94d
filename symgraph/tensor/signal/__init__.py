"""``theano.tensor.signal`` in symgraph: pooling."""
from symgraph.tensor.signal import pool  # noqa: F401
