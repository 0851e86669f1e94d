"""Sparse ops: building and taking apart (``CSM``, ``CSMProperties``), conversions to and from
dense, transposes, sums, elementwise sums and products, and products with dense or sparse
matrices.

Gradients with respect to a sparse matrix are dense matrices (zero where the gradient is
structurally zero); gradients with respect to the data vector of a matrix built by ``CSM`` are
the values of that dense gradient at the matrix's stored entries.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.namespace import T
from symgraph.ops.variable import TensorVariable, as_tensor_variable
import sys

from symgraph.sparse import type as _type
from symgraph.sparse.type import (FORMATS, SparseConstant, SparseType, SparseVariable,
                                  scipy_sparse)
from symgraph.types import TensorType, result_dtype


def is_sparse_variable(x) -> bool:
    return isinstance(x, Variable) and isinstance(x.type, SparseType)


def as_sparse_variable(x, name: Optional[str] = None) -> Variable:
    """A sparse variable as it is, or a SciPy sparse matrix as a constant."""
    if isinstance(x, Variable):
        if not is_sparse_variable(x):
            raise TypeError(f"expected a sparse variable, got {x} of type {x.type}; convert a "
                            f"dense one with csr_from_dense or csc_from_dense")
        return x
    sp = scipy_sparse()
    if sp.issparse(x):
        fmt = x.format if x.format in FORMATS else "csr"
        return SparseConstant(SparseType(fmt, x.dtype), x.asformat(fmt), name=name)
    raise TypeError(f"cannot make a sparse variable from {type(x).__name__}")


as_sparse = as_sparse_variable


def as_sparse_or_tensor_variable(x, name: Optional[str] = None) -> Variable:
    try:
        return as_sparse_variable(x, name)
    except TypeError:
        return as_tensor_variable(x, name)


def _sparse_out(format: str, dtype: str) -> SparseVariable:
    return SparseVariable(SparseType(format, dtype))


def _matrix(x, what: str) -> Variable:
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise TypeError(f"{what}: expected a matrix, got {x} of type {x.type}")
    return x


class _SparseOp(Op):
    copies = True


# ---------------------------------------------------------------------------------------
# structure
# ---------------------------------------------------------------------------------------

class CSM(_SparseOp):
    """A ``format`` matrix from ``(data, indices, indptr, shape)`` (SciPy's arrays).

    Gradient in ``data``: the output gradient at the stored entries (:class:`CSMGradData`).
    """

    props = ("format",)

    def __init__(self, format: str):
        if format not in FORMATS:
            raise ValueError(f"CSM: format must be one of {FORMATS}, got {format!r}")
        self.format = format

    def make_node(self, data, indices, indptr, shape) -> Apply:
        data = as_tensor_variable(data)
        indices, indptr, shape = (as_tensor_variable(v) for v in (indices, indptr, shape))
        if data.ndim != 1:
            raise TypeError(f"CSM: data must be a vector, got {data} of type {data.type}")
        for v, what in ((indices, "indices"), (indptr, "indptr"), (shape, "shape")):
            if v.ndim != 1 or not v.dtype.startswith(("int", "uint")):
                raise TypeError(f"CSM: {what} must be an integer vector, got {v.type}")
        return Apply(self, [data, indices, indptr, shape], [_sparse_out(self.format, data.dtype)])

    def perform(self, data, indices, indptr, shape):
        cls = getattr(scipy_sparse(), f"{self.format}_matrix")
        return cls((np.array(data), np.array(indices), np.array(indptr)),
                   shape=tuple(int(s) for s in shape))

    def grad(self, inputs, outputs, output_grads):
        _, indices, indptr, _ = inputs
        g = CSMGradData(self.format)(output_grads[0], indices, indptr)
        return [g, None, None, None]


class CSMGradData(_SparseOp):
    """The entries of the dense matrix ``g`` at the stored positions given by
    ``(indices, indptr)``, in storage order. Gradient: those values scattered back
    (:class:`DenseFromCSM`)."""

    props = ("format",)

    def __init__(self, format: str):
        self.format = format

    def make_node(self, g, indices, indptr) -> Apply:
        g = _matrix(g, "CSMGradData")
        return Apply(self, [g, as_tensor_variable(indices), as_tensor_variable(indptr)],
                     [TensorVariable(TensorType(g.dtype, (None,)))])

    def perform(self, g, indices, indptr):
        major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        rows, cols = (major, indices) if self.format == "csr" else (indices, major)
        return np.asarray(g[rows, cols]).ravel()

    def grad(self, inputs, outputs, output_grads):
        g, indices, indptr = inputs
        return [DenseFromCSM(self.format)(output_grads[0], indices, indptr, g.shape), None,
                None]


class DenseFromCSM(_SparseOp):
    """A dense matrix of ``shape`` with ``data`` at the stored positions (duplicates added).
    Gradient in ``data``: :class:`CSMGradData`."""

    props = ("format",)

    def __init__(self, format: str):
        self.format = format

    def make_node(self, data, indices, indptr, shape) -> Apply:
        data = as_tensor_variable(data)
        ins = [data] + [as_tensor_variable(v) for v in (indices, indptr, shape)]
        return Apply(self, ins, [TensorVariable(TensorType(data.dtype, (None, None)))])

    def perform(self, data, indices, indptr, shape):
        return CSM(self.format).perform(data, indices, indptr, shape).toarray()

    def grad(self, inputs, outputs, output_grads):
        _, indices, indptr, _ = inputs
        return [CSMGradData(self.format)(output_grads[0], indices, indptr), None, None, None]


class CSMProperties(_SparseOp):
    """``(data, indices, indptr, shape)`` of a sparse matrix (int32 index arrays, as SciPy).
    Gradient: the data's gradient placed at the stored entries (a dense matrix)."""

    def make_node(self, x) -> Apply:
        x = as_sparse_variable(x)
        outs = [TensorVariable(TensorType(x.dtype, (None,))),
                TensorVariable(TensorType("int32", (None,))),
                TensorVariable(TensorType("int32", (None,))),
                TensorVariable(TensorType("int32", (2,)))]
        return Apply(self, [x], outs)

    def perform(self, x):
        return (x.data, x.indices.astype("int32"), x.indptr.astype("int32"),
                np.array(x.shape, dtype="int32"))

    def infer_shape(self, node, shapes):
        return [None, None, None, (2,)]

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        gdata = output_grads[0]
        _, indices, indptr, shape = outputs
        return [DenseFromCSM(x.type.format)(gdata, indices, indptr, shape)]


csm_properties = CSMProperties()


def csm_data(x):
    return csm_properties(x)[0]


def csm_indices(x):
    return csm_properties(x)[1]


def csm_indptr(x):
    return csm_properties(x)[2]


def csm_shape(x):
    return csm_properties(x)[3]


CSR, CSC = CSM("csr"), CSM("csc")


class DenseFromSparse(_SparseOp):
    """``x.toarray()``. Gradient: the output gradient (dense)."""

    def make_node(self, x) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, (None, None)))])

    def perform(self, x):
        return x.toarray()

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0]]


dense_from_sparse = DenseFromSparse()


class SparseFromDense(_SparseOp):
    """A dense matrix as a sparse ``format`` matrix (zeros not stored). Gradient: the output
    gradient (dense)."""

    props = ("format",)

    def __init__(self, format: str):
        self.format = format

    def make_node(self, x) -> Apply:
        x = _matrix(x, f"{self.format}_from_dense")
        return Apply(self, [x], [_sparse_out(self.format, x.dtype)])

    def perform(self, x):
        return getattr(scipy_sparse(), f"{self.format}_matrix")(x)

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0]]


csr_from_dense, csc_from_dense = SparseFromDense("csr"), SparseFromDense("csc")


class Transpose(_SparseOp):
    """The transpose (csr becomes csc and back). Gradient: the transposed gradient."""

    def make_node(self, x) -> Apply:
        x = as_sparse_variable(x)
        fmt = {"csr": "csc", "csc": "csr"}[x.type.format]
        return Apply(self, [x], [_sparse_out(fmt, x.dtype)])

    def perform(self, x):
        return x.transpose()

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0].T]


transpose = Transpose()


class Neg(_SparseOp):
    """``-x``. Gradient: ``-gz``."""

    def make_node(self, x) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [_sparse_out(x.type.format, x.dtype)])

    def perform(self, x):
        return -x

    def grad(self, inputs, outputs, output_grads):
        return [-output_grads[0]]


neg = Neg()


class Cast(_SparseOp):
    """The matrix with its values cast to ``dtype``. Gradient: cast back."""

    props = ("dtype",)

    def __init__(self, dtype: str):
        self.dtype = np.dtype(dtype).name

    def make_node(self, x) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [_sparse_out(x.type.format, self.dtype)])

    def perform(self, x):
        return x.astype(self.dtype)

    def grad(self, inputs, outputs, output_grads):
        return [E.cast(output_grads[0], inputs[0].dtype)]


def cast(x, dtype):
    return Cast(dtype)(x)


fcast, dcast = Cast("float32"), Cast("float64")
icast, lcast = Cast("int32"), Cast("int64")
bcast, wcast = Cast("int8"), Cast("int16")
ccast, zcast = Cast("complex64"), Cast("complex128")


class SpSum(_SparseOp):
    """Sum over ``axis`` (None: all) into a dense vector or scalar. Gradient: ``gz``
    broadcast over the summed axis (dense)."""

    props = ("axis",)

    def __init__(self, axis: Optional[int] = None):
        self.axis = axis

    def make_node(self, x) -> Apply:
        x = as_sparse_variable(x)
        shape = () if self.axis is None else (None,)
        return Apply(self, [x], [TensorVariable(TensorType(x.dtype, shape))])

    def perform(self, x):
        out = x.sum(axis=self.axis)
        return np.asarray(out, dtype=x.dtype).reshape(() if self.axis is None else (-1,))

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        (gz,) = output_grads
        shape = csm_shape(x)
        if self.axis is None:
            g = T.alloc(gz, shape[0], shape[1])
        elif self.axis == 0:
            g = T.alloc(gz.dimshuffle("x", 0), shape[0], shape[1])
        else:
            g = T.alloc(gz.dimshuffle(0, "x"), shape[0], shape[1])
        return [g]


def sp_sum(x, axis: Optional[int] = None, sparse_grad: bool = False):
    """Sum of a sparse matrix over ``axis`` (a dense result)."""
    if axis is not None and axis not in (0, 1, -1, -2):
        raise ValueError(f"sp_sum: axis must be None, 0 or 1, got {axis}")
    if axis is not None:
        axis = axis % 2
    return SpSum(axis)(x)


# ---------------------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------------------

class _Binary(_SparseOp):
    """A binary op with a sparse first operand; ``dense`` says whether the second is dense,
    ``out_sparse`` whether the result is sparse."""

    dense_second = False
    out_sparse = True

    def make_node(self, x, y) -> Apply:
        x = as_sparse_variable(x)
        y = _matrix(y, str(self)) if self.dense_second else as_sparse_variable(y)
        dtype = result_dtype(x.dtype, y.dtype)
        out = _sparse_out(x.type.format, dtype) if self.out_sparse else \
            TensorVariable(TensorType(dtype, (None, None)))
        return Apply(self, [x, y], [out])


class AddSS(_Binary):
    """sparse + sparse. Gradient: ``gz`` to both."""

    def perform(self, x, y):
        return (x + y).asformat(x.format)

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0], output_grads[0]]


class AddSD(_Binary):
    """sparse + dense, a dense result. Gradient: ``gz`` to both."""

    dense_second = True
    out_sparse = False

    def perform(self, x, y):
        return np.asarray(x + y)

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0], output_grads[0]]


class MulSS(_Binary):
    """Elementwise sparse * sparse. Gradient: ``gz * y`` and ``gz * x`` (dense)."""

    def perform(self, x, y):
        return x.multiply(y).asformat(x.format)

    def grad(self, inputs, outputs, output_grads):
        x, y = inputs
        (gz,) = output_grads
        return [dense_from_sparse(MulSD()(y, gz)), dense_from_sparse(MulSD()(x, gz))]


class MulSD(_Binary):
    """Elementwise sparse * dense, a sparse result (zero where ``x`` is). Gradient:
    ``gz * y`` at ``x``'s entries and ``gz * x`` (dense)."""

    dense_second = True

    def perform(self, x, y):
        return scipy_sparse().csr_matrix(x.multiply(y)).asformat(x.format)

    def grad(self, inputs, outputs, output_grads):
        x, y = inputs
        (gz,) = output_grads
        gx = dense_from_sparse(MulSD()(SparseOnes()(x), gz * y))
        gy = dense_from_sparse(MulSD()(x, gz))
        return [gx, gy]


class SparseOnes(_SparseOp):
    """A matrix of ones at ``x``'s stored entries (the structure of ``x``). No gradient."""

    def make_node(self, x) -> Apply:
        x = as_sparse_variable(x)
        return Apply(self, [x], [_sparse_out(x.type.format, x.dtype)])

    def perform(self, x):
        out = x.copy()
        out.data = np.ones_like(out.data)
        return out

    def grad(self, inputs, outputs, output_grads):
        return [None]


def sp_ones_like(x):
    """Ones at the stored entries of the sparse ``x``."""
    return SparseOnes()(x)


def sp_zeros_like(x):
    """An all-zero sparse matrix of ``x``'s shape and format."""
    return MulSD()(x, T.zeros((1, 1), dtype=x.dtype))


def add(x, y):
    """``x + y`` with one or both sparse: sparse + sparse is sparse, sparse + dense dense."""
    xs, ys = is_sparse_variable(x) or _is_scipy(x), is_sparse_variable(y) or _is_scipy(y)
    if xs and ys:
        return AddSS()(x, y)
    if xs:
        return AddSD()(x, y)
    if ys:
        return AddSD()(y, x)
    raise TypeError("sparse add: at least one operand must be sparse")


def sub(x, y):
    """``x - y`` with one or both sparse."""
    return add(x, neg(y) if is_sparse_variable(y) or _is_scipy(y) else -as_tensor_variable(y))


def mul(x, y):
    """Elementwise ``x * y`` with one or both sparse (a sparse result)."""
    xs, ys = is_sparse_variable(x) or _is_scipy(x), is_sparse_variable(y) or _is_scipy(y)
    if xs and ys:
        return MulSS()(x, y)
    if xs:
        return MulSD()(x, _broadcast2(y))
    if ys:
        return MulSD()(y, _broadcast2(x))
    raise TypeError("sparse mul: at least one operand must be sparse")


def _broadcast2(y):
    y = as_tensor_variable(y)
    if y.ndim == 0:
        return y.dimshuffle("x", "x")
    if y.ndim == 1:
        return y.dimshuffle("x", 0)
    return y


def _is_scipy(x) -> bool:
    return not isinstance(x, Variable) and type(x).__module__.startswith("scipy.sparse")


add_s_s, add_s_d = AddSS(), AddSD()
mul_s_s, mul_s_d = MulSS(), MulSD()


# ---------------------------------------------------------------------------------------
# products
# ---------------------------------------------------------------------------------------

class StructuredDot(_SparseOp):
    """sparse ``a`` times dense ``b``, a dense result. Gradient: ``gz b^T`` at ``a``'s stored
    entries (dense, zero elsewhere: structured) and ``a^T gz``."""

    def make_node(self, a, b) -> Apply:
        a, b = as_sparse_variable(a), _matrix(b, "structured_dot")
        dtype = result_dtype(a.dtype, b.dtype)
        return Apply(self, [a, b], [TensorVariable(TensorType(dtype, (None, None)))])

    def perform(self, a, b):
        return np.asarray(a @ b, dtype=np.result_type(a.dtype, b.dtype))

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        (gz,) = output_grads
        full = T.dot(gz, b.T)
        ga = dense_from_sparse(MulSD()(SparseOnes()(a), full))
        gb = SparseDot()(transpose(a), gz)
        return [ga, gb]


class SparseDot(_SparseOp):
    """The matrix product when one or both operands are sparse; the result is dense.
    Gradient: ``gz y^T`` and ``x^T gz`` (dense)."""

    def make_node(self, x, y) -> Apply:
        x = as_sparse_or_tensor_variable(x)
        y = as_sparse_or_tensor_variable(y)
        if not (is_sparse_variable(x) or is_sparse_variable(y)):
            raise TypeError("sparse dot: at least one operand must be sparse")
        dtype = result_dtype(x.dtype, y.dtype)
        ndim = 1 if (not is_sparse_variable(y) and y.ndim == 1) else 2
        return Apply(self, [x, y], [TensorVariable(TensorType(dtype, (None,) * ndim))])

    def perform(self, x, y):
        out = x @ y
        if scipy_sparse().issparse(out):
            out = out.toarray()
        return np.asarray(out, dtype=np.result_type(x.dtype, y.dtype))

    def grad(self, inputs, outputs, output_grads):
        x, y = inputs
        (gz,) = output_grads
        if gz.ndim == 1:  # dense vector y
            return [T.outer(gz, y), SparseDot()(transpose(x), gz)]
        gx = _dot_any(gz, _t(y))
        gy = _dot_any(_t(x), gz)
        return [gx, gy]


def _t(v):
    return transpose(v) if is_sparse_variable(v) else v.T


def _dot_any(a, b):
    if is_sparse_variable(a) or is_sparse_variable(b):
        return SparseDot()(a, b)
    return T.dot(a, b)


def structured_dot(x, y):
    """sparse ``x`` times dense ``y`` (the gradient in ``x`` only at its stored entries)."""
    return StructuredDot()(x, y)


def dot(x, y):
    """The matrix product with one or both operands sparse (a dense result)."""
    return SparseDot()(x, y)


class TrueDot(_SparseOp):
    """sparse times sparse, a sparse result. Gradient: ``gz y^T`` and ``x^T gz`` (dense)."""

    def make_node(self, x, y) -> Apply:
        x, y = as_sparse_variable(x), as_sparse_variable(y)
        return Apply(self, [x, y], [_sparse_out(x.type.format,
                                                result_dtype(x.dtype, y.dtype))])

    def perform(self, x, y):
        return (x @ y).asformat(x.format)

    def grad(self, inputs, outputs, output_grads):
        x, y = inputs
        (gz,) = output_grads
        return [SparseDot()(gz, transpose(y)), SparseDot()(transpose(x), gz)]


def true_dot(x, y, grad_preserves_dense=True):
    """The matrix product of two sparse matrices as a sparse matrix (a dense operand gives a
    dense result, as :func:`dot`)."""
    if is_sparse_variable(x) and is_sparse_variable(y):
        return TrueDot()(x, y)
    return dot(x, y)


# ---------------------------------------------------------------------------------------
# structured elementwise functions: applied to the stored values only
# ---------------------------------------------------------------------------------------

def structured_monoid(tensor_op):
    """``f(x, *args)`` of a sparse ``x`` computing ``tensor_op`` on its stored values."""
    def wrapper(x, *args):
        x = as_sparse_variable(x)
        data, indices, indptr, shape = csm_properties(x)
        out = tensor_op(data, *args)
        return CSM(x.type.format)(out, indices, indptr, shape)
    wrapper.__name__ = getattr(tensor_op, "__name__", "structured")
    return wrapper


def _structured(fn_name: str):
    def fn(x):
        return structured_monoid(getattr(T, fn_name))(x)
    fn.__name__ = fn_name
    fn.__doc__ = f"``{fn_name}`` of the stored values of a sparse matrix (sparse result)."
    return fn


for _name in ("sqrt", "sin", "tan", "arcsin", "arctan", "sinh", "arcsinh", "tanh", "arctanh",
              "expm1", "log1p", "floor", "ceil", "trunc", "deg2rad", "rad2deg", "sqr"):
    globals()[_name] = _structured(_name)
structured_sigmoid = _structured("sigmoid")
structured_exp = _structured("exp")
structured_log = _structured("log")
rint = structured_monoid(lambda d: T.round(d, "half_to_even"))
sgn = _structured("sign")
conj = structured_monoid(lambda d: d)


def structured_pow(x, y):
    return structured_monoid(lambda d: d ** y)(x)


def structured_minimum(x, y):
    return structured_monoid(lambda d: T.minimum(d, y))(x)


def structured_maximum(x, y):
    return structured_monoid(lambda d: T.maximum(d, y))(x)


def structured_add(x, y):
    return structured_monoid(lambda d: d + y)(x)


def remove0(x):
    """The sparse ``x`` without explicitly stored zeros."""
    x = as_sparse_variable(x)
    return SparseFromDense(x.type.format)(dense_from_sparse(x))


def ensure_sorted_indices(x):
    """``x`` (SciPy matrices built here keep their indices sorted)."""
    return as_sparse_variable(x)


def mul_s_v(x, y):
    """Each row of the sparse ``x`` times the dense vector ``y`` (a sparse result)."""
    return MulSD()(x, as_tensor_variable(y).dimshuffle("x", 0))


def structured_add_s_v(x, y):
    """``y[j]`` added to the stored entries of column ``j`` of the sparse ``x``."""
    x = as_sparse_variable(x)
    return add(x, mul(sp_ones_like(x), as_tensor_variable(y).dimshuffle("x", 0)))


def col_scale(x, s):
    """Column ``j`` of the sparse ``x`` scaled by ``s[j]``."""
    return mul_s_v(x, s)


def row_scale(x, s):
    """Row ``i`` of the sparse ``x`` scaled by ``s[i]``."""
    return MulSD()(x, as_tensor_variable(s).dimshuffle(0, "x"))


class _Stack(_SparseOp):
    props = ("format", "dtype", "horizontal")

    def __init__(self, format, dtype, horizontal):
        self.format, self.dtype, self.horizontal = format, dtype, bool(horizontal)

    def make_node(self, *blocks) -> Apply:
        blocks = [as_sparse_variable(b) for b in blocks]
        return Apply(self, blocks, [_sparse_out(self.format, self.dtype)])

    def perform(self, *blocks):
        fn = scipy_sparse().hstack if self.horizontal else scipy_sparse().vstack
        return fn(blocks, format=self.format, dtype=self.dtype)

    def grad(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        out, start = [], 0
        for b in inputs:
            n = csm_shape(b)[1 if self.horizontal else 0]
            out.append(gz[:, start:start + n] if self.horizontal else gz[start:start + n])
            start = start + n
        return out


def hstack(blocks, format=None, dtype=None):
    """Sparse matrices side by side."""
    blocks = [as_sparse_variable(b) for b in blocks]
    return _Stack(format or blocks[0].type.format, dtype or blocks[0].dtype, True)(*blocks)


def vstack(blocks, format=None, dtype=None):
    """Sparse matrices one above the other."""
    blocks = [as_sparse_variable(b) for b in blocks]
    return _Stack(format or blocks[0].type.format, dtype or blocks[0].dtype, False)(*blocks)


def sampling_dot(x, y, p):
    """``(x y^T) * p`` computed at the stored entries of the sparse ``p`` only."""
    return mul(p, T.dot(x, as_tensor_variable(y).T))


def usmm(alpha, x, y, z):
    """``alpha * dot(x, y) + z`` (one operand of the product sparse)."""
    return alpha * dot(x, y) + z


_type.bind_ops(sys.modules[__name__])  # the operators of sparse variables call these ops
