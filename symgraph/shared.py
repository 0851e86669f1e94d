"""Shared variables: graph inputs bound to storage that persists between calls."""
from __future__ import annotations

import itertools
import threading
from typing import Optional, Sequence

import numpy as np

from symgraph.graph import Variable
from symgraph.ops.variable import TensorVariable
from symgraph.types import TensorType


_serials = itertools.count()


class Container:
    """The storage cell of a shared variable.

    Compiled functions read ``value`` and commit new values by replacing it. An update computed
    at commit time is written into ``spare`` (a buffer of the last value's shape that no one
    else holds: the value before the last commit), and the commit swaps the two, so storage
    that can still be observed is never written. ``lock`` is held by every call of a
    compiled function that reads or updates this variable (cells are locked in ``serial``
    order, so two functions never wait for each other in a circle).
    """

    __slots__ = ("value", "spare", "lock", "serial")

    def __init__(self, value):
        self.value = value
        self.spare = None
        self.lock = threading.RLock()
        self.serial = next(_serials)

    def __getstate__(self):
        return self.value

    def __setstate__(self, state):
        self.__init__(state)


class SharedVariable(TensorVariable):
    """A variable whose value lives between calls of the functions that use it.

    Its type fixes the dtype and the number of dimensions; dimensions are unknown (``None``)
    unless declared broadcastable, so ``set_value`` may change the shape, as in Theano.
    ``default_update``, when set, is the update applied by every compiled function that uses
    the variable and does not list it in ``updates`` (random-stream state relies on it).
    """

    def __init__(self, type: TensorType, value: np.ndarray, name: Optional[str] = None,
                 strict: bool = False, allow_downcast: Optional[bool] = None):
        super().__init__(type, None, None, name)
        self._strict = strict
        self._allow_downcast = allow_downcast
        self.container = Container(self._filter(value))
        self.default_update: Optional[Variable] = None

    def _filter(self, value) -> np.ndarray:
        if self._strict and not (isinstance(value, np.ndarray) and value.dtype == self.type.dtype):
            raise TypeError(f"shared variable {self.name or self}: strict=True needs an ndarray "
                            f"of dtype {self.type.dtype}, got {type(value).__name__}")
        return self.type.filter(value, name=f"shared variable {self.name or '<unnamed>'}",
                                allow_downcast=self._allow_downcast)

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> np.ndarray:
        """The current value; a copy unless ``borrow=True``. A borrowed array is the storage
        itself: after the next commit it serves as the buffer the following update is written
        into (as in Theano, borrowed storage may change under you)."""
        if borrow:
            return self.container.value
        with self.container.lock:  # a commit elsewhere must not recycle it while we copy
            return self.container.value.copy()

    def set_value(self, value, borrow: bool = False) -> None:
        """Replace the value (validated against the type: same dtype rules as inputs)."""
        new = self._filter(value)
        if new is value and not borrow:
            new = new.copy()
        with self.container.lock:
            self.container.value = new
            self.container.spare = None

    @property
    def value(self) -> np.ndarray:
        return self.get_value()

    def zero(self, borrow: bool = False) -> None:
        with self.container.lock:
            self.container.value = np.zeros_like(self.container.value)

    def clone(self) -> "SharedVariable":
        # a clone is the same storage under another identity (Theano semantics)
        new = SharedVariable.__new__(SharedVariable)
        Variable.__init__(new, self.type, None, None, self.name)
        new._strict, new._allow_downcast = self._strict, self._allow_downcast
        new.container = self.container
        new.default_update = self.default_update
        return new

    def __repr__(self) -> str:
        return self.name or f"<shared {self.type}>"

    __str__ = __repr__


def shared(value, name: Optional[str] = None, borrow: bool = False, strict: bool = False,
           allow_downcast: Optional[bool] = None, broadcastable: Optional[Sequence[bool]] = None,
           shape: Optional[Sequence[Optional[int]]] = None) -> SharedVariable:
    """Create a shared variable holding ``value``.

    Parameters
    ----------
    value : array_like
        Scalars, integers and arrays of any rank. Python numbers keep NumPy's dtype
        (``0.1`` is float64, ``3`` is int64), as in Theano.
    borrow : bool
        Use ``value`` itself as storage instead of a copy.
    broadcastable, shape : optional
        Static facts about the dimensions; by default every dimension is unknown so that
        ``set_value`` may change it.
    """
    if isinstance(value, Variable):
        raise TypeError(f"shared() takes a value, not the symbolic variable {value}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"shared({name or ''}): cannot store {type(value).__name__} of dtype "
                        f"{arr.dtype}; shared variables hold numeric arrays")
    if shape is None:
        shape = [None] * arr.ndim
        if broadcastable is not None:
            if len(broadcastable) != arr.ndim:
                raise ValueError(f"shared({name or ''}): broadcastable has {len(broadcastable)} "
                                 f"entries for a {arr.ndim}-d value")
            shape = [1 if b else None for b in broadcastable]
    type_ = TensorType(arr.dtype, shape)
    if borrow and isinstance(value, np.ndarray):
        data = value
    else:
        data = np.array(arr, copy=True)
    return SharedVariable(type_, data, name=name, strict=strict, allow_downcast=allow_downcast)
