"""runs.csv / summary.csv machinery: checksums, atomic replacement, completeness, statistics."""
import os

import numpy as np
import pytest

from benchmarks import results as R


def _rows(rng, opts=("sgd", "adam"), seeds=(0, 1, 2), epochs=3):
    # timings are stored to the microsecond: draw them so
    return [{"optimizer": o, "seed": s, "epoch": e, "train_loss": float(rng.uniform(0, 2)),
             "test_loss": float(rng.uniform(0, 2)), "test_accuracy": float(rng.uniform()),
             "seconds": int(rng.integers(1, 10**8)) / 1e6}
            for o in opts for s in seeds for e in range(1, epochs + 1)]


def test_round_trip_is_exact(tmp_path, rng):
    rows = _rows(rng)
    R.write_runs(tmp_path / "runs.csv", rows)
    back, bad = R.read_runs(tmp_path / "runs.csv")
    assert bad == 0
    assert back == rows  # repr floats: bit-identical values
    assert set(os.listdir(tmp_path)) == {"runs.csv"}  # no temporary file left behind


def test_float32_columns_are_written_as_float32(tmp_path, rng):
    """A float32 study's values are written as the shortest text of their float32 and read
    back as that float32, exactly; float64 studies keep every digit."""
    table = R.RUNS.for_dtype("float32")
    rows = _rows(rng, opts=("sgd",), seeds=(0,), epochs=2)
    rows[0]["test_accuracy"] = 0.7211000025272369  # a float32 sum seen through float64
    rows[0]["seconds"] = 0.4014712110000005
    R.write_runs(tmp_path / "runs.csv", rows, table)
    text = (tmp_path / "runs.csv").read_text()
    fields = text.splitlines()[1].split(",")
    assert fields[5] == "0.7211" and fields[6] == "0.401471"
    back, bad = R.read_runs(tmp_path / "runs.csv", table)
    assert bad == 0 and back == [table.normalize(r) for r in rows]
    for got, row in zip(back, rows):
        for key in R.METRICS:
            assert got[key] == float(np.float32(row[key]))  # the float32, exactly
            assert str(np.float32(got[key])) in text
    # normalize is idempotent: a resumed study reads what the uninterrupted one holds
    assert [table.normalize(r) for r in back] == back
    # a folder written before (float64 text of float32 values) reads back to the same numbers
    old = R.RUNS
    R.write_runs(tmp_path / "old.csv", back, old)
    assert "0.7210999727249146" in (tmp_path / "old.csv").read_text()
    assert R.read_runs(tmp_path / "old.csv", table)[0] == back
    R.write_summary(tmp_path / "summary.csv", R.summarize(back), "float32")
    summary = (tmp_path / "summary.csv").read_text().splitlines()[1].split(",")
    assert all(len(f) <= 14 for f in summary), summary  # no float64 noise


def test_every_truncation_of_the_last_line_is_rejected(tmp_path, rng):
    rows = _rows(rng, opts=("adam",), seeds=(0,), epochs=2)
    path = tmp_path / "runs.csv"
    R.write_runs(path, rows)
    text = path.read_text()
    head, last = text[:text.rstrip("\n").rfind("\n") + 1], text.rstrip("\n").rsplit("\n", 1)[1]
    for cut in range(1, len(last)):
        path.write_text(head + last[:cut])
        got, bad = R.read_runs(path)
        assert bad == 1, cut
        assert got == rows[:1]
        assert R.complete_runs(got, 2) == {}, f"cut at {cut} taken as complete"


def test_corrupt_field_is_rejected(tmp_path, rng):
    rows = _rows(rng, opts=("sgd",), seeds=(0,), epochs=1)
    path = tmp_path / "runs.csv"
    R.write_runs(path, rows)
    text = path.read_text()
    acc = repr(rows[0]["test_accuracy"])
    assert acc in text
    path.write_text(text.replace(acc, acc[:-1] + str((int(acc[-1]) + 1) % 10)))
    assert R.read_runs(path) == ([], 1)


def test_complete_runs_needs_every_epoch_once(rng):
    rows = _rows(rng, epochs=3)
    drop = [r for r in rows if not (r["optimizer"] == "adam" and r["seed"] == 1
                                    and r["epoch"] == 2)]
    done = R.complete_runs(drop, 3)
    assert ("adam", 1) not in done and len(done) == 5
    assert [r["epoch"] for r in done[("sgd", 0)]] == [1, 2, 3]
    dup = rows + [dict(rows[0])]
    assert (rows[0]["optimizer"], rows[0]["seed"]) not in R.complete_runs(dup, 3)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, rng, monkeypatch):
    path = tmp_path / "runs.csv"
    R.write_runs(path, _rows(rng))
    before = path.read_text()

    def boom(*a):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        R.write_runs(path, _rows(rng, seeds=(5,)))
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["runs.csv"]


def test_summary_statistics_match_numpy(rng):
    rows = _rows(rng, seeds=(0, 1, 2, 3), epochs=2)
    summary = R.summarize(rows, order=["adam", "sgd"])
    assert [(s["optimizer"], s["epoch"]) for s in summary] == \
        [("adam", 1), ("adam", 2), ("sgd", 1), ("sgd", 2)]
    for s in summary:
        vals = np.array([r["test_accuracy"] for r in rows
                         if r["optimizer"] == s["optimizer"] and r["epoch"] == s["epoch"]])
        assert s["n"] == 4
        np.testing.assert_allclose(s["test_accuracy_mean"], vals.mean(), rtol=1e-14)
        np.testing.assert_allclose(s["test_accuracy_std"], vals.std(ddof=1), rtol=1e-12)
        assert s["test_accuracy_min"] == vals.min() and s["test_accuracy_max"] == vals.max()
    one = R.summarize(_rows(rng, seeds=(0,), epochs=1))
    assert all(s["test_loss_std"] == 0.0 for s in one)


def test_sessions_carry_over_and_add_up():
    start = {"study": {"epochs": 1}, "started": "T0"}
    first = R.with_sessions(dict(start), None, "runs_computed")
    assert first["sessions"] == [] and first["wall_seconds"] == 0 and first["started"] == "T0"
    R.add_session(first, {"started": "T0", "wall_seconds": 2.5, "runs_computed": 3},
                  "runs_computed")
    second = R.with_sessions(dict(start, started="T1"), first, "runs_computed")
    R.add_session(second, {"started": "T1", "wall_seconds": 1.5, "runs_computed": 2},
                  "runs_computed")
    assert second["started"] == "T0"  # the study started with its first session
    assert second["wall_seconds"] == 4.0 and second["runs_computed"] == 5
    # a session that computed nothing before it was stopped adds no record
    empty = R.with_sessions(dict(start, started="T2"), dict(second, sessions=[]),
                            "runs_computed")
    assert empty["sessions"] == [] and empty["wall_seconds"] == 0
    # a config of an earlier version (totals, no sessions) counts as one session
    old = {"started": "T9", "wall_seconds": 7.0, "runs_computed": 4}
    grown = R.with_sessions(dict(start), old, "runs_computed")
    assert grown["sessions"] == [{"started": "T9", "wall_seconds": 7.0, "runs_computed": 4}]
    assert grown["wall_seconds"] == 7.0 and grown["started"] == "T9"
