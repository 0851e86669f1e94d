"""``theano.scalar``: the dtype helpers programs call."""
import numpy as np

from symgraph.types import upgrade_to_float  # noqa: F401


def upcast(dtype, *dtypes) -> str:
    """The dtype of an operation mixing ``dtypes`` (NumPy promotion), as a string."""
    return np.result_type(*[np.dtype(d) for d in (dtype,) + dtypes]).name
