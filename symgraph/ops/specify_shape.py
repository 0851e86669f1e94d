"""``SpecifyShape``: the identity, with facts about the shape added (or removed) in the type.

``specify_shape(x, (None, 3))`` makes the second dimension statically 3 for every op
downstream (and checks it when the graph runs); an entry may also be a symbolic integer,
checked at run time. :func:`set_static_shape` replaces the static shape wholesale, so a
dimension known to be 1 may also be forgotten. ``givens`` substitutes a value for a variable
declared with static dimensions through it, so the graph built on the declared type never
meets a value of another shape: the value is checked where it enters, and a call that brings
another shape fails naming the variable (the op's ``label``).

Gradient: the output gradient itself (identity).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType, int_dtypes


class SpecifyShape(Op):
    """Identity whose output type has the static shape ``shape`` (None = unknown); entries of
    ``shape`` at the indices ``symbolic`` are given as extra integer scalar inputs. Each
    known entry is checked when the graph runs."""

    props = ("shape", "symbolic", "label")
    view_map = {0: [0]}

    def __init__(self, shape: Sequence[Optional[int]], symbolic: Sequence[int] = (),
                 label: str = "specify_shape"):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.symbolic = tuple(int(k) for k in symbolic)
        self.label = str(label)

    def __str__(self):
        dims = ", ".join("?" if s is None else str(s) for s in self.shape)
        return f"SpecifyShape{{({dims})}}"

    def make_node(self, x, *dims) -> Apply:
        x = as_tensor_variable(x)
        if x.ndim != len(self.shape):
            raise ValueError(f"{self.label}: {x} has {x.ndim} dimensions, the shape given has "
                             f"{len(self.shape)}")
        for k, (have, want) in enumerate(zip(x.type.shape, self.shape)):
            if have is not None and want is not None and have != want:
                raise ValueError(f"{self.label}: a value of static shape "
                                 f"{_shape_text(x.type.shape)} where the shape "
                                 f"{_shape_text(self.shape)} was declared (dimension {k})")
        dims = [as_tensor_variable(d) for d in dims]
        if len(dims) != len(self.symbolic) or any(d.ndim or d.dtype not in int_dtypes
                                                  for d in dims):
            raise TypeError(f"{self}: expected {len(self.symbolic)} integer scalars for the "
                            f"dimensions {self.symbolic}")
        return Apply(self, [x] + dims, [TensorVariable(TensorType(x.dtype, self.shape))])

    @property
    def emit_helpers(self) -> dict:
        return {"_specify_shape": _check_shape}

    def perform(self, x, *dims):
        return _check_shape(x, self.shape, self.symbolic, self.label, *dims)

    def emit(self, names):
        args = ", ".join([names[0], repr(self.shape), repr(self.symbolic), repr(self.label)]
                         + list(names[1:]))
        return f"_specify_shape({args})"

    def infer_shape(self, node, shapes):
        out = list(shapes[0])
        for k, s in enumerate(self.shape):
            if s is not None:
                out[k] = s
        for k, d in zip(self.symbolic, node.inputs[1:]):
            out[k] = d
        return [tuple(out)]

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0]] + [None] * (len(inputs) - 1)


def _shape_text(shape) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _check_shape(x, shape, symbolic, label, *dims):
    """``x`` itself once its shape agrees with ``shape`` (None: any length; the entries at
    ``symbolic`` are ``dims``)."""
    want = list(shape)
    for k, d in zip(symbolic, dims):
        want[k] = int(d)
    got = getattr(x, "shape", ())
    if len(got) != len(want) or any(w is not None and w != s for w, s in zip(want, got)):
        raise ValueError(f"{label}: a value of shape {tuple(got)} where the shape "
                         f"{_shape_text(want)} was declared")
    return x


def specify_shape(x, shape, label: str = "specify_shape") -> Variable:
    """``x``, with the shape ``shape`` (ints, None, or integer scalars) checked at run time and
    the static entries known to every op downstream; ``x`` itself when its type already states
    them all. ``label`` names what is checked in the errors."""
    x = as_tensor_variable(x)
    if isinstance(shape, Variable) and shape.ndim == 1:
        n = shape.type.shape[0]
        if n is None:
            raise ValueError("specify_shape: a symbolic shape vector needs a known length")
        shape = [shape[k] for k in range(n)]
    static, symbolic, dims = [], [], []
    for k, s in enumerate(shape):
        if isinstance(s, Constant) and s.ndim == 0:
            s = int(s.data)
        if isinstance(s, Variable):
            static.append(None)
            symbolic.append(k)
            dims.append(s)
        elif s is None:
            static.append(x.type.shape[k] if k < x.ndim else None)
        else:
            static.append(int(s))
    declared = [s if k not in symbolic else None for k, s in enumerate(
        int(s) if isinstance(s, (int, np.integer)) else None for s in shape)]
    for k, (want, have) in enumerate(zip(declared, x.type.shape)):
        if want is not None and have is not None and want != have:
            raise ValueError(f"{label}: a value of static shape {_shape_text(x.type.shape)} "
                             f"where the shape {_shape_text(declared)} was declared "
                             f"(dimension {k})")
    if not symbolic and len(static) == x.ndim and tuple(static) == x.type.shape:
        return x
    return SpecifyShape(static, symbolic, label)(x, *dims)


def set_static_shape(x, shape: Sequence[Optional[int]]) -> Variable:
    """``x`` with exactly the static shape ``shape`` (known entries checked at run time, None
    entries forgotten)."""
    x = as_tensor_variable(x)
    if tuple(shape) == x.type.shape:
        return x
    return SpecifyShape(shape)(x)


__all__ = ["specify_shape", "set_static_shape"]
