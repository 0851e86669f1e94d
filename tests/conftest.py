import numpy as np
import pytest

import symgraph


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


@pytest.fixture(autouse=True)
def _symgraph_type_names():
    """Types print in symgraph's own form here, even after a compat test imported ``theano``
    (which switches to Theano's names); tests/compat/conftest.py switches back for its
    tests."""
    from symgraph import types
    types.set_display_style(None)
    yield
