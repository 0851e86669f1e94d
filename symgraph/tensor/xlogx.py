"""``theano.tensor.xlogx``: ``x * log(x)`` and ``x * log(y)`` with the 0 * log(0) = 0 limit."""
from symgraph.ops.elemwise import eq, log, switch


def xlogx(x):
    """``x * log(x)``, 0 where x == 0. Gradient: ``log(x) + 1`` away from 0."""
    return switch(eq(x, 0), 0.0 * x, x * log(switch(eq(x, 0), 1.0, x)))


def xlogy0(x, y):
    """``x * log(y)``, 0 where x == 0 (even when y == 0)."""
    return switch(eq(x, 0), 0.0 * x, x * log(switch(eq(x, 0), 1.0, y)))
