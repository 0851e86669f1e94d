"""Theano's ``theano.tensor.shared_randomstreams`` spelling of :class:`symgraph.RandomStream`."""
from __future__ import annotations

from typing import Optional

from symgraph.random import RandomStream


class RandomStreams(RandomStream):
    """``RandomStreams(seed)``: draws ``uniform``, ``normal``, ``binomial``, ``choice``,
    ``permutation``, ``random_integers``, ``multinomial`` with Theano's signatures
    (``size`` first, then the parameters, ``ndim``, ``dtype``).

    The generator is NumPy's PCG64, not Theano's: the numbers differ from Theano's, but the same
    seed gives the same numbers on any machine.
    """

    def __init__(self, seed: Optional[int] = None):
        super().__init__(seed)


__all__ = ["RandomStreams"]
