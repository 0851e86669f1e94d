"""Linear algebra: ``Dot`` (NumPy ``dot`` on vectors and matrices) and helpers on top of it,
and ``Gemm`` (``C + alpha A B`` as BLAS ``?gemm``, computed in place by the linker)."""
from __future__ import annotations

import functools

import numpy as np

from symgraph.graph import Apply, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.linalg import tensordot
from symgraph.ops.namespace import T
from symgraph.ops.shape import dimshuffle, transpose
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType, broadcast_shapes, discrete_dtypes, result_dtype


def dot_into(a: np.ndarray, b: np.ndarray, out: np.ndarray, loops) -> np.ndarray:
    """``a @ b`` into ``out`` (matrices of one float dtype): by the back end's ``loops`` over
    the nonzero entries of ``a`` when they take it (a sparse input layer: the same terms
    without the zero ones, summed in another order), else by BLAS through ``matmul`` (NumPy's
    ``dot`` with ``out=`` may take a slow non-BLAS path)."""
    if loops.sparse_product(a, b, out) is None:
        np.matmul(a, b, out=out)
    return out


class Dot(Op):
    """``np.dot`` of two tensors of at most two dimensions.

    Gradient (matrix case): ``gx = gz . y^T``, ``gy = x^T . gz``; the vector cases use
    ``outer`` and matrix-vector products accordingly.
    """

    copies = True
    emit_helpers = {"_dot_into": dot_into}

    def make_node(self, x, y) -> Apply:
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        if x.ndim > 2 or y.ndim > 2:
            raise TypeError(f"Dot takes inputs of at most 2 dims, got {x.type} and {y.type}; "
                            f"use T.dot or T.tensordot for higher ranks")
        if x.ndim == 0 or y.ndim == 0:
            raise TypeError("Dot of a scalar: use multiplication")
        k1 = x.type.shape[-1]
        k2 = y.type.shape[0]
        if k1 is not None and k2 is not None and k1 != k2:
            raise ValueError(f"dot: inner dimensions differ: {x} has shape {x.type.shape}, "
                             f"{y} has shape {y.type.shape}")
        shp = x.type.shape[:-1] + y.type.shape[1:]
        return Apply(self, [x, y], [TensorVariable(TensorType(result_dtype(x.dtype, y.dtype), shp))])

    def perform(self, x, y):
        return np.dot(x, y)

    def emit(self, names):
        return f"np.dot({names[0]}, {names[1]})"

    def can_emit_into(self, node) -> bool:
        a, b = node.inputs
        out = node.outputs[0]
        return a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype == out.dtype and \
            out.dtype in ("float32", "float64")

    def emit_into(self, node, names, buffer) -> str:
        a, b = names
        return f"_dot_into({a}, {b}, {buffer(f'({a}.shape[0], {b}.shape[1])')}, {buffer.loops})"

    def infer_shape(self, node, shapes):
        xs, ys = shapes
        return [tuple(xs[:-1]) + tuple(ys[1:])]

    def grad(self, inputs, outputs, output_grads):
        x, y = inputs
        (gz,) = output_grads
        if x.ndim == 2 and y.ndim == 2:
            gx, gy = dot(gz, transpose(y)), dot(transpose(x), gz)
        elif x.ndim == 1 and y.ndim == 2:
            gx, gy = dot(y, gz), outer(x, gz)
        elif x.ndim == 2 and y.ndim == 1:
            gx, gy = outer(gz, y), dot(transpose(x), gz)
        else:
            gx, gy = gz * y, gz * x
        return [None if x.dtype in discrete_dtypes else E.cast(gx, x.dtype),
                None if y.dtype in discrete_dtypes else E.cast(gy, y.dtype)]


_dot = Dot()


def outer(x, y) -> Variable:
    """Outer product of two vectors."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim != 1 or y.ndim != 1:
        x, y = x.flatten(), y.flatten()
    return dimshuffle(x, (0, "x")) * dimshuffle(y, ("x", 0))


def dot(x, y) -> Variable:
    """NumPy's ``dot``: inner product, matrix-vector and matrix-matrix products, and for higher
    ranks a sum over the last axis of ``x`` and the second-to-last of ``y``."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if x.ndim <= 2 and y.ndim <= 2:
        return _dot(x, y)
    return tensordot(x, y, [[x.ndim - 1], [max(y.ndim - 2, 0)]])


class Gemm(Op):
    """``C + alpha * dot(A, B)`` for matrices (BLAS ``?gemm`` with ``beta = 1``).

    Gradient: ``gC = gz``, ``galpha = sum(gz * dot(A, B))``, ``gA = alpha gz B^T``,
    ``gB = alpha A^T gz``. The linker computes it in place when ``C`` is a shared variable whose
    update this is: into ``C``'s spare buffer from a copy of ``C``, or, when nothing else holds
    ``C``'s memory, into ``C``'s own storage by the commit itself (:meth:`emit_update_late`).
    """

    copies = True
    accumulates_into = 0

    @property
    def emit_helpers(self) -> dict:
        return {"_gemm_into": gemm_into, "_gemm_check": gemm_check, "_gemm_update": gemm_update,
                "_gemm_late": gemm_late}

    def make_node(self, c, alpha, a, b) -> Apply:
        c, alpha, a, b = (as_tensor_variable(v) for v in (c, alpha, a, b))
        if not (c.ndim == a.ndim == b.ndim == 2) or alpha.ndim != 0:
            raise TypeError(f"Gemm: expects matrices C, A, B and a scalar alpha, got {c.type}, "
                            f"{alpha.type}, {a.type}, {b.type}")
        if len({c.dtype, a.dtype, b.dtype}) != 1 or c.dtype not in ("float32", "float64"):
            raise TypeError(f"Gemm: C, A, B must share one float dtype, got {c.dtype}, "
                            f"{a.dtype}, {b.dtype}")
        shape = broadcast_shapes([c.type.shape, (a.type.shape[0], b.type.shape[1])], "Gemm")
        _blas_gemm(np.dtype(c.dtype))  # look BLAS up now (an import), not while a call runs
        return Apply(self, [c, alpha, a, b], [TensorVariable(TensorType(c.dtype, shape))])

    def perform(self, c, alpha, a, b):
        return gemm_into(np.array(c, order="C"), alpha, a, b)

    def emit_update_check(self, names) -> str:
        c, _, a, b = names
        return f"_gemm_check({c}, {a}, {b})"

    def emit_update(self, names, out: str) -> str:
        c, alpha, a, b = names
        return f"_gemm_update({out}, {c}, {alpha}, {a}, {b})"

    def emit_update_late(self, names, loops):
        c, alpha, a, b = names
        return f"_gemm_late({c}, {alpha}, {a}, {b}, {loops})"

    def emit(self, names):
        return f"_gemm_into(np.array({names[0]}), {names[1]}, {names[2]}, {names[3]})"

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        c, alpha, a, b = inputs
        (gz,) = output_grads
        return [gz, T.sum(gz * dot(a, b)), alpha * dot(gz, b.T), alpha * dot(a.T, gz)]


@functools.lru_cache(maxsize=None)
def _blas_gemm(dtype):
    """SciPy's ``?gemm`` for ``dtype`` (looked up once per dtype), or None."""
    try:
        from scipy.linalg import blas
    except ImportError:  # SciPy is optional
        return None
    return blas.sgemm if dtype == np.float32 else blas.dgemm if dtype == np.float64 else None


def gemm_path(dtype="float32") -> str:
    """How :func:`gemm_into` computes ``c += alpha a @ b`` for ``dtype`` in this process:
    ``'scipy ?gemm'`` (one BLAS call with ``beta = 1``, in place) when SciPy is installed,
    else ``'numpy dot + add'``. The two round differently in the last bits, so studies record
    it with their results."""
    return "scipy ?gemm" if _blas_gemm(np.dtype(dtype)) is not None else "numpy dot + add"


def gemm_into(c: np.ndarray, alpha, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``c += alpha * a @ b`` in place (``c`` C-contiguous) and return ``c``.

    Uses BLAS ``?gemm`` from SciPy on the transposes (``c.T`` is Fortran-ordered, so BLAS writes
    it in place without a copy); falls back to NumPy when SciPy is absent.
    """
    if a.shape[1] != b.shape[0] or c.shape != (a.shape[0], b.shape[1]):
        raise ValueError(f"Gemm: shapes C{c.shape} + A{a.shape} . B{b.shape} do not agree")
    fn = _blas_gemm(c.dtype) if c.flags.c_contiguous and c.size else None
    if fn is None or a.dtype != c.dtype or b.dtype != c.dtype:
        c += np.asarray(alpha, dtype=c.dtype) * np.dot(a, b)
        return c
    _blas_call(fn, c, alpha, a, b)()
    return c


def _blas_call(fn, c: np.ndarray, alpha, a: np.ndarray, b: np.ndarray):
    """The call of SciPy's ``?gemm`` ``fn`` that adds ``alpha * a @ b`` into the C-contiguous
    ``c`` in place: ``c.T = alpha * b.T @ a.T + c.T``, every operand passed Fortran-ordered when
    possible (``c.T`` is, so BLAS writes it without a copy)."""
    bt, tb = (b.T, 0) if b.T.flags.f_contiguous else (b, 1)
    at, ta = (a.T, 0) if a.T.flags.f_contiguous else (a, 1)
    return functools.partial(fn, float(alpha), bt, at, 1.0, c.T, trans_a=tb, trans_b=ta,
                             overwrite_c=1)


def gemm_update(out, c: np.ndarray, alpha, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``c + alpha * a @ b`` computed in ``out`` (a C-contiguous buffer of ``c``'s shape and
    dtype that aliases no operand), or in new memory when ``out`` is None; ``c`` is read only."""
    if out is None:
        out = np.array(c, order="C")
    else:
        np.copyto(out, c)
    return gemm_into(out, alpha, a, b)


def gemm_late(c: np.ndarray, alpha, a: np.ndarray, b: np.ndarray, loops):
    """A callable without arguments that computes ``c += alpha * a @ b`` in place, by one call
    of native code (C from end to end), when called; None when it cannot be done so: ``c``
    not C-contiguous, aligned and writeable, other dtypes, or neither route taking it. The
    call is the back end's ``loops`` over the nonzero entries of ``a`` when they take it (see
    :func:`dot_into`; the dense value up to rounding), else SciPy's BLAS ``?gemm`` (none
    without SciPy or when an operand shares ``c``'s memory), with :func:`gemm_into`'s
    arithmetic, so the same bits. The shapes must have passed :func:`gemm_check`."""
    if not (c.flags.c_contiguous and c.flags.aligned and c.flags.writeable and c.size) or \
            a.dtype != c.dtype or b.dtype != c.dtype:
        return None
    sparse = loops.sparse_accumulate_late(c, alpha, a, b)
    if sparse is not None:
        return sparse
    fn = _blas_gemm(c.dtype)
    if fn is None or np.may_share_memory(a, c) or np.may_share_memory(b, c):
        return None
    return _blas_call(fn, c, alpha, a, b)


def gemm_check(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Raise unless ``c + a @ b`` is well-shaped (then True: :func:`gemm_update` can compute
    it into a buffer of ``c``'s shape)."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or \
            c.shape != (a.shape[0], b.shape[1]):
        raise ValueError(f"Gemm: shapes C{c.shape} + A{a.shape} . B{b.shape} do not agree")
    return True
