"""``theano.tensor.xlogx``: ``x log x`` and ``x log y`` with the 0 log 0 = 0 limit."""
from symgraph.tensor.xlogx import xlogx, xlogy0  # noqa: F401


XlogX = xlogx
XlogY0 = xlogy0
scalar_xlogx = xlogx
scalar_xlogy0 = xlogy0
