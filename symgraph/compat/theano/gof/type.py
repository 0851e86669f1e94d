"""``theano.gof.type``: the base of types. Tensor types are symgraph's
:class:`~symgraph.types.TensorType`; other user-defined types cannot flow through symgraph
graphs (the linker and the rewrites know tensors only)."""
from symgraph.types import TensorType  # noqa: F401


class Type:
    """Theano's base class of types. Subclassing it to define a new kind of variable is not
    supported: the error says so when the type makes a variable."""

    def make_variable(self, name=None):
        raise NotImplementedError(f"{type(self).__name__}: user-defined variable types other "
                                  f"than tensors cannot be compiled by symgraph; use tensors "
                                  f"(theano.tensor.TensorType)")

    def __call__(self, name=None):
        return self.make_variable(name)


PureType = CLinkerType = Type
