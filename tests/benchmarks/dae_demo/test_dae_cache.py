"""Training on first use: cached models reused only for equal settings, checkpoints that
resume to the numbers of an uninterrupted run, samples, settings validation."""
import numpy as np
import pytest

from benchmarks.dae_demo import cache


def _values(cached):
    return cached.model.get_values()


def _same(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_cached_models_are_reused_for_equal_settings_only(demo_models, tiny_settings,
                                                          monkeypatch):
    models, samples, folder = demo_models
    for m in models:
        assert m.path == folder / f"{m.name}.npz"
        assert m.info["settings"] == m.settings.to_dict()
        assert m.info["test"]["n_images"] == 300 and len(m.info["history"]) == 1
        assert not (folder / f"{m.name}.partial.npz").exists()
    assert samples["labels"].tolist() == sorted(set(samples["labels"].tolist()))

    def no_training(*a, **k):
        raise AssertionError("trained although the cache holds the model")
    monkeypatch.setattr(cache, "train", no_training)
    monkeypatch.setattr(cache, "load_data", no_training)  # nor reads MNIST
    again, samples2 = cache.prepare(folder, tiny_settings(), log=lambda m: None)
    for a, b in zip(models, again):
        _same(_values(a), _values(b))
        assert a.info == b.info
    np.testing.assert_array_equal(samples["pixels"], samples2["pixels"])
    monkeypatch.undo()
    other = cache.load_cached(folder, tiny_settings(seed=1)[0])
    assert other[0] is None and "seed=0 there, 1 asked" in other[1]


def test_an_interrupted_training_resumes_to_the_same_numbers(tiny_mnist, tiny_settings,
                                                             tmp_path):
    data = cache.load_data(tiny_mnist)
    s = tiny_settings(epochs=2)[1]  # salt and pepper: noise draws in the train step
    full = cache.train(s, data, tmp_path / "full", progress=False, log=lambda m: None)

    def stop_after_first(entry):
        if entry["epoch"] == 1:
            raise KeyboardInterrupt  # as Ctrl+C would, after the epoch's checkpoint
    with pytest.raises(KeyboardInterrupt):
        cache.train(s, data, tmp_path / "cut", progress=False, log=lambda m: None,
                    on_epoch=stop_after_first)
    assert (tmp_path / "cut" / "salt_and_pepper.partial.npz").exists()
    assert not (tmp_path / "cut" / "salt_and_pepper.npz").exists()
    logs = []
    resumed = cache.train(s, data, tmp_path / "cut", progress=False, log=logs.append)
    assert any("resuming" in m and "after epoch 1" in m for m in logs)
    assert [h["epoch"] for h in resumed.info["history"]] == [1, 2]
    _same(_values(full), _values(resumed))
    strip = [{k: v for k, v in h.items() if "seconds" not in k}
             for h in full.info["history"]]
    assert strip == [{k: v for k, v in h.items() if "seconds" not in k}
                     for h in resumed.info["history"]]
    assert full.info["test"] | {"seconds": 0} == resumed.info["test"] | {"seconds": 0}
    assert not (tmp_path / "cut" / "salt_and_pepper.partial.npz").exists()


def test_a_checkpoint_of_other_settings_or_damaged_is_not_resumed(tiny_mnist, tiny_settings,
                                                                  tmp_path):
    data = cache.load_data(tiny_mnist)
    s = tiny_settings()[0]
    (tmp_path / "masking.partial.npz").write_bytes(b"garbage")
    logs = []
    cache.train(s, data, tmp_path, progress=False, log=logs.append)
    assert any("damaged checkpoint" in m for m in logs)

    def stop(entry):
        raise KeyboardInterrupt
    other = tiny_settings(seed=3)[0]
    with pytest.raises(KeyboardInterrupt):
        cache.train(other, data, tmp_path, progress=False, log=lambda m: None, on_epoch=stop)
    logs = []
    cache.train(s, data, tmp_path, progress=False, log=logs.append)
    assert any("other settings" in m and "seed=3 there, 0 asked" in m for m in logs)


def test_settings_mismatch_damage_and_retrain(tiny_mnist, tiny_settings, tmp_path):
    logs = []
    settings = tiny_settings()[:1]
    first, _ = cache.prepare(tmp_path, settings, data_dir=tiny_mnist, progress=False,
                             log=logs.append)
    assert any("no cached model" in m for m in logs)
    logs.clear()
    cache.prepare(tmp_path, tiny_settings(epochs=2)[:1], data_dir=tiny_mnist, progress=False,
                  log=logs.append)
    assert any("other settings (epochs=1 there, 2 asked)" in m for m in logs)
    (tmp_path / "masking.npz").write_bytes(b"not a zip")
    logs.clear()
    again, _ = cache.prepare(tmp_path, settings, data_dir=tiny_mnist, progress=False,
                             log=logs.append)
    assert any("unreadable" in m for m in logs)
    _same(_values(first[0]), _values(again[0]))  # same settings, same numbers
    logs.clear()
    cache.prepare(tmp_path, settings, data_dir=tiny_mnist, progress=False, log=logs.append,
                  retrain=True)
    assert any("--retrain" in m for m in logs)


@pytest.mark.parametrize("kw, words", [
    (dict(noise="speckle", level=0.1), "unknown noise"),
    (dict(noise="masking", level=1.5), "level of masking"),
    (dict(noise="masking", level=0.5, epochs=0), "epochs"),
    (dict(noise="masking", level=0.5, hidden=2.5), "hidden"),
    (dict(noise="masking", level=0.5, n_train=True), "n_train"),
    (dict(noise="masking", level=0.5, lr=0), "lr"),
    (dict(noise="masking", level=0.5, dtype="int32"), "dtype"),
    (dict(noise="masking", level=0.5, optimizer="newton"), "optimizer"),
])
def test_bad_settings_are_refused(kw, words):
    with pytest.raises((ValueError, KeyError), match=words):
        cache.TrainSettings(**kw)
