"""The autoencoder benchmark end to end on the tiny MNIST of conftest.py: outputs, summary,
determinism, the case table, refusal of bad case ids, the run without matplotlib, resuming
(skipped cases, damaged results, SIGKILL), refusal of another study's folder, and redrawing
from the stored results."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from benchmarks import ae_plots
from benchmarks import autoencoders as bench

CASE_IDS = (3, 10)  # an MSE case of seed 000 and a tied cross-entropy case of seed 001
FOLDERS = ("case03_relu_100", "case10_sigmoid_500_gaussian0.3_tied")


def _args(data, out, *extra):
    return ["--cases", ",".join(map(str, CASE_IDS)), "--epochs", "1", "--n-train", "300",
            "--n-test", "100", "--data-dir", str(data), "--out", str(out), "--n-tiles", "16",
            *extra]


def _summary(out):
    with open(out / "summary.csv") as f:
        return list(csv.DictReader(f))


def _numbers(out):
    """Every measured number but the timings (and the row checksums, which cover them), from
    summary.csv and the loss curves."""
    numbers = [(r["case"], r["train_loss"], r["test_loss"], r["test_mse"])
               for r in _summary(out)]
    for folder in FOLDERS:
        with open(out / folder / "loss.csv") as f:
            numbers += [tuple(v for k, v in r.items() if k not in ("seconds", "crc"))
                        for r in csv.DictReader(f)]
    return numbers


def _arrays(out):
    """The stored picture arrays of every case folder, by (folder, name)."""
    got = {}
    for folder in FOLDERS:
        with np.load(out / folder / "result.npz") as z:
            got.update({(folder, k): z[k] for k in z.files})
    return got


def _same_arrays(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=str(key))


@pytest.fixture
def trainings(monkeypatch):
    """The ids of the cases trained (in order) while the test runs."""
    calls = []
    real = bench.train_case

    def counting(case, args, data):
        calls.append(case.id)
        return real(case, args, data)
    monkeypatch.setattr(bench, "train_case", counting)
    return calls


def test_case_table():
    assert list(bench.CASES) == list(range(1, 11))
    seed000 = [c for c in bench.CASES.values() if c.study == "000"]
    seed001 = [c for c in bench.CASES.values() if c.study == "001"]
    assert len(seed000) == 7 and len(seed001) == 3
    assert {c.hidden for c in seed000} == {1000, 400, 100}
    assert {c.activation for c in seed000} == {"relu", "sigmoid"}
    assert any(c.dropout for c in seed000) and any(c.noise == "masking:0.2" for c in seed000)
    assert all(c.loss == "mse" and c.output == "linear" and not c.tied for c in seed000)
    assert all(c.tied and c.hidden == 500 and c.activation == "sigmoid" and c.loss == "xent"
               and c.output == "sigmoid" for c in seed001)
    assert sorted(c.noise.partition(":")[0] for c in seed001) == \
        ["gaussian", "masking", "salt_and_pepper"]
    assert len({c.folder for c in bench.CASES.values()}) == 10


def test_outputs_and_summary(tiny_mnist, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "ae"
    assert bench.main(_args(tiny_mnist, out)) == 0
    printed = capsys.readouterr().out
    rows = _summary(out)
    assert [int(r["case"]) for r in rows] == list(CASE_IDS)
    for r in rows:
        for key in ("train_loss", "test_loss", "test_mse"):
            assert np.isfinite(float(r[key])) and float(r[key]) > 0, (r["case"], key)
        assert r["case"] in printed and r["name"] in printed
    # MSE cases report the MSE as their loss; the cross-entropy case does not
    assert float(rows[0]["test_loss"]) == float(rows[0]["test_mse"])
    assert float(rows[1]["test_loss"]) > 10 * float(rows[1]["test_mse"])
    for folder in FOLDERS:
        with open(out / folder / "loss.csv") as f:
            curve = list(csv.DictReader(f))
        assert [c["epoch"] for c in curve] == ["1"]
        for name in ("loss.png", "reconstructions.png", "W1.png", "W2T.png"):
            assert (out / folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    config = json.loads((out / "config.json").read_text())
    assert config["arguments"]["case_ids"] == list(CASE_IDS)
    assert config["arguments"]["epochs"] == 1 and config["n_train_used"] == 300
    assert [c["id"] for c in config["cases"]] == list(CASE_IDS)
    assert config["wall_seconds"] > 0


def test_same_arguments_same_numbers(tiny_mnist, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert bench.main(_args(tiny_mnist, a, "--no-plots")) == 0
    assert bench.main(_args(tiny_mnist, b, "--no-plots")) == 0
    assert _numbers(a) == _numbers(b)
    # the seed matters: the comparison above can fail
    assert bench.main(_args(tiny_mnist, c, "--no-plots", "--seed", "1")) == 0
    assert _numbers(c) != _numbers(a)


@pytest.mark.parametrize("cases", ["3,11", "0", "x", "3,3", ""])
def test_bad_case_id_is_refused(tiny_mnist, tmp_path, capsys, cases):
    out = tmp_path / "ae"
    argv = _args(tiny_mnist, out)
    argv[argv.index("--cases") + 1] = cases
    assert bench.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --cases") and ("known ids: 1, 2" in err or "twice" in err)
    assert not (out / "summary.csv").exists()


def test_without_matplotlib(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "ae"
    assert bench.main(_args(tiny_mnist, out)) == 0
    err = capsys.readouterr().err
    assert "matplotlib is not installed" in err and "plots skipped" in err
    assert f"python -m benchmarks.ae_plots {out}" in err
    assert len(_summary(out)) == 2 and (out / "config.json").exists()
    assert (out / FOLDERS[0] / "loss.csv").exists() and (out / FOLDERS[0] / "result.npz").exists()
    assert not list(out.rglob("*.png"))
    # the separate command also works without matplotlib: the summary, no pictures
    (out / "summary.csv").unlink()
    assert ae_plots.main([str(out)]) == 0
    assert "skipping the plots" in capsys.readouterr().err
    assert len(_summary(out)) == 2 and not list(out.rglob("*.png"))


def test_tiles_put_each_vector_in_its_cell():
    from benchmarks.ae_plots import tile_images
    vectors = np.zeros((3, 784))
    vectors[1, 0] = 5.0  # top-left pixel of the second tile, scaled to 1
    grid = tile_images(vectors, columns=2, pad=1)
    assert grid.shape == (2 * 29 + 1, 2 * 29 + 1)
    assert grid[1, 1 + 29] == 1.0 and grid[1, 1] == 0.0
    assert grid[0, 0] == 0.5  # padding


def test_rerun_skips_finished_cases(tiny_mnist, tmp_path, trainings, capsys):
    fresh, grown = tmp_path / "fresh", tmp_path / "grown"
    assert bench.main(_args(tiny_mnist, fresh, "--no-plots")) == 0
    assert trainings == [3, 10]
    # a folder grown case by case holds the numbers of the one-go run
    first = _args(tiny_mnist, grown, "--no-plots")
    first[first.index("--cases") + 1] = "3"
    assert bench.main(first) == 0
    assert trainings == [3, 10, 3]
    capsys.readouterr()
    assert bench.main(_args(tiny_mnist, grown, "--no-plots")) == 0
    assert trainings == [3, 10, 3, 10]
    out = capsys.readouterr()
    assert "case 3 relu_100 (stored)" in out.err and "1 case(s) trained, 1 stored" in out.err
    assert _numbers(grown) == _numbers(fresh)
    _same_arrays(_arrays(grown), _arrays(fresh))
    # the two sessions that trained are recorded, their times added up
    config = json.loads((grown / "config.json").read_text())
    assert [s["cases_trained"] for s in config["sessions"]] == [1, 1]
    assert config["cases_trained"] == 2 and config["n_train_used"] == 300
    assert config["wall_seconds"] == pytest.approx(sum(s["wall_seconds"]
                                                       for s in config["sessions"]))
    # nothing left to do: no training, the same summary (timings included), printed in full,
    # and config.json untouched (the original wall time stays)
    before = (grown / "summary.csv").read_text()
    before_config = (grown / "config.json").read_text()
    assert bench.main(_args(tiny_mnist, grown, "--no-plots", "--resume")) == 0
    assert trainings == [3, 10, 3, 10]
    out = capsys.readouterr()
    assert "0 case(s) trained, 2 stored" in out.err and "relu_100" in out.out
    assert "resuming: 2 of 2 cases found" in out.err
    assert (grown / "summary.csv").read_text() == before
    assert (grown / "config.json").read_text() == before_config


def test_missing_pictures_of_stored_cases_are_drawn(tiny_mnist, tmp_path, trainings):
    pytest.importorskip("matplotlib")
    out = tmp_path / "ae"
    assert bench.main(_args(tiny_mnist, out, "--no-plots")) == 0
    assert not list(out.rglob("*.png"))
    assert bench.main(_args(tiny_mnist, out)) == 0
    assert trainings == [3, 10]  # drawn from the stored results, not trained again
    for folder in FOLDERS:
        for name in bench.PNG_FILES:
            assert (out / folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("damage", ["truncate_csv", "corrupt_csv", "corrupt_npz", "no_csv",
                                    "no_npz"])
def test_damaged_case_is_trained_again(tiny_mnist, tmp_path, trainings, capsys, damage):
    full, part = tmp_path / "full", tmp_path / "part"
    argv = lambda out: _args(tiny_mnist, out, "--no-plots", "--epochs", "2")  # noqa: E731
    assert bench.main(argv(full)) == 0
    shutil.copytree(full, part)
    folder = part / FOLDERS[1]
    if damage == "truncate_csv":  # as if a non-atomic writer died inside the last row
        text = (folder / "loss.csv").read_text()
        (folder / "loss.csv").write_text(text[:len(text) - 20])
    elif damage == "corrupt_csv":  # one digit of a loss changed: the row checksum fails
        text = (folder / "loss.csv").read_text()
        row = text.splitlines()[1].split(",")
        loss = row[2]
        row[2] = loss[:-1] + str((int(loss[-1]) + 1) % 10)
        (folder / "loss.csv").write_text(text.replace(text.splitlines()[1], ",".join(row)))
    elif damage == "corrupt_npz":  # a byte inside the stored weights: the zip CRC fails
        data = bytearray((folder / "result.npz").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (folder / "result.npz").write_bytes(bytes(data))
    elif damage == "no_csv":  # killed between the two files of the case
        (folder / "loss.csv").unlink()
    else:
        (folder / "result.npz").unlink()
    capsys.readouterr()
    assert bench.main(argv(part)) == 0
    assert trainings == [3, 10, 10]
    assert "case 10: ignoring its partial or damaged result" in capsys.readouterr().err
    assert _numbers(part) == _numbers(full)
    _same_arrays(_arrays(part), _arrays(full))


def test_other_study_is_refused(tiny_mnist, tmp_path, trainings, capsys):
    out = tmp_path / "ae"
    assert bench.main(_args(tiny_mnist, out, "--no-plots")) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert bench.main(_args(tiny_mnist, out, "--no-plots", "--epochs", "2", "--seed", "1")) == 2
    err = capsys.readouterr().err
    assert "different study" in err and "--overwrite" in err
    assert "epochs: folder has 1, this run has 2" in err and "seed: folder has 0, this run " \
        "has 1" in err and "n_tiles" not in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert trainings == [3, 10]
    # the optimizer name is compared as the registry spells it: 'Adam' is the same study
    assert bench.main(_args(tiny_mnist, out, "--no-plots", "--optimizer", "Adam")) == 0
    assert trainings == [3, 10]
    # --overwrite starts afresh with the new settings
    assert bench.main(_args(tiny_mnist, out, "--no-plots", "--epochs", "2",
                            "--overwrite")) == 0
    assert trainings == [3, 10, 3, 10]
    assert json.loads((out / "config.json").read_text())["study"]["epochs"] == 2
    assert [r["epochs"] for r in _summary(out)] == ["2", "2"]


def test_folder_refusals(tiny_mnist, tmp_path, capsys):
    assert bench.main(_args(tiny_mnist, tmp_path / "new", "--resume")) == 2
    assert "holds no study" in capsys.readouterr().err
    stray = tmp_path / "stray"
    (stray / FOLDERS[0]).mkdir(parents=True)
    (stray / FOLDERS[0] / "loss.csv").write_text("epoch,train_loss\n")
    assert bench.main(_args(tiny_mnist, stray)) == 2
    err = capsys.readouterr().err
    assert "no config.json" in err and FOLDERS[0] in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    assert bench.main(_args(tiny_mnist, bad)) == 2
    assert "not valid JSON" in capsys.readouterr().err
    (bad / "config.json").write_text('{"arguments": {"epochs": 1}}')  # written before resuming
    assert bench.main(_args(tiny_mnist, bad)) == 2
    assert "names no study settings" in capsys.readouterr().err
    assert ae_plots.main([str(tmp_path / "nothing")]) == 2
    assert "no autoencoder study" in capsys.readouterr().err


def test_replot_redraws_from_stored_results(tiny_mnist, tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "ae"
    assert bench.main(_args(tiny_mnist, out)) == 0
    summary = (out / "summary.csv").read_text()
    pictures = [out / f / n for f in FOLDERS for n in bench.PNG_FILES]
    assert all(p.exists() for p in pictures)
    for p in pictures:
        p.unlink()
    (out / "summary.csv").unlink()

    def no_training(*a, **k):
        raise AssertionError("the redraw trained a case")
    monkeypatch.setattr(bench, "train_case", no_training)
    monkeypatch.setattr(bench, "build_model", no_training)
    capsys.readouterr()
    assert ae_plots.main([str(out)]) == 0
    printed = capsys.readouterr()
    for p in pictures:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", p
    assert (out / "summary.csv").read_text() == summary
    assert "relu_100" in printed.out and "8 picture(s)" in printed.err


def test_replot_as_a_command(tiny_mnist, tmp_path):
    """``python -m benchmarks.ae_plots OUT`` in a fresh process draws a --no-plots run."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "ae"
    assert bench.main(_args(tiny_mnist, out, "--no-plots")) == 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.ae_plots", str(out)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "sigmoid_500_gaussian0.3_tied" in proc.stdout
    assert (out / FOLDERS[1] / "W2T.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sigkill_then_resume_equals_uninterrupted(tiny_mnist, tmp_path):
    """Kill the run (SIGKILL) once its first case is stored, while the second one trains;
    what was saved is whole, and resuming gives the numbers of an uninterrupted run."""
    full, killed = tmp_path / "full", tmp_path / "killed"
    argv = lambda out: _args(tiny_mnist, out, "--no-plots", "--epochs", "2")  # noqa: E731
    assert bench.main(argv(full)) == 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.autoencoders"] + argv(killed),
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = killed / FOLDERS[0] / "loss.csv"
    for _ in range(1200):
        if proc.poll() is not None or first.exists():
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    # whatever is stored is a whole case or nothing of it
    stored = []
    for cid in bench.CASES:
        try:
            if bench.load_case(killed, bench.CASES[cid], 2) is not None:
                stored.append(cid)
        except ValueError:  # the second case's result.npz without its loss.csv: not finished
            assert cid == CASE_IDS[1] and not (killed / FOLDERS[1] / "loss.csv").exists()
    assert stored in ([3], [3, 10]), stored
    result = subprocess.run([sys.executable, "-m", "benchmarks.autoencoders"] + argv(killed),
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "case 3 relu_100 (stored)" in result.stderr
    assert _numbers(killed) == _numbers(full)
    _same_arrays(_arrays(killed), _arrays(full))
