"""The documentation site builds clean and its examples run.

Both builds run in a fresh interpreter into a temporary folder: the HTML build with warnings
as errors (a docstring that no longer renders, a broken cross-reference between pages, a
missing page all fail it), and the doctest build, which runs every example of the pages and
every ``>>>`` of the docstrings. Skipped, saying why, when Sphinx or the theme is not installed
(``pip install -e ".[docs]"``).
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
NEEDED = ("sphinx", "furo", "myst_parser")

missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(missing), reason=f"the docs extra is not installed ({', '.join(missing)} missing): "
                          f"pip install -e '.[docs]'")


def _sphinx(builder: str, out: str, *flags: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=ROOT)
    # -E: read every page again (no environment cached from another build); -q: only problems
    cmd = [sys.executable, "-m", "sphinx", "-E", "-q", *flags, "-b", builder, DOCS, out]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_html_builds_without_warnings(tmp_path):
    proc = _sphinx("html", str(tmp_path / "html"), "-W", "--keep-going")
    assert proc.returncode == 0, f"sphinx -W -b html failed:\n{proc.stderr[-6000:]}"
    index = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "Getting started" in index and "API reference" in index
    # the tensor namespace's table is generated from the module and links each function
    tensor = (tmp_path / "html" / "api" / "tensor.html").read_text(encoding="utf-8")
    for target in ("symgraph.ops.blas.dot", "symgraph.ops.elemwise.exp",
                   "symgraph.ops.nnet.relu", "symgraph.gradient.grad"):
        assert f'#{target}"' in tensor, f"no link to {target} in the tensor API table"
    # nothing is loaded from another host: scripts, styles and fonts are local
    remote = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', index)
    assert not remote, f"the page loads remote assets: {remote}"
    # every public module has its page in the API reference
    documented = set()
    for page in (tmp_path / "html").rglob("*.html"):
        documented.update(re.findall(r'id="module-([\w.]+)"',
                                     page.read_text(encoding="utf-8")))
    missing = sorted(set(_public_modules()) - documented)
    assert not missing, f"modules without a page in the API reference: {missing}"
    # and every op class of the op families and of symgraph.sparse has its entry (a module's
    # __all__, which says what star imports take, does not hide its classes)
    generated = "".join(page.read_text(encoding="utf-8")
                        for page in (tmp_path / "html" / "api" / "generated").glob("*.html"))
    ops = _op_classes()
    assert len(ops) > 50
    undocumented = [name for name in ops if f'id="{name}"' not in generated]
    assert not undocumented, f"op classes without an entry: {undocumented}"
    # the Theano reference (docs/theano_compat.md) is a page of the site, its table included
    compat = (tmp_path / "html" / "theano_compat.html").read_text(encoding="utf-8")
    assert "Deliberate omissions" in compat and "<table" in compat
    # the profiling section is written
    debugging = (tmp_path / "html" / "concepts" / "debugging.html").read_text(encoding="utf-8")
    assert "To be written" not in debugging and "profile.summary()" in debugging


def _op_classes():
    """Full names of the public Op subclasses that symgraph.ops and symgraph.sparse define."""
    import importlib
    import inspect
    import pkgutil

    from symgraph.op import Op
    names = []
    for package in ("symgraph.ops", "symgraph.sparse"):
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            names += [f"{module.__name__}.{name}" for name, obj in vars(module).items()
                      if inspect.isclass(obj) and issubclass(obj, Op)
                      and obj.__module__ == module.__name__ and not name.startswith("_")]
    return names


def _public_modules():
    """Every module of the packages the API reference covers whose dotted name has no part
    starting with an underscore (found on disk: nothing is imported)."""
    for package in ("symgraph", "optimizers", "models"):
        top = os.path.join(ROOT, package)
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith(("_", "."))
                             and os.path.isfile(os.path.join(folder, d, "__init__.py")))
            parts = os.path.relpath(folder, ROOT).split(os.sep)
            for fname in sorted(files):
                stem, ext = os.path.splitext(fname)
                if ext != ".py" or (stem.startswith("_") and stem != "__init__"):
                    continue
                yield ".".join(parts if stem == "__init__" else parts + [stem])


def test_doctests_pass(tmp_path):
    proc = _sphinx("doctest", str(tmp_path / "doctest"))
    report = (tmp_path / "doctest" / "output.txt")
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    assert proc.returncode == 0, f"sphinx -b doctest failed:\n{text[-6000:]}\n{proc.stderr[-3000:]}"
    match = re.search(r"(\d+) tests\n\s+0 failures in tests", text)
    assert match, f"no doctest summary:\n{text[-3000:]}"
    # the pages hold well over a hundred examples; far fewer means pages stopped being tested
    assert int(match.group(1)) >= 100, text[-3000:]
    if _mnist_found():
        # the MNIST examples are skipped only where MNIST is missing, never elsewhere
        assert re.search(r"\d+ tests in mnist", text), "the MNIST examples did not run"


def _mnist_found() -> bool:
    from models.data import MNIST, DataError, find_files
    try:
        find_files(MNIST, download=False)
    except DataError:
        return False
    return True
