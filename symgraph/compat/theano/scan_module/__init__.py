"""``theano.scan_module``: ``scan`` and the loops built on it (``map``, ``reduce``,
``foldl``, ``foldr``, ``scan_checkpoints``)."""
import importlib

from symgraph.scan import scan  # noqa: F401
from symgraph.compat.theano.scan_module.scan_utils import clone, until  # noqa: F401


def map(fn, sequences, non_sequences=None, truncate_gradient=-1, go_backwards=False,
        mode=None, name=None):
    """``fn`` applied to each step of ``sequences``: ``(outputs, updates)``."""
    return scan(fn, sequences=sequences, outputs_info=None, non_sequences=non_sequences,
                truncate_gradient=truncate_gradient, go_backwards=go_backwards, mode=mode,
                name=name)


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False, mode=None,
           name=None):
    """Fold ``fn`` over ``sequences`` from ``outputs_info``: ``(final values, updates)``."""
    outs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info,
                         non_sequences=non_sequences, go_backwards=go_backwards, mode=mode,
                         name=name)
    if isinstance(outs, (list, tuple)):
        return [o[-1] for o in outs], updates
    return outs[-1], updates


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``reduce`` from the first step to the last."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=False, mode=mode,
                  name=name)


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``reduce`` from the last step to the first."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=True, mode=mode,
                  name=name)


def scan_checkpoints(fn, sequences=(), outputs_info=None, non_sequences=(),
                     name="checkpointscan_fn", n_steps=None, save_every_N=10, padding=True):
    """Theano's memory-saving ``scan``: the same outputs and gradients as :func:`scan` (which
    is what runs; symgraph's scan keeps every step's states). So ``save_every_N`` (how many
    steps between saved states) and ``padding`` (padding the sequences to a multiple of it)
    change nothing but the memory Theano would have saved."""
    return scan(fn, sequences=list(sequences) or None, outputs_info=outputs_info,
                non_sequences=list(non_sequences) or None, n_steps=n_steps, name=name)


_SUBMODULES = ("scan_utils", "scan_op", "scan_opt", "scan_views", "scan")


def __getattr__(name):
    if name in ("scan_op",):
        return importlib.import_module("symgraph.scan.op")
    if name in ("scan_utils", "scan_views"):
        return importlib.import_module(f"{__name__}.scan_utils")
    raise AttributeError(f"module 'theano.scan_module' (symgraph) has no attribute {name!r}")
