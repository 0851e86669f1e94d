"""``theano.gof.generic``: the type of arbitrary Python objects. symgraph graphs carry tensors
only, so a generic variable can be made but not compiled."""
from symgraph.compat.theano.gof.type import Type


class Generic(Type):
    """Theano's type of arbitrary Python objects."""

    def filter(self, data, strict=False, allow_downcast=None):
        """``data`` itself: any object is a value of this type, so there is nothing to convert
        and ``strict`` and ``allow_downcast`` change nothing (as in Theano)."""
        return data

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))

    def __str__(self):
        return "generic"


generic = Generic()
