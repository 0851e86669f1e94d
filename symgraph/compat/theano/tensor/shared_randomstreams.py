"""``theano.tensor.shared_randomstreams``: ``RandomStreams`` (symgraph's random streams; the
numbers differ from Theano's, the same seed gives the same numbers anywhere)."""
from symgraph.tensor.shared_randomstreams import RandomStreams  # noqa: F401
from symgraph.shared import SharedVariable, shared  # noqa: F401


shared_constructor = shared
