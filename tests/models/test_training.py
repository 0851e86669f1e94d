"""Tests of models/training.py: history, determinism, one compilation, callbacks."""
import numpy as np
import pytest

import symgraph
import optimizers
from models import MLP, LogisticRegression
from models import training


def _params(model):
    return [p.get_value() for p in model.params]


def test_history_fields_and_validation(blobs):
    (tr, te) = blobs()
    data = ((tr[0][:500], tr[1][:500]), (tr[0][500:], tr[1][500:]), te)
    hist = training.fit(LogisticRegression(20, 3), optimizers.SGD(lr=0.5), data, epochs=3,
                        batch_size=64, seed=1, record_batches=True)
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    for h in hist:
        assert {"train_loss", "test_loss", "test_accuracy", "val_loss", "val_accuracy",
                "seconds", "cpu_seconds"} <= set(h)
        assert len(h["batch_losses"]) == 8  # ceil(500 / 64)
        np.testing.assert_allclose(h["train_loss"], np.average(
            h["batch_losses"], weights=[64] * 7 + [500 - 7 * 64]))
        assert 0 <= h["test_accuracy"] <= 1 and h["seconds"] >= 0


def test_test_metrics_match_a_direct_evaluation(blobs):
    data = blobs()
    model = MLP([20, 8, 3], seed=0)
    hist = training.fit(model, optimizers.Adam(lr=0.01), data, epochs=1, batch_size=32,
                        eval_batch_size=70)
    x, y = model.input_variable(), model.target_variable()
    f = symgraph.function([x, y], [model.cost(x, y, train=False), model.accuracy(x, y)])
    loss, acc = f(*data[1])
    np.testing.assert_allclose(hist[-1]["test_loss"], loss, rtol=1e-10)
    np.testing.assert_allclose(hist[-1]["test_accuracy"], acc, rtol=1e-10)


def test_deterministic_for_a_seed(blobs):
    data = blobs()
    runs = []
    for fit_seed in (3, 3, 4):
        model = MLP([20, 10, 3], seed=7)
        hist = training.fit(model, optimizers.Adam(lr=0.01), data, epochs=2, batch_size=40,
                            seed=fit_seed)
        runs.append((hist, _params(model)))
    (h1, p1), (h2, p2), (h3, p3) = runs
    assert [h["train_loss"] for h in h1] == [h["train_loss"] for h in h2]
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(p1[0], p3[0])  # another shuffle, other weights


def test_compiles_once(blobs, monkeypatch):
    calls = []
    real = symgraph.function

    def counting(*args, **kwargs):
        calls.append(kwargs.get("name"))
        return real(*args, **kwargs)
    monkeypatch.setattr(training.symgraph, "function", counting)
    training.fit(LogisticRegression(20, 3), optimizers.SGD(lr=0.1), blobs(), epochs=3,
                 batch_size=100)
    assert sorted(calls) == ["evaluate", "train_step"]


def test_callback_stops_and_max_batches(blobs):
    seen = []

    def stop_after_two(entry):
        seen.append(entry["epoch"])
        return entry["epoch"] == 2
    hist = training.fit(LogisticRegression(20, 3), optimizers.SGD(lr=0.1), blobs(), epochs=10,
                        batch_size=10, callbacks=[stop_after_two], max_batches=3,
                        record_batches=True)
    assert seen == [1, 2] and len(hist) == 2
    assert len(hist[0]["batch_losses"]) == 3


def test_flat_float32_data_is_adapted(blobs):
    (tr, te) = blobs(dtype="float64")
    model = LogisticRegression(20, 3, dtype="float32")
    hist = training.fit(model, optimizers.SGD(lr=0.5), (tr, te), epochs=1, batch_size=50)
    assert model.params[0].get_value().dtype == np.float32
    assert hist[0]["test_accuracy"] > 0.8


def test_bad_data_is_reported(blobs):
    tr, te = blobs()
    with pytest.raises(ValueError, match="inputs but"):
        training.fit(LogisticRegression(20, 3), optimizers.SGD(), ((tr[0], tr[1][:5]), te), 1)
    with pytest.raises(ValueError, match="pairs"):
        training.fit(LogisticRegression(20, 3), optimizers.SGD(), (tr,), 1)


def test_dropout_runs_are_deterministic_and_learn(blobs):
    data = blobs()
    runs = []
    for _ in range(2):
        model = MLP([20, 32, 3], dropout=0.3, input_dropout=0.1, seed=2)
        runs.append((training.fit(model, optimizers.Adam(lr=0.01), data, epochs=3,
                                  batch_size=50, seed=5), _params(model)))
    (h1, p1), (h2, p2) = runs
    assert [h["train_loss"] for h in h1] == [h["train_loss"] for h in h2]
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)
    assert h1[-1]["test_accuracy"] > 0.9


def test_progress_bar_when_asked(blobs, capsys):
    pytest.importorskip("tqdm")
    training.fit(LogisticRegression(20, 3), optimizers.SGD(lr=0.1), blobs(), epochs=2,
                 batch_size=100, progress=True)
    assert "epoch 2/2" in capsys.readouterr().err
    training.fit(LogisticRegression(20, 3), optimizers.SGD(lr=0.1), blobs(), epochs=1,
                 batch_size=100, progress=False)
    assert "epoch" not in capsys.readouterr().err


def test_resuming_from_a_checkpoint_gives_the_uninterrupted_run(blobs):
    """Parameters, optimizer state and noise states saved after epoch 1, restored into fresh
    objects and trained with initial_epoch=1, end exactly where a 2-epoch run ends."""
    from models import AutoEncoder, masking
    data = blobs(d=12)

    def make():
        model = AutoEncoder(12, 5, noise=masking(0.3), tied=True, loss="xent", seed=4)
        return model, optimizers.Adam(lr=0.01)

    model, opt = make()
    full = training.fit(model, opt, data, epochs=2, batch_size=40, seed=2)
    want = _params(model)

    model, opt = make()
    first = training.fit(model, opt, data, epochs=1, batch_size=40, seed=2)
    states = [s for s, _ in model.stream.updates()]  # the noise draws of the train step
    assert states
    saved = (_params(model), opt.get_state_values(), [s.get_value() for s in states])
    model, opt = make()
    trainer = training.Trainer(model, opt)
    for p, v in zip(model.params, saved[0]):
        p.set_value(v)
    opt.set_state_values(saved[1])
    for (s, _), v in zip(model.stream.updates(), saved[2]):
        s.set_value(v)
    rest = training.fit(model, opt, data, epochs=2, batch_size=40, seed=2, trainer=trainer,
                        initial_epoch=1)
    assert [h["epoch"] for h in rest] == [2]
    for a, b in zip(_params(model), want):
        np.testing.assert_array_equal(a, b)
    for got, ref in zip(first + rest, full):
        assert {k: v for k, v in got.items() if "seconds" not in k} == \
            {k: v for k, v in ref.items() if "seconds" not in k}


def test_bad_resume_arguments(blobs):
    data = blobs()
    model, opt = LogisticRegression(20, 3), optimizers.SGD(lr=0.1)
    for bad in (-1, 3, 1.0, True):
        with pytest.raises(ValueError, match="initial_epoch"):
            training.fit(model, opt, data, epochs=2, initial_epoch=bad)
    with pytest.raises(ValueError, match="evaluate_initial"):
        training.fit(model, opt, data, epochs=2, initial_epoch=1, evaluate_initial=True)
    other = training.Trainer(LogisticRegression(20, 3), opt)
    with pytest.raises(ValueError, match="trainer"):
        training.fit(model, opt, data, epochs=1, trainer=other)
    assert training.fit(model, opt, data, epochs=2, initial_epoch=2) == []
