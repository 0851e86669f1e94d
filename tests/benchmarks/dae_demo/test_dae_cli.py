"""``python -m benchmarks.dae_demo``: training-only runs, argument errors, and a served run
(any free port, printed) that stops cleanly on SIGTERM."""
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from benchmarks.dae_demo.__main__ import main

ROOT = Path(__file__).resolve().parents[3]
SMALL = ["--epochs", "1", "--n-train", "300", "--hidden", "16"]


def test_train_only_prints_the_models_table(tiny_mnist, tmp_path, capsys):
    assert main(["--models", str(tmp_path), "--data-dir", str(tiny_mnist), "--train-only",
                 "--no-progress", *SMALL]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].split()[:3] == ["model", "level", "epochs"]
    assert [line.split()[0] for line in lines[1:4]] == ["masking", "salt_and_pepper",
                                                        "gaussian"]
    assert "training (1/3: 1 epoch on 300 images)" in out.err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gaussian.npz", "masking.npz", "salt_and_pepper.npz", "samples.npz"]
    assert main(["--models", str(tmp_path), "--train-only", *SMALL]) == 0  # from the cache
    assert "cached model" in capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["--epochs", "0"], "epochs must be a positive int"),
    (["--n-train", "-5"], "n_train"),
    (["--port", "70000"], "--port"),
    (["--hidden", "0"], "hidden"),
])
def test_bad_arguments_exit_with_status_2(args, words, tmp_path, capsys):
    assert main(["--models", str(tmp_path), *args]) == 2
    assert words in capsys.readouterr().err


def test_serves_on_a_free_port_and_stops_on_sigterm(demo_models):
    folder = demo_models[2]  # the settings of the fixture's models: nothing to train
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.dae_demo", "--models",
                             str(folder), "--port", "0", "--epochs", "1", "--n-train", "400",
                             "--hidden", "32", "--quiet"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        url = None
        for line in proc.stdout:
            if line.startswith("Serving the demo on "):
                url = line.split()[4]
                break
        assert url and url.startswith("http://127.0.0.1:"), proc.stderr.read()
        with urllib.request.urlopen(url + "api/models", timeout=10) as r:
            assert [m["name"] for m in json.load(r)["models"]] == ["masking",
                                                                   "salt_and_pepper",
                                                                   "gaussian"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
