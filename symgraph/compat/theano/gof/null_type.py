"""The markers a Theano-style op's ``grad`` returns for inputs without a gradient:
``DisconnectedType()()`` (no dependence: symgraph's ``disconnected``) and ``NullType(why)()``
(an undefined or unimplemented gradient: symgraph's ``None``)."""
from symgraph import gradient as _gradient


class NullMarker:
    """The value of an undefined gradient (``grad_undefined``, ``grad_not_implemented``)."""

    def __init__(self, why: str):
        self.why = why

    def __repr__(self):
        return f"<no gradient: {self.why}>"


class NullType:
    """The type of an undefined gradient: ``NullType(why)()`` is no gradient."""

    def __init__(self, why_null="(no explanation given)"):
        self.why_null = why_null

    def __call__(self, name=None):
        """The marker (``name`` changes nothing: the marker is no graph variable, nothing
        shows its name)."""
        return NullMarker(self.why_null)


class DisconnectedType:
    """``DisconnectedType()()`` is symgraph's ``disconnected`` (an input the output does not
    depend on)."""

    def __call__(self, name=None):
        """symgraph's ``disconnected`` (``name`` changes nothing: it is no graph variable,
        nothing shows its name)."""
        return _gradient.disconnected

    def __eq__(self, other):
        return type(other) is DisconnectedType

    def __hash__(self):
        return hash(DisconnectedType)


null_type = NullType()
