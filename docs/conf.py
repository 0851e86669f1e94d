"""Sphinx configuration of the symgraph documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html``; run every example:
``python -m sphinx -b doctest docs docs/_build/doctest``. Nothing is fetched at build time: no
intersphinx, no remote theme assets (furo ships its CSS, JS and uses the system's fonts).
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# the checkout's packages come first (symgraph, optimizers, models, benchmarks), then the
# local extensions
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(HERE, "_ext"))

# the site shows what a program gets by default: not the Theano flags of the machine that
# builds it (autodoc imports the Theano layer, which reads them)
os.environ.pop("THEANO_FLAGS", None)
os.environ["THEANORC"] = os.devnull
# examples that start a Python process run this checkout too
os.environ["PYTHONPATH"] = os.pathsep.join(
    [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])

import symgraph  # noqa: E402

project = "symgraph"
author = "the symgraph developers"
copyright = "the symgraph developers"
release = version = symgraph.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "myst_parser",
    "tensor_api",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_templates"]
templates_path = ["_templates"]
# docs/ARCHITECTURE.md is read on GitHub as it is and shown in the site through
# architecture.md (a MyST include), so it is not a page of its own
exclude_patterns += ["ARCHITECTURE.md"]

# ------------------------------------------------------------------------------- autodoc
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    # a module's __all__ says what a star import takes (the op families list their user
    # functions for symgraph.ops); the reference documents everything public it defines,
    # the op classes too
    "ignore-module-all": True,
}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autoclass_content = "both"
# an override without a docstring of its own is not repeated under every op (and a
# property overriding a plain attribute would otherwise inherit the docstring of its value)
autodoc_inherit_docstrings = False
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
# default role: `name` in a docstring is code, as most of ours mean it
default_role = "code"

# ------------------------------------------------------------------------------- autosummary
# Every module of the API reference has a page of its own, generated at build time into
# api/generated/ from _templates/autosummary/module.rst (the module's docstring and members,
# its op instances, its submodules): the pages listed in api/index.rst and the packages'
# submodules, recursively, so a new module gets its page without anyone writing it.
autosummary_generate = True
autosummary_generate_overwrite = True
# packages that users import as a namespace: their page also lists what they re-export
# (module -> the name programs give it)
autosummary_context = {"namespaces": {"symgraph.sparse": "S"}}
GENERATED = os.path.join(HERE, "api", "generated")


def _prefer_modules() -> None:
    """In autosummary lists, a name that is a module means the module.

    autosummary reads ``pkg.name`` as the attribute ``name`` of ``pkg`` first, so a module
    whose package re-exports a function or object of the same name (``symgraph.shared``,
    ``symgraph.ops.shape``, ``symgraph.config``...) would get the function's page instead of
    its own (sphinx-doc/sphinx#11993). Our lists name modules only: resolve those as modules.
    """
    import importlib
    import importlib.util
    from sphinx.ext import autosummary
    original = autosummary._import_by_name  # raises AttributeError if Sphinx renames it

    def import_by_name(name: str, grouped_exception: bool = True):
        try:
            is_module = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError, AttributeError):
            is_module = False
        if is_module:
            return importlib.import_module(name), None, name
        return original(name, grouped_exception)

    autosummary._import_by_name = import_by_name


_prefer_modules()


def _drop_stale_pages(app) -> None:
    """Remove generated pages of modules that no longer exist (a module moved or deleted):
    autosummary only writes pages, and a stale one would fail the build."""
    import importlib.util
    if not os.path.isdir(GENERATED):
        return
    for fname in os.listdir(GENERATED):
        modname, ext = os.path.splitext(fname)
        if ext != ".rst":
            continue
        try:
            found = importlib.util.find_spec(modname) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            os.remove(os.path.join(GENERATED, fname))


def setup(app):
    # before autosummary generates the pages (its handler has the default priority, 500)
    app.connect("builder-inited", _drop_stale_pages, priority=100)


# ------------------------------------------------------------------------------- MyST
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing"]

# ------------------------------------------------------------------------------- doctest
# Every example runs (python -m sphinx -b doctest docs docs/_build/doctest): the pages'
# testcode/doctest blocks and every >>> block, docstrings included. Each group runs in a
# temporary folder of its own (files the examples save go there); examples that need MNIST
# are skipped, never downloaded, where it is not found (:skipif: mnist_missing).
doctest_global_setup = """
import os, tempfile
from symgraph import types as _doc_types
# types print in symgraph's form (autodoc imported the Theano layer, which switches to Theano's)
_doc_types.set_display_style(None)
_doc_cwd = os.getcwd()
os.chdir(tempfile.mkdtemp(prefix="symgraph-doctest-"))
from models.data import MNIST, find_files
try:
    find_files(MNIST, download=False)
    mnist_missing = False
except Exception:
    mnist_missing = True
"""
doctest_global_cleanup = """
import os, shutil
_doc_tmp = os.getcwd()
os.chdir(_doc_cwd)
shutil.rmtree(_doc_tmp, ignore_errors=True)
"""
doctest_default_flags = (__import__("doctest").ELLIPSIS
                         | __import__("doctest").NORMALIZE_WHITESPACE
                         | __import__("doctest").DONT_ACCEPT_TRUE_FOR_1)

# ------------------------------------------------------------------------------- HTML
html_theme = "furo"
html_title = f"symgraph {release}"
html_static_path = ["_static"]
html_css_files = ["symgraph.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": True,
}
