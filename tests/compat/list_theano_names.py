"""Print, as JSON, the public names of Theano's modules (run under a Python with Theano 1.0).

A public name is one not starting with ``_``, excluding other packages' modules, ``__future__``
features, and classes and functions defined outside Theano (``np``, ``OrderedDict``...).
``python tests/compat/list_theano_names.py`` under the reference Theano regenerates
``theano_names.json``.
"""
import __future__
import importlib
import json
import sys
import types

MODULES = [
    "theano", "theano.tensor", "theano.tensor.basic", "theano.tensor.elemwise",
    "theano.tensor.nnet", "theano.tensor.nnet.conv", "theano.tensor.nnet.abstract_conv",
    "theano.tensor.nnet.neighbours", "theano.tensor.nnet.bn", "theano.tensor.signal.pool",
    "theano.tensor.extra_ops", "theano.tensor.slinalg", "theano.tensor.nlinalg",
    "theano.tensor.shared_randomstreams", "theano.tensor.xlogx", "theano.tensor.opt",
    "theano.gradient", "theano.printing", "theano.compile", "theano.compile.function",
    "theano.compile.io", "theano.compile.sharedvalue", "theano.compile.ops",
    "theano.compile.mode", "theano.compile.monitormode", "theano.compile.profiling",
    "theano.gof", "theano.gof.graph", "theano.gof.utils", "theano.gof.op",
    "theano.scan_module", "theano.scan_module.scan_utils", "theano.ifelse",
    "theano.sandbox.rng_mrg", "theano.sparse", "theano.typed_list", "theano.d3viz",
    "theano.gpuarray",
]


def public(modname):
    mod = importlib.import_module(modname)
    names = []
    for name in dir(mod):
        if name.startswith("_"):
            continue
        obj = getattr(mod, name)
        if isinstance(obj, types.ModuleType):
            if obj.__name__.startswith("theano"):
                names.append(name)
            continue
        if isinstance(obj, __future__._Feature):
            continue
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            where = getattr(obj, "__module__", None) or ""
            if not (where.startswith("theano") or where in ("tensor", "scalar")):
                continue
        names.append(name)
    return sorted(names)


if __name__ == "__main__":
    json.dump({m: public(m) for m in MODULES}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
