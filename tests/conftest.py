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
