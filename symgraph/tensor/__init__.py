"""The user namespace, in Theano's spelling: ``import symgraph.tensor as T``.

Thin: constructors of symbolic inputs, and re-exports of the op families and of ``grad``.
``__all__`` lists the namespace's names, so ``from symgraph.tensor import *`` brings the
tensor API and nothing the modules behind it import for their own use (``np``, ``typing``
names...); the sub-namespaces (``T.nnet``, ``T.signal``...) load on first use.
"""
from __future__ import annotations

import builtins as _builtins
import types as _types

from symgraph.config import config
from symgraph.graph import Constant, Variable  # noqa: F401
from symgraph.ops.variable import (TensorConstant, TensorVariable, as_tensor_variable,  # noqa
                                   constant)
from symgraph.ops import *  # noqa: F401,F403


def _foreign(value) -> bool:
    """A module, or a name of ``typing``/``__future__``: not part of the tensor API."""
    return (isinstance(value, _types.ModuleType)
            or getattr(value, "__module__", None) in ("typing", "__future__"))


# The star import also copies what the op families import for their own use: modules (numpy
# as np, builtins, numbers, loaded submodules of symgraph.ops) and typing names. Drop them:
# they are not the tensor API, and the Theano-spelled namespaces (T.nnet, T.signal, ...) are
# resolved by __getattr__ below.
for _name, _value in list(globals().items()):
    if not _name.startswith("_") and _foreign(_value):
        del globals()[_name]
from typing import Optional, Sequence  # noqa: E402  (this module's annotations)
from symgraph.ops import abs, abs_, all, any, max, min, pow, round, sum  # noqa: F401
from symgraph.gradient import (grad, Lop, Rop, disconnected_grad, stop_gradient,  # noqa
                               zero_grad)
from symgraph.jacobian import jacobian, hessian  # noqa: F401
from symgraph.testing import verify_grad  # noqa: F401
from symgraph.types import TensorType  # noqa: F401

as_tensor = as_tensor_variable


def tensor(dtype=None, shape: Optional[Sequence[Optional[int]]] = None,
           name: Optional[str] = None, broadcastable: Optional[Sequence[bool]] = None
           ) -> Variable:
    """A symbolic input of ``dtype`` (default ``config.floatX``) and static ``shape``.

    Theano's positional form ``tensor(dtype, broadcastable, name)`` is accepted too.
    """
    if shape is None and broadcastable is not None:
        shape = broadcastable
    if shape is None:
        raise TypeError("tensor(): give the shape (a tuple with None for unknown dims)")
    if shape and _builtins.all(isinstance(s, bool) for s in shape):
        shape = [1 if b else None for b in shape]
    return TensorVariable(TensorType(dtype or config.floatX, shape), name=name)


def _maker(ndim: int, fixed_dtype: Optional[str], label: str):
    def make(name: Optional[str] = None, dtype=None, shape=None) -> Variable:
        if fixed_dtype is not None and dtype is not None and dtype != fixed_dtype:
            raise TypeError(f"{label}() makes {fixed_dtype} tensors; use "
                            f"{label.lstrip('fdilbcz')}(dtype=...) for others")
        if shape is None:
            shape = (None,) * ndim
        elif len(shape) != ndim:
            raise ValueError(f"{label}(): shape {shape} must have {ndim} entries")
        return TensorVariable(TensorType(dtype or fixed_dtype or config.floatX, shape), name=name)
    make.__name__ = label
    make.__doc__ = (f"A symbolic {ndim}-d input of dtype "
                    f"{fixed_dtype or 'config.floatX (or dtype=)'}.")
    return make


_RANKS = {"scalar": 0, "vector": 1, "matrix": 2, "row": 2, "col": 2, "tensor3": 3,
          "tensor4": 4, "tensor5": 5}
_PREFIX = {"": None, "f": "float32", "d": "float64", "i": "int32", "l": "int64",
           "b": "int8", "w": "int16", "c": "complex64", "z": "complex128"}

for _rank_name, _nd in _RANKS.items():
    for _p, _dt in _PREFIX.items():
        globals()[_p + _rank_name] = _maker(_nd, _dt, _p + _rank_name)


def _rowcol(label: str, shape):
    base = globals()[label]

    def make(name=None, dtype=None, shape_=shape, _base=base):
        return _base(name=name, dtype=dtype, shape=shape_)
    make.__name__ = label
    return make


for _p in _PREFIX:
    globals()[_p + "row"] = _rowcol(_p + "row", (1, None))
    globals()[_p + "col"] = _rowcol(_p + "col", (None, 1))

iscalars = lscalars = None  # noqa: E305 (plural constructors of Theano are not provided)
del iscalars, lscalars


#: the sub-namespaces, imported on first use (they import this module: no import cycle)
_SUBMODULES = ("nnet", "signal", "shared_randomstreams", "extra_ops", "xlogx")


def __getattr__(name: str):
    """``T.nnet``, ``T.signal``...: import the sub-namespace; any other name is missing."""
    if name in _SUBMODULES:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))


#: the public names: every function, op, class and constant above (the sub-namespaces are
#: reached as attributes, as in Theano, and are not star-imported)
__all__ = sorted(name for name, value in globals().items()
                 if not name.startswith("_") and not _foreign(value))
