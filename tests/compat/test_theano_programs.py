"""Legacy Theano programs (tests/compat/programs) run unchanged through the redirection.

Each program is run in a fresh interpreter as ``python -m symgraph.compat.run PROGRAM`` and its
``RESULT`` line is checked for training quality. Where a real Theano is available (the path of
its interpreter in ``$SYMGRAPH_THEANO_PYTHON``), the programs that draw no random numbers must
also print the same numbers as under Theano to 1e-6 relative.
"""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(__file__)
PROGRAMS = os.path.join(HERE, "programs")
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


ROOT = os.path.dirname(os.path.dirname(HERE))


def _run(python, program, env_extra=None, timeout=600):
    # this checkout's symgraph, whatever is installed (the reference Python has no symgraph)
    env = dict(os.environ, PYTHONPATH=ROOT, **(env_extra or {}))
    cmd = [python, program] if env_extra else [python, "-m", "symgraph.compat.run", program]
    proc = subprocess.run(cmd, cwd=PROGRAMS, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{program} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def _result(out: str) -> dict:
    """``RESULT name 1.0 other 2.0`` -> {'name': 1.0, 'other': 2.0} (last RESULT line)."""
    lines = [line.split()[1:] for line in out.splitlines() if line.startswith("RESULT")]
    assert lines, f"no RESULT line in:\n{out[-2000:]}"
    words, results = lines[-1], {}
    for key, value in zip(words, words[1:]):
        if NUMBER.fullmatch(value) and not NUMBER.fullmatch(key):
            results[key] = float(value)
    return results


def _numbers(out: str):
    return [float(v) for line in out.splitlines() for v in NUMBER.findall(line)]


@pytest.fixture(scope="module")
def outputs():
    return {}


def run(outputs, name):
    if name not in outputs:
        outputs[name] = _run(sys.executable, name + ".py")
    return outputs[name]


def test_logistic_regression_with_givens_and_early_stopping(outputs):
    r = _result(run(outputs, "logistic_sgd"))
    assert r["best_validation"] < 0.3 and r["test"] < 0.3  # chance is 2/3


def test_mlp_with_l1_l2(outputs):
    out = run(outputs, "mlp")
    lines = [l for l in out.splitlines() if l.startswith("RESULT")]
    assert len(lines) == 2
    for line in lines:
        valid = float(line.split("valid ")[1].split()[0])
        assert valid < 0.4


def test_lenet(outputs):
    r = _result(run(outputs, "convolutional_mlp"))
    assert r["error"] < 0.2


def test_denoising_autoencoder_with_random_streams(outputs):
    r = _result(run(outputs, "dA"))
    assert r["last"] < 0.6 * r["first"]
    assert r["clean"] < r["first"]


def test_stacked_denoising_autoencoder(outputs):
    r = _result(run(outputs, "SdA"))
    assert r["valid"] < 0.4


def test_rbm_trained_with_scan(outputs):
    r = _result(run(outputs, "rbm"))
    # the data must be far more probable (lower free energy) than random binary noise
    assert r["fe_data"] < r["fe_noise"] - 10


THEANO = os.environ.get("SYMGRAPH_THEANO_PYTHON")


@pytest.mark.skipif(not THEANO, reason="set SYMGRAPH_THEANO_PYTHON to a Python with Theano 1.0")
@pytest.mark.parametrize("name", ["logistic_sgd", "mlp"])
def test_same_numbers_as_theano(outputs, name):
    ours = _numbers(run(outputs, name))
    theirs = _numbers(_run(THEANO, name + ".py", env_extra={
        "THEANO_FLAGS": "floatX=float64,blas.ldflags=,cxx=,base_compiledir=/tmp/theano_ref"}))
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_layer_library_style_program(outputs):
    """Type objects with patterns, abstract_conv's transposed and dilated convolutions,
    patternbroadcast, clone, graph inputs, grad_clip and the GPU probe, in one program."""
    r = _result(run(outputs, "layer_library"))
    assert r["last"] < 0.85 * r["first"]
