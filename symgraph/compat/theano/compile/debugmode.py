"""``theano.compile.debugmode``: ``DebugMode`` (every node's Python code checked against the
compiled one, see :data:`symgraph.compile.mode.DEBUG`)."""
from symgraph.compile.mode import DEBUG


def DebugMode(optimizer="fast_run", stability_patience=None, check_c_code=None,
              check_py_code=None, check_isfinite=None, check_preallocated_output=None,
              require_matching_strides=None, linker=None):
    """symgraph's DebugMode (its checks are fixed; the arguments are Theano's tuning knobs)."""
    return DEBUG
