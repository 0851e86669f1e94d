"""Theano's public API under the redirection: every public name of every module of
``theano_names.json`` (Theano 1.0.5's own listing) exists, or is a deliberate omission of
``docs/theano_compat.md`` with its reason; names that exist are not stubs (see the differential
and program tests)."""
import json
import os
import subprocess

import pytest

from theano_coverage import HERE, coverage, omissions, omitted, reference_names

COVERAGE = coverage()


@pytest.mark.parametrize("module", sorted(COVERAGE))
def test_every_public_name_exists_or_is_a_documented_omission(module):
    missing = COVERAGE[module]["missing"]
    assert not missing, (f"{module}: {len(missing)} public names neither provided nor listed "
                         f"in docs/theano_compat.md: {missing}")


def test_each_omission_row_names_real_theano_names():
    """A row that matches nothing is stale: the table lists only names Theano has."""
    names = reference_names()
    for module, patterns, reason in omissions():
        assert reason, f"omission row of {module} has no reason"
        modules = list(names) if module == "*" else [module]
        assert all(m in names for m in modules), f"unknown module {module} in the table"
        for p in patterns:
            hits = [n for m in modules for n in names[m] if omitted(m, n, [(module, [p], "")])]
            assert hits, f"omission {module}: {p!r} matches no public name of Theano"


def test_the_omitted_share_is_small_where_programs_live():
    """The modules programs use are almost entirely provided (omissions are Theano's
    internals)."""
    for module in ("theano.tensor", "theano.tensor.basic", "theano.tensor.nnet",
                   "theano.tensor.nnet.abstract_conv", "theano.sparse", "theano.gradient"):
        c = COVERAGE[module]
        assert len(c["present"]) >= 0.85 * len(c["names"]), (module, len(c["present"]))


THEANO = os.environ.get("SYMGRAPH_THEANO_PYTHON")


@pytest.mark.skipif(not THEANO, reason="set SYMGRAPH_THEANO_PYTHON to a Python with Theano 1.0")
def test_the_listing_is_theanos_own():
    env = dict(os.environ, THEANO_FLAGS="floatX=float64,blas.ldflags=,cxx=,"
                                         "base_compiledir=/tmp/theano_ref")
    out = subprocess.run([THEANO, os.path.join(HERE, "list_theano_names.py")], env=env,
                         capture_output=True, text=True, timeout=300, cwd="/tmp")
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == reference_names()
