"""``theano.updates``: ``OrderedUpdates``, an ordered ``{shared variable: new value}``."""
from collections import OrderedDict

from symgraph.shared import SharedVariable


class OrderedUpdates(OrderedDict):
    """An ordered dict of updates; keys must be shared variables, and a key set twice to
    different values is an error (as in Theano)."""

    def __setitem__(self, key, value):
        if not isinstance(key, SharedVariable):
            raise TypeError(f"OrderedUpdates keys must be shared variables, got {key!r}")
        if key in self and self[key] is not value:
            raise KeyError(f"Collision: {key} is already updated")
        super().__setitem__(key, value)

    def update(self, other=None, **kwargs):
        for k, v in (dict(other or {}, **kwargs)).items():
            self[k] = v

    def __add__(self, other):
        out = OrderedUpdates(self)
        out.update(other)
        return out
