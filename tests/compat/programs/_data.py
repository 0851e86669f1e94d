"""Deterministic toy datasets for the legacy programs (NumPy only, identical under any backend)."""
import numpy


def classification(n=600, n_in=20, n_out=3, seed=1234):
    """Gaussian blobs: (train, valid, test) pairs of (float64 matrix, int labels)."""
    rng = numpy.random.RandomState(seed)
    centres = rng.normal(0, 0.6, size=(n_out, n_in))
    y = rng.randint(0, n_out, size=n)
    x = centres[y] + rng.normal(0, 1.5, size=(n, n_in))
    a, b = int(n * 0.6), int(n * 0.8)
    return (x[:a], y[:a]), (x[a:b], y[a:b]), (x[b:], y[b:])


def images(n=60, side=12, seed=4321):
    """Two classes of noisy 1-channel images: a bright square top-left or bottom-right."""
    rng = numpy.random.RandomState(seed)
    y = rng.randint(0, 2, size=n)
    x = rng.uniform(0, 0.3, size=(n, side * side))
    for i in range(n):
        img = x[i].reshape(side, side)
        h = side // 2
        if y[i]:
            img[:h, :h] += 0.7
        else:
            img[h:, h:] += 0.7
    return x, y


def binary_patterns(n=200, n_vis=36, seed=99):
    """Binary vectors from a few prototypes with bit flips (for autoencoders and RBMs)."""
    rng = numpy.random.RandomState(seed)
    protos = rng.binomial(1, 0.5, size=(4, n_vis))
    idx = rng.randint(0, 4, size=n)
    flips = rng.binomial(1, 0.05, size=(n, n_vis))
    return numpy.abs(protos[idx] - flips).astype("float64")
