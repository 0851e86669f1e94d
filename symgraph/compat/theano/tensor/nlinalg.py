"""``theano.tensor.nlinalg``: linear algebra computed with NumPy (symgraph core ops)."""
from symgraph.ops.diagonal import (ExtractDiag, alloc_diag, diag, extract_diag,  # noqa: F401
                                   trace)
from symgraph.ops.nlinalg import (QR, SVD, Det, Eig, Eigh, MatrixInverse,  # noqa: F401
                                  MatrixPinv, det, eig, eigh, lstsq, matrix_dot,
                                  matrix_inverse, matrix_power, pinv, qr, svd, tensorinv,
                                  tensorsolve)
from symgraph.ops.reduce import norm as _norm

QRFull = QRIncomplete = QR
AllocDiag = alloc_diag
TensorInv = tensorinv
TensorSolve = tensorsolve
EighGrad = Eigh


def norm(x, ord):
    """``np.linalg.norm(x, ord)`` for vectors (any ``ord``) and matrices ('fro', 1, inf)."""
    import symgraph.tensor as T
    x = T.as_tensor_variable(x)
    if x.ndim == 1:
        if ord is None or ord == 2:
            return T.sqrt(T.sum(T.sqr(x)))
        if ord == "inf" or ord == float("inf"):
            return T.max(abs(x))
        if ord == "-inf" or ord == float("-inf"):
            return T.min(abs(x))
        if ord == 0:
            return T.sum(T.neq(x, 0))
        return _norm(x, ord)
    if x.ndim == 2:
        if ord is None or ord == "fro":
            return T.sqrt(T.sum(T.sqr(x)))
        if ord == 1:
            return T.max(T.sum(abs(x), axis=0))
        if ord == "inf" or ord == float("inf"):
            return T.max(T.sum(abs(x), axis=1))
        if ord == -1:
            return T.min(T.sum(abs(x), axis=0))
        raise ValueError(f"norm: ord {ord!r} is not supported for matrices")
    raise ValueError(f"norm: expected a vector or a matrix, got {x.ndim} dimensions")


from symgraph.graph import Apply  # noqa: E402,F401
from symgraph.op import Op  # noqa: E402,F401
from symgraph.ops.variable import as_tensor_variable  # noqa: E402,F401
from symgraph.compat.theano.gof.null_type import DisconnectedType  # noqa: E402,F401
