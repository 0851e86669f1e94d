"""``theano.scalar``: the dtype helpers programs call, and the scalar constructors (0-d
tensors)."""
import numpy as np

from symgraph.types import upgrade_to_float  # noqa: F401


def upcast(dtype, *dtypes) -> str:
    """The dtype of an operation mixing ``dtypes`` (NumPy promotion), as a string."""
    return np.result_type(*[np.dtype(d) for d in (dtype,) + dtypes]).name


def _scalar(dtype):
    from symgraph.compat.theano.tensor.basic import TensorType
    return TensorType(dtype, ())


float32 = _scalar("float32")
float64 = _scalar("float64")
int8, int16, int32, int64 = (_scalar(d) for d in ("int8", "int16", "int32", "int64"))
uint8 = _scalar("uint8")
complex64, complex128 = _scalar("complex64"), _scalar("complex128")
bool = _scalar("bool")  # noqa: A001


def constant(x, name=None, dtype=None):
    from symgraph.ops.variable import constant as _constant
    return _constant(np.asarray(x), dtype=dtype, name=name)
