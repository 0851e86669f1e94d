import numpy as np
import pytest


@pytest.fixture
def blobs(rng):
    """A small 3-class problem: Gaussian blobs in 20 dimensions, values in [0, 1]."""
    def make(n_train=600, n_test=300, d=20, k=3, dtype="float64"):
        centers = rng.uniform(0.2, 0.8, (k, d))
        def draw(n):
            y = rng.integers(0, k, n).astype("int32")
            x = np.clip(centers[y] + rng.normal(0, 0.08, (n, d)), 0, 1).astype(dtype)
            return x, y
        return draw(n_train), draw(n_test)
    return make
