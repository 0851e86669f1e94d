"""``theano.shared``: shared variables of arrays (symgraph's) and, when SciPy is installed, of
sparse matrices (:mod:`theano.sparse`)."""
from __future__ import annotations

from symgraph.shared import Container, SharedVariable  # noqa: F401
from symgraph.shared import shared as _shared
from symgraph.graph import Variable  # noqa: F401

_CONSTRUCTORS = []


def shared_constructor(ctor, remove=False):
    """Register ``ctor(value, name=..., ...)`` to be tried before the array constructor."""
    if remove:
        _CONSTRUCTORS.remove(ctor)
    else:
        _CONSTRUCTORS.append(ctor)
    return ctor


def _is_sparse(value) -> bool:
    return type(value).__module__.startswith("scipy.sparse")


def shared(value, name=None, strict=False, allow_downcast=None, **kwargs):
    """A shared variable holding ``value`` (an array, a number, or a SciPy sparse matrix)."""
    for ctor in reversed(_CONSTRUCTORS):
        try:
            return ctor(value, name=name, strict=strict, allow_downcast=allow_downcast,
                        **kwargs)
        except TypeError:
            continue
    if _is_sparse(value):
        from symgraph.sparse import shared as sparse_shared
        return sparse_shared(value, name=name, **kwargs)
    return _shared(value, name=name, strict=strict, allow_downcast=allow_downcast, **kwargs)


def generic_constructor(value, name=None, strict=False, allow_downcast=None):
    raise TypeError("shared variables of arbitrary Python objects are not supported: symgraph "
                    "shared variables hold arrays")


generic = None
del generic
