"""``theano.tensor.raw_random``: random draws are made through ``RandomStreams``."""
from symgraph.random import RandomDraw as RandomFunction  # noqa: F401
