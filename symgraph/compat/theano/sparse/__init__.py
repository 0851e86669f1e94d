"""``theano.sparse``: sparse matrices over ``scipy.sparse`` (:mod:`symgraph.sparse`), in
Theano's spelling. It needs SciPy (symgraph's ``scipy`` extra): without it, importing the
module raises an :class:`ImportError` that says so."""
try:
    import scipy.sparse  # noqa: F401
except ImportError as _exc:
    raise ImportError("theano.sparse needs SciPy (scipy.sparse), which is not installed: "
                      "install symgraph's scipy extra (pip install symgraph[scipy]) or "
                      "scipy itself", name="scipy") from _exc
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

from symgraph.sparse.extra import *  # noqa: E402,F401,F403
from symgraph.compat.theano.gof.null_type import DisconnectedType  # noqa: E402,F401
from symgraph.compat.theano.gradient import grad_not_implemented, grad_undefined  # noqa: E402
from symgraph.compat.theano.tensor.basic import (all_dtypes, continuous_dtypes,  # noqa: E402
                                                 integer_dtypes, uint_dtypes)
from symgraph.sparse.basic import as_sparse_variable as constant  # noqa: E402,F401
from symgraph.sparse.type import SparseSharedVariable  # noqa: E402,F401


def bsr_matrix(name=None, dtype=None):
    raise NotImplementedError("bsr (block sparse row) matrices are not supported; use csr or "
                              "csc")


bsr_fmatrix = bsr_dmatrix = bsr_matrix
sharedvar = shared
SparseConstantSignature = tuple
ConstructSparseFromList = construct_sparse_from_list  # noqa: F405
GetItemListGrad = GetItem2ListsGrad = get_item_list_grad = get_item_2lists_grad = GetItem  # noqa
sdg_csc = sdg_csr = StructuredDot
scipy_ver = tuple(int(v) for v in __import__("scipy").__version__.split(".")[:2])
clean = remove0  # noqa: F405
