"""Theano's ``theano.sandbox.rng_mrg.MRG_RandomStreams`` name for :class:`symgraph.RandomStream`.

Bit-compatibility with Theano's MRG31k3p generator is not provided: the streams are NumPy PCG64
states kept in shared variables, with the same default-update and reseeding behaviour.
"""
from __future__ import annotations

from symgraph.random import RandomStream


class MRG_RandomStreams(RandomStream):
    """``MRG_RandomStreams(seed=12345)``; ``use_cuda`` and the methods' ``nstreams`` are
    accepted and ignored."""

    def __init__(self, seed: int = 12345, use_cuda=None):
        super().__init__(seed)


__all__ = ["MRG_RandomStreams"]
