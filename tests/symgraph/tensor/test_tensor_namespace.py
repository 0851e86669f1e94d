"""The ``symgraph.tensor`` namespace behaves as a module should: missing names raise
AttributeError (so ``hasattr`` answers False), the sub-namespaces load on first use and are
listed by ``dir``, and ``from symgraph.tensor import *`` brings the tensor API and nothing that
the modules behind it import for their own use."""
import os
import subprocess
import sys
import types

import pytest

import symgraph.tensor as T

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SUBMODULES = ("nnet", "signal", "shared_randomstreams", "extra_ops", "xlogx")
# what the op families import for their own use, and what leaked through star imports before
FOREIGN = ("np", "numpy", "builtins", "numbers", "typing", "List", "Optional", "Sequence",
           "annotations", "sys", "importlib")


def _star_import() -> dict:
    namespace: dict = {}
    exec("from symgraph.tensor import *", namespace)
    namespace.pop("__builtins__")
    return namespace


@pytest.mark.parametrize("name", ["basic", "no_such_name", "Basic", "nnet2", "sparse", "np"])
def test_missing_names_raise_attribute_error(name):
    assert not hasattr(T, name)
    assert getattr(T, name, "default") == "default"
    with pytest.raises(AttributeError, match=rf"module 'symgraph.tensor' has no attribute "
                                             rf"'{name}'"):
        getattr(T, name)


@pytest.mark.parametrize("name", SUBMODULES)
def test_sub_namespaces_load_on_first_use(name):
    module = getattr(T, name)
    assert isinstance(module, types.ModuleType)
    assert module.__name__ == f"symgraph.tensor.{name}"
    assert module is sys.modules[f"symgraph.tensor.{name}"]
    assert hasattr(T, name) and name in dir(T)


def test_dir_lists_the_namespace():
    listed = set(dir(T))
    assert set(T.__all__) <= listed
    assert {"dot", "grad", "matrix", "fmatrix", "tensor", "TensorType"} <= listed


@pytest.mark.parametrize("name", FOREIGN)
def test_star_import_leaks_no_foreign_names(name):
    assert name not in _star_import()
    assert name not in T.__all__


def test_star_import_is_the_public_api():
    namespace = _star_import()
    assert set(namespace) == set(T.__all__)
    # the same objects as the attributes, none of them a module
    for name, value in namespace.items():
        assert value is getattr(T, name), name
        assert not isinstance(value, types.ModuleType), name
    # the tensor API is all there: constructors of every rank and dtype prefix, the op
    # families' functions, gradients, and the names that shadow builtins on purpose
    for rank in ("scalar", "vector", "matrix", "row", "col", "tensor3", "tensor4", "tensor5"):
        for prefix in ("", "f", "d", "i", "l", "b", "w", "c", "z"):
            assert prefix + rank in namespace, prefix + rank
    for name in ("dot", "exp", "switch", "concatenate", "cumsum", "sort", "erf", "diag",
                 "specify_shape", "matrix_inverse", "grad", "Lop", "Rop", "jacobian",
                 "verify_grad", "as_tensor_variable", "TensorVariable", "config",
                 "abs", "all", "any", "max", "min", "pow", "round", "sum"):
        assert name in namespace, name


def test_every_public_attribute_is_exported_or_an_annotation_name():
    public = {n for n in vars(T) if not n.startswith("_")}
    # loaded sub-namespaces are attributes (the import system sets them), not star-exported
    public -= set(SUBMODULES)
    assert public - set(T.__all__) == {"Optional", "Sequence"}


def test_theano_tree_does_not_add_names_to_symgraph_tensor():
    # theano.tensor.basic is a module of the compatibility tree; symgraph.tensor has none
    code = ("import symgraph.tensor as T\n"
            "import symgraph.compat.theano_alias, theano.tensor, theano.tensor.basic\n"
            "print(hasattr(T, 'basic'), hasattr(theano.tensor, 'basic'),\n"
            "      theano.tensor is T, theano.tensor.dot is T.dot)\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("THEANO_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "False", "True"]
