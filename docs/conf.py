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

import symgraph  # noqa: E402

project = "symgraph"
author = "the symgraph developers"
copyright = "the symgraph developers"
release = version = symgraph.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "myst_parser",
    "tensor_api",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
# docs/ARCHITECTURE.md is read on GitHub as it is and shown in the site through
# architecture.md (a MyST include), so it is not a page of its own
exclude_patterns += ["ARCHITECTURE.md"]

# ------------------------------------------------------------------------------- autodoc
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
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
html_static_path: list = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": True,
}
