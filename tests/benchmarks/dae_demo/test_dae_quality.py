"""Quality on the real MNIST: after a short training (one epoch on 6,000 images, a few
seconds), each model's reconstruction of 1,000 test digits corrupted by its own noise is
closer to the clean digits than the corrupted digits are."""
import os

import numpy as np
import pytest

from benchmarks.dae_demo import cache
from benchmarks.dae_demo.noises import NOISES
from benchmarks.dae_demo.reconstruct import Reconstruction

pytestmark = pytest.mark.skipif(not os.environ.get("SYMGRAPH_DATA"),
                                reason="SYMGRAPH_DATA not set (the real MNIST is needed)")


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_each_model_beats_its_corrupted_input(tmp_path):
    x_tr, x_te, y_te = cache.load_data()
    data = (x_tr, x_te[:1000], y_te[:1000])
    clean = x_te[:1000].astype(np.float64)
    for s in cache.default_settings(epochs=1, n_train=6000):
        trained = cache.train(s, data, tmp_path, progress=False, log=lambda m: None)
        test = trained.info["test"]
        assert test["n_images"] == 1000 and test["level"] == NOISES[s.noise].train_level
        # the errors again, the reconstruction by NumPy from the corrupted digits
        rec = Reconstruction(trained.model, NOISES[s.noise], s.noise)
        noisy, _ = rec(x_te[:1000], s.level, seed=s.seed)
        v = trained.model.get_values()
        W, b, c = (v[f"dae_{s.noise}.{k}"].astype(np.float64)
                   for k in ("enc.W", "enc.b", "dec.b"))
        out = _sigmoid(_sigmoid(noisy.astype(np.float64) @ W + b) @ W.T + c)
        rec_mse = np.mean((out - clean) ** 2)
        noisy_mse = np.mean((np.clip(noisy, 0, 1) - clean) ** 2)
        np.testing.assert_allclose(rec_mse, test["reconstruction_mse"], rtol=1e-4)
        np.testing.assert_allclose(noisy_mse, test["corrupted_mse"], rtol=1e-6)
        assert rec_mse < 0.9 * noisy_mse, (s.noise, rec_mse, noisy_mse)
        # and training is what did it: the untrained model is no denoiser
        untrained = Reconstruction(cache.build_model(s), NOISES[s.noise], s.noise)
        _, raw = untrained(x_te[:1000], s.level, seed=s.seed)
        assert np.mean((raw - clean) ** 2) > noisy_mse, s.noise
