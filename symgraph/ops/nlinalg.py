"""Dense linear algebra on matrices: inverse, determinant, solve, Cholesky, eigen- and singular
value decompositions, pseudo-inverse, QR, least squares, matrix exponential.

NumPy's ``linalg`` computes each; the triangular solves and the matrix exponential use SciPy
(the optional ``scipy`` extra; without it they raise an ``ImportError`` saying so). Gradients
(``gz`` the output gradient):

* inverse ``X = A^-1``: ``gA = -X^T gz X^T``;
* determinant ``d = det A``: ``gA = gz d A^-T``;
* solve ``x = A^-1 b``: ``gb = A^-T gz``, ``gA = -gb x^T``;
* Cholesky ``A = L L^T``: Murray's formula (see :class:`Cholesky`);
* symmetric eigenvalues ``w`` of ``eigh``: ``gA = V diag(gw) V^T`` (eigenvectors: none);
* SVD, QR, ``eig``, pseudo-inverse, least squares, ``expm``: no gradient rule (undefined), as
  in Theano.
"""
from __future__ import annotations

import importlib
from typing import List

import numpy as np

from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.namespace import T
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType, upgrade_to_float


def _scipy_linalg():
    try:
        return importlib.import_module("scipy.linalg")
    except ImportError:
        raise ImportError("this function is computed by scipy.linalg; install SciPy "
                          "(pip install 'symgraph[scipy]')") from None


def _matrix(x, what: str) -> Variable:
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise TypeError(f"{what}: expected a matrix, got {x} of type {x.type}")
    if x.dtype not in ("float32", "float64", "complex64", "complex128"):
        x = E.cast(x, upgrade_to_float(x.dtype))
    return x


def _out(dtype, shape) -> TensorVariable:
    return TensorVariable(TensorType(dtype, shape))


class _MatrixOp(Op):
    copies = True
    name = "matrix op"

    def __str__(self):
        return type(self).__name__


class MatrixInverse(_MatrixOp):
    """``np.linalg.inv``. Gradient: ``-X^T gz X^T`` with ``X = A^-1``."""

    def make_node(self, a) -> Apply:
        a = _matrix(a, "matrix_inverse")
        return Apply(self, [a], [_out(a.dtype, a.type.shape[::-1])])

    def perform(self, a):
        return np.linalg.inv(a).astype(a.dtype, copy=False)

    def infer_shape(self, node, shapes):
        return [shapes[0][::-1]]

    def grad(self, inputs, outputs, output_grads):
        x = outputs[0]
        return [-T.dot(T.dot(x.T, output_grads[0]), x.T)]


class Det(_MatrixOp):
    """``np.linalg.det``. Gradient: ``gz det(A) A^-T``."""

    def make_node(self, a) -> Apply:
        a = _matrix(a, "det")
        return Apply(self, [a], [_out(a.dtype, ())])

    def perform(self, a):
        return np.asarray(np.linalg.det(a), dtype=a.dtype)

    def infer_shape(self, node, shapes):
        return [()]

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0] * outputs[0] * MatrixInverse()(inputs[0]).T]


class Solve(_MatrixOp):
    """``x = A^-1 b`` for a general (``'general'``), lower- or upper-triangular or symmetric
    ``A``. Gradient: ``gb = A^-T gz``, ``gA = -gb x^T`` (restricted to the triangle for the
    triangular structures)."""

    props = ("structure",)
    STRUCTURES = ("general", "lower_triangular", "upper_triangular", "symmetric")

    def __init__(self, structure: str = "general"):
        if structure not in self.STRUCTURES:
            raise ValueError(f"solve: A_structure must be one of {self.STRUCTURES}, got "
                             f"{structure!r}")
        self.structure = structure

    def make_node(self, a, b) -> Apply:
        a = _matrix(a, "solve")
        b = as_tensor_variable(b)
        if b.ndim not in (1, 2):
            raise TypeError(f"solve: b must be a vector or a matrix, got {b} of type {b.type}")
        if self.structure in ("lower_triangular", "upper_triangular"):
            _scipy_linalg()
        dtype = np.result_type(a.dtype, b.dtype, np.float32).name
        return Apply(self, [a, b], [_out(dtype, (a.type.shape[1],) + b.type.shape[1:])])

    def perform(self, a, b):
        dtype = np.result_type(a, b, np.float32)
        if self.structure in ("lower_triangular", "upper_triangular"):
            out = _scipy_linalg().solve_triangular(
                a, b, lower=self.structure == "lower_triangular")
        else:
            out = np.linalg.solve(a, b)
        return np.asarray(out, dtype=dtype)

    def infer_shape(self, node, shapes):
        return [(shapes[0][1],) + tuple(shapes[1][1:])]

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        (x,), (gz,) = outputs, output_grads
        trans = {"lower_triangular": "upper_triangular",
                 "upper_triangular": "lower_triangular"}.get(self.structure, self.structure)
        gb = Solve(trans)(a.T, gz)
        ga = -(T.outer(gb, x) if x.ndim == 1 else T.dot(gb, x.T))
        if self.structure == "lower_triangular":
            ga = T.tril(ga)
        elif self.structure == "upper_triangular":
            ga = T.triu(ga)
        return [ga, gb]


class Cholesky(_MatrixOp):
    """Lower (or upper) Cholesky factor of a symmetric positive-definite matrix.

    Gradient (Murray, 2016): with ``L`` lower, ``Phi`` taking the lower triangle and halving the
    diagonal and ``S = L^-T Phi(L^T gL) L^-1``, the lower triangle of ``A`` (the part that is
    read) gets ``tril(S + S^T) - diag(S)``.
    """

    props = ("lower",)

    def __init__(self, lower: bool = True):
        self.lower = bool(lower)

    def make_node(self, a) -> Apply:
        a = _matrix(a, "cholesky")
        return Apply(self, [a], [_out(a.dtype, a.type.shape)])

    def perform(self, a):
        lo = np.linalg.cholesky(a)
        return (lo if self.lower else lo.T.conj()).astype(a.dtype, copy=False)

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        (l_,), (gl,) = outputs, output_grads
        if not self.lower:
            l_, gl = l_.T, gl.T
        phi = T.tril(T.dot(l_.T, gl))
        phi = phi - 0.5 * T.diag(T.diag(phi))
        inner = Solve("upper_triangular")(l_.T, Solve("upper_triangular")(l_.T, phi.T).T)
        # NumPy reads the lower triangle of A only: its entries carry the symmetric gradient
        # twice off the diagonal, once on it
        return [T.tril(inner + inner.T) - T.diag(T.diag(inner))]


class Eigh(_MatrixOp):
    """Eigenvalues ``w`` (ascending) and eigenvectors ``v`` of a symmetric matrix.

    Gradient through the eigenvalues: ``V diag(gw) V^T``; through the eigenvectors: not
    provided (an error if one is needed).
    """

    props = ("UPLO",)

    def __init__(self, UPLO: str = "L"):
        self.UPLO = UPLO

    def make_node(self, a) -> Apply:
        a = _matrix(a, "eigh")
        n = a.type.shape[0]
        return Apply(self, [a], [_out(a.dtype, (n,)), _out(a.dtype, (n, n))])

    def perform(self, a):
        w, v = np.linalg.eigh(a, UPLO=self.UPLO)
        return w.astype(a.dtype, copy=False), v.astype(a.dtype, copy=False)

    def infer_shape(self, node, shapes):
        n = shapes[0][0]
        return [(n,), (n, n)]

    def grad(self, inputs, outputs, output_grads):
        gw, gv = output_grads
        w, v = outputs
        if gv is not None and not _is_zeros(gv):
            raise NotImplementedError("eigh: the gradient through the eigenvectors is not "
                                      "provided; differentiate the eigenvalues only")
        return [T.dot(v * gw.dimshuffle("x", 0), v.T)]


def _is_zeros(g) -> bool:
    """A gradient the backward pass filled with zeros (an output nothing depends on)."""
    if isinstance(g, Constant):
        return not np.any(g.data)
    owner = g.owner
    return owner is not None and getattr(owner.op, "scalar_op", None) is not None and \
        owner.op.scalar_op.name == "second" and _is_zeros(owner.inputs[1])


class _NoGradOp(_MatrixOp):
    """A decomposition with NumPy's result and no gradient rule (as in Theano)."""

    def grad(self, inputs, outputs, output_grads):
        return [None] * len(inputs)


class Eig(_NoGradOp):
    """``np.linalg.eig``: (eigenvalues, eigenvectors), complex in general."""

    def make_node(self, a) -> Apply:
        a = _matrix(a, "eig")
        cdt = np.result_type(a.dtype, np.complex64).name
        return Apply(self, [a], [_out(cdt, (None,)), _out(cdt, (None, None))])

    def perform(self, a):
        w, v = np.linalg.eig(a)
        cdt = np.result_type(a.dtype, np.complex64)
        return w.astype(cdt), v.astype(cdt)


class SVD(_NoGradOp):
    """``np.linalg.svd``: ``(U, s, V^T)`` (or ``s`` alone with ``compute_uv=False``)."""

    props = ("full_matrices", "compute_uv")

    def __init__(self, full_matrices: bool = True, compute_uv: bool = True):
        self.full_matrices, self.compute_uv = bool(full_matrices), bool(compute_uv)

    def make_node(self, a) -> Apply:
        a = _matrix(a, "svd")
        if not self.compute_uv:
            return Apply(self, [a], [_out(a.dtype, (None,))])
        return Apply(self, [a], [_out(a.dtype, (None, None)), _out(a.dtype, (None,)),
                                 _out(a.dtype, (None, None))])

    def perform(self, a):
        res = np.linalg.svd(a, full_matrices=self.full_matrices, compute_uv=self.compute_uv)
        if not self.compute_uv:
            return res.astype(a.dtype, copy=False)
        return tuple(r.astype(a.dtype, copy=False) for r in res)


class QR(_NoGradOp):
    """``np.linalg.qr`` in ``mode`` 'reduced', 'complete' (both give ``(Q, R)``) or 'r'."""

    props = ("mode",)

    def __init__(self, mode: str = "reduced"):
        if mode not in ("reduced", "complete", "r", "raw"):
            raise ValueError(f"qr: unknown mode {mode!r}")
        self.mode = mode

    def make_node(self, a) -> Apply:
        a = _matrix(a, "qr")
        if self.mode == "r":
            return Apply(self, [a], [_out(a.dtype, (None, None))])
        if self.mode == "raw":
            return Apply(self, [a], [_out(a.dtype, (None, None)), _out(a.dtype, (None,))])
        return Apply(self, [a], [_out(a.dtype, (None, None)), _out(a.dtype, (None, None))])

    def perform(self, a):
        res = np.linalg.qr(a, mode=self.mode)
        if self.mode == "r":
            return np.asarray(res, dtype=a.dtype)
        return tuple(np.asarray(r, dtype=a.dtype) for r in res)


class MatrixPinv(_NoGradOp):
    """``np.linalg.pinv``."""

    def make_node(self, a) -> Apply:
        a = _matrix(a, "pinv")
        return Apply(self, [a], [_out(a.dtype, a.type.shape[::-1])])

    def perform(self, a):
        return np.linalg.pinv(a).astype(a.dtype, copy=False)


class Lstsq(_NoGradOp):
    """``np.linalg.lstsq(a, b, rcond)``: (solution, residuals, rank, singular values)."""

    def make_node(self, a, b, rcond) -> Apply:
        a, b, rcond = _matrix(a, "lstsq"), as_tensor_variable(b), as_tensor_variable(rcond)
        return Apply(self, [a, b, rcond], [_out("float64", (None,) * b.ndim),
                                           _out("float64", (None,)), _out("int64", ()),
                                           _out("float64", (None,))])

    def perform(self, a, b, rcond):
        x, res, rank, s = np.linalg.lstsq(a, b, rcond=None if rcond < 0 else float(rcond))
        return (x.astype("float64"), np.asarray(res, "float64"), np.asarray(rank, "int64"),
                s.astype("float64"))


class Expm(_NoGradOp):
    """The matrix exponential (``scipy.linalg.expm``)."""

    def make_node(self, a) -> Apply:
        a = _matrix(a, "expm")
        _scipy_linalg()
        return Apply(self, [a], [_out(a.dtype, a.type.shape)])

    def perform(self, a):
        return _scipy_linalg().expm(a).astype(a.dtype, copy=False)


def matrix_inverse(a) -> Variable:
    """The inverse of a square matrix."""
    return MatrixInverse()(a)


def det(a) -> Variable:
    """The determinant of a square matrix."""
    return Det()(a)


def solve(a, b, A_structure: str = "general", lower: bool = False) -> Variable:
    """``A^-1 b`` (``A_structure``: 'general', 'lower_triangular', 'upper_triangular' or
    'symmetric')."""
    return Solve(A_structure)(a, b)


def solve_lower_triangular(a, b) -> Variable:
    return Solve("lower_triangular")(a, b)


def solve_upper_triangular(a, b) -> Variable:
    return Solve("upper_triangular")(a, b)


def solve_symmetric(a, b) -> Variable:
    return Solve("symmetric")(a, b)


def cholesky(a, lower: bool = True) -> Variable:
    """The Cholesky factor (lower by default) of a symmetric positive-definite matrix."""
    return Cholesky(lower)(a)


def eigh(a, UPLO: str = "L") -> List[Variable]:
    """``[w, v]``: eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
    return Eigh(UPLO)(a)


def eigvalsh(a, b=None, lower: bool = True) -> Variable:
    """Eigenvalues (ascending) of the symmetric matrix ``a``, or of the generalised problem
    ``a v = w b v`` with ``b`` symmetric positive definite (SciPy)."""
    if b is None:
        return Eigh("L" if lower else "U")(a)[0]
    return GeneralizedEigh(lower)(a, b)[0]


class GeneralizedEigh(_MatrixOp):
    """Eigenvalues ``w`` and ``b``-orthonormal eigenvectors ``v`` of ``a v = w b v``
    (``scipy.linalg.eigh``). Gradient through ``w``: ``ga = V diag(gw) V^T``,
    ``gb = -V diag(gw w) V^T``; through ``v``: not provided."""

    props = ("lower",)

    def __init__(self, lower: bool = True):
        self.lower = bool(lower)

    def make_node(self, a, b) -> Apply:
        a, b = _matrix(a, "eigvalsh"), _matrix(b, "eigvalsh")
        _scipy_linalg()
        dtype = np.result_type(a.dtype, b.dtype).name
        return Apply(self, [a, b], [_out(dtype, (None,)), _out(dtype, (None, None))])

    def perform(self, a, b):
        w, v = _scipy_linalg().eigh(a, b, lower=self.lower)
        dtype = np.result_type(a, b)
        return w.astype(dtype), v.astype(dtype)

    def grad(self, inputs, outputs, output_grads):
        gw, gv = output_grads
        w, v = outputs
        if gv is not None and not _is_zeros(gv):
            raise NotImplementedError("eigvalsh(a, b): the gradient through the eigenvectors "
                                      "is not provided")
        ga = T.dot(v * gw.dimshuffle("x", 0), v.T)
        gb = -T.dot(v * (gw * w).dimshuffle("x", 0), v.T)
        return [ga, gb]


def eig(a) -> List[Variable]:
    """``[w, v]``: eigenvalues and eigenvectors of a square matrix."""
    return Eig()(a)


def svd(a, full_matrices: bool = True, compute_uv: bool = True):
    """``[U, s, V^T]`` (or ``s``): the singular value decomposition."""
    return SVD(full_matrices, compute_uv)(a)


def qr(a, mode: str = "reduced"):
    """The QR decomposition (``[Q, R]``, or ``R`` with ``mode='r'``)."""
    return QR(mode)(a)


def pinv(a) -> Variable:
    """The Moore-Penrose pseudo-inverse."""
    return MatrixPinv()(a)


def lstsq(a, b, rcond=-1):
    """``[x, residuals, rank, s]`` of the least-squares solution of ``a x = b``."""
    return Lstsq()(a, b, rcond)


def expm(a) -> Variable:
    """The matrix exponential."""
    return Expm()(a)


def matrix_dot(*args) -> Variable:
    """The product of all arguments, left to right."""
    out = as_tensor_variable(args[0])
    for a in args[1:]:
        out = T.dot(out, a)
    return out


def matrix_power(m, n: int) -> Variable:
    """``m`` multiplied by itself ``n`` times (``n >= 0``; 0 gives the identity)."""
    m = as_tensor_variable(m)
    if n < 0:
        return matrix_power(matrix_inverse(m), -n)
    if n == 0:
        return T.identity_like(m)
    out = m
    for _ in range(n - 1):
        out = T.dot(out, m)
    return out


def kron(a, b) -> Variable:
    """The Kronecker product of two matrices (or vectors)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim != b.ndim or a.ndim not in (1, 2):
        raise TypeError(f"kron: expected two vectors or two matrices, got {a.type} and "
                        f"{b.type}")
    if a.ndim == 1:
        return T.outer(a, b).flatten()
    out = a.dimshuffle(0, "x", 1, "x") * b.dimshuffle("x", 0, "x", 1)
    return out.reshape((a.shape[0] * b.shape[0], a.shape[1] * b.shape[1]))


def tensorinv(a, ind: int = 2) -> Variable:
    """The inverse of ``a`` as a tensor operator (``np.linalg.tensorinv``)."""
    a = as_tensor_variable(a)
    lead = [a.shape[i] for i in range(ind)]
    trail = [a.shape[i] for i in range(ind, a.ndim)]
    mat = a.reshape((T.prod(T.stack(lead)), -1), ndim=2)
    return matrix_inverse(mat).reshape(trail + lead, ndim=a.ndim)


def tensorsolve(a, b, axes=None) -> Variable:
    """``x`` such that ``tensordot(a, x, x.ndim) = b`` (``np.linalg.tensorsolve``)."""
    if axes is not None:
        raise NotImplementedError("tensorsolve(axes=...): move the axes first with "
                                  "dimshuffle and pass axes=None")
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    nb = b.ndim
    rest = [a.shape[i] for i in range(nb, a.ndim)]
    mat = a.reshape((T.prod(b.shape), -1), ndim=2)
    return solve(mat, b.flatten()).reshape(rest, ndim=a.ndim - nb)


__all__ = ["matrix_inverse", "det", "solve", "solve_lower_triangular",
           "solve_upper_triangular", "solve_symmetric", "cholesky", "eigh", "eigvalsh", "eig",
           "svd", "qr", "pinv", "lstsq", "expm", "matrix_dot", "matrix_power", "kron",
           "tensorinv", "tensorsolve"]
