"""``theano.sandbox.rng_mrg``: ``MRG_RandomStreams`` (symgraph's random streams under Theano's
name; the numbers are not Theano's MRG31k3p numbers)."""
from symgraph.sandbox.rng_mrg import MRG_RandomStreams  # noqa: F401
