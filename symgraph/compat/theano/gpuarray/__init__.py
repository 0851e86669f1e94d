"""``theano.gpuarray``: the GPU back end. ``pygpu_activated`` is False; ``use()`` and every
GPU type raise :class:`NoGPUError` (programs probe this module before falling back to the
CPU)."""
import importlib

from symgraph.compat.theano._nogpu import MESSAGE, NoGPUError, fail, unavailable  # noqa: F401

pygpu_activated = False
pygpu = None
theano_gpu_is_already_active = False
use = init_dev = reg_context = fail
GpuArrayType = unavailable("GpuArrayType")
GpuArrayVariable = unavailable("GpuArrayVariable")
GpuArrayConstant = unavailable("GpuArrayConstant")
GpuArraySharedVariable = unavailable("GpuArraySharedVariable")
gpuarray_shared_constructor = as_gpuarray_variable = fail


class ContextNotDefined(ValueError):
    """No GPU context exists (there is no GPU back end)."""


def get_context(name=None):
    raise ContextNotDefined(MESSAGE)


def pygpu_parse_version(version):
    fail()


_SUBMODULES = ("dnn", "basic_ops", "blas", "elemwise", "type", "opt", "nnet", "pool",
               "subtensor", "linalg", "rng_mrg", "multinomial", "neighbours", "extra_ops",
               "reduction", "sort", "fft", "ctc", "blocksparse", "cudnn_defs", "dnn_opt",
               "fp16_help", "opt_util", "optdb", "register_transfer", "transfer")


def __getattr__(name):
    if name == "dnn":
        return importlib.import_module(f"{__name__}.dnn")
    if name in _SUBMODULES:
        return unavailable(name)
    raise AttributeError(f"module 'theano.gpuarray' (symgraph) has no attribute {name!r}")
