"""``theano.compile.ops``: ``as_op`` (a Python function as an op), and the small ops of
Theano's compile module (shape, specify_shape, view and deep copy)."""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from symgraph.graph import Apply
from symgraph.ops.shape import Shape, ShapeI as Shape_i, shape, shape_i  # noqa: F401
from symgraph.ops.specify_shape import SpecifyShape, specify_shape  # noqa: F401
from symgraph.ops.elemwise import identity as _identity
from symgraph.ops.variable import as_tensor_variable
from symgraph.compat.theano.gof.op import Op

Rebroadcast = SpecifyShape


class FromFunctionOp(Op):
    """An op whose ``perform`` calls a Python function of the input arrays (``as_op``).

    It has no gradient (Theano's ``as_op`` ops have none either); ``infer_shape``, when given,
    is ``infer_shape(node, input_shapes) -> output_shapes``.
    """

    __props__ = ("fn", "itypes", "otypes", "_infer_shape")

    def __init__(self, fn: Callable, itypes: Sequence, otypes: Sequence,
                 infer_shape: Optional[Callable]):
        self.fn = fn
        self.itypes = tuple(itypes)
        self.otypes = tuple(otypes)
        self._infer_shape = infer_shape
        self.__name__ = getattr(fn, "__name__", "as_op")
        self.__doc__ = getattr(fn, "__doc__", None)

    def __str__(self):
        return f"FromFunctionOp{{{self.__name__}}}"

    def perform(self, node, inputs, outputs):
        result = self.fn(*inputs)
        if len(self.otypes) == 1:
            result = [result]
        if len(result) != len(self.otypes):
            raise ValueError(f"{self}: the function returned {len(result)} outputs, the op "
                             f"declares {len(self.otypes)}")
        for cell, value, t in zip(outputs, result, self.otypes):
            cell[0] = np.asarray(value, dtype=t.dtype)

    def infer_shape(self, node, input_shapes):
        if self._infer_shape is None:
            return None
        return self._infer_shape(node, input_shapes)

    def grad(self, inputs, output_grads):
        raise NotImplementedError(f"{self}: an op made with as_op has no gradient; write an "
                                  f"Op subclass with a grad method")

    def __reduce__(self):
        mod = getattr(self.fn, "__module__", None)
        name = getattr(self.fn, "__name__", None)
        if mod is None or name is None:
            raise TypeError(f"{self} cannot be pickled: its function has no importable name")
        return (_load_back, (mod, name))


def _load_back(mod, name):
    import importlib
    obj = importlib.import_module(mod)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


load_back = _load_back


def as_op(itypes, otypes, infer_shape=None):
    """Decorator: the function becomes an op of input types ``itypes`` and output types
    ``otypes`` (its ``perform`` calls the function on NumPy arrays)."""
    itypes = list(itypes) if isinstance(itypes, (list, tuple)) else [itypes]
    otypes = list(otypes) if isinstance(otypes, (list, tuple)) else [otypes]
    if infer_shape is not None and not callable(infer_shape):
        raise TypeError("as_op: infer_shape must be callable")

    def make(fn):
        return FromFunctionOp(fn, itypes, otypes, infer_shape)
    return make


class ViewOp:
    """``view_op(x)``: ``x`` itself (an identity)."""

    def __call__(self, x):
        return _identity(x)


view_op = ViewOp()
DeepCopyOp = ViewOp
deep_copy_op = view_op
OutputGuard = ViewOp


def register_view_op_c_code(*args, **kwargs):
    raise NotImplementedError("C code registration has no counterpart: symgraph has no C "
                              "back end")


register_deep_copy_op_c_code = register_shape_c_code = register_shape_i_c_code = \
    register_specify_shape_c_code = register_rebroadcast_c_code = register_view_op_c_code
expandable_types = ()


shape_i_op = Shape_i
