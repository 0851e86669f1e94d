"""What the GPU modules answer: there is no GPU back end in symgraph."""

MESSAGE = ("symgraph has no GPU back end: every graph runs on the CPU (remove device=cuda/gpu "
           "from THEANO_FLAGS, or use the CPU code path of your program)")


class NoGPUError(RuntimeError):
    """Raised by every GPU entry point."""


def fail(*args, **kwargs):
    raise NoGPUError(MESSAGE)


class _NoGPU:
    """A GPU class of Theano: making one raises :class:`NoGPUError`."""

    def __init__(self, *args, **kwargs):
        fail()


def unavailable(name: str):
    """A stand-in for the GPU object ``name`` that raises when used."""
    return type(name, (_NoGPU,), {"__doc__": f"Theano's GPU {name}: not available ({MESSAGE})"})
