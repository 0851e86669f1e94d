"""``theano.typed_list``: symbolic Python lists of tensors of one type.

A list variable (``TypedListType(T.dvector)()``) holds a Python list of arrays; the ops build
new lists (they never change their input). Gradients do not flow through lists: differentiate
with respect to tensors, not to list elements.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType, Type


class TypedListType(Type):
    """The type of a list of values of ``ttype`` (a tensor type, or a list type for nested
    lists)."""

    __slots__ = ("ttype", "depth", "dtype", "shape")

    def __init__(self, ttype, depth: int = 0):
        if not isinstance(ttype, Type):
            raise TypeError(f"TypedListType: expected a type, got {ttype!r}")
        for _ in range(depth):
            ttype = TypedListType(ttype)
        object.__setattr__(self, "ttype", ttype)
        object.__setattr__(self, "depth", 0)
        object.__setattr__(self, "dtype", ttype.dtype)
        object.__setattr__(self, "shape", (None,))

    def __setattr__(self, name, value):
        raise AttributeError("TypedListType is immutable")

    def __eq__(self, other):
        return isinstance(other, TypedListType) and other.ttype == self.ttype

    def __hash__(self):
        return hash(("TypedListType", self.ttype))

    def __repr__(self):
        return f"TypedList <{self.ttype}>"

    __str__ = __repr__

    def filter(self, value, name: str = "input", allow_downcast: Optional[bool] = None):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{name}: expected a list of values of {self.ttype}, got "
                            f"{type(value).__name__}")
        return [self.ttype.filter(v, name=f"{name}[{k}]", allow_downcast=allow_downcast)
                for k, v in enumerate(value)]

    def copy_value(self, value):
        return [self.ttype.copy_value(v) if hasattr(self.ttype, "copy_value") else np.array(v)
                for v in value]

    def get_depth(self) -> int:
        return 1 + (self.ttype.get_depth() if isinstance(self.ttype, TypedListType) else 0)


class TypedListVariable(Variable):
    """A list variable; indexing, ``append``, ``extend``... build list ops."""

    def __getitem__(self, index):
        return getitem(self, index)

    def __len__(self):
        raise TypeError("a symbolic list has no len(); use typed_list.length(lst)")

    def append(self, x):
        return append(self, x)

    def extend(self, other):
        return extend(self, other)

    def insert(self, index, x):
        return insert(self, index, x)

    def remove(self, x):
        return remove(self, x)

    def reverse(self):
        return reverse(self)

    def count(self, x):
        return count(self, x)

    def index(self, x):
        return index_(self, x)

    def __repr__(self):
        return self.name or f"<{self.type}>"

    __str__ = __repr__


TypedListType.variable_class = TypedListVariable
TypedListConstant = TypedListVariable


def _as_item(lst_type: TypedListType, x):
    if isinstance(lst_type.ttype, TensorType):
        x = as_tensor_variable(x, dtype=lst_type.ttype.dtype if not isinstance(x, Variable)
                               else None)
        if x.dtype != lst_type.ttype.dtype or x.ndim != lst_type.ttype.ndim:
            raise TypeError(f"typed_list: {x} of type {x.type} does not fit a list of "
                            f"{lst_type.ttype}")
    return x


def _index(i):
    i = as_tensor_variable(i)
    if i.ndim != 0 or not i.dtype.startswith(("int", "uint")):
        raise TypeError(f"typed_list: an index must be an integer scalar, got {i.type}")
    return i


class _ListOp(Op):
    copies = True

    def _same(self, lst):
        if not isinstance(lst, Variable) or not isinstance(lst.type, TypedListType):
            raise TypeError(f"{type(self).__name__}: expected a typed list, got {lst!r}")
        return lst


class MakeList(_ListOp):
    """A list of the given tensors. Gradient: each element's gradient (from ``getitem``)."""

    def make_node(self, *items) -> Apply:
        if not items:
            raise ValueError("make_list: give at least one element (the list's type)")
        items = [as_tensor_variable(x) for x in items]
        t = TypedListType(TensorType(items[0].dtype, (None,) * items[0].ndim))
        items = [_as_item(t, x) for x in items]
        return Apply(self, items, [TypedListVariable(t)])

    def perform(self, *items):
        return [np.array(x) for x in items]

    def grad(self, inputs, outputs, output_grads):
        raise NotImplementedError("the gradient through a typed list is taken on its elements: "
                                  "differentiate the tensors read back with getitem")


class GetItem(_ListOp):
    """``lst[i]`` for an integer scalar ``i`` (a copy of the element)."""

    def make_node(self, lst, *index) -> Apply:
        lst = self._same(lst)
        return Apply(self, [lst, _index(index[0])], [TensorVariable(lst.type.ttype)]
                     if isinstance(lst.type.ttype, TensorType) else
                     [TypedListVariable(lst.type.ttype)])

    def perform(self, lst, *index):
        return np.array(lst[int(index[0])])


def getitem(lst, index):
    """The element at ``index`` (an int or integer scalar) or a slice of the list."""
    if isinstance(index, slice):
        parts = [index.start, index.stop, index.step]
        if any(isinstance(p, Variable) for p in parts):
            raise NotImplementedError("typed_list slices need int bounds")
        return _Slice(index.start, index.stop, index.step)(lst)
    return GetItem()(lst, index)


class _Slice(_ListOp):
    props = ("start", "stop", "step")

    def __init__(self, start, stop, step):
        self.start, self.stop, self.step = start, stop, step

    def make_node(self, lst) -> Apply:
        lst = self._same(lst)
        return Apply(self, [lst], [TypedListVariable(lst.type)])

    def perform(self, lst):
        return list(lst[self.start:self.stop:self.step])


class Append(_ListOp):
    """A new list with ``x`` at the end."""

    def make_node(self, lst, x) -> Apply:
        lst = self._same(lst)
        return Apply(self, [lst, _as_item(lst.type, x)], [TypedListVariable(lst.type)])

    def perform(self, lst, x):
        return list(lst) + [np.array(x)]


class Extend(_ListOp):
    """A new list: ``lst`` followed by the elements of ``other``."""

    def make_node(self, lst, other) -> Apply:
        lst, other = self._same(lst), self._same(other)
        if other.type != lst.type:
            raise TypeError(f"extend: {other.type} does not match {lst.type}")
        return Apply(self, [lst, other], [TypedListVariable(lst.type)])

    def perform(self, lst, other):
        return list(lst) + [np.array(x) for x in other]


class Insert(_ListOp):
    """A new list with ``x`` inserted at ``index``."""

    def make_node(self, lst, index, x) -> Apply:
        lst = self._same(lst)
        return Apply(self, [lst, _index(index), _as_item(lst.type, x)],
                     [TypedListVariable(lst.type)])

    def perform(self, lst, index, x):
        out = list(lst)
        out.insert(int(index), np.array(x))
        return out


class Remove(_ListOp):
    """A new list without the first element equal to ``x`` (an error if there is none)."""

    def make_node(self, lst, x) -> Apply:
        lst = self._same(lst)
        return Apply(self, [lst, _as_item(lst.type, x)], [TypedListVariable(lst.type)])

    def perform(self, lst, x):
        out = list(lst)
        for k, v in enumerate(out):
            if v.shape == np.shape(x) and np.array_equal(v, x):
                del out[k]
                return out
        raise ValueError("typed_list.remove: the value is not in the list")


class Reverse(_ListOp):
    """A new list in reverse order."""

    def make_node(self, lst) -> Apply:
        lst = self._same(lst)
        return Apply(self, [lst], [TypedListVariable(lst.type)])

    def perform(self, lst):
        return list(reversed(lst))


def _floatx_scalar():
    from symgraph.config import config
    return TensorVariable(TensorType(config.floatX, ()))


class Index(_ListOp):
    """The position of the first element equal to ``x`` (a ``floatX`` scalar, as Theano)."""

    def make_node(self, lst, x) -> Apply:
        lst = self._same(lst)
        return Apply(self, [lst, _as_item(lst.type, x)], [_floatx_scalar()])

    def runner(self, node):
        dtype = node.outputs[0].dtype

        def run(lst, x):
            for k, v in enumerate(lst):
                if v.shape == np.shape(x) and np.array_equal(v, x):
                    return np.asarray(k, dtype=dtype)
            raise ValueError("typed_list.index: the value is not in the list")
        return run

    def perform(self, lst, x):
        for k, v in enumerate(lst):
            if v.shape == np.shape(x) and np.array_equal(v, x):
                return np.asarray(k, dtype="float64")
        raise ValueError("typed_list.index: the value is not in the list")


class Count(_ListOp):
    """How many elements equal ``x`` (a ``floatX`` scalar, as Theano)."""

    def make_node(self, lst, x) -> Apply:
        lst = self._same(lst)
        return Apply(self, [lst, _as_item(lst.type, x)], [_floatx_scalar()])

    def runner(self, node):
        dtype = node.outputs[0].dtype

        def run(lst, x):
            return np.asarray(self.perform(lst, x), dtype=dtype)
        return run

    def perform(self, lst, x):
        return np.asarray(sum(1 for v in lst if v.shape == np.shape(x) and np.array_equal(v, x)),
                          dtype="float64")


class Length(_ListOp):
    """The number of elements (int64)."""

    def make_node(self, lst) -> Apply:
        lst = self._same(lst)
        return Apply(self, [lst], [TensorVariable(TensorType("int64", ()))])

    def perform(self, lst):
        return np.asarray(len(lst), dtype="int64")


make_list = MakeList()
append = Append()
extend = Extend()
insert = Insert()
remove = Remove()
reverse = Reverse()
index_ = Index()
count = Count()
length = Length()


from symgraph.graph import Apply, Constant  # noqa: E402,F401
from symgraph.op import Op  # noqa: E402,F401
