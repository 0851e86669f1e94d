"""Run the differential cases (``differential_cases.py``) and print their results as JSON.

The same file runs under Theano 1.0.5 and under symgraph's redirection (``--symgraph``), so
both see exactly the same programs. Each case's code runs with ``theano``, ``T`` (``tensor``),
``np``, ``sparse`` (``scipy.sparse``), a ``RandomState`` ``rng`` seeded by the case and
``run(inputs, outputs, *values)`` (compile and call once); it sets ``result``. A case that
raises records the first built-in exception class of its error.
"""
import builtins
import contextlib
import io
import json
import sys
import zlib

import numpy as np


def _encode(value):
    if isinstance(value, (list, tuple)):
        return {"list": [_encode(v) for v in value]}
    if hasattr(value, "toarray") and hasattr(value, "nnz"):
        value = value.toarray()
    if isinstance(value, (np.ndarray, np.generic, int, float, bool, complex)):
        arr = np.asarray(value)
        if arr.dtype.kind == "c":
            return {"complex": [arr.real.tolist(), arr.imag.tolist()], "shape": list(arr.shape)}
        return {"array": arr.tolist(), "shape": list(arr.shape), "kind": arr.dtype.kind}
    return {"repr": str(value)}


def _builtin_error(exc):
    for cls in type(exc).__mro__:
        if cls.__module__ == "builtins":
            return cls.__name__
    return "Exception"


def main(symgraph: bool):
    if symgraph:
        import symgraph.compat.theano_alias  # noqa: F401
    import warnings
    warnings.simplefilter("ignore")
    import scipy.sparse as sparse
    import theano
    import theano.sparse  # noqa: F401  (Theano imports these submodules only when asked)
    import theano.tensor as T
    import theano.tensor.nlinalg  # noqa: F401
    import theano.tensor.nnet.abstract_conv  # noqa: F401
    import theano.tensor.nnet.bn  # noqa: F401
    import theano.tensor.nnet.neighbours  # noqa: F401
    import theano.tensor.signal.pool  # noqa: F401
    import theano.tensor.slinalg  # noqa: F401
    import theano.typed_list  # noqa: F401
    from differential_cases import CASES

    def run(inputs, outputs, *values, **kwargs):
        return theano.function(inputs, outputs, on_unused_input="ignore", **kwargs)(*values)

    results = {}
    for name, code in CASES:
        env = {"theano": theano, "T": T, "np": np, "sparse": sparse, "run": run,
               "rng": np.random.RandomState(zlib.crc32(name.encode()) % 2 ** 31),
               "__builtins__": builtins}
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # a Print op's output
                exec(code, env)
            results[name] = _encode(env["result"])
        except Exception as exc:  # noqa: BLE001 - the error is the result
            results[name] = {"error": _builtin_error(exc), "message": str(exc)[:200]}
    json.dump(results, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main("--symgraph" in sys.argv)
