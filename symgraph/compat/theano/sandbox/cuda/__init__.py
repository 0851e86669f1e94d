"""``theano.sandbox.cuda``: the old CUDA back end. ``cuda_available`` is False; ``use()``
raises (programs probe this module before falling back to the CPU)."""
from symgraph.compat.theano._nogpu import NoGPUError, fail, unavailable  # noqa: F401

cuda_available = False
cuda_enabled = False
use = fail
CudaNdarrayType = unavailable("CudaNdarrayType")
CudaNdarraySharedVariable = unavailable("CudaNdarraySharedVariable")
GpuOp = unavailable("GpuOp")


def dnn_available():
    return False
