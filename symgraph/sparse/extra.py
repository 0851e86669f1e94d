"""More sparse ops: comparisons, indexing, diagonals, and the remaining Theano names.

Comparisons give sparse (or, against a dense operand, dense) boolean matrices and have no
gradient. Indexing reads entries, rows or blocks; its gradient (dense) puts the output
gradient back at the read positions of a zero matrix.
"""
from __future__ import annotations

import sys

import numpy as np

from symgraph.graph import Apply
from symgraph.ops.namespace import T
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.sparse.basic import (CSMGradData, StructuredDot, _SparseOp, _sparse_out,
                                   as_sparse_variable, csm_shape, dense_from_sparse,
                                   hstack, is_sparse_variable, mul_s_v, remove0, row_scale,
                                   sampling_dot, scipy_sparse, structured_add_s_v, usmm,
                                   vstack, col_scale, ensure_sorted_indices, add_s_s)
from symgraph.sparse import type as _type
from symgraph.types import TensorType

_COMPARE = {"eq": np.equal, "neq": np.not_equal, "lt": np.less, "gt": np.greater,
            "le": np.less_equal, "ge": np.greater_equal}


class Compare(_SparseOp):
    """``x <op> y`` entrywise for a sparse ``x`` and a sparse (sparse result) or dense (dense
    result) ``y``; the result holds uint8 0/1 (Theano's dtype, which SciPy's sparse
    arithmetic keeps); no gradient."""

    props = ("op", "dense")

    def __init__(self, op: str, dense: bool):
        self.op, self.dense = op, bool(dense)

    def __str__(self):
        return f"{self.op.capitalize()}{'SD' if self.dense else 'SS'}"

    def make_node(self, x, y) -> Apply:
        x = as_sparse_variable(x)
        y = as_tensor_variable(y) if self.dense else as_sparse_variable(y)
        out = TensorVariable(TensorType("uint8", (None, None))) if self.dense else \
            _sparse_out(x.type.format, "uint8")
        return Apply(self, [x, y], [out])

    def perform(self, x, y):
        dense = _COMPARE[self.op](x.toarray(), y if self.dense else y.toarray()).astype("uint8")
        if self.dense:
            return dense
        return getattr(scipy_sparse(), f"{x.format}_matrix")(dense)

    def grad(self, inputs, outputs, output_grads):
        return [None, None]


def _comparison(op):
    def fn(x, y):
        xs, ys = is_sparse_variable(x), is_sparse_variable(y)
        if xs and ys:
            return Compare(op, False)(x, y)
        if xs:
            return Compare(op, True)(x, y)
        raise TypeError(f"sparse {op}: the first operand must be sparse")
    fn.__name__ = op
    fn.__doc__ = f"Entrywise ``{op}`` of a sparse matrix and a sparse or dense one."
    return fn


eq, neq, lt, gt, le, ge = (_comparison(o) for o in ("eq", "neq", "lt", "gt", "le", "ge"))


class GetItem(_SparseOp):
    """Indexing a sparse matrix: ``kind`` 'scalar' (``x[i, j]``, a dense scalar), 'list'
    (``x[rows]``, sparse), '2d' (``x[a:b, c:d]``, sparse) or '2lists' (``x[rows, cols]``, a
    dense vector). Gradient: the output gradient placed at the read positions (dense)."""

    props = ("kind",)

    def __init__(self, kind: str):
        self.kind = kind

    def make_node(self, x, *index) -> Apply:
        x = as_sparse_variable(x)
        index = [as_tensor_variable(i) for i in index]
        if self.kind == "scalar":
            out = TensorVariable(TensorType(x.dtype, ()))
        elif self.kind == "2lists":
            out = TensorVariable(TensorType(x.dtype, (None,)))
        else:
            out = _sparse_out(x.type.format, x.dtype)
        return Apply(self, [x] + index, [out])

    def _key(self, index):
        if self.kind == "2d":
            start0, stop0, start1, stop1 = (int(v) for v in index)
            return slice(start0, stop0), slice(start1, stop1)
        if self.kind == "scalar":
            return int(index[0]), int(index[1])
        if self.kind == "list":
            return np.asarray(index[0])
        return np.asarray(index[0]), np.asarray(index[1])

    def perform(self, x, *index):
        out = x[self._key(index)]
        if self.kind == "scalar":
            return np.asarray(out, dtype=x.dtype)
        if self.kind == "2lists":
            return np.asarray(out, dtype=x.dtype).ravel()
        return out.asformat(x.format)

    def grad(self, inputs, outputs, output_grads):
        x, index = inputs[0], inputs[1:]
        (gz,) = output_grads
        shape = csm_shape(x)
        zeros = T.zeros((shape[0], shape[1]), dtype=x.dtype)
        if self.kind == "2d":
            region = zeros[index[0]:index[1], index[2]:index[3]]
        elif self.kind == "scalar":
            region = zeros[index[0], index[1]]
        elif self.kind == "list":
            region = zeros[index[0]]
        else:
            region = zeros[index[0], index[1]]
        return [T.inc_subtensor(region, gz)] + [None] * len(index)


def get_item_scalar(x, index):
    return GetItem("scalar")(x, *index)


def get_item_list(x, index):
    return GetItem("list")(x, index)


def get_item_2lists(x, ind1, ind2):
    return GetItem("2lists")(x, ind1, ind2)


def get_item_2d(x, index):
    rows, cols = index
    if rows.step not in (None, 1) or cols.step not in (None, 1):
        raise NotImplementedError("sparse slicing supports steps of 1 only")
    shape = csm_shape(x)
    return GetItem("2d")(x, rows.start or 0, shape[0] if rows.stop is None else rows.stop,
                         cols.start or 0, shape[1] if cols.stop is None else cols.stop)


class SquareDiagonal(_SparseOp):
    """The sparse square matrix with the vector ``d`` on its diagonal. Gradient: the
    diagonal of ``gz``."""

    def make_node(self, d) -> Apply:
        d = as_tensor_variable(d)
        return Apply(self, [d], [_sparse_out("csc", d.dtype)])

    def perform(self, d):
        return scipy_sparse().diags(d).tocsc()

    def grad(self, inputs, outputs, output_grads):
        return [T.diagonal(output_grads[0])]


square_diagonal = SquareDiagonal()


def diag(x):
    """The diagonal of a square sparse matrix (a dense vector)."""
    return T.diagonal(dense_from_sparse(x))


def construct_sparse_from_list(values, ilist, size=None):
    """A dense-shaped sparse matrix whose rows ``ilist`` hold ``values`` (the rest zero)."""
    raise NotImplementedError("construct_sparse_from_list: build the rows with "
                              "T.inc_subtensor on a dense matrix, then csr_from_dense")


def hash_from_sparse(data) -> str:
    import hashlib
    d = data.tocsr()
    h = hashlib.md5()
    for part in (np.asarray(d.shape), d.data, d.indices, d.indptr):
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


AddSSData = add_s_s_data = add_s_s
CSMGrad = csm_grad = CSMGradData
MulSV = mul_s_v
StructuredAddSV = structured_add_s_v
ColScaleCSC = col_scale
RowScaleCSC = row_scale
Remove0 = remove0
EnsureSortedIndices = ensure_sorted_indices
HStack, VStack = hstack, vstack
SamplingDot = sampling_dot
Usmm = usmm
StructuredDotGradCSC = StructuredDotGradCSR = structured_dot_grad = StructuredDot
Diag = diag
GetItemScalar, GetItemList, GetItem2d, GetItem2Lists = (get_item_scalar, get_item_list,
                                                        get_item_2d, get_item_2lists)
EqualSS = EqualSD = eq
NotEqualSS = NotEqualSD = neq
LessThanSS = LessThanSD = lt
GreaterThanSS = GreaterThanSD = gt
LessEqualSS = LessEqualSD = le
GreaterEqualSS = GreaterEqualSD = ge
equal_s_s = equal_s_d = eq
not_equal_s_s = not_equal_s_d = neq
less_than_s_s = less_than_s_d = lt
greater_than_s_s = greater_than_s_d = gt
less_equal_s_s = less_equal_s_d = le
greater_equal_s_s = greater_equal_s_d = ge

_type.bind_ops(sys.modules[__name__], "extra")  # sparse variables' indexing calls these ops
