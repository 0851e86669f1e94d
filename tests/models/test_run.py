"""Tests of the command line ``python -m models.run`` on a small synthetic dataset."""
import json

import numpy as np
import pytest

from models import run


@pytest.fixture
def tiny_mnist(rng, monkeypatch):
    """Replace the MNIST loader by 200 + 100 synthetic 784-pixel images of 10 classes."""
    centers = rng.uniform(0, 1, (10, 784))

    def draw(n, dtype):
        y = rng.integers(0, 10, n).astype("int32")
        x = np.clip(centers[y] + rng.normal(0, 0.1, (n, 784)), 0, 1).astype(dtype)
        return x, y

    def load(data_dir=None, flatten=True, dtype="float32", **kw):
        tr, te = draw(200, dtype), draw(100, dtype)
        if not flatten:
            tr, te = (tr[0].reshape(-1, 1, 28, 28), tr[1]), (te[0].reshape(-1, 1, 28, 28), te[1])
        return tr, te
    monkeypatch.setattr(run, "load_mnist", load)


@pytest.mark.parametrize("argv", [
    ["logreg", "--optimizer", "sgd", "--lr", "0.5"],
    ["mlp", "--sizes", "32", "--dropout", "0.1", "--batchnorm"],
    ["ae", "--hidden", "16", "--noise", "masking:0.2", "--tied", "--loss", "xent"],
])
def test_run_writes_history_and_params(tiny_mnist, tmp_path, capsys, argv):
    out, params = tmp_path / "h.json", tmp_path / "p.npz"
    assert run.main(argv + ["--epochs", "2", "--batch-size", "20", "--json", str(out),
                            "--save", str(params)]) == 0
    record = json.loads(out.read_text())
    hist = record["history"]
    assert [h["epoch"] for h in hist] == [1, 2]
    assert hist[1]["train_loss"] < hist[0]["train_loss"]
    assert record["args"]["model"] == argv[0]
    with np.load(params, allow_pickle=False) as f:
        assert len(f.files) >= 2
    assert len(capsys.readouterr().out.strip().splitlines()) == 2  # one JSON line per epoch


def test_convnet_run_prints_epoch_time(tiny_mnist, capsys):
    """The convnet commands report each epoch's training and evaluation time on stderr."""
    assert run.main(["simple_conv", "--epochs", "1", "--batch-size", "50",
                     "--max-batches", "2", "--backend", "numpy"]) == 0
    err = capsys.readouterr().err
    line = [ln for ln in err.splitlines() if ln.startswith("# epoch 1:")]
    assert line and "s training" in line[0] and "ms per step of 50" in line[0]
    assert "CPU" in line[0]
    assert "s evaluation" in line[0]
