"""``theano.sandbox``: ``rng_mrg`` (random streams) and ``cuda`` (which reports no GPU)."""
