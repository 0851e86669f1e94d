"""The ``theano`` top-level namespace, served by symgraph.

``import symgraph.compat.theano_alias`` maps every ``theano.*`` module path onto this package;
each module re-exports symgraph's objects (so identities hold across spellings) and adds
Theano's own spellings. Importing it reads ``THEANO_FLAGS`` and ``.theanorc`` once (see
:mod:`symgraph.compat.theano.configparser`) and makes types print as Theano printed them.
"""
from symgraph.compat.theano._lazy import submodule
from symgraph.compat.theano import configparser as _configparser
from symgraph.compat.theano.configparser import config, change_flags  # noqa: F401

_configparser.load()

from symgraph.compat.theano import _display  # noqa: E402,F401  (Theano's type names)
from symgraph.compat.theano import test_values as _test_values  # noqa: E402

_test_values.install()  # nodes compute test values when config.compute_test_value asks
from symgraph.compat.theano.compile.function import function  # noqa: E402,F401
from symgraph.compat.theano.compile.io import In, Out, Param  # noqa: E402,F401
from symgraph.compat.theano.compile.mode import Mode  # noqa: E402,F401
from symgraph.compat.theano.compile.ops import as_op  # noqa: E402,F401
from symgraph.compat.theano.compile.builders import OpFromGraph  # noqa: E402,F401
from symgraph.compat.theano.compile.profiling import ProfileStats  # noqa: E402,F401
from symgraph.compat.theano.compile.sharedvalue import shared, SharedVariable  # noqa: E402,F401
from symgraph.compat.theano.gof import (Apply, Constant, Container, FunctionGraph,  # noqa
                                        Generic, Op, Type, Variable, generic)
from symgraph.compat.theano.scan_module.scan_utils import clone  # noqa: E402,F401
from symgraph.compat.theano.gradient import (grad, Lop, Rop, subgraph_grad)  # noqa: E402,F401
from symgraph.compat.theano.printing import pp, pprint  # noqa: E402,F401
from symgraph.compat.theano.scan_module import (scan, map, reduce, foldl,  # noqa: E402,F401
                                                foldr, scan_checkpoints)
from symgraph.compat.theano.tensor.basic import dot, get_scalar_constant_value  # noqa: E402,F401
from symgraph.compat.theano.compile.function import function_dump  # noqa: E402,F401
from symgraph.compat.theano.gof import InconsistencyError  # noqa: E402,F401
from symgraph.compat.theano.compile.sharedvalue import SharedVariable as _SV  # noqa: E402,F401
from symgraph.compat.theano.updates import OrderedUpdates  # noqa: E402,F401

__version__ = "1.0.5+symgraph"
version = __version__

#: submodules reached as attributes (``theano.tensor``, ``theano.sparse``...), imported on use
_SUBMODULES = ("tensor", "gradient", "printing", "compile", "gof", "scan_module", "ifelse",
               "sandbox", "scalar", "sparse", "typed_list", "d3viz", "gpuarray", "updates",
               "configparser")


def __getattr__(name):
    return submodule(__name__, name, _SUBMODULES)

from symgraph.compat.theano.compile.io import SymbolicInput, SymbolicOutput  # noqa: E402,F401
from symgraph.compat.theano.compile.mode import (predefined_modes,  # noqa: E402,F401
                                                 predefined_linkers, predefined_optimizers)
from symgraph.compat.theano.gof.op import OpenMPOp  # noqa: E402,F401
from symgraph.compat.theano.gradient import sparse_grad  # noqa: E402,F401
