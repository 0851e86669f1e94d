"""Small trained demo models (the tiny MNIST of tests/benchmarks/conftest.py, 32 hidden units,
one epoch) and the app serving them, shared by the demo's tests."""
import threading

import numpy as np
import pytest

from benchmarks.dae_demo import cache
from benchmarks.dae_demo.server import make_server

HIDDEN = 32


def _tiny_settings(**kw):
    args = dict(epochs=1, n_train=400, hidden=HIDDEN)
    args.update(kw)
    return cache.default_settings(**args)


@pytest.fixture(scope="session")
def tiny_settings():
    """``tiny_settings(**overrides)``: the settings of the three small models."""
    return _tiny_settings


@pytest.fixture(scope="session")
def demo_models(tiny_mnist, tmp_path_factory):
    """(models, samples, folder): the three demo models trained on the tiny data."""
    folder = tmp_path_factory.mktemp("dae_models")
    models, samples = cache.prepare(folder, _tiny_settings(), data_dir=tiny_mnist,
                                    progress=False, log=lambda msg: None)
    return models, samples, folder


@pytest.fixture(scope="session")
def demo_app(demo_models):
    from benchmarks.dae_demo.api import DemoApp
    models, samples, _ = demo_models
    return DemoApp(models, samples)


@pytest.fixture(scope="session")
def digit(demo_models):
    """A test digit (784 floats in [0, 1]) as a list, the form requests carry."""
    return [float(v) for v in np.asarray(demo_models[1]["pixels"][0], dtype=np.float64)]


@pytest.fixture(scope="module")
def server(demo_app):
    """The demo's server on a free loopback port, serving from a thread."""
    srv = make_server(demo_app, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
