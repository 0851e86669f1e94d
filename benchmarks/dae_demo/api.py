"""The demo's HTTP API as plain functions of a request: no sockets, so tests call it directly.

:class:`DemoApp` answers ``handle(method, target, headers, body_stream)`` with a
:class:`Response`. Routes:

===========================  ==========================================================
``GET /``                    the page (``static/index.html``); ``GET /static/<file>``
``GET /api/models``          the models, their training settings, history and test errors,
                             and the corruptions with their level ranges
``GET /api/samples``         the sample digits (``{"samples": [{"label", "pixels"}]}``)
``POST /api/reconstruct``    ``{"pixels": [784 numbers in 0..1], "noise": name,
                             "level": number, "seed": int, "model": name}`` (``level``
                             defaults to the noise's training level, ``seed`` to 0, ``model``
                             to the model trained on ``noise``) -> ``{"noisy": [...],
                             "reconstruction": [...], "model": {...}, "noise", "level",
                             "seed"}``
``GET /graph?noise=&model=`` the compiled reconstruction function drawn by
                             :func:`symgraph.d3viz` (an HTML page)
===========================  ==========================================================

Every refusal is JSON ``{"error": message, "status": code}`` (plus ``"field"`` naming the
offending request field): 400 (malformed or invalid request), 404 (unknown path), 405 (wrong
method, with ``Allow``), 411 (no ``Content-Length``), 413 (body over ``max_body`` bytes; not
read), 415 (not ``application/json``). An unexpected failure answers 500 and is logged; the
server keeps serving.
"""
from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass, field
from importlib import resources
from typing import IO, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

import numpy as np

from symgraph.graph_html import to_html

from benchmarks.dae_demo.cache import CachedModel
from benchmarks.dae_demo.noises import NOISES
from benchmarks.dae_demo.reconstruct import MAX_SEED, Reconstruction

log = logging.getLogger("benchmarks.dae_demo")

#: largest accepted request body (784 numbers written out take ~16 KB)
MAX_BODY = 64 * 1024
N_PIXELS = 784
REQUEST_FIELDS = ("pixels", "noise", "level", "seed", "model")
#: decimals of the returned pixel values (float32 holds ~7 significant digits)
DECIMALS = 6

_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
_JSON = "application/json; charset=utf-8"
_PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; script-src 'self'; "
                "style-src 'self'; connect-src 'self'; frame-ancestors 'none'")
# the graph page is one self-contained file: its script and style are inline
_GRAPH_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                 "img-src data:; frame-ancestors 'none'")


@dataclass
class Response:
    """What to send: status, body, content type, extra headers. ``close``: the request body
    was left unread, so the connection cannot carry another request."""

    status: int
    body: bytes
    content_type: str = _JSON
    headers: Dict[str, str] = field(default_factory=dict)
    close: bool = False

    def json(self):
        """The body parsed as JSON (for tests and clients)."""
        return json.loads(self.body)


class RequestError(Exception):
    """A refused request: its status, a message for the client and the field at fault."""

    def __init__(self, status: int, message: str, field: Optional[str] = None,
                 headers: Optional[Dict[str, str]] = None, close: bool = False):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.headers, self.close = dict(headers or {}), close


def json_response(data, status: int = 200, headers: Optional[Dict[str, str]] = None
                  ) -> Response:
    body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    return Response(status, body, _JSON, {"Cache-Control": "no-store", **(headers or {})})


def error_response(err: RequestError) -> Response:
    data = {"error": err.message, "status": err.status}
    if err.field is not None:
        data["field"] = err.field
    resp = json_response(data, err.status, err.headers)
    resp.close = err.close
    return resp


def load_static() -> Dict[str, Tuple[bytes, str]]:
    """The page's files shipped in the package (``static/``): name -> (bytes, type)."""
    folder = resources.files("benchmarks.dae_demo") / "static"
    files = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if entry.is_file() and suffix in _TYPES:
            files[entry.name] = (entry.read_bytes(), _TYPES[suffix])
    if "index.html" not in files:
        raise FileNotFoundError(f"the demo's page is missing from {folder} (is the package "
                                f"installed with its data files?)")
    return files


class DemoApp:
    """The demo's request handler over trained models.

    Parameters
    ----------
    cached : sequence of CachedModel
        The models, one per corruption (``cached[i].name`` is its noise).
    samples : dict, optional
        ``pixels`` (n, 784) and ``labels`` (n,) of the sample digits.
    max_body : int
        Largest accepted request body in bytes (413 above it).
    """

    def __init__(self, cached: Sequence[CachedModel], samples: Optional[dict] = None,
                 max_body: int = MAX_BODY):
        self.models: Dict[str, CachedModel] = {c.name: c for c in cached}
        if not self.models:
            raise ValueError("DemoApp needs at least one model")
        self.max_body = int(max_body)
        self.samples = samples
        # every (corruption, model) pair, compiled once: the server's threads share them
        self.reconstructions: Dict[Tuple[str, str], Reconstruction] = {
            (kind, name): Reconstruction(c.model, NOISES[kind], name)
            for kind in NOISES for name, c in self.models.items()}
        self.static = load_static()
        self._graphs: Dict[Tuple[str, str], bytes] = {}
        self._graph_lock = threading.Lock()
        self._routes: Dict[str, Dict[str, Callable]] = {
            "/": {"GET": self._index}, "/index.html": {"GET": self._index},
            "/api/models": {"GET": self._models},
            "/api/samples": {"GET": self._samples},
            "/api/reconstruct": {"POST": self._reconstruct},
            "/graph": {"GET": self._graph},
        }

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str],
               body: Optional[IO[bytes]] = None) -> Response:
        """The response to one request. ``headers`` may be any mapping (names are matched
        case-insensitively); ``body`` is read only after the headers were accepted, and at
        most ``Content-Length`` bytes of it."""
        try:
            return self._dispatch(method, target, _Headers(headers), body)
        except RequestError as err:
            return error_response(err)
        except Exception:  # a bug must not take the server down: log it, answer 500
            log.exception("internal error answering %s %s", method, target)
            return error_response(RequestError(500, "internal error (logged by the server)"))

    def _dispatch(self, method: str, target: str, headers: "_Headers",
                  body: Optional[IO[bytes]]) -> Response:
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/static/"):
            handlers = {"GET": self._static_file}
        else:
            handlers = self._routes.get(path)
        if handlers is None:
            raise RequestError(404, f"no such path: {path}; the API is GET /api/models, "
                                    f"GET /api/samples, POST /api/reconstruct, GET /graph")
        verb = "GET" if method == "HEAD" else method
        if verb not in handlers:
            allowed = ", ".join(sorted(set(handlers) | ({"HEAD"} if "GET" in handlers
                                                        else set())))
            raise RequestError(405, f"{method} is not allowed on {path}; use {allowed}",
                               headers={"Allow": allowed}, close=_has_body(headers))
        return handlers[verb](path=path, query=parts.query, headers=headers, body=body)

    # -- pages -----------------------------------------------------------------------------
    def _file(self, name: str) -> Response:
        data, ctype = self.static[name]
        headers = {"Cache-Control": "no-cache"}
        if ctype.startswith("text/html"):
            headers["Content-Security-Policy"] = _PAGE_POLICY
        return Response(200, data, ctype, headers)

    def _index(self, **_) -> Response:
        return self._file("index.html")

    def _static_file(self, path: str, **_) -> Response:
        name = path[len("/static/"):]
        if name not in self.static:
            raise RequestError(404, f"no such file: {path}")
        return self._file(name)

    def _graph(self, query: str, **_) -> Response:
        params = _query(query, ("noise", "model"))
        noise = params.get("noise", next(iter(NOISES)))
        if noise not in NOISES:
            raise RequestError(400, f"unknown noise {noise!r}; expected one of "
                                    f"{', '.join(NOISES)}", "noise")
        model = params.get("model", noise if noise in self.models else next(iter(self.models)))
        if model not in self.models:
            raise RequestError(400, f"unknown model {model!r}; expected one of "
                                    f"{', '.join(self.models)}", "model")
        with self._graph_lock:
            page = self._graphs.get((noise, model))
            if page is None:
                rec = self.reconstructions[(noise, model)]
                title = f"{rec.function.name}: {NOISES[noise].title} noise, model trained " \
                        f"on {NOISES[model].title if model in NOISES else model} noise"
                page = to_html(rec.function, title=title).encode()
                self._graphs[(noise, model)] = page
        return Response(200, page, _TYPES[".html"],
                        {"Cache-Control": "no-cache", "Content-Security-Policy": _GRAPH_POLICY})

    # -- API -------------------------------------------------------------------------------
    def _model_info(self, name: str, history: bool = True) -> dict:
        c = self.models[name]
        info = c.info or {}
        out = {"name": name, "noise": c.settings.noise, "level": c.settings.level,
               "settings": c.settings.to_dict(), "train_seconds": info.get("train_seconds"),
               "test": info.get("test")}
        if history:
            keys = ("epoch", "train_loss", "test_loss", "denoise_mse", "corrupted_mse",
                    "seconds")
            out["history"] = [{k: h.get(k) for k in keys} for h in info.get("history", [])]
        return out

    def _models(self, **_) -> Response:
        return json_response({"models": [self._model_info(n) for n in self.models],
                              "noises": [k.describe() for k in NOISES.values()],
                              "image": {"width": 28, "height": 28}, "max_body": self.max_body,
                              "max_seed": MAX_SEED})

    def _samples(self, **_) -> Response:
        if self.samples is None:
            return json_response({"samples": []})
        return json_response({"samples": [
            {"label": int(label), "pixels": _rounded(px)}
            for px, label in zip(self.samples["pixels"], self.samples["labels"])]})

    def _reconstruct(self, headers: "_Headers", body: Optional[IO[bytes]], **_) -> Response:
        req = self._read_json(headers, body)
        if not isinstance(req, dict):
            raise RequestError(400, f"the body must be a JSON object with fields "
                                    f"{', '.join(REQUEST_FIELDS)}, got a {_json_type(req)}")
        unknown = sorted(set(req) - set(REQUEST_FIELDS))
        if unknown:
            raise RequestError(400, f"unknown field(s) {', '.join(map(repr, unknown))}; "
                                    f"expected {', '.join(REQUEST_FIELDS)}", unknown[0])
        pixels = _pixels(req.get("pixels"))
        noise = req.get("noise")
        if noise is None:
            raise RequestError(400, f"noise is required: one of {', '.join(NOISES)}", "noise")
        if not isinstance(noise, str) or noise not in NOISES:
            raise RequestError(400, f"unknown noise {noise!r}; expected one of "
                                    f"{', '.join(NOISES)}", "noise")
        kind = NOISES[noise]
        model = req.get("model", noise)
        if not isinstance(model, str) or model not in self.models:
            raise RequestError(400, f"unknown model {model!r}; expected one of "
                                    f"{', '.join(self.models)}", "model")
        try:
            level = kind.check_level(req.get("level", kind.train_level))
        except (TypeError, ValueError) as e:
            raise RequestError(400, str(e), "level") from None
        seed = req.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise RequestError(400, f"seed must be an integer in [0, {MAX_SEED}], got "
                                    f"{seed!r}", "seed")
        noisy, rec = self.reconstructions[(noise, model)](pixels, level, seed)
        return json_response({"noisy": _rounded(noisy), "reconstruction": _rounded(rec),
                              "model": self._model_info(model, history=False),
                              "noise": noise, "level": level, "seed": seed})

    def _read_json(self, headers: "_Headers", body: Optional[IO[bytes]]):
        ctype = headers.get("content-type", "")
        media, _, params = ctype.partition(";")
        if media.strip().lower() != "application/json":
            raise RequestError(415, f"the body must be JSON (Content-Type: application/json), "
                                    f"got Content-Type {ctype or '(none)'!r}", close=True)
        charset = params.strip().lower()
        if charset and charset.replace(" ", "") not in ("charset=utf-8", "charset=\"utf-8\""):
            raise RequestError(415, f"the body must be UTF-8 JSON, got {ctype!r}", close=True)
        if "transfer-encoding" in headers:
            raise RequestError(411, "send the body with a Content-Length (chunked transfer "
                                    "encoding is not accepted)", close=True)
        lengths = headers.get_all("content-length")
        if not lengths:
            raise RequestError(411, "a Content-Length header is required", close=True)
        if len(set(lengths)) > 1 or not lengths[0].strip().isdigit():
            raise RequestError(400, f"bad Content-Length {', '.join(lengths)!r}", close=True)
        n = int(lengths[0])
        if n > self.max_body:
            raise RequestError(413, f"the body has {n} bytes; at most {self.max_body} are "
                                    f"accepted", close=True)
        data = body.read(n) if (body is not None and n) else b""
        if len(data) != n:
            raise RequestError(400, f"the body ended after {len(data)} of its {n} bytes",
                               close=True)
        try:
            return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
        except UnicodeDecodeError as e:
            raise RequestError(400, f"the body is not UTF-8 ({e.reason} at byte "
                                    f"{e.start})") from None
        except ValueError as e:
            raise RequestError(400, f"the body is not valid JSON ({e})") from None
        except RecursionError:
            raise RequestError(400, "the body is not valid JSON (nested too deeply)") from None


class _Headers:
    """Case-insensitive view of request headers (``http.client.HTTPMessage`` or a dict)."""

    def __init__(self, headers: Mapping[str, str]):
        self._all: Dict[str, List[str]] = {}
        items = headers.items() if headers is not None else ()
        for k, v in items:
            self._all.setdefault(k.lower(), []).append(str(v))

    def get(self, name: str, default: str = "") -> str:
        values = self._all.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> List[str]:
        return list(self._all.get(name.lower(), ()))

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._all


def _has_body(headers: _Headers) -> bool:
    return "transfer-encoding" in headers or headers.get("content-length", "0").strip() not in (
        "", "0")


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _json_type(value) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null", int: "number",
            float: "number"}.get(type(value), type(value).__name__)


def _pixels(value) -> np.ndarray:
    """The request's pixels as float64 (validated: 784 finite numbers in [0, 1])."""
    if value is None:
        raise RequestError(400, f"pixels is required: a list of {N_PIXELS} numbers in [0, 1] "
                                f"(28x28, row by row)", "pixels")
    if not isinstance(value, list):
        raise RequestError(400, f"pixels must be a list of {N_PIXELS} numbers, got a "
                                f"{_json_type(value)}", "pixels")
    if len(value) != N_PIXELS:
        raise RequestError(400, f"pixels must have {N_PIXELS} values (28x28), got "
                                f"{len(value)}", "pixels")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise RequestError(400, f"pixels[{i}] must be a number, got a {_json_type(v)}",
                               "pixels")
        if not (math.isfinite(v) and 0 <= v <= 1):
            raise RequestError(400, f"pixels[{i}] is {v!r}; values must be in [0, 1]",
                               "pixels")
    return np.asarray(value, dtype=np.float64)


def _query(query: str, allowed: Sequence[str]) -> Dict[str, str]:
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query),
                          max_num_fields=len(allowed) + 1)
    except ValueError as e:
        raise RequestError(400, f"bad query string ({e})") from None
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise RequestError(400, f"unknown query parameter(s) {', '.join(unknown)}; expected "
                                f"{', '.join(allowed)}", unknown[0])
    twice = [k for k, v in params.items() if len(v) > 1]
    if twice:
        raise RequestError(400, f"query parameter {twice[0]} given twice", twice[0])
    return {k: v[0] for k, v in params.items()}


def _rounded(values: np.ndarray) -> list:
    return np.round(np.asarray(values, dtype=np.float64), DECIMALS).tolist()
