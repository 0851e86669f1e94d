"""``theano.sparse``: sparse matrices over ``scipy.sparse`` (:mod:`symgraph.sparse`), in
Theano's spelling."""
from symgraph.sparse import *  # noqa: F401,F403
from symgraph.sparse import (  # noqa: F401
    CSM, CSMProperties, Cast, DenseFromSparse, Neg, SparseDot as Dot, SparseFromDense, SpSum,
    StructuredDot, Transpose, TrueDot, AddSS, AddSD, MulSS, MulSD, CSR, CSC, SparseConstant,
    SparseType, SparseVariable, matrix, csr_matrix, csc_matrix, shared)
from symgraph.sparse import basic  # noqa: F401
from symgraph.types import complex_dtypes, discrete_dtypes, float_dtypes, int_dtypes  # noqa

enable_sparse = True
imported_scipy = True


def csr_fmatrix(name=None):
    return csr_matrix(name, "float32")


def csr_dmatrix(name=None):
    return csr_matrix(name, "float64")


def csc_fmatrix(name=None):
    return csc_matrix(name, "float32")


def csc_dmatrix(name=None):
    return csc_matrix(name, "float64")


def verify_grad_sparse(op, pt, structured=False, *args, **kwargs):
    raise NotImplementedError("verify_grad_sparse: check sparse gradients with "
                              "theano.gradient.verify_grad on dense_from_sparse(...)")
