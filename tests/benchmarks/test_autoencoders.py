"""The autoencoder benchmark end to end on the tiny MNIST of conftest.py: outputs, summary,
determinism, the case table, refusal of bad case ids, and the run without matplotlib."""
import csv
import json
import sys

import numpy as np
import pytest

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
    """Every measured number but the timings, from summary.csv and the loss curves."""
    numbers = [(r["case"], r["train_loss"], r["test_loss"], r["test_mse"])
               for r in _summary(out)]
    for folder in FOLDERS:
        with open(out / folder / "loss.csv") as f:
            numbers += [tuple(v for k, v in r.items() if k != "seconds")
                        for r in csv.DictReader(f)]
    return numbers


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
    assert "matplotlib is not installed" in capsys.readouterr().err
    assert len(_summary(out)) == 2 and (out / "config.json").exists()
    assert (out / FOLDERS[0] / "loss.csv").exists()
    assert not list(out.rglob("*.png"))


def test_tiles_put_each_vector_in_its_cell():
    from benchmarks.ae_plots import tile_images
    vectors = np.zeros((3, 784))
    vectors[1, 0] = 5.0  # top-left pixel of the second tile, scaled to 1
    grid = tile_images(vectors, columns=2, pad=1)
    assert grid.shape == (2 * 29 + 1, 2 * 29 + 1)
    assert grid[1, 1 + 29] == 1.0 and grid[1, 1] == 0.0
    assert grid[0, 0] == 0.5  # padding
