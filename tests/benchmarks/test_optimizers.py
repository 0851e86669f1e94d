"""The optimizer study end to end on a tiny dataset: outputs, determinism, resume, refusal,
and the process and Dask schedulers."""
import csv
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import optimizers as study
from benchmarks import results as R
from models import threads as blas
from symgraph import backends

NUMBERS = ("train_loss", "test_loss", "test_accuracy")


def _args(data, out, *extra):
    return ["--optimizers", "sgd,adam", "--seeds", "2", "--epochs", "1", "--n-train", "1000",
            "--n-test", "300", "--hidden", "32", "--data-dir", str(data), "--out", str(out),
            "--progress", "log", "--no-plots", *extra]


def _numbers(out):
    rows, bad = R.read_runs(Path(out) / "runs.csv")
    assert bad == 0
    return [(r["optimizer"], r["seed"], r["epoch"]) + tuple(r[k] for k in NUMBERS)
            for r in rows]


def test_outputs(tiny_mnist, tmp_path):
    out = tmp_path / "study"
    assert study.main(_args(tiny_mnist, out)) == 0
    with open(out / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["optimizer"], r["seed"], r["epoch"]) for r in rows] == \
        [("sgd", "0", "1"), ("sgd", "1", "1"), ("adam", "0", "1"), ("adam", "1", "1")]
    for r in rows:
        assert 0 <= float(r["test_accuracy"]) <= 1 and float(r["test_loss"]) > 0
        assert float(r["seconds"]) > 0
    with open(out / "summary.csv") as f:
        summary = list(csv.DictReader(f))
    assert [(s["optimizer"], s["epoch"], s["n"]) for s in summary] == \
        [("sgd", "1", "2"), ("adam", "1", "2")]
    mean = sum(float(r["test_accuracy"]) for r in rows[2:]) / 2
    assert float(summary[1]["test_accuracy_mean"]) == pytest.approx(mean, rel=1e-7)  # float32
    config = json.loads((out / "config.json").read_text())
    assert config["study"]["epochs"] == 1 and config["study"]["n_train"] == 1000
    assert config["arguments"]["optimizer_list"] == ["sgd", "adam"]
    assert {"numpy", "python", "cpu_count", "platform"} <= set(config["machine"])
    assert config["runs_computed"] == 4 and config["wall_seconds"] > 0
    # adam learns the tiny task within one epoch; the run is not a no-op
    assert float(summary[1]["test_accuracy_mean"]) > 0.5


def test_config_and_log_say_what_computed_and_how_efficiently(tiny_mnist, tmp_path, capsys):
    """The back end the runs used, its kernel cache, the BLAS route of the products, the
    GEMM-only rate measured at start-up, and per run and for the session the products' rate
    and its fraction of that rate, set-up excluded from the ETA; the peak memory of the runs'
    process."""
    from symgraph import backends
    from symgraph.ops.blas import gemm_path
    out = tmp_path / "study"
    assert study.main(_args(tiny_mnist, out)) == 0
    err = capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    compute = config["compute"]
    used = backends.resolve("auto")  # the suite's environment names NumPy
    assert compute["backend"] == used and compute["gemm_path"] == gemm_path("float32")
    assert (compute["kernel_cache"] is None) == (used == "numpy")
    rate = compute["gemm_rate"]
    assert rate["sizes"] == [784, 32, 10] and rate["batch"] == 100
    assert rate["flops_per_step"] == 100 * (4 * (784 * 32 + 32 * 10) + 2 * 32 * 10)
    session = config["sessions"][-1]
    runs = session["runs"]
    assert [(r["optimizer"], r["seed"]) for r in runs] == \
        [("sgd", 0), ("sgd", 1), ("adam", 0), ("adam", 1)]
    for r in runs:
        assert r["backend"] == used and r["gemm_path"] == compute["gemm_path"]
        assert r["flops"] == 1000 * rate["flops_per_step"] / 100  # 1000 images, one epoch
        assert r["gflops"] == pytest.approx(r["flops"] / r["train_cpu_seconds"] / 1e9)
        assert r["fraction_of_gemm"] == pytest.approx(r["gflops"] / rate["gflops"])
        assert 0 < r["setup_seconds"] < r["run_seconds"] and r["peak_rss_mb"] > 0
    eff = session["efficiency"]
    assert eff["flops"] == sum(r["flops"] for r in runs) and eff["backends"] == [used]
    assert eff["peak_rss_mb"] == max(r["peak_rss_mb"] for r in runs)
    assert f"back end: {used}" in err and "GEMM-only step" in err
    # the BLAS kernels, which decide the runs' last bits: recorded and named on that line
    assert config["machine"]["blas_kernels"] == blas.kernels()
    if importlib.util.find_spec("threadpoolctl") is not None:
        assert config["machine"]["blas_kernels"], "threadpoolctl lists NumPy's BLAS"
    assert config["machine"]["openblas_coretype"] == os.environ.get("OPENBLAS_CORETYPE")
    assert f" on {blas.describe_kernels()}; GEMM-only step" in err
    assert err.count("GFLOP/s (dense count) of CPU time = ") == 4 and "ETA" in err
    assert "of the GEMM-only rate" in err and "peak memory" in err


def test_a_run_leaves_no_garbage(tiny_mnist, monkeypatch):
    """A run's model, with the reference cycles of its graphs, is collected when it returns
    (a worker computes many runs: uncollected cycles grew its memory run after run)."""
    import gc
    import weakref
    from benchmarks import optimizer_run
    made = []
    build = optimizer_run.build_model

    def recording(spec):
        model = build(spec)
        made.append(weakref.ref(model.params[0]))
        return model
    monkeypatch.setattr(optimizer_run, "build_model", recording)
    spec = {"model": "mlp", "hidden": 8, "batch_size": 100, "dataset": "mnist", "epochs": 1,
            "n_train": 200, "n_test": 100, "dtype": "float32", "input_dropout": 0.1,
            "activation": "relu", "init": "glorot_uniform", "optimizer": "adam", "seed": 0,
            "data_dir": str(tiny_mnist), "hyper": {}}
    gc.disable()  # only the run's own collection may free the cycles
    try:
        result = optimizer_run.run_one(spec)
    finally:
        gc.enable()
    assert len(result["rows"]) == 1 and made and made[0]() is None


def test_plots_written(tiny_mnist, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "study"
    argv = [a for a in _args(tiny_mnist, out) if a != "--no-plots"]
    assert study.main(argv) == 0
    for name in ("accuracy.png", "accuracy_zoom.png", "loss.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the separate command re-plots a folder (here after removing the images)
    for name in ("accuracy.png", "loss.png"):
        (out / name).unlink()
    from benchmarks import plot
    assert plot.main([str(out)]) == 0
    assert (out / "accuracy.png").exists() and (out / "loss.png").exists()


def test_plot_without_matplotlib(tiny_mnist, tmp_path, monkeypatch, capsys):
    out = tmp_path / "study"
    assert study.main(_args(tiny_mnist, out)) == 0
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    from benchmarks import plot
    assert plot.make_plots(out) == []
    assert "matplotlib is not installed" in capsys.readouterr().err


def test_deterministic(tiny_mnist, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert study.main(_args(tiny_mnist, a)) == 0
    assert study.main(_args(tiny_mnist, b)) == 0
    assert _numbers(a) == _numbers(b)
    assert len({n[-1] for n in _numbers(a)}) > 1  # seeds/optimizers give different results


def test_resume_after_deleting_rows_equals_uninterrupted(tiny_mnist, tmp_path, capsys):
    full, part = tmp_path / "full", tmp_path / "part"
    argv = lambda out: _args(tiny_mnist, out, "--epochs", "2")  # noqa: E731
    assert study.main(argv(full)) == 0
    shutil.copytree(full, part)
    lines = (part / "runs.csv").read_text().splitlines(keepends=True)
    # drop all of (sgd, 1) and the second epoch of (adam, 0)
    kept = [ln for ln in lines if not ln.startswith(("sgd,1,", "adam,0,2,"))]
    assert len(kept) == len(lines) - 3
    (part / "runs.csv").write_text("".join(kept))
    capsys.readouterr()
    assert study.main(argv(part) + ["--resume"]) == 0
    err = capsys.readouterr().err
    assert "1 row(s) of incomplete runs" in err
    assert "2 run(s) computed, 4 in the study" in err
    assert _numbers(part) == _numbers(full)
    # nothing left to do: a rerun computes nothing and changes no number
    assert study.main(argv(part)) == 0
    assert "0 run(s) computed" in capsys.readouterr().err
    assert _numbers(part) == _numbers(full)


def test_partial_last_line_is_recomputed(tiny_mnist, tmp_path, capsys):
    full, part = tmp_path / "full", tmp_path / "part"
    assert study.main(_args(tiny_mnist, full)) == 0
    shutil.copytree(full, part)
    text = (part / "runs.csv").read_text()
    # as if a non-atomic writer died in the middle of the last row (adam, seed 1)
    (part / "runs.csv").write_text(text[:len(text) - 25])
    capsys.readouterr()
    assert study.main(_args(tiny_mnist, part)) == 0
    err = capsys.readouterr().err
    assert "ignoring 1 corrupt line(s)" in err and "1 run(s) computed" in err
    assert _numbers(part) == _numbers(full)


def test_config_mismatch_is_refused(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "study"
    assert study.main(_args(tiny_mnist, out)) == 0
    before = (out / "runs.csv").read_text()
    capsys.readouterr()
    assert study.main(_args(tiny_mnist, out, "--hidden", "16")) == 2
    err = capsys.readouterr().err
    assert "different study" in err and "hidden: folder has 32, this run has 16" in err
    assert (out / "runs.csv").read_text() == before
    # --overwrite starts afresh
    assert study.main(_args(tiny_mnist, out, "--hidden", "16", "--overwrite")) == 0
    assert json.loads((out / "config.json").read_text())["study"]["hidden"] == 16


def test_refusals(tiny_mnist, tmp_path, capsys):
    assert study.main(_args(tiny_mnist, tmp_path / "new", "--resume")) == 2
    assert "holds no study" in capsys.readouterr().err
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "runs.csv").write_text("optimizer,seed\n")
    assert study.main(_args(tiny_mnist, stray)) == 2
    assert "no config.json" in capsys.readouterr().err
    assert study.main(_args(tiny_mnist, tmp_path / "x", "--optimizers", "adam,lbfgs")) == 2
    assert "unknown ['lbfgs']" in capsys.readouterr().err


def _this_process_threads() -> str:
    """The BLAS thread count the serial scheduler runs with (the default's, or the
    environment's)."""
    return str(blas.choose(None).count)


def _close(a, b):
    """Equal up to float32 rounding (different BLAS thread counts sum in other orders)."""
    assert [n[:3] for n in a] == [n[:3] for n in b]
    for x, y in zip(a, b):
        assert x[3:] == pytest.approx(y[3:], rel=1e-5, abs=1e-6)


def test_processes_scheduler_gives_the_serial_numbers(tiny_mnist, tmp_path):
    serial, procs = tmp_path / "serial", tmp_path / "procs"
    assert study.main(_args(tiny_mnist, serial)) == 0
    # the same BLAS thread count as this process: bit-identical numbers
    assert study.main(_args(tiny_mnist, procs, "--jobs", "2", "--threads",
                            _this_process_threads())) == 0
    config = json.loads((procs / "config.json").read_text())
    assert config["arguments"]["scheduler"] == "processes"
    assert _numbers(procs) == _numbers(serial)
    # default: one BLAS thread per worker (or the environment's); recorded with its source
    default = tmp_path / "default"
    assert study.main(_args(tiny_mnist, default, "--jobs", "2")) == 0
    config = json.loads((default / "config.json").read_text())
    expected = blas.choose(None)
    assert config["blas_threads"] == {"count": expected.count, "source": expected.source}
    assert config["sessions"][0]["blas_applied"] == "worker environment"
    _close(_numbers(default), _numbers(serial))


@pytest.mark.skipif(not backends.numba_available(), reason="the [fast] extra is not installed")
def test_workers_link_loops_compiled_beforehand(tiny_mnist, tmp_path, monkeypatch, capsys):
    """With an empty kernel cache, the loops are compiled in a process of their own before
    the workers start: no worker loads numba, and the numbers are the serial run's."""
    monkeypatch.setenv("SYMGRAPH_BACKEND", "numba")  # the tests default to NumPy
    serial = tmp_path / "serial"
    assert study.main(_args(tiny_mnist, serial)) == 0
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # read by the workers
    procs = tmp_path / "procs"
    capsys.readouterr()
    assert study.main(_args(tiny_mnist, procs, "--jobs", "2", "--threads",
                            _this_process_threads())) == 0
    assert "into the kernel cache" in capsys.readouterr().err
    assert list((tmp_path / "cache").rglob("*")), "the warm-up wrote no kernel"
    runs = json.loads((procs / "config.json").read_text())["sessions"][0]["runs"]
    assert len(runs) == 4
    assert not any(r["numba_loaded"] for r in runs)
    assert _numbers(procs) == _numbers(serial)


def test_worker_blas_environment():
    from benchmarks import schedulers
    env = schedulers.blas_env(3)
    assert env["OPENBLAS_NUM_THREADS"] == "3" and env["OMP_NUM_THREADS"] == "3"
    got = list(schedulers.run_processes(_env_of_worker, [{"k": 0}], jobs=1, threads=3))
    assert got[0][1]["OPENBLAS_NUM_THREADS"] == "3"
    assert "OPENBLAS_NUM_THREADS" not in os.environ or \
        os.environ["OPENBLAS_NUM_THREADS"] != "3"


def _env_of_worker(spec):
    return {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}


def test_dask_local_cluster(tiny_mnist, tmp_path):
    pytest.importorskip("distributed")
    serial, dask_out = tmp_path / "serial", tmp_path / "dask"
    assert study.main(_args(tiny_mnist, serial)) == 0
    assert study.main(_args(tiny_mnist, dask_out, "--scheduler", "dask", "--jobs", "2",
                            "--threads", _this_process_threads())) == 0
    assert _numbers(dask_out) == _numbers(serial)


def test_sigkill_leaves_no_partial_row(tiny_mnist, tmp_path):
    """Kill the study at some moment; whatever was saved parses fully and resuming gives the
    uninterrupted numbers."""
    full, killed = tmp_path / "full", tmp_path / "killed"
    argv = _args(tiny_mnist, full, "--epochs", "2")
    assert study.main(argv) == 0
    cmd = [sys.executable, "-m", "benchmarks.optimizers"] + _args(tiny_mnist, killed,
                                                                  "--epochs", "2")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # kill once the first run has been saved (or the study ended, whichever comes first)
    for _ in range(600):
        if proc.poll() is not None:
            break
        if (killed / "runs.csv").exists() and \
                len((killed / "runs.csv").read_text().splitlines()) > 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    rows, bad = R.read_runs(killed / "runs.csv")
    assert bad == 0
    assert len(rows) % 2 == 0  # whole runs only (2 epochs each)
    assert study.main(_args(tiny_mnist, killed, "--epochs", "2")) == 0
    assert _numbers(killed) == _numbers(full)


def test_dask_existing_scheduler_address(tiny_mnist, tmp_path):
    """``--dask-address`` sends the runs to a scheduler started elsewhere (here a local one)."""
    distributed = pytest.importorskip("distributed")
    serial, remote = tmp_path / "serial", tmp_path / "remote"
    assert study.main(_args(tiny_mnist, serial)) == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        assert study.main(_args(tiny_mnist, remote, "--scheduler", "dask",
                                "--dask-address", cluster.scheduler_address)) == 0
        with distributed.Client(cluster) as client:
            # the runs left this process: the worker imported the study's run module
            loaded = client.run(lambda: "benchmarks.optimizer_run" in sys.modules)
            assert list(loaded.values()) == [True]
    _close(_numbers(remote), _numbers(serial))
