"""The command lines of benchmarks.* (and models.run's help): help texts, one-line errors that
write nothing into --out, Ctrl-C, resuming announced, data found or downloaded the same way,
and what config.json records."""
import functools
import gzip
import hashlib
import http.server
import importlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from benchmarks import autoencoders as ae_study
from benchmarks import optimizers as study
from benchmarks import results as R
from models import data as D
from models import threads

COMMANDS = ["benchmarks.optimizers", "benchmarks.autoencoders", "benchmarks.plot",
            "benchmarks.ae_plots", "benchmarks.speed", "benchmarks.compile_scaling",
            "benchmarks.update_bandwidth", "benchmarks.study_step", "benchmarks.conv_layers",
            "benchmarks.sparse_products",
            "models.run"]


def _help(module, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main(["--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def _option_blocks(text: str):
    """The help text of each option: the lines from '  --name' to the next option."""
    body = text.split("options:", 1)[1].split("\n\n", 1)[0]
    return re.split(r"\n(?=  -)", body.strip("\n"))


@pytest.mark.parametrize("module", COMMANDS)
def test_help_shows_each_default_once(module, capsys):
    text = _help(module, capsys)
    assert text.startswith(f"usage: python -m {module} ")
    assert "``" not in text and ":mod:" not in text  # no RST
    assert "(default: None)" not in text
    for block in _option_blocks(text):
        name = block.split()[0].rstrip(",")
        if name == "-h":
            continue
        words = " ".join(block.split()[1:])
        assert len(words) > 10, f"{module} {name} has no help"
        flag = not re.match(r"\s*--[\w-]+ [A-Z{]", block)  # takes no value
        assert block.count("default") == (0 if flag else 1), f"{module}: {block}"


@pytest.mark.parametrize("module", ["benchmarks.optimizers", "models.run"])
def test_help_names_both_datasets_and_the_learning_rates(module, capsys):
    import optimizers
    text = " ".join(_help(module, capsys).split())
    assert "MNIST or Fashion-MNIST" in text and "--lr" in text
    for name in optimizers.names():
        assert f"{name} {optimizers.get(name).lr:g}" in text


def _args(data, out, *extra):
    return ["--optimizers", "sgd,adam", "--seeds", "2", "--epochs", "1", "--n-train", "1000",
            "--n-test", "300", "--hidden", "32", "--data-dir", str(data), "--out", str(out),
            "--progress", "none", "--no-plots", *extra]


def _damaged_copy(src: Path, dest: Path, how: str) -> Path:
    shutil.copytree(src, dest)
    path = dest / "train-images-idx3-ubyte"
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[:len(raw) // 2])
    elif how == "corrupt":  # one pixel changed: the md5 must catch it
        data = bytearray(raw)
        data[5000] ^= 0xFF
        path.write_bytes(bytes(data))
    elif how == "gzip":  # a truncated gzip file in place of the raw one
        path.unlink()
        (dest / "MD5SUMS").unlink()
        (dest / (path.name + ".gz")).write_bytes(gzip.compress(raw)[:5000])
    return dest


def _offline(url, dest, timeout=30.0):
    raise OSError("network unreachable (test)")


# (arguments, fragment of the one-line error); {data}, {tmp}, {file} are filled in
BAD_STUDY = [
    (["--first-seed", "-1"], "argument --first-seed: expected an integer >= 0, got '-1'"),
    (["--seeds", "0"], "argument --seeds: expected an integer >= 1, got '0'"),
    (["--epochs", "x"], "argument --epochs: expected an integer >= 1, got 'x'"),
    (["--n-train", "999999"], "--n-train 999999: mnist in {data} has 1000 training images"),
    (["--n-test", "301"], "--n-test 301: mnist in {data} has 300 test images"),
    (["--input-dropout", "1"], "argument --input-dropout: expected a number >= 0 and <= 0.99"),
    (["--jobs", "0"], "argument --jobs: expected an integer >= 1"),
    (["--threads", "0"], "argument --threads: expected an integer >= 1"),
    (["--lr", "-0.1"], "--lr: '-0.1': a learning rate must be a finite number >= 0"),
    (["--lr", "sgd=fast"], "--lr: 'sgd=fast' is not a number or name=number"),
    (["--lr", "rmsprop=0.1"], "--lr: 'rmsprop' is not among the optimizers run (sgd, adam)"),
    (["--lr", "sgd=0.1,sgd=0.2"], "--lr: sets the rate of sgd twice"),
    (["--optimizers", "adam,lbfgs"], "--optimizers: unknown ['lbfgs']"),
    (["--optimizers", "adam,adam"], "--optimizers lists a name twice"),
    (["--model", "cnn"], "argument --model: invalid choice: 'cnn'"),
    (["--dask-address", "tcp://127.0.0.1:1"], "--dask-address needs --scheduler dask"),
    (["--scheduler", "serial", "--jobs", "2"], "--jobs 2 needs --scheduler processes or dask"),
    (["--resume"], "--resume: {tmp}/out holds no study (no config.json)"),
    (["--out", "{file}"], "--out {file}: exists and is not a folder"),
    (["--out", "{file}/sub"], "--out {file}/sub: cannot be created, {file} is a file"),
    (["--data-dir", "{file}"], "mnist: {file} is a file, not a folder"),
    (["--data-dir", "{tmp}/empty"], "not found in {tmp}/empty and not downloaded"),
    (["--data-dir", "{tmp}/truncated"],
     "{tmp}/truncated/train-images-idx3-ubyte: the md5 of its uncompressed data is"),
    (["--data-dir", "{tmp}/corrupt"],
     "{tmp}/corrupt/train-images-idx3-ubyte: the md5 of its uncompressed data is"),
    (["--data-dir", "{tmp}/gzip"], "train-images-idx3-ubyte.gz: corrupt or truncated gzip"),
]


@pytest.mark.parametrize("argv,fragment", BAD_STUDY,
                         ids=[" ".join(a) for a, _ in BAD_STUDY])
def test_study_refuses_bad_input_in_one_line_writing_nothing(tiny_mnist, tmp_path, capsys,
                                                             monkeypatch, argv, fragment):
    monkeypatch.setattr(D, "_fetch", _offline)
    (tmp_path / "file").write_text("not a folder\n")
    (tmp_path / "empty").mkdir()
    for how in ("truncated", "corrupt", "gzip"):
        if f"{{tmp}}/{how}" in argv:
            _damaged_copy(tiny_mnist, tmp_path / how, how)
    fill = {"{data}": str(tiny_mnist), "{tmp}": str(tmp_path), "{file}": str(tmp_path / "file")}
    for key, value in fill.items():
        argv = [a.replace(key, value) for a in argv]
        fragment = fragment.replace(key, value)
    out = tmp_path / "out"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    try:
        code = study.main(_args(tiny_mnist, out) + argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if not ln.startswith("mnist: downloading")]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]
    assert "Traceback" not in err
    assert not out.exists()  # nothing written into --out
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_unwritable_out_is_refused_before_anything_runs(tiny_mnist, tmp_path, capsys,
                                                        monkeypatch):
    """Whatever the permissions of the test's user (root writes everywhere), a folder the
    system reports as not writable is refused, naming --out."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked
                        else real(p, mode))
    assert study.main(_args(tiny_mnist, locked / "study")) == 2
    err = capsys.readouterr().err
    assert err == f"error: --out {locked / 'study'}: cannot be created, {locked} is not " \
                  f"writable\n"
    assert study.main(_args(tiny_mnist, locked)) == 2
    assert "the folder is not writable" in capsys.readouterr().err
    assert list(locked.iterdir()) == []


BAD_AE = [
    (["--n-train", "5000"], "--n-train 5000: mnist in {data} has 1000 training images"),
    (["--lr", "-1"], "argument --lr: expected a number >= 0, got '-1'"),
    (["--optimizer", "lbfgs"], "--optimizer: unknown 'lbfgs'"),
    (["--seed", "-2"], "argument --seed: expected an integer >= 0"),
    (["--cases", "3,11"], "--cases: unknown case id '11'"),
    (["--out", "{file}"], "--out {file}: exists and is not a folder"),
    (["--data-dir", "{tmp}/empty"], "not found in {tmp}/empty and not downloaded"),
]


@pytest.mark.parametrize("argv,fragment", BAD_AE, ids=[" ".join(a) for a, _ in BAD_AE])
def test_autoencoders_refuse_bad_input_in_one_line(tiny_mnist, tmp_path, capsys, monkeypatch,
                                                   argv, fragment):
    monkeypatch.setattr(D, "_fetch", _offline)
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    fill = {"{data}": str(tiny_mnist), "{tmp}": str(tmp_path), "{file}": str(tmp_path / "file")}
    for key, value in fill.items():
        argv = [a.replace(key, value) for a in argv]
        fragment = fragment.replace(key, value)
    out = tmp_path / "out"
    base = ["--cases", "3", "--epochs", "1", "--n-train", "300", "--n-test", "100",
            "--data-dir", str(tiny_mnist), "--out", str(out), "--no-plots"]
    try:
        code = ae_study.main(base + argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if not ln.startswith("mnist: downloading")]
    assert code == 2 and len(lines) == 1 and fragment in lines[0], err
    assert not out.exists()


def test_bad_blas_thread_variable_is_named(tiny_mnist, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "many")
    assert study.main(_args(tiny_mnist, tmp_path / "out")) == 2
    assert capsys.readouterr().err == ("error: OPENBLAS_NUM_THREADS='many' in the environment: "
                                       "expected a positive integer (or unset it for the "
                                       "default of 1)\n")
    assert not (tmp_path / "out").exists()


def _numbers(out):
    rows, bad = R.read_runs(Path(out) / "runs.csv", R.RUNS.for_dtype("float32"))
    assert bad == 0
    return [(r["optimizer"], r["seed"], r["epoch"], r["train_loss"], r["test_loss"],
             r["test_accuracy"]) for r in rows]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_one_line_130_then_resume_announced(tiny_mnist, tmp_path, jobs):
    """SIGINT once the first run is saved: one line, exit status 130, no traceback; the same
    command then says how many runs it found and completes the study (serially: with the
    numbers of an uninterrupted one)."""
    size = ["--seeds", "8", "--epochs", "3", "--hidden", "64"]  # 16 runs: time to interrupt
    argv = _args(tiny_mnist, tmp_path / "study", *size, "--jobs", jobs, "--progress", "log")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    cmd = [sys.executable, "-m", "benchmarks.optimizers"] + argv
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    while True:  # the log line of the first saved run
        line = proc.stderr.readline()
        assert line, "the study ended before printing progress"
        if line.startswith("[1/16]"):
            break
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "interrupted; rerun the same command to resume"
    rows, bad = R.read_runs(tmp_path / "study" / "runs.csv", R.RUNS.for_dtype("float32"))
    found = len(R.complete_runs(rows, 3))
    assert bad == 0 and 1 <= found < 16
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.splitlines()[0] == \
        f"resuming: {found} of 16 runs found in {tmp_path / 'study'}"
    config = json.loads((tmp_path / "study" / "config.json").read_text())
    sessions = config["sessions"]
    assert [s["interrupted"] for s in sessions] == [True, False]
    assert sum(s["runs_computed"] for s in sessions) == 16 == config["runs_computed"]
    if jobs == "1":  # (the process scheduler's numbers are compared in test_optimizers.py)
        assert study.main(_args(tiny_mnist, tmp_path / "full", *size)) == 0
        assert _numbers(tmp_path / "study") == _numbers(tmp_path / "full")


def _serve(folder: Path):
    """An HTTP server on localhost serving ``folder``; returns (server, base URL)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_study_downloads_missing_data_into_the_cache(tiny_mnist, tmp_path, monkeypatch, capsys):
    """No --data-dir, no SYMGRAPH_DATA, an empty cache: the files come from the mirrors
    (here a local HTTP server; the first mirror serves damaged files), are md5-checked and
    renamed into the cache, and config.json says where the data were found."""
    mirror, bad = tmp_path / "mirror", tmp_path / "bad"
    mirror.mkdir()
    bad.mkdir()
    md5 = {}
    for name in D._STD_FILES.values():
        raw = (tiny_mnist / name[:-3]).read_bytes()
        (mirror / name).write_bytes(gzip.compress(raw, mtime=0))
        (bad / name).write_bytes(gzip.compress(raw, mtime=0)[:-10])
        md5[name] = hashlib.md5((mirror / name).read_bytes()).hexdigest()
    server, url = _serve(tmp_path)
    try:
        spec = D.IdxDataset(name="mnist", files=dict(D._STD_FILES), md5=md5,
                            mirrors=(url + "bad/", url + "mirror/"))
        monkeypatch.setitem(D.DATASETS, "mnist", spec)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        monkeypatch.delenv("SYMGRAPH_DATA", raising=False)
        out = tmp_path / "study"
        argv = [a for a in _args(tiny_mnist, out) if a not in ("--data-dir", str(tiny_mnist))]
        assert study.main(argv) == 0
    finally:
        server.shutdown()
    cache = tmp_path / "home" / ".cache" / "symgraph" / "mnist"
    err = capsys.readouterr().err
    assert f"mnist: downloading {', '.join(D._STD_FILES.values())} into {cache}" in err
    assert re.search(r"train-images-idx3-ubyte.gz: [\d.]+ MB in [\d.]+ s", err)
    assert sorted(p.name for p in cache.iterdir()) == sorted(D._STD_FILES.values())
    for name in D._STD_FILES.values():
        assert (cache / name).read_bytes() == (mirror / name).read_bytes()
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["dir"] == str(cache) and config["data"]["found_via"] == "downloaded"
    # the next run finds them in the cache, downloads nothing and computes the same numbers
    again = tmp_path / "again"
    assert study.main([a.replace(str(out), str(again)) for a in argv]) == 0
    assert "downloading" not in capsys.readouterr().err
    assert json.loads((again / "config.json").read_text())["data"]["found_via"] == "cache"
    assert _numbers(again) == _numbers(out)


def test_config_records_the_data_folder_found_through_symgraph_data(tiny_mnist, tmp_path,
                                                                     monkeypatch):
    shutil.copytree(tiny_mnist, tmp_path / "data" / "mnist")
    monkeypatch.setenv("SYMGRAPH_DATA", str(tmp_path / "data"))
    out = tmp_path / "study"
    argv = [a for a in _args(tiny_mnist, out) if a not in ("--data-dir", str(tiny_mnist))]
    assert study.main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data"] == {"dataset": "mnist", "dir": str(tmp_path / "data" / "mnist"),
                              "found_via": "SYMGRAPH_DATA", "train_images": 1000,
                              "test_images": 300}
    assert config["arguments"]["data_dir"] is None


def test_config_records_hyper_parameters_and_keeps_wall_time(tiny_mnist, tmp_path, capsys):
    import optimizers
    out = tmp_path / "study"
    assert study.main(_args(tiny_mnist, out, "--lr", "sgd=0.05")) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["optimizers"] == {
        "sgd": dict(optimizers.SGD(lr=0.05).hyperparameters()),
        "adam": dict(optimizers.Adam().hyperparameters())}
    assert "crc" in config["columns"]["runs.csv"] and "CRC-32" in \
        config["columns"]["runs.csv"]["crc"]
    assert config["blas_threads"]["count"] >= 1 and config["blas_threads"]["source"]
    import importlib.util
    expected = (("threadpoolctl",) if importlib.util.find_spec("threadpoolctl")
                else ("environment", None))
    assert config["sessions"][0]["blas_applied"] in expected
    text = (out / "config.json").read_text()
    capsys.readouterr()
    # a rerun with nothing to compute leaves config.json (and the original wall time) as it is
    assert study.main(_args(tiny_mnist, out, "--lr", "sgd=0.05")) == 0
    assert "resuming: 4 of 4 runs found" in capsys.readouterr().err
    assert (out / "config.json").read_text() == text
    # other hyper-parameters for an optimizer the folder holds: refused, naming them
    before = (out / "runs.csv").read_text()
    assert study.main(_args(tiny_mnist, out)) == 2
    err = capsys.readouterr().err
    assert "holds sgd runs with other hyper-parameters (lr: folder has 0.05, this run has " \
           "0.01)" in err
    assert (out / "runs.csv").read_text() == before
    # a new optimizer may join, with its own rate; the learning rate changes the numbers
    assert study.main(_args(tiny_mnist, out, "--optimizers", "sgd,adam,momentum", "--lr",
                            "sgd=0.05,momentum=0.02")) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["optimizers"]["momentum"]["lr"] == 0.02 and len(config["sessions"]) == 2
    assert config["runs_computed"] == 6
    assert config["wall_seconds"] == pytest.approx(sum(s["wall_seconds"]
                                                       for s in config["sessions"]))
    default = tmp_path / "default"
    assert study.main(_args(tiny_mnist, default)) == 0
    assert [n for n in _numbers(default) if n[0] == "sgd"] != \
        [n for n in _numbers(out) if n[0] == "sgd"]


def test_earlier_folder_without_hyper_parameters_resumes_as_defaults(tiny_mnist, tmp_path):
    """A folder written before config.json recorded hyper-parameters (and float32 values as
    float64 text) is completed, not refused; its numbers read back unchanged."""
    out = tmp_path / "study"
    assert study.main(_args(tiny_mnist, out, "--optimizers", "sgd")) == 0
    config = json.loads((out / "config.json").read_text())
    for key in ("optimizers", "sessions", "data", "columns"):
        config.pop(key)
    (out / "config.json").write_text(json.dumps(config))
    rows, _ = R.read_runs(out / "runs.csv", R.RUNS.for_dtype("float32"))
    R.write_runs(out / "runs.csv", rows, R.RUNS)  # the old float64 text
    assert study.main(_args(tiny_mnist, out)) == 0
    config = json.loads((out / "config.json").read_text())
    assert [s["runs_computed"] for s in config["sessions"]] == [2, 2]
    assert [n for n in _numbers(out) if n[0] == "sgd"] == \
        [(r["optimizer"], r["seed"], r["epoch"], r["train_loss"], r["test_loss"],
          r["test_accuracy"]) for r in rows]


def test_runs_csv_holds_float32_text(tiny_mnist, tmp_path):
    out = tmp_path / "study"
    assert study.main(_args(tiny_mnist, out)) == 0
    lines = (out / "runs.csv").read_text().splitlines()
    for line in lines[1:]:
        fields = line.split(",")
        for text in fields[3:6]:
            assert str(np.float32(text)) == text  # the shortest text of a float32
        assert re.fullmatch(r"\d+\.\d{6}", fields[6])  # seconds, to the microsecond
    summary = (out / "summary.csv").read_text().splitlines()[1].split(",")
    for text in summary[3:]:
        assert str(np.float32(text)) == text


def test_speed_refuses_bad_arguments(capsys, tmp_path):
    from benchmarks import speed
    assert speed.main(["--peers", "torch,caffe"]) == 2
    assert capsys.readouterr().err == ("error: --peers: unknown caffe; expected some of "
                                       "torch, jax, pytensor\n")
    (tmp_path / "f").write_text("x")
    assert speed.main(["--out", str(tmp_path / "f")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert speed.main(["--peer-python", str(tmp_path / "nope")]) == 2
    assert "not an executable file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        speed.main(["--repeat", "0"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("error: argument --repeat: expected an integer")


@pytest.mark.parametrize("data", ["mnist", "random"])
def test_study_step_refuses_bad_arguments_and_reports_its_table(capsys, tmp_path, tiny_mnist,
                                                                data):
    from benchmarks import study_step
    assert study_step.main(["--optimizers", "sgd,lbfgs"]) == 2
    assert "--optimizers: unknown ['lbfgs']" in capsys.readouterr().err
    assert study_step.main(["--backends", "numpy,cuda"]) == 2
    assert "--backends: unknown ['cuda']" in capsys.readouterr().err
    assert study_step.main(["--backends", "numpy", "--data-dir", str(tmp_path)]) == 2
    assert "not found in" in capsys.readouterr().err  # no MNIST there: said, never fetched
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        study_step.main(["--burst", "0"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("error: argument --burst: expected an integer")
    assert study_step.main(["--backends", "numpy", "--optimizers", "sgd", "--rounds", "2",
                            "--burst", "3", "--repeat", "1", "--out", str(out), "--data",
                            data, "--data-dir", str(tiny_mnist)]) == 0
    captured = capsys.readouterr()
    text = captured.out
    res = json.loads((out / "study_step.json").read_text())
    rep = res["repetitions"][0]
    assert set(rep) == {"gemm_only", "numpy/sgd", "numpy/sgd/no-dropout", "numpy/dropout"}
    ratio = rep["numpy/sgd"]["cpu"] / rep["gemm_only"]["cpu"]
    assert f"({ratio:.2f}x)" in text
    drop = rep["numpy/sgd"]["cpu"] - rep["numpy/sgd/no-dropout"]["cpu"]
    assert f"numpy dropout draw + mask in the step: {drop * 1e3:.3f} ms" in text
    assert res["config"]["data"] == data
    assert res["config"]["burst"] == 3 and "3 calls in a row per turn" in text
    # the kernels the ratios depend on: on the header line and in the record
    assert res["config"]["blas_kernels"] == threads.kernels()
    assert f"; {threads.describe_kernels()}; CPUs " in captured.err
    if importlib.util.find_spec("threadpoolctl") is not None:
        assert res["config"]["blas_kernels"] and "BLAS kernels unknown" not in captured.err


def test_sparse_products_reports_the_study_products_and_the_grid(capsys, tiny_mnist):
    pytest.importorskip("numba")
    from benchmarks import sparse_products
    assert sparse_products.main(["--rounds", "1", "--data-dir", str(tiny_mnist)]) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert threads.describe_kernels() in captured.err
    assert "| x @ W (forward): (100, 784) @ (784, 500) |" in text
    assert "| x.T @ g (weight gradient): (784, 100) @ (100, 500) |" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and " x 784 @ 784 x " in ln
            and "columns" not in ln]
    assert len(rows) == len(sparse_products.GRID)
    assert all(ln.count("x) |") == len(sparse_products.DENSITIES) for ln in rows)


def test_plot_commands_refuse_a_folder_without_a_study(tmp_path, capsys):
    from benchmarks import ae_plots, plot
    assert plot.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'runs.csv'} does not exist: not an "
                                       f"optimizer study folder\n")
    assert ae_plots.main([str(tmp_path)]) == 2
    assert "holds no autoencoder study" in capsys.readouterr().err


def test_blas_thread_choice_and_limit(monkeypatch):
    from models import threads as blas
    for var in blas.OVERRIDE_VARS:
        monkeypatch.delenv(var, raising=False)
    assert blas.choose(None) == blas.BlasThreads(1, "default")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert blas.choose(None) == blas.BlasThreads(3, "OMP_NUM_THREADS")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert blas.choose(None) == blas.BlasThreads(2, "OPENBLAS_NUM_THREADS")
    assert blas.choose(4) == blas.BlasThreads(4, "--threads")
    assert blas.BlasThreads(2, "x").env()["OPENBLAS_NUM_THREADS"] == "2"
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with blas.limited(1) as how:
        assert how == "threadpoolctl"
        infos = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        assert infos and all(i["num_threads"] == 1 for i in infos)


def test_blas_kernels_named_once_per_library(monkeypatch):
    """The kernels of the loaded BLAS libraries, each library once, and how the log names
    them, with ``OPENBLAS_CORETYPE`` when set and a plain word when they cannot be read."""
    libs = [{"internal_api": "openblas", "version": "0.3.31", "architecture": "SkylakeX"},
            {"internal_api": "openblas", "version": "0.3.30", "architecture": None}]
    monkeypatch.delenv(threads.CORETYPE_VAR, raising=False)
    assert threads.describe_kernels(libs) == \
        "openblas 0.3.31 SkylakeX kernels, openblas 0.3.30 unnamed kernels"
    monkeypatch.setenv(threads.CORETYPE_VAR, "Haswell")
    assert threads.describe_kernels(libs[:1]) == \
        "openblas 0.3.31 SkylakeX kernels (OPENBLAS_CORETYPE=Haswell)"
    assert threads.describe_kernels([]) == \
        "BLAS kernels unknown (no threadpoolctl) (OPENBLAS_CORETYPE=Haswell)"
    threadpoolctl = pytest.importorskip("threadpoolctl")
    got = [tuple(k.values()) for k in threads.kernels()]
    want = {(i["internal_api"], i["version"], i["architecture"])
            for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}
    assert set(got) == want and len(got) == len(want)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "threadpoolctl" else
                        real_find_spec(name, *a))
    assert threads.kernels() == []


@pytest.mark.parametrize("coretype", ["Nehalem", "Haswell"])
def test_openblas_coretype_names_the_kernels_recorded(coretype):
    """A process started with ``OPENBLAS_CORETYPE`` runs (and records) the kernels it names,
    whatever the processor would pick (the machine's environment may set it; the GEMM rate,
    and so every ratio to it, depends on it)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not any(i.get("internal_api") == "openblas" for i in threadpoolctl.threadpool_info()):
        pytest.skip("NumPy is not linked to OpenBLAS here")
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    if coretype == "Haswell" and " avx2" not in flags:
        pytest.skip("the processor cannot run OpenBLAS's Haswell (AVX2) kernels")
    code = "import json; from models import threads; print(json.dumps(threads.kernels()))"
    env = dict(os.environ, OPENBLAS_CORETYPE=coretype)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=str(Path(__file__).resolve().parents[2])).stdout
    libs = [k for k in json.loads(out) if k["internal_api"] == "openblas"]
    assert libs and all(k["architecture"] == coretype for k in libs)


@pytest.mark.parametrize("burst", [1, 2, 3])
def test_study_step_times_all_calls_of_a_burst_but_the_first(burst, monkeypatch):
    """A turn calls each function ``burst`` times in a row and times all but the first: the
    first call of a burst (here the slow one) weighs in only when bursts are single calls."""
    from benchmarks import study_step
    clock = [0.0]
    calls = {"a": 0, "b": 0}
    order = []

    def fn(key):
        def call():
            calls[key] += 1
            order.append(key)
            # the first call of each burst costs 1 s, the others 1 ms
            first = len(order) < 2 or order[-2] != key
            clock[0] += 1.0 if first else 1e-3
        return call
    monkeypatch.setattr(study_step.time, "thread_time", lambda: clock[0])
    monkeypatch.setattr(study_step.time, "perf_counter", lambda: clock[0])
    res = study_step.timed_turns({"a": fn("a"), "b": fn("b")}, rounds=3, burst=burst)
    assert calls == {"a": 2 + 3 * burst, "b": 2 + 3 * burst}
    want = 1.0 if burst == 1 else 1e-3
    assert res["a"]["cpu"] == pytest.approx(want) and res["b"]["wall"] == pytest.approx(want)
    assert order[4:4 + burst] == ["a"] * burst  # the burst runs in a row, then b's
