"""The command line ``python -m models.run`` on the tiny MNIST of tests/conftest.py: outputs,
options refused where they do not apply, one-line errors that write nothing, Ctrl-C."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from models import MLP, run


def _argv(data, *extra):
    return [*extra, "--epochs", "2", "--batch-size", "20", "--data-dir", str(data)]


@pytest.mark.parametrize("argv", [
    ["logreg", "--optimizer", "sgd", "--lr", "0.5"],
    ["mlp", "--sizes", "32", "--dropout", "0.1", "--batchnorm"],
    ["ae", "--hidden", "16", "--noise", "masking:0.2", "--tied", "--loss", "xent"],
])
def test_run_writes_history_and_params(tiny_mnist, tmp_path, capsys, argv):
    out, params = tmp_path / "h.json", tmp_path / "p.npz"
    assert run.main(_argv(tiny_mnist, *argv, "--json", str(out), "--save", str(params))) == 0
    record = json.loads(out.read_text())
    hist = record["history"]
    assert [h["epoch"] for h in hist] == [1, 2]
    assert hist[1]["train_loss"] < hist[0]["train_loss"]
    assert record["args"]["model"] == argv[0]
    assert record["data"] == {"dataset": "mnist", "dir": str(tiny_mnist),
                              "found_via": "data_dir"}
    assert record["blas_threads"]["count"] >= 1
    assert record["optimizer"]["lr"] == (0.5 if "--lr" in argv else 0.001)
    with np.load(params, allow_pickle=False) as f:
        assert len(f.files) >= 2
    printed = capsys.readouterr()
    assert len(printed.out.strip().splitlines()) == 2  # one JSON line per epoch
    assert f"data: mnist in {tiny_mnist} (from data_dir)" in printed.err
    assert "BLAS: " in printed.err


def test_saved_parameters_load_into_the_same_model(tiny_mnist, tmp_path):
    params = tmp_path / "p.npz"
    assert run.main(_argv(tiny_mnist, "mlp", "--sizes", "8", "--save", str(params))) == 0
    model = MLP([784, 8, 10], dtype="float32")
    model.load(params)
    assert not np.array_equal(model.get_values()["dense0.W"],
                              MLP([784, 8, 10], dtype="float32").get_values()["dense0.W"])


# bad command lines: (arguments, fragment of the one-line error)
BAD = [
    (["mlp", "--lr", "-0.1"], "argument --lr: expected a number >= 0, got '-0.1'"),
    (["mlp", "--epochs", "0"], "argument --epochs: expected an integer >= 1, got '0'"),
    (["mlp", "--seed", "-1"], "argument --seed: expected an integer >= 0"),
    (["mlp", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
    (["mlp", "--dropout", "1.5"], "argument --dropout: expected a number >= 0 and <= 0.99"),
    (["mlp", "--sizes", "100,x"], "--sizes '100,x': expected positive integers"),
    (["mlp", "--noise", "masking:0.2"], "--noise applies to ae, not to mlp"),
    (["logreg", "--sizes", "10"], "--sizes applies to mlp, not to logreg"),
    (["ae", "--batchnorm"], "--batchnorm applies to mlp, not to ae"),
    (["ae", "--noise", "blur:0.2"], "--noise 'blur:0.2': expected masking:P"),
    (["ae", "--noise", "masking:2"], "--noise 'masking:2'"),
    (["mlp", "--threads", "0"], "argument --threads: expected an integer >= 1"),
    (["mlp", "--save", "{tmp}"], "--save {tmp}: is a folder, expected a file name"),
    (["mlp", "--json", "{tmp}/no/such/h.json"], "--json {tmp}/no/such/h.json: the folder"),
]


@pytest.mark.parametrize("argv,fragment", BAD)
def test_bad_arguments_one_line_error_nothing_written(tiny_mnist, tmp_path, capsys, argv,
                                                      fragment):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    fragment = fragment.replace("{tmp}", str(tmp_path))
    if "--data-dir" not in argv:
        argv += ["--data-dir", str(tiny_mnist)]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    try:
        code = run.main(argv + ["--epochs", "1"])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert fragment in err, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def _offline(url, dest, timeout=30.0):
    raise OSError("network unreachable (test)")


def test_missing_data_error_names_flag_and_variable(tmp_path, monkeypatch, capsys):
    """No data anywhere and no network: one line naming --data-dir and SYMGRAPH_DATA."""
    from models import data as D
    monkeypatch.setattr(D, "_fetch", _offline)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SYMGRAPH_DATA", raising=False)
    assert run.main(["mlp", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith("mnist: downloading")
    assert err[1].startswith("error: mnist: ") and "--data-dir" in err[1] \
        and "SYMGRAPH_DATA" in err[1] and "unreachable" in err[1]
    # nothing left behind in the download folder
    assert not list((tmp_path / "home" / ".cache" / "symgraph" / "mnist").iterdir())


def test_help_names_the_module_and_the_rates(capsys):
    with pytest.raises(SystemExit):
        run.main(["--help"])
    text = capsys.readouterr().out
    assert text.startswith("usage: python -m models.run")
    assert "MNIST or Fashion-MNIST" in text and "sgd 0.01" in text and "adam 0.001" in text


def test_ctrl_c_one_line_exit_130(tiny_mnist, tmp_path):
    """SIGINT during training: one line, no traceback, exit status 130, nothing saved."""
    params = tmp_path / "p.npz"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "models.run", "mlp", "--epochs", "1000",
                             "--data-dir", str(tiny_mnist), "--save", str(params)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # the first epoch's JSON line: training is under way
    assert json.loads(first)["epoch"] == 1
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted after ") and "of 1000 epochs" in last
    assert str(params) in last and not params.exists()


def test_convnet_run_prints_epoch_time(tiny_mnist, capsys):
    """The convnet commands report each epoch's training and evaluation time on stderr."""
    assert run.main(["simple_conv", "--epochs", "1", "--batch-size", "50",
                     "--max-batches", "2", "--backend", "numpy",
                     "--data-dir", str(tiny_mnist)]) == 0
    err = capsys.readouterr().err
    line = [ln for ln in err.splitlines() if ln.startswith("# epoch 1:")]
    assert line and "s training" in line[0] and "ms per step of 50" in line[0]
    assert "CPU" in line[0]
    assert "s evaluation" in line[0]
