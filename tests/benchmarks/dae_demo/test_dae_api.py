"""The demo's API called directly (no sockets): good requests against NumPy references, and
every kind of bad request refused with its status and a message naming the problem."""
import io
import json

import numpy as np
import pytest

from benchmarks.dae_demo.api import MAX_BODY, N_PIXELS, DemoApp
from benchmarks.dae_demo.noises import NOISES


def post(app, body, headers=None, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    h = {"Content-Type": "application/json", "Content-Length": str(len(data))}
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    return app.handle("POST", "/api/reconstruct", h, io.BytesIO(data))


def get(app, target):
    return app.handle("GET", target, {}, io.BytesIO(b""))


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def reference(app, model, noisy):
    """The tied autoencoder's reconstruction of ``noisy`` in NumPy (float64)."""
    values = app.models[model].model.get_values()
    W = values[f"dae_{model}.enc.W"].astype(np.float64)
    b = values[f"dae_{model}.enc.b"].astype(np.float64)
    c = values[f"dae_{model}.dec.b"].astype(np.float64)
    return _sigmoid(_sigmoid(np.asarray(noisy) @ W + b) @ W.T + c)


@pytest.mark.parametrize("noise", list(NOISES))
@pytest.mark.parametrize("model", list(NOISES))
def test_reconstruction_matches_numpy(demo_app, digit, noise, model):
    resp = post(demo_app, {"pixels": digit, "noise": noise, "level": 0.3, "seed": 5,
                           "model": model})
    assert resp.status == 200, resp.body
    assert resp.content_type.startswith("application/json")
    out = resp.json()
    assert (out["noise"], out["level"], out["seed"]) == (noise, 0.3, 5)
    assert out["model"]["name"] == model and out["model"]["noise"] == model
    noisy, rec = np.array(out["noisy"]), np.array(out["reconstruction"])
    assert noisy.shape == rec.shape == (N_PIXELS,)
    np.testing.assert_allclose(rec, reference(demo_app, model, noisy), atol=2e-6)
    x = np.array(digit)
    if noise == "masking":  # kept or zeroed
        assert np.all(np.isclose(noisy, x, atol=1e-6) | (noisy == 0))
        assert 0.15 < np.mean((noisy == 0) & (x > 0)) / np.mean(x > 0) < 0.45
    elif noise == "salt_and_pepper":  # kept, 0 or 1
        assert np.all(np.isclose(noisy, x, atol=1e-6) | (noisy == 0) | (noisy == 1))
        assert 0.2 < np.mean(~np.isclose(noisy, x, atol=1e-6)) < 0.4 * 1.5
    else:  # additive, variance 0.3
        assert abs(np.std(noisy - x) - np.sqrt(0.3)) < 0.06


def test_noise_is_fixed_by_the_seed_and_shared_by_the_models(demo_app, digit):
    def noisy(seed, model="masking", noise="salt_and_pepper"):
        return post(demo_app, {"pixels": digit, "noise": noise, "seed": seed,
                               "model": model}).json()["noisy"]
    assert noisy(3) == noisy(3) == noisy(3, model="gaussian")
    assert noisy(3) != noisy(4)
    # defaults: the noise's own model, its training level, seed 0
    out = post(demo_app, {"pixels": digit, "noise": "gaussian"}).json()
    assert out["model"]["name"] == "gaussian"
    assert out["level"] == NOISES["gaussian"].train_level and out["seed"] == 0
    assert out["noisy"] == noisy(0, model="masking", noise="gaussian")


@pytest.mark.parametrize("noise", list(NOISES))
def test_level_zero_is_the_clean_input(demo_app, digit, noise):
    out = post(demo_app, {"pixels": digit, "noise": noise, "level": 0, "seed": 1}).json()
    np.testing.assert_allclose(out["noisy"], digit, atol=1e-6)


def test_models_samples_page_and_graph(demo_app, demo_models):
    info = get(demo_app, "/api/models").json()
    assert [m["name"] for m in info["models"]] == list(NOISES)
    for m in info["models"]:
        assert m["settings"]["noise"] == m["name"] and m["settings"]["hidden"] == 32
        assert m["test"]["reconstruction_mse"] > 0 and len(m["history"]) == 1
    assert [n["name"] for n in info["noises"]] == list(NOISES)
    samples = get(demo_app, "/api/samples").json()["samples"]
    np.testing.assert_allclose([s["pixels"] for s in samples], demo_models[1]["pixels"],
                               atol=1e-6)
    assert [s["label"] for s in samples] == demo_models[1]["labels"].tolist()
    page = get(demo_app, "/")
    assert page.status == 200 and b'src="/static/app.js"' in page.body
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for name in ("app.js", "style.css"):
        assert get(demo_app, f"/static/{name}").status == 200
    head = demo_app.handle("HEAD", "/", {}, None)
    assert head.status == 200 and head.body == page.body  # the server drops HEAD's body
    graph = get(demo_app, "/graph?noise=gaussian&model=masking")
    assert graph.status == 200 and graph.content_type.startswith("text/html")
    assert b"reconstruct_gaussian_by_masking" in graph.body
    assert get(demo_app, "/graph").status == 200


BAD = [
    # (what, request, status, field, words in the message)
    ("no pixels", dict(body={"noise": "masking"}), 400, "pixels", "required"),
    ("too few pixels", dict(body={"pixels": [0.5] * 783, "noise": "masking"}), 400, "pixels",
     "784 values"),
    ("too many pixels", dict(body={"pixels": [0.5] * 785, "noise": "masking"}), 400,
     "pixels", "got 785"),
    ("pixels not a list", dict(body={"pixels": "0.5", "noise": "masking"}), 400, "pixels",
     "list"),
    ("pixel above 1", dict(body={"pixels": [0.5] * 10 + [1.5] + [0] * 773,
                                 "noise": "masking"}), 400, "pixels", "pixels[10]"),
    ("negative pixel", dict(body={"pixels": [-0.1] + [0] * 783, "noise": "masking"}), 400,
     "pixels", "[0, 1]"),
    ("pixel a string", dict(body={"pixels": ["0.5"] + [0] * 783, "noise": "masking"}), 400,
     "pixels", "number"),
    ("pixel a boolean", dict(body={"pixels": [True] + [0] * 783, "noise": "masking"}), 400,
     "pixels", "number"),
    ("pixel null", dict(body={"pixels": [None] + [0] * 783, "noise": "masking"}), 400,
     "pixels", "number"),
    ("NaN pixel", dict(raw=b'{"pixels": [NaN' + b", 0" * 783 + b'], "noise": "masking"}'),
     400, None, "NaN"),
    ("huge pixel", dict(raw=b'{"pixels": [1e999' + b", 0" * 783 + b'], "noise": "masking"}'),
     400, "pixels", "[0, 1]"),
    ("unknown noise", dict(body={"pixels": [0] * 784, "noise": "speckle"}), 400, "noise",
     "speckle"),
    ("no noise", dict(body={"pixels": [0] * 784}), 400, "noise", "required"),
    ("noise not a string", dict(body={"pixels": [0] * 784, "noise": 1}), 400, "noise",
     "unknown"),
    ("unknown model", dict(body={"pixels": [0] * 784, "noise": "masking", "model": "x"}),
     400, "model", "unknown model"),
    ("level above range", dict(body={"pixels": [0] * 784, "noise": "masking", "level": 1.5}),
     400, "level", "[0, 1]"),
    ("negative level", dict(body={"pixels": [0] * 784, "noise": "gaussian", "level": -1}), 400,
     "level", "[0, 2]"),
    ("level a string", dict(body={"pixels": [0] * 784, "noise": "masking", "level": "0.5"}),
     400, "level", "number"),
    ("seed negative", dict(body={"pixels": [0] * 784, "noise": "masking", "seed": -1}), 400,
     "seed", "seed"),
    ("seed a float", dict(body={"pixels": [0] * 784, "noise": "masking", "seed": 1.5}), 400,
     "seed", "integer"),
    ("seed too large", dict(body={"pixels": [0] * 784, "noise": "masking", "seed": 2 ** 60}),
     400, "seed", "integer"),
    ("unknown field", dict(body={"pixels": [0] * 784, "noise": "masking", "levle": 0.3}), 400,
     "levle", "unknown field"),
    ("not an object", dict(body=[0] * 784), 400, None, "JSON object"),
    ("not JSON", dict(raw=b"pixels=0.5"), 400, None, "not valid JSON"),
    ("truncated JSON", dict(raw=b'{"pixels": [0.5,'), 400, None, "not valid JSON"),
    ("not UTF-8", dict(raw=b'{"noise": "\xff"}'), 400, None, "UTF-8"),
    ("deeply nested", dict(raw=b"[" * 50000 + b"]" * 50000, headers={}), 413, None,
     "at most"),
    ("nested past the recursion limit", dict(raw=b"[" * 30000 + b"]" * 30000), 400, None,
     "JSON"),
    ("wrong content type", dict(body={}, headers={"Content-Type": "text/plain"}), 415, None,
     "application/json"),
    ("form content type", dict(body={}, headers={
        "Content-Type": "application/x-www-form-urlencoded"}), 415, None, "JSON"),
    ("other charset", dict(body={}, headers={
        "Content-Type": "application/json; charset=latin-1"}), 415, None, "UTF-8"),
    ("no content type", dict(body={}, headers={"Content-Type": None}), 415, None, "(none)"),
    ("no length", dict(body={}, headers={"Content-Length": None}), 411, None,
     "Content-Length"),
    ("chunked", dict(body={}, headers={"Transfer-Encoding": "chunked"}), 411, None,
     "chunked"),
    ("bad length", dict(body={}, headers={"Content-Length": "ten"}), 400, None,
     "Content-Length"),
    ("oversized body", dict(raw=b" " * (MAX_BODY + 1)), 413, None, str(MAX_BODY)),
    ("short body", dict(raw=b"{}", headers={"Content-Length": "10"}), 400, None, "ended"),
]


@pytest.mark.parametrize("what, req, status, field, words", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_are_refused_with_a_clear_message(demo_app, what, req, status, field,
                                                       words):
    resp = post(demo_app, req.get("body"), req.get("headers"), req.get("raw"))
    assert resp.status == status, resp.body
    out = resp.json()
    assert out["status"] == status and words in out["error"], out
    assert out.get("field") == field
    if status in (411, 413, 415):
        assert resp.close  # the body was not read: the connection must not be reused


@pytest.mark.parametrize("method, target, status, allow", [
    ("GET", "/nope", 404, None),
    ("GET", "/static/../api.py", 404, None),
    ("GET", "/static/missing.js", 404, None),
    ("GET", "/api/reconstruct", 405, "POST"),
    ("POST", "/api/models", 405, "GET, HEAD"),
    ("DELETE", "/", 405, "GET, HEAD"),
    ("GET", "/graph?noise=speckle", 400, None),
    ("GET", "/graph?model=speckle", 400, None),
    ("GET", "/graph?noise=masking&noise=gaussian", 400, None),
    ("GET", "/graph?color=red", 400, None),
])
def test_unknown_paths_and_methods(demo_app, method, target, status, allow):
    resp = demo_app.handle(method, target, {"Content-Length": "0"}, io.BytesIO(b""))
    assert resp.status == status
    assert resp.json()["status"] == status and resp.json()["error"]
    if allow:
        assert resp.headers["Allow"] == allow


def test_an_internal_error_answers_500_and_the_app_goes_on(demo_app, digit, monkeypatch):
    rec = demo_app.reconstructions[("masking", "masking")]

    def broken(*args):
        raise RuntimeError("boom")
    monkeypatch.setattr(rec, "function", broken)
    resp = post(demo_app, {"pixels": digit, "noise": "masking"})
    assert resp.status == 500 and "internal error" in resp.json()["error"]
    assert "boom" not in resp.json()["error"]  # no internals to the client
    monkeypatch.undo()
    assert post(demo_app, {"pixels": digit, "noise": "masking"}).status == 200


def test_the_app_needs_models():
    with pytest.raises(ValueError, match="at least one model"):
        DemoApp([], None)
