import hashlib
import os

import numpy as np
import pytest

# FAST_RUN picks numba when it is installed ('auto'); the suite checks the NumPy back end by
# default (numba's paths have tests of their own, with explicit modes), unless asked otherwise
os.environ.setdefault("SYMGRAPH_BACKEND", "numpy")

import symgraph  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="run tests marked slow (the benchmark profile)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name: reproducible, different per test."""
    import zlib
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(autouse=True)
def _float64_default():
    with symgraph.config.change_flags(floatX="float64"):
        yield


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory):
    """A tiny MNIST-format dataset, so that tests need no download: a folder of uncompressed
    IDX files with 1000 training and 300 test 28×28 images (a class template plus noise)."""
    from models.data import write_idx
    folder = tmp_path_factory.mktemp("mnist")
    gen = np.random.default_rng(20240611)  # local to the fixture: the data must not vary
    templates = gen.uniform(0, 255, size=(10, 28, 28))
    for split, n in (("train", 1000), ("t10k", 300)):
        labels = gen.integers(0, 10, size=n).astype(np.uint8)
        images = 0.5 * templates[labels] + gen.uniform(0, 127, size=(n, 28, 28))
        write_idx(folder / f"{split}-images-idx3-ubyte", images.astype(np.uint8),
                  compress=False)
        write_idx(folder / f"{split}-labels-idx1-ubyte", labels, compress=False)
    # the loader verifies checksums: list ours, as a data folder's MD5SUMS does
    sums = [f"{hashlib.md5(f.read_bytes()).hexdigest()}  {f.name}"
            for f in sorted(folder.iterdir())]
    (folder / "MD5SUMS").write_text("\n".join(sums) + "\n")
    return folder


@pytest.fixture(autouse=True)
def _symgraph_type_names():
    """Types print in symgraph's own form here, even after a compat test imported ``theano``
    (which switches to Theano's names); tests/compat/conftest.py switches back for its
    tests."""
    from symgraph import types
    types.set_display_style(None)
    yield
