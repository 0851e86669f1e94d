"""Spec-table rows (see ``test_op_table.py``) of the special functions (``ops/special.py``),
sorting, running sums and products, diagonals, the array functions of ``ops/extra.py`` and
``specify_shape``."""
from __future__ import annotations

import numpy as np
import scipy.special as sp

import symgraph.tensor as T
from op_spec import INTS, Spec

U = (((3, 4),), ((5,),), ((),))
B = (((3, 4), (3, 4)), ((3, 1), (1, 4)), ((5,), (2, 5)), ((), (3,)))
M = (((3, 4),), ((4, 4),))
R3 = (((2, 3, 4),),)

UNARY = [
    # name, symbolic, reference, domain, differentiable, second derivative
    ("arcsin", T.arcsin, np.arcsin, "unit", True, True),
    ("arccos", T.arccos, np.arccos, "unit", True, True),
    ("sinh", T.sinh, np.sinh, "real", True, True),
    ("cosh", T.cosh, np.cosh, "real", True, True),
    ("arcsinh", T.arcsinh, np.arcsinh, "real", True, True),
    ("arccosh", T.arccosh, np.arccosh, "gt1", True, True),
    ("arctanh", T.arctanh, np.arctanh, "unit", True, True),
    ("exp2", T.exp2, np.exp2, "real", True, True),
    ("deg2rad", T.deg2rad, np.deg2rad, "real", True, True),
    ("rad2deg", T.rad2deg, np.rad2deg, "real", True, True),
    ("trunc", T.trunc, np.trunc, "real", False, False),
    ("erfc", T.erfc, sp.erfc, "real", True, True),
    ("erfcx", T.erfcx, sp.erfcx, "real", True, True),
    ("erfinv", T.erfinv, sp.erfinv, "unit", True, True),
    ("erfcinv", T.erfcinv, sp.erfcinv, "mid", True, True),
    ("gamma", T.gamma, sp.gamma, "pos", True, True),
    ("gammaln", T.gammaln, sp.gammaln, "pos", True, True),
    ("psi", T.psi, sp.psi, "pos", True, False),
    ("tri_gamma", T.tri_gamma, lambda x: sp.polygamma(1, x).astype(x.dtype), "pos", False,
     False),
    ("j0", T.j0, sp.j0, "real", True, True),
    ("j1", T.j1, sp.j1, "real", True, True),
    ("i0", T.i0, sp.i0, "real", True, True),
    ("i1", T.i1, sp.i1, "real", True, True),
]

ARRAY_SPECS = []
for _n, _f, _r, _d, _g, _g2 in UNARY:
    ARRAY_SPECS.append(Spec(_n, _f, _r, U, _d, grad=_g, grad2=_g2))


def _order_ref(fn):
    return lambda v, x: fn(v, x).astype(x.dtype)


ARRAY_SPECS += [
    Spec("arctan2", T.arctan2, np.arctan2, B, "nonzero", grad2=True),
    Spec("jv", T.jv, _order_ref(sp.jv), B[:2], ("pos", "real"), wrt=(1,)),
    Spec("iv", T.iv, _order_ref(sp.iv), B[:2], ("pos", "real"), wrt=(1,)),
    Spec("gammainc", T.gammainc, _order_ref(sp.gammainc), B[:2], "pos", grad=False),
    Spec("gammaincc", T.gammaincc, _order_ref(sp.gammaincc), B[:2], "pos", grad=False),
    Spec("chi2sf", T.chi2sf, lambda x, k: sp.chdtrc(k, x).astype(x.dtype), B[:2], "pos",
         grad=False),
]

_CHOICE = np.array([[0, 1, 1, 0], [1, 0, 0, 0], [1, 1, 0, 1]])
_BINS = np.array([0, 2, 2, 4, 1])

def _as_complex(a, b):
    return (a + 1j * b).astype("complex64" if a.dtype == "float32" else "complex128")


# complex numbers
ARRAY_SPECS += [
    Spec("real", T.real, np.real, U[:2]),
    Spec("imag", T.imag, lambda x: np.imag(x).copy(), U[:2], grad=False),
    Spec("angle", T.angle, np.angle, U[:2], "nonzero", grad=False),
    Spec("conj", T.conj, np.conj, U[:2]),
    Spec("complex[real part]", lambda a, b: T.real(T.complex_(a, b)) * 2 +
         T.imag(T.complex_(a, b)), lambda a, b: 2 * a + b, B[:2]),
    Spec("abs[complex]", lambda a, b: T.angle(T.complex_(a, b)),
         lambda a, b: np.angle(_as_complex(a, b)), B[:1], "nonzero", grad=False),
]

# sorting, running sums and products
ARRAY_SPECS += [
    Spec("sort[axis=-1]", T.sort, np.sort, M + R3 + (((5,),),)),
    Spec("sort[axis=0]", lambda x: T.sort(x, axis=0), lambda x: np.sort(x, axis=0), M + R3),
    Spec("sort[axis=None]", lambda x: T.sort(x, axis=None), lambda x: np.sort(x, axis=None),
         M),
    Spec("argsort", T.argsort, np.argsort, M + (((5,),),), grad=False),
    Spec("argsort[axis=None]", lambda x: T.argsort(x, axis=None),
         lambda x: np.argsort(x, axis=None), M, grad=False),
    Spec("cumsum[axis=None]", T.cumsum, np.cumsum, M + (((5,),),)),
    Spec("cumsum[axis=1]", lambda x: T.cumsum(x, 1), lambda x: np.cumsum(x, 1), M + R3),
    Spec("cumprod[axis=None]", T.cumprod, np.cumprod, M, "nonzero"),
    Spec("cumprod[axis=-1]", lambda x: T.cumprod(x, -1), lambda x: np.cumprod(x, -1), M + R3,
         "nonzero"),
    Spec("cumsum[int]", lambda x: T.cumsum(x, 0), lambda x: np.cumsum(x, 0), M, "small", INTS,
         grad=False),
    Spec("diff[n=2]", lambda x: T.diff(x, 2), lambda x: np.diff(x, 2), M + (((6,),),)),
    Spec("inverse_permutation", lambda x: T.inverse_permutation(T.argsort(x)),
         lambda x: np.argsort(np.argsort(x)), (((6,),), ((3, 4),)), grad=False),
]

# diagonals
ARRAY_SPECS += [
    Spec("diag[matrix]", T.diag, np.diag, M),
    Spec("diag[vector,k=1]", lambda v: T.diag(v, 1), lambda v: np.diag(v, 1), (((4,),),)),
    Spec("diagonal[offset=-1]", lambda x: T.diagonal(x, -1), lambda x: np.diagonal(x, -1), M),
    Spec("diagonal[axes=(2,0)]", lambda x: T.diagonal(x, 1, 2, 0),
         lambda x: np.diagonal(x, 1, 2, 0).copy(), R3),
    Spec("alloc_diag", lambda v: T.alloc_diag(v, -2), lambda v: np.diag(v, -2), (((3,),),)),
    Spec("trace", T.trace, lambda x: np.asarray(np.trace(x)), M),
    Spec("tril", lambda x: T.tril(x, 1), lambda x: np.tril(x, 1), M),
    Spec("triu", T.triu, np.triu, M),
    Spec("fill_diagonal", T.fill_diagonal,
         lambda a, v: np.where(np.eye(*a.shape, dtype=bool), v, a), (((3, 4), ()), ((4, 3), ()))),
    Spec("fill_diagonal_offset", lambda a, v: T.fill_diagonal_offset(a, v, 1),
         lambda a, v: np.where(np.eye(*a.shape, k=1, dtype=bool), v, a), (((3, 4), ()),)),
]

# array functions
ARRAY_SPECS += [
    Spec("roll[axis=None]", lambda x: T.roll(x, 2), lambda x: np.roll(x, 2), M + (((5,),),)),
    Spec("roll[axis=1,shift=-1]", lambda x: T.roll(x, -1, axis=1),
         lambda x: np.roll(x, -1, axis=1), M + R3),
    Spec("isclose", lambda a, b: T.isclose(a, a + 1e-7 * b), lambda a, b: np.isclose(
        a, a + (1e-7 * b).astype(a.dtype)), B[:1], grad=False),
    Spec("isclose[special]", lambda a, b: T.isclose(a, b, equal_nan=True),
         lambda a, b: np.isclose(a, b, equal_nan=True), B[:1], "special", grad=False),
    Spec("allclose", T.allclose, lambda a, b: np.asarray(np.allclose(a, b)), B[:2],
         grad=False),
    Spec("ptp", lambda x: T.ptp(x, axis=1), lambda x: np.ptp(x, axis=1), M + R3),
    Spec("largest", T.largest, lambda a, b, c: np.maximum(np.maximum(a, b), c),
         (((3, 4), (3, 4), (1, 4)),)),
    Spec("smallest", T.smallest, lambda a, b: np.minimum(a, b), B[:2]),
    Spec("stacklists", lambda a, b, c, d: T.stacklists([[a, b], [c, d]]),
         lambda a, b, c, d: np.array([[a, b], [c, d]]), (((), (), (), ()),)),
    Spec("max_and_argmax", lambda x: T.max_and_argmax(x, axis=1)[0],
         lambda x: np.max(x, axis=1), M),
    Spec("iround", T.iround, lambda x: np.rint(x).astype("int64"), U[:1], grad=False),
    Spec("nonzero", lambda x: T.nonzero(x, return_matrix=True),
         lambda x: np.array(np.nonzero(x)), M + R3, "small", grad=False),
    Spec("nonzero[tuple]", lambda x: T.nonzero(x)[1], lambda x: np.nonzero(x)[1], M, "small",
         grad=False),
    Spec("flatnonzero", T.flatnonzero, np.flatnonzero, M, "small", grad=False),
    Spec("nonzero_values", T.nonzero_values, lambda x: x.ravel()[np.flatnonzero(x)], M),
    Spec("choose", lambda a, b, c: T.choose(T.constant(_CHOICE), [a, b, c]),
         lambda a, b, c: np.choose(_CHOICE, [a, b, c]), (((3, 4), (3, 4), (1, 4)),)),
    Spec("choose[wrap]", lambda a, b: T.choose(T.constant(_CHOICE + 2), [a, b], mode="wrap"),
         lambda a, b: np.choose(_CHOICE + 2, [a, b], mode="wrap"), (((3, 4), (4,)),)),
    Spec("bincount[weights]", lambda w: T.bincount(T.constant(_BINS), w, minlength=6),
         lambda w: np.bincount(_BINS, w, minlength=6), (((5,),),)),
    Spec("searchsorted", lambda x, v: T.searchsorted(T.sort(x), v, side="right"),
         lambda x, v: np.searchsorted(np.sort(x), v, side="right"), (((6,), (3, 4)),),
         grad=False),
    Spec("specify_shape", lambda x: T.specify_shape(x, (None, 4)), np.array, M[:1]),
    Spec("specify_shape[symbolic]", lambda x, y: T.specify_shape(x, y.shape) * 2,
         lambda x, y: x * 2, (((3, 4), (3, 4)),), wrt=(0,)),
]


def _spd(x):
    return T.dot(x, x.T) + 4 * T.identity_like(x)


def _spd_ref(x):
    return x @ x.T + 4 * np.eye(len(x), dtype=x.dtype)


SQ = (((3, 3),),)

# top-k, incomplete gamma functions, linear algebra
ARRAY_SPECS += [
    Spec("topk", lambda x: T.topk(x, 2), lambda x: np.sort(x, axis=-1)[:, ::-1][:, :2], M),
    Spec("topk[negative]", lambda x: T.topk(x, -2, axis=0),
         lambda x: np.sort(x, axis=0)[:2], M),
    Spec("argtopk", lambda x: T.argtopk(x, 2),
         lambda x: np.argsort(x, axis=-1, kind="stable")[:, ::-1][:, :2], M, grad=False),
    Spec("gammal", T.gammal, lambda k, x: (sp.gammainc(k, x) * sp.gamma(k)).astype(x.dtype),
         B[:1], "pos", grad=False),
    Spec("matrix_inverse", lambda x: T.matrix_inverse(x + 3 * T.identity_like(x)),
         lambda x: np.linalg.inv(x + 3 * np.eye(3, dtype=x.dtype)), SQ),
    Spec("det", lambda x: T.det(x + 3 * T.identity_like(x)),
         lambda x: np.asarray(np.linalg.det(x + 3 * np.eye(3, dtype=x.dtype))), SQ),
    Spec("solve", lambda a, b: T.solve(a + 3 * T.identity_like(a), b),
         lambda a, b: np.linalg.solve(a + 3 * np.eye(3, dtype=a.dtype), b),
         (((3, 3), (3, 2)), ((3, 3), (3,)))),
    Spec("solve[lower]", lambda a, b: T.solve_lower_triangular(T.tril(a) + 3 * T.identity_like(a),
                                                              b),
         lambda a, b: np.linalg.solve(np.tril(a) + 3 * np.eye(3, dtype=a.dtype), b),
         (((3, 3), (3, 2)),)),
    Spec("cholesky", lambda x: T.cholesky(_spd(x)), lambda x: np.linalg.cholesky(_spd_ref(x)),
         SQ),
    Spec("eigvalsh", lambda x: T.eigvalsh(_spd(x)),
         lambda x: np.linalg.eigvalsh(_spd_ref(x)), SQ),
    Spec("svd[s]", lambda x: T.svd(x, compute_uv=False),
         lambda x: np.linalg.svd(x, compute_uv=False), M, grad=False),
    Spec("pinv", T.pinv, np.linalg.pinv, M, grad=False),
    Spec("qr[r]", lambda x: T.qr(x, mode="r"), lambda x: np.linalg.qr(x, mode="r"), M,
         grad=False),
    Spec("kron", T.kron, np.kron, (((2, 3), (3, 2)), ((3,), (2,)))),
    Spec("matrix_power", lambda x: T.matrix_power(x, 3),
         lambda x: np.linalg.matrix_power(x, 3), SQ),
]
