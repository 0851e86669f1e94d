"""Sparse matrix variables: ``SparseType`` (a SciPy ``csr``/``csc`` matrix of a dtype), the
variables and constants of that type, and shared sparse variables.

SciPy is an optional dependency (the ``scipy`` extra): making a sparse type without it raises
an ``ImportError`` that says so.
"""
from __future__ import annotations

import importlib
from typing import Optional

import numpy as np

from symgraph.graph import Constant, Variable
from symgraph.shared import Container, SharedVariable
from symgraph.types import Type, normalize_dtype

FORMATS = ("csr", "csc")


def scipy_sparse():
    """The ``scipy.sparse`` module, or an ``ImportError`` naming the extra to install."""
    try:
        return importlib.import_module("scipy.sparse")
    except ImportError:
        raise ImportError("symgraph.sparse needs SciPy: pip install 'symgraph[scipy]'") from None


class SparseType(Type):
    """A 2-d SciPy sparse matrix of ``format`` ('csr' or 'csc') and ``dtype``."""

    __slots__ = ("format", "dtype", "shape")

    def __init__(self, format: str, dtype):
        scipy_sparse()
        if format not in FORMATS:
            raise TypeError(f"SparseType: format must be one of {FORMATS}, got {format!r}")
        object.__setattr__(self, "format", format)
        object.__setattr__(self, "dtype", normalize_dtype(dtype))
        object.__setattr__(self, "shape", (None, None))

    def __setattr__(self, name, value):
        raise AttributeError("SparseType is immutable")

    def __reduce__(self):
        return (SparseType, (self.format, self.dtype))

    def __eq__(self, other) -> bool:
        return isinstance(other, SparseType) and other.format == self.format and \
            other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("SparseType", self.format, self.dtype))

    def __repr__(self) -> str:
        return f"Sparse[{self.dtype}, {self.format}]"

    __str__ = __repr__

    def filter(self, value, name: str = "input", allow_downcast: Optional[bool] = None):
        """``value`` as a SciPy matrix of this format and dtype (a safe cast, or any cast with
        ``allow_downcast``)."""
        sp = scipy_sparse()
        if not sp.issparse(value):
            raise TypeError(f"{name}: expected a scipy.sparse {self.format} matrix of "
                            f"{self.dtype}, got {type(value).__name__}")
        if value.format != self.format:
            value = value.asformat(self.format)
        if value.dtype != self.numpy_dtype:
            if not (allow_downcast or np.can_cast(value.dtype, self.numpy_dtype, "safe")):
                raise TypeError(f"{name}: a sparse matrix of dtype {value.dtype} cannot be cast "
                                f"safely to {self.dtype}")
            value = value.astype(self.dtype)
        return value

    def copy_value(self, value):
        return value.copy()

    def value_zeros(self, shape):
        return getattr(scipy_sparse(), f"{self.format}_matrix")(shape, dtype=self.dtype)


#: the module of the sparse ops, bound by :mod:`symgraph.sparse.basic` when it loads (the ops
#: import this module: the variables reach them through this late binding)
_OPS = {}


def bind_ops(module, key: str = "module") -> None:
    _OPS[key] = module


class _SparseOperators:
    """Operators of sparse variables (the sparse ops: :mod:`symgraph.sparse.basic`)."""

    @property
    def format(self) -> str:
        return self.type.format

    def _ops(self):
        if "module" not in _OPS:
            raise RuntimeError("sparse operators used before symgraph.sparse finished loading "
                               "(import symgraph.sparse)")
        return _OPS["module"]

    def __add__(self, other): return self._ops().add(self, other)
    def __radd__(self, other): return self._ops().add(other, self)
    def __sub__(self, other): return self._ops().sub(self, other)
    def __rsub__(self, other): return self._ops().sub(other, self)
    def __mul__(self, other): return self._ops().mul(self, other)
    def __rmul__(self, other): return self._ops().mul(other, self)
    def __neg__(self): return self._ops().neg(self)
    def __dot__(self, other): return self._ops().dot(self, other)
    def __rdot__(self, other): return self._ops().dot(other, self)

    @property
    def T(self): return self._ops().transpose(self)

    def toarray(self): return self._ops().dense_from_sparse(self)

    def __getitem__(self, index):
        """``x[i, j]`` (a dense scalar), ``x[rows]`` and ``x[a:b, c:d]`` (sparse)."""
        extra = _OPS["extra"]
        if isinstance(index, tuple) and len(index) == 2:
            if all(isinstance(i, slice) for i in index):
                return extra.get_item_2d(self, index)
            if not any(isinstance(i, slice) for i in index):
                a, b = index
                if getattr(a, "ndim", 0) == 0 and getattr(b, "ndim", 0) == 0 and \
                        not isinstance(a, (list, tuple)):
                    return extra.get_item_scalar(self, index)
                return extra.get_item_2lists(self, a, b)
        if isinstance(index, slice):
            return extra.get_item_2d(self, (index, slice(None)))
        return extra.get_item_list(self, index)

    def sum(self, axis=None, sparse_grad=False): return self._ops().sp_sum(self, axis)

    @property
    def shape(self): return self._ops().csm_properties(self)[3]

    @property
    def size(self): return self._ops().sp_sum(self._ops().sp_ones_like(self))

    def __len__(self):
        raise TypeError(f"sparse variable {self} has no len(); use {self}.shape[0]")

    def __bool__(self):
        return True


class SparseVariable(_SparseOperators, Variable):
    """A variable of :class:`SparseType`."""

    def __repr__(self):
        return self.name or f"SparseVariable{{{self.type.format},{self.type.dtype}}}"

    __str__ = __repr__


class SparseConstant(_SparseOperators, Constant):
    """A sparse matrix fixed when the graph is built."""

    def __init__(self, type: SparseType, data, name: Optional[str] = None):
        Variable.__init__(self, type, None, None, name)
        self.data = type.filter(data, name=name or "constant", allow_downcast=True).copy()
        self._signature = None

    def signature(self):
        if self._signature is None:
            d = self.data.tocsr()
            self._signature = (self.type, d.shape, d.data.tobytes(), d.indices.tobytes(),
                               d.indptr.tobytes())
        return self._signature

    def clone(self):
        return SparseConstant(self.type, self.data, self.name)

    def __repr__(self):
        return self.name or f"SparseConstant{{{self.type.format},{self.type.dtype}," \
                            f"shape={self.data.shape},nnz={self.data.nnz}}}"

    __str__ = __repr__


class SparseSharedVariable(_SparseOperators, SharedVariable):
    """A shared variable holding a sparse matrix."""

    def __init__(self, type: SparseType, value, name: Optional[str] = None,
                 strict: bool = False, allow_downcast: Optional[bool] = None):
        Variable.__init__(self, type, None, None, name)
        self._strict, self._allow_downcast = strict, allow_downcast
        self.container = Container(self._filter(value))
        self.default_update = None

    def _filter(self, value):
        if self._strict and not (scipy_sparse().issparse(value) and
                                 value.format == self.type.format and
                                 value.dtype == self.type.dtype):
            raise TypeError(f"shared variable {self.name or self}: strict=True needs a "
                            f"{self.type.format} matrix of {self.type.dtype}")
        return self.type.filter(value, name=f"shared variable {self.name or '<unnamed>'}",
                                allow_downcast=self._allow_downcast)

    def zero(self, borrow: bool = False) -> None:
        self.container.value = self.type.value_zeros(self.container.value.shape)

    def clone(self):
        new = SparseSharedVariable.__new__(SparseSharedVariable)
        Variable.__init__(new, self.type, None, None, self.name)
        new._strict, new._allow_downcast = self._strict, self._allow_downcast
        new.container = self.container
        new.default_update = self.default_update
        return new

    def __repr__(self):
        return self.name or f"<shared {self.type}>"

    __str__ = __repr__


SparseType.variable_class = SparseVariable


def shared(value, name: Optional[str] = None, strict: bool = False,
           allow_downcast: Optional[bool] = None, borrow: bool = False, format=None
           ) -> SparseSharedVariable:
    """A shared variable holding the SciPy sparse matrix ``value`` (csr or csc)."""
    sp = scipy_sparse()
    if not sp.issparse(value):
        raise TypeError(f"sparse shared(): expected a scipy.sparse matrix, got "
                        f"{type(value).__name__}")
    fmt = format or value.format
    if fmt not in FORMATS:
        value, fmt = value.tocsr(), "csr"
    if not borrow:
        value = value.copy()
    return SparseSharedVariable(SparseType(fmt, value.dtype), value, name=name, strict=strict,
                                allow_downcast=allow_downcast)
