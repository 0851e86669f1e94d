"""Differential tests: the programs of ``differential_cases.py`` (generated from tables) give
the same results under symgraph's redirection as under Theano 1.0.5: values equal to 1e-6
relative, or the same kind of exception.

Theano's results are recorded in ``differential_expected.json``; where the reference Theano is
available (``$SYMGRAPH_THEANO_PYTHON``), a test also checks that the record is what Theano
gives now. Regenerate the record with::

    THEANO_FLAGS=floatX=float64,cxx= $SYMGRAPH_THEANO_PYTHON \\
        tests/compat/differential_runner.py > tests/compat/differential_expected.json
"""
import json
import os
import subprocess
import sys

import pytest

from differential_cases import BEYOND_THEANO, CASES
from differential_compare import difference

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXPECTED = os.path.join(HERE, "differential_expected.json")
RUNNER = os.path.join(HERE, "differential_runner.py")
THEANO = os.environ.get("SYMGRAPH_THEANO_PYTHON")
REF_FLAGS = "floatX=float64,blas.ldflags=,cxx=,base_compiledir=/tmp/theano_ref"


def _run(python, *args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("THEANO_FLAGS", None)  # the cases set what they need; a user's flags must not leak
    env.update(env_extra or {})
    out = subprocess.run([python, RUNNER, *args], capture_output=True, text=True, env=env,
                         timeout=600, cwd=HERE)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def ours():
    return _run(sys.executable, "--symgraph")


@pytest.fixture(scope="module")
def expected():
    with open(EXPECTED) as f:
        return json.load(f)


def test_every_case_has_a_recorded_result(expected):
    assert sorted(expected) == sorted(name for name, _ in CASES)


@pytest.mark.parametrize("name", [name for name, _ in CASES])
def test_same_result_as_theano(name, ours, expected):
    if name in BEYOND_THEANO:
        assert "error" in expected[name], f"{name}: Theano now computes it; compare it"
        assert "error" not in ours[name], ours[name]
        return
    diff = difference(expected[name], ours[name])
    assert diff is None, f"{name}: {diff}"


@pytest.mark.skipif(not THEANO, reason="set SYMGRAPH_THEANO_PYTHON to a Python with Theano 1.0")
def test_the_record_is_what_theano_gives(expected):
    live = _run(THEANO, env_extra={"THEANO_FLAGS": REF_FLAGS})
    stale = {n: difference(live[n], expected[n]) for n in live}
    stale = {n: d for n, d in stale.items() if d}
    assert not stale, stale
