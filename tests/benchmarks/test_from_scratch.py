"""The from-scratch studies end to end on the tiny MNIST of conftest.py: every experiment with
--quick (its files, their columns and the ranges of their numbers, summary.json, the figures),
numbers against independent NumPy references, resuming (nothing redone, a damaged or foreign
task file redone, growing seeds), refusal of another study's folder, bad arguments, and the
process and Dask schedulers."""
import csv
import json
import shutil
import sys

import numpy as np
import pytest

from benchmarks.from_scratch import cli, common, registry, study

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

#: per experiment: CSV file -> the columns it must have; the figures it must draw
FILES = {
    "activations": ({"histograms.csv": ("activation", "init", "layer", "bin_left", "bin_right",
                                        "count_mean", "count_std"),
                     "layer_stats.csv": ("activation", "init", "layer", "mean", "std",
                                         "outside", "zero")},
                    ("sigmoid.png", "tanh.png", "relu.png")),
    "init": ({"loss.csv": ("init", "iteration", "loss_mean", "loss_std", "smoothed_mean",
                           "smoothed_std"),
              "final.csv": ("init", "seed", "final_loss", "test_accuracy")}, ("loss.png",)),
    "optimizer_paths": ({"paths.csv": ("optimizer", "step", "x", "y", "f")}, ("paths.png",)),
    "optimizers_mnist": ({"loss.csv": ("optimizer", "iteration", "loss_mean", "loss_std",
                                       "smoothed_mean", "smoothed_std"),
                          "final.csv": ("optimizer", "seed", "final_loss", "test_accuracy")},
                         ("loss.png",)),
    "batchnorm": ({"accuracy.csv": ("weight_std", "mode", "epoch", "train_accuracy_mean",
                                    "train_accuracy_std", "test_accuracy_mean",
                                    "test_accuracy_std")}, ("accuracy.png",)),
    "overfit": ({"accuracy.csv": ("case", "epoch", "train_accuracy_mean", "train_accuracy_std",
                                  "test_accuracy_mean", "test_accuracy_std")},
                ("accuracy.png",)),
    "hyperparams": ({"trials.csv": ("trial", "rank", "lr", "weight_decay", "val_accuracy_mean",
                                    "val_accuracy_std", "train_accuracy_mean"),
                     "curves.csv": ("trial", "epoch", "val_accuracy_mean", "val_accuracy_std",
                                    "train_accuracy_mean", "train_accuracy_std")},
                    ("best_trials.png", "search.png")),
    "convnet": ({"accuracy.csv": ("seed", "epoch", "epoch_cost", "train_loss", "train_accuracy",
                                  "test_loss", "test_accuracy", "seconds"),
                 "filters.csv": ("seed", "when", "filter", "row", "column", "weight")},
                ("accuracy.png", "filters.png")),
    "deep_convnet": ({"accuracy.csv": ("seed", "epoch", "epoch_cost", "train_loss",
                                       "train_accuracy", "test_loss", "test_accuracy",
                                       "seconds"),
                      "misclassified.csv": ("seed", "test_index", "true", "predicted"),
                      "precision.csv": ("seed", "float32_accuracy", "float16_accuracy",
                                        "float16_prediction_changes", "float16_eval_seconds")},
                     ("accuracy.png", "misclassified.png", "float16.png")),
    "gradcheck": ({"gradcheck.csv": ("parameter", "seed", "mean_abs_diff", "max_abs_diff",
                                     "mean_abs_grad")}, ("gradcheck.png",)),
    "graphs": ({"graphs.csv": ("graph", "ops", "nodes", "edges"),
                "shopping.csv": ("variable", "value", "gradient_of_price")},
               tuple(f"{g}.{ext}" for g in ("shopping", "forward_before", "forward_after",
                                            "gradient_before", "gradient_after")
                     for ext in ("png", "svg"))),
}


def _args(data, out, *extra):
    return [*extra, "--quick", "--out", str(out), "--data-dir", str(data), "--progress", "none"]


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def _floats(rows, key):
    return np.array([float(r[key]) for r in rows])


def _tables(folder):
    """Every CSV of a study folder, as text (the numbers a rerun must reproduce)."""
    return {p.name: p.read_text() for p in sorted(folder.glob("*.csv"))}


@pytest.fixture(scope="module")
def quick_all(tiny_mnist, tmp_path_factory):
    """Every experiment run once with --quick; the folder holding one subfolder each."""
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("from_scratch")
    assert cli.main(_args(tiny_mnist, out, "all")) == 0
    return out


@pytest.fixture
def tasks_run(monkeypatch):
    """The task ids computed (in order) while the test runs."""
    calls = []
    real = study.run_task

    def counting(spec):
        calls.append(spec["task"])
        return real(spec)
    monkeypatch.setattr(study, "run_task", counting)
    return calls


def test_registry_matches_the_issue():
    assert registry.names() == ["activations", "init", "optimizer_paths", "optimizers_mnist",
                                "batchnorm", "overfit", "hyperparams", "convnet",
                                "deep_convnet", "gradcheck", "graphs"]
    assert sorted(FILES) == sorted(registry.names())


def test_list_names_every_experiment(capsys):
    assert cli.main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == registry.names()


@pytest.mark.parametrize("name", sorted(FILES))
def test_quick_outputs(quick_all, name):
    folder = quick_all / name
    tables, pictures = FILES[name]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["experiment"] == name and summary["status"] == "complete"
    assert summary["quick"] is True and summary["tasks_computed"] == summary["tasks_total"] > 0
    assert summary["wall_seconds"] > 0 and summary["key_figures"]
    assert summary["versions"]["numpy"] == np.__version__ and "symgraph" in summary["versions"]
    assert summary["settings"] == study.normalise(registry.get(name).settings(True))
    assert sorted(summary["files"]) == sorted(list(tables) + list(pictures))
    assert summary["task_ids"] == [t["task"] for t in registry.get(name).tasks(
        summary["settings"], summary["seeds"] or [0])]
    for table, columns in tables.items():
        rows = _rows(folder / table)
        assert rows, table
        assert tuple(rows[0]) == columns, table
    for picture in pictures:
        _check_picture(folder / picture)


def _check_picture(path):
    data = path.read_bytes()
    if path.suffix == ".svg":
        assert b"<svg" in data[:2000] and len(data) > 2000, path.name
        return
    Image = pytest.importorskip("PIL.Image")
    with Image.open(path) as image:
        assert image.format == "PNG", path.name
        width, height = image.size
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert 250 <= width <= 4000 and 150 <= height <= 4000, (path.name, image.size)
    assert pixels.std() > 5, f"{path.name} is blank"


def test_quick_numbers_are_sane(quick_all):
    accuracy_columns = {
        "init/final.csv": ["test_accuracy"], "optimizers_mnist/final.csv": ["test_accuracy"],
        "batchnorm/accuracy.csv": ["train_accuracy_mean", "test_accuracy_mean"],
        "overfit/accuracy.csv": ["train_accuracy_mean", "test_accuracy_mean"],
        "hyperparams/trials.csv": ["val_accuracy_mean", "train_accuracy_mean"],
        "convnet/accuracy.csv": ["train_accuracy", "test_accuracy"],
        "deep_convnet/accuracy.csv": ["train_accuracy", "test_accuracy"]}
    for table, columns in accuracy_columns.items():
        rows = _rows(quick_all / table)
        for column in columns:
            values = _floats(rows, column)
            assert np.all((values >= 0) & (values <= 1)), (table, column)
    for name in ("init", "optimizers_mnist"):
        rows = _rows(quick_all / name / "loss.csv")
        loss = _floats(rows, "loss_mean")
        assert np.all(np.isfinite(loss) & (loss > 0) & (loss < 20)), name
        case = list(rows[0])[0]  # init or optimizer
        cases = registry.get(name).cases(registry.get(name).settings(True))
        assert len(rows) == registry.get(name).settings(True)["iterations"] * len(cases)
        assert [c["case"] for c in cases] == list(dict.fromkeys(r[case] for r in rows))
    # the trained conv net beats chance on the tiny data (class templates plus noise)
    assert _floats(_rows(quick_all / "convnet/accuracy.csv"), "test_accuracy")[-1] > 0.3
    trials = _rows(quick_all / "hyperparams/trials.csv")
    assert sorted(int(r["rank"]) for r in trials) == list(range(1, len(trials) + 1))
    assert np.all((_floats(trials, "lr") >= 1e-6) & (_floats(trials, "lr") <= 1e-2))
    wd = _floats(trials, "weight_decay")
    assert np.all((wd >= 1e-8) & (wd <= 1e-4))
    grad = _rows(quick_all / "gradcheck/gradcheck.csv")
    assert np.all(_floats(grad, "mean_abs_diff") < 1e-7)
    assert np.all(_floats(grad, "mean_abs_grad") > 1e-6)


def test_deep_convnet_quick_precision(quick_all):
    folder = quick_all / "deep_convnet"
    settings = registry.get("deep_convnet").settings(True)
    (p,) = _rows(folder / "precision.csv")
    a32, a16 = float(p["float32_accuracy"]), float(p["float16_accuracy"])
    n = settings["n_test"]
    # float16 rounding may move a borderline prediction, not the accuracy by much
    assert abs(a32 - a16) <= int(p["float16_prediction_changes"]) / n <= 0.1
    wrong = _rows(folder / "misclassified.csv")
    assert len(wrong) == round((1 - a32) * n)
    assert all(r["true"] != r["predicted"] for r in wrong)
    last = _rows(folder / "accuracy.csv")[-1]
    assert float(last["test_accuracy"]) == pytest.approx(a32, abs=1e-12)
    key = json.loads((folder / "summary.json").read_text())["key_figures"]
    assert key["seeds"][0]["float16_accuracy"] == a16
    assert key["seeds"][0]["epochs_trained"] == settings["max_epochs"]


def test_graphs_shopping_gradients_are_the_books(quick_all):
    rows = {r["variable"]: r for r in _rows(quick_all / "graphs/shopping.csv")}
    book = {"apple": 2.2, "apple_num": 110, "orange": 3.3, "orange_num": 165, "tax": 650}
    for name, want in book.items():
        assert float(rows[name]["gradient_of_price"]) == pytest.approx(want, rel=1e-12)
    key = json.loads((quick_all / "graphs/summary.json").read_text())["key_figures"]
    assert key["price"] == pytest.approx(715, rel=1e-12)
    ops = key["ops"]
    assert ops["shopping"] == 4  # two products, a sum, the tax
    assert ops["forward_after"] < ops["forward_before"]
    assert ops["gradient_after"] <= ops["gradient_before"]


def _reference_path(name, hyper, start, steps):
    """The update rules of optimizers/ written out in NumPy on f = x²/20 + y²."""
    p = np.array(start, dtype=float)
    state = np.zeros((2, 2))
    path = [p.copy()]
    for t in range(1, steps + 1):
        g = np.array([p[0] / 10, 2 * p[1]])
        lr = hyper["lr"]
        if name == "sgd":
            p = p - lr * g
        elif name in ("momentum", "nesterov"):
            mu = hyper["momentum"]
            state[0] = mu * state[0] - lr * g
            p = p + (mu * state[0] - lr * g if name == "nesterov" else state[0])
        elif name == "adagrad":
            state[0] += g * g
            p = p - lr * g / np.sqrt(state[0] + 1e-6)
        elif name == "rmsprop":
            a = hyper["alpha"]
            state[0] = a * state[0] + (1 - a) * g * g
            p = p - lr * g / np.sqrt(state[0] + 1e-8)
        elif name == "adam":
            b1, b2 = hyper["beta1"], hyper["beta2"]
            state[0] = b1 * state[0] + (1 - b1) * g
            state[1] = b2 * state[1] + (1 - b2) * g * g
            m, v = state[0] / (1 - b1 ** t), state[1] / (1 - b2 ** t)
            p = p - lr * m / (np.sqrt(v) + 1e-8)
        path.append(p.copy())
    return np.array(path)


def test_optimizer_paths_match_numpy(quick_all):
    settings = registry.get("optimizer_paths").settings(True)
    rows = _rows(quick_all / "optimizer_paths/paths.csv")
    assert [n for n, _ in settings["optimizers"]] == \
        ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
    for name, hyper in settings["optimizers"]:
        got = np.array([[float(r["x"]), float(r["y"])] for r in rows if r["optimizer"] == name])
        want = _reference_path(name, hyper, settings["start"], settings["steps"])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=name)
        assert np.hypot(*got[-1]) < np.hypot(*got[0]) / 5, name  # every rule gets closer


def test_activation_histograms_match_numpy():
    """One case of the experiment against the same network written out in NumPy."""
    exp = registry.get("activations")
    settings = study.normalise(exp.settings(True))
    spec = {"task": "t", "seed": 3, "activation": "tanh", "init": "xavier",
            "settings": settings}
    got = exp.run(spec)
    rng = np.random.default_rng(3)  # models.MLP draws each weight matrix in turn from its seed
    h = np.random.default_rng([3, 1]).standard_normal((settings["inputs"], settings["units"]))
    n = settings["units"]
    for layer in range(settings["layers"]):
        h = np.tanh(h @ rng.normal(0, np.sqrt(1 / n), (n, n)))
        counts, _ = np.histogram(h, bins=settings["bins"], range=(-1, 1))
        np.testing.assert_array_equal(got["counts"][layer], counts)
        assert got["std"][layer] == pytest.approx(h.std(), rel=1e-12)
    assert got["counts"].sum(axis=1).tolist() == [h.size] * settings["layers"]


def test_smooth_curve_and_mean_std():
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    s = common.smooth_curve(y)
    w = np.kaiser(11, 2)
    for i in range(5, 35):  # away from the mirrored ends: a weighted mean of 11 neighbours
        assert s[i] == pytest.approx(np.dot(w, y[i - 5:i + 6]) / w.sum(), rel=1e-12)
    np.testing.assert_allclose(common.smooth_curve(np.full(30, 2.5)), 2.5, rtol=1e-14)
    np.testing.assert_array_equal(common.smooth_curve(y[:7]), y[:7])
    mean, std = common.mean_std([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(mean, [2, 4])
    np.testing.assert_allclose(std, [np.std([1, 3], ddof=1), np.std([2, 6], ddof=1)])
    assert common.mean_std([[1.0, 2.0]])[1].tolist() == [0, 0]


def test_second_run_does_no_work(quick_all, tmp_path, tiny_mnist, tasks_run):
    copy = tmp_path / "again"
    shutil.copytree(quick_all, copy)
    before = {name: _tables(copy / name) for name in registry.names()}
    assert cli.main(_args(tiny_mnist, copy, "all")) == 0
    assert tasks_run == []
    for name in registry.names():
        assert _tables(copy / name) == before[name], name
        summary = json.loads((copy / name / "summary.json").read_text())
        assert summary["tasks_computed"] == 0 and summary["status"] == "complete"


def test_damaged_and_foreign_task_files_are_redone(quick_all, tmp_path, tiny_mnist, tasks_run,
                                                  capsys):
    folder = tmp_path / "gradcheck"
    shutil.copytree(quick_all / "gradcheck", folder)
    before = _tables(folder)
    (folder / "gradcheck.csv").write_text("garbage\n")  # an output alone: redrawn, no task
    (folder / "gradcheck.png").unlink()
    assert cli.main(_args(tiny_mnist, folder, "gradcheck")) == 0
    assert tasks_run == [] and _tables(folder) == before
    assert (folder / "gradcheck.png").exists()
    runs = folder / "runs"
    data = (runs / "seed0.npz").read_bytes()
    (runs / "seed0.npz").write_bytes(data[:len(data) // 2])  # cut by a crash or a full disk
    (folder / "gradcheck.csv").write_text("garbage\n")
    assert cli.main(_args(tiny_mnist, folder, "gradcheck")) == 0
    assert tasks_run == ["seed0"]
    assert _tables(folder) == before  # the same numbers as the uninterrupted run
    assert "redoing task seed0" in capsys.readouterr().err
    shutil.copy(runs / "seed0.npz", runs / "seed1.npz")  # another task's result
    assert cli.main(_args(tiny_mnist, folder, "gradcheck")) == 0
    assert tasks_run == ["seed0", "seed1"]
    assert _tables(folder) == before


def test_seeds_grow_in_place(tiny_mnist, tmp_path, tasks_run):
    out = tmp_path / "g"
    assert cli.main(_args(tiny_mnist, out, "gradcheck", "--seeds", "1")) == 0
    assert cli.main(_args(tiny_mnist, out, "gradcheck", "--seeds", "3")) == 0
    assert tasks_run == ["seed0", "seed1", "seed2"]
    assert sorted({r["seed"] for r in _rows(out / "gradcheck.csv")}) == ["0", "1", "2"]
    assert cli.main(_args(tiny_mnist, out, "gradcheck", "--seeds", "2")) == 0
    assert tasks_run == ["seed0", "seed1", "seed2"]  # a smaller study is a subset
    assert sorted({r["seed"] for r in _rows(out / "gradcheck.csv")}) == ["0", "1"]


def test_another_study_is_refused(quick_all, tmp_path, tiny_mnist, capsys, tasks_run):
    folder = tmp_path / "paths"
    shutil.copytree(quick_all / "optimizer_paths", folder)
    before = _tables(folder)
    assert cli.main(_args(tiny_mnist, folder, "optimizers_mnist")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "experiment: folder has 'optimizer_paths', this run has 'optimizers_mnist'" in err
    assert _tables(folder) == before and tasks_run == []
    grad = tmp_path / "grad"
    shutil.copytree(quick_all / "gradcheck", grad)
    full = ["gradcheck", "--out", str(grad), "--data-dir", str(tiny_mnist)]  # not --quick
    assert cli.main(full) == 2
    err = capsys.readouterr().err
    assert "hidden: folder has 5, this run has 50" in err and err.count("\n") == 1
    (grad / "summary.json").unlink()  # results without their settings
    assert cli.main(_args(tiny_mnist, grad, "gradcheck")) == 2
    assert "no summary.json" in capsys.readouterr().err
    assert tasks_run == []
    assert cli.main(_args(tiny_mnist, folder, "optimizers_mnist", "--overwrite")) == 0
    assert sorted(p.name for p in folder.glob("*.csv")) == ["final.csv", "loss.csv"]
    assert not list(folder.glob("runs/sgd.npz"))  # the other study's tasks went with it


@pytest.mark.parametrize("argv, message", [
    ([], "name an experiment"),
    (["nope"], "unknown experiment 'nope'"),
    (["init", "--seeds", "0"], "--seeds must be >= 1"),
    (["init", "--jobs", "0"], "--jobs must be >= 1"),
    (["graphs", "--seeds", "2"], "graphs is deterministic"),
    (["init", "--seeds", "two"], "argument --seeds: invalid int value"),
    (["init", "--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_bad_arguments_give_one_line_errors(argv, message, capsys, tmp_path):
    try:
        code = cli.main(argv + ["--out", str(tmp_path / "x")])
    except SystemExit as exc:  # argparse's own errors exit from parse_args
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "x" / "runs").exists()


def test_missing_data_is_one_line_error(tmp_path, capsys):
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert cli.main(_args(empty, tmp_path / "out", "init")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_processes_give_the_serial_numbers(quick_all, tiny_mnist, tmp_path):
    out = tmp_path / "procs"
    assert cli.main(_args(tiny_mnist, out, "optimizers_mnist", "--jobs", "2")) == 0
    serial = _rows(quick_all / "optimizers_mnist/final.csv")
    procs = _rows(out / "final.csv")
    # the workers run one BLAS thread each: float32 sums may round differently in the last bits
    np.testing.assert_allclose(_floats(procs, "final_loss"), _floats(serial, "final_loss"),
                               rtol=1e-4)


def test_dask_local_cluster(quick_all, tiny_mnist, tmp_path):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "dask"
    assert cli.main(_args(tiny_mnist, out, "optimizer_paths", "--dask", "local",
                          "--jobs", "2")) == 0
    assert _tables(out) == _tables(quick_all / "optimizer_paths")


def test_dask_scheduler_address(quick_all, tiny_mnist, tmp_path):
    """``--dask ADDRESS`` sends the tasks to a scheduler started elsewhere (here a local one)."""
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "remote"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        assert cli.main(_args(tiny_mnist, out, "gradcheck", "--dask",
                              cluster.scheduler_address)) == 0
        with distributed.Client(cluster) as client:
            loaded = client.run(lambda: "benchmarks.from_scratch.gradcheck" in sys.modules)
            assert list(loaded.values()) == [True]  # the tasks ran in the worker
    # (the differences themselves are rounding noise of ~1e-12: compare the gradients' size)
    np.testing.assert_allclose(_floats(_rows(out / "gradcheck.csv"), "mean_abs_grad"),
                               _floats(_rows(quick_all / "gradcheck/gradcheck.csv"),
                                       "mean_abs_grad"), rtol=1e-9)


def test_epoch_checkpoint_resumes_with_the_uninterrupted_numbers(tmp_path):
    """A run stopped after epoch 2 and resumed from its checkpoint ends, after 4 epochs, with
    the curves and weights of a run never stopped: parameters, Adam's state and the dropout
    stream's states are all restored."""
    import models
    import optimizers
    from benchmarks.from_scratch.checkpoint import training_state
    gen = np.random.default_rng(5)
    x = gen.uniform(size=(200, 12)).astype("float32")
    y = (x[:, 0] > x[:, 1]).astype("int32")
    pairs = {"train": (x, y)}

    def run(epochs, path=None, stop_at=None):
        model = models.MLP([12, 16, 2], dropout=0.3, seed=1, dtype="float32")
        opt = optimizers.Adam(lr=0.01)
        trainer = common.trainer(model, opt)
        stop = (lambda curves, epoch: epoch == stop_at) if stop_at else None
        curves = common.train_epochs(trainer, (x, y), 50, epochs, seed=2, evaluated=pairs,
                                     stop=stop, checkpoint=path,
                                     state=training_state(model, opt))
        return curves, model.get_values()

    whole, weights = run(4)
    path = str(tmp_path / "task.checkpoint.npz")
    first, _ = run(4, path, stop_at=2)
    assert len(first["train_accuracy"]) == 3
    resumed, resumed_weights = run(4, path)
    for key in whole:
        if key != "seconds":
            np.testing.assert_array_equal(resumed[key], whole[key], err_msg=key)
    for name in weights:
        np.testing.assert_array_equal(resumed_weights[name], weights[name], err_msg=name)
    assert len(whole["seconds"]) == 5
    # a checkpoint of another network is ignored: the run starts from epoch 0
    other = models.MLP([12, 8, 2], seed=1, dtype="float32")
    opt = optimizers.Adam(lr=0.01)
    trainer = common.trainer(other, opt)
    curves = common.train_epochs(trainer, (x, y), 50, 1, seed=2, evaluated=pairs,
                                 checkpoint=path, state=training_state(other, opt))
    assert len(curves["train_accuracy"]) == 2


def test_no_checkpoint_is_left_behind(quick_all):
    for name in ("convnet", "deep_convnet"):
        assert not list((quick_all / name / "runs").glob("*.checkpoint.npz"))
