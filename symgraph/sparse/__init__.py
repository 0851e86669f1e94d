"""Sparse matrices (SciPy ``csr``/``csc``) in symgraph graphs: variables, constants and shared
variables of :class:`SparseType`, conversions to and from dense, products with dense
matrices (``dot``, ``structured_dot``) and elementwise basics, with gradients with respect to
the dense operands and to the stored values.

SciPy is optional (the ``scipy`` extra); without it making a sparse type raises an
``ImportError`` that says so.
"""
from typing import Optional

from symgraph.sparse.basic import *  # noqa: F401,F403
from symgraph.sparse.basic import (  # noqa: F401  (names with a leading capital or alias)
    CSM, CSMGradData, CSMProperties, Cast, DenseFromCSM, DenseFromSparse, Neg, SparseDot,
    SparseFromDense, SparseOnes, SpSum, StructuredDot, Transpose, TrueDot, AddSS, AddSD, MulSS,
    MulSD, CSR, CSC)
from symgraph.sparse.type import (FORMATS, SparseConstant, SparseSharedVariable,  # noqa: F401
                                  SparseType, SparseVariable, shared)

sparse_formats = FORMATS


def matrix(format: str, name: Optional[str] = None, dtype=None) -> SparseVariable:
    """A symbolic sparse matrix of ``format`` ('csr' or 'csc') and ``dtype`` (floatX)."""
    from symgraph.config import config
    return SparseType(format, dtype or config.floatX)(name)


def csr_matrix(name: Optional[str] = None, dtype=None) -> SparseVariable:
    """A symbolic csr matrix."""
    return matrix("csr", name, dtype)


def csc_matrix(name: Optional[str] = None, dtype=None) -> SparseVariable:
    """A symbolic csc matrix."""
    return matrix("csc", name, dtype)

from symgraph.sparse.extra import *  # noqa: E402,F401,F403
