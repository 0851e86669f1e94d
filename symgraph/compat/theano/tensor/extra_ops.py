"""``theano.tensor.extra_ops``: the array functions Theano kept here (all symgraph core
functions)."""
from symgraph.ops.cumulative import CumOp, cumprod, cumsum, diff  # noqa: F401
from symgraph.ops.diagonal import fill_diagonal, fill_diagonal_offset  # noqa: F401
from symgraph.ops.extra import (Bincount, bartlett, bincount, compress,  # noqa: F401
                                ravel_multi_index, searchsorted, unravel_index, SearchSorted)
from symgraph.ops.extra import RavelMultiIndex, UnravelIndex  # noqa: F401
from symgraph.ops.join import squeeze  # noqa: F401
from symgraph.ops.nnet import to_one_hot  # noqa: F401
from symgraph.ops.tiling import Repeat as RepeatOp, repeat  # noqa: F401

CumsumOp = CumprodOp = CumOp
SearchsortedOp = SearchSorted


def cpu_contiguous(x):
    """``x`` (symgraph's ops accept any memory layout)."""
    return x


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    """The sorted unique values of ``ar`` (flattened), as ``np.unique``; the optional index,
    inverse and count outputs follow as a list."""
    from symgraph.compat.theano.tensor._unique import unique as _unique
    return _unique(ar, return_index, return_inverse, return_counts, axis)


Unique = unique


from symgraph.ops.diagonal import SetDiag as FillDiagonal  # noqa: E402,F401
from symgraph.compat.theano.gof.null_type import DisconnectedType  # noqa: E402,F401
from symgraph.compat.theano.gof.generic import Generic  # noqa: E402,F401

FillDiagonalOffset = FillDiagonal
fill_diagonal_ = fill_diagonal
fill_diagonal_offset_ = fill_diagonal_offset
bartlett_ = bartlett
Bartlett = bartlett
DiffOp = diff
CpuContiguous = cpu_contiguous
disconnected_type = DisconnectedType()
