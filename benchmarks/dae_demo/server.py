"""The HTTP front end: the standard library's ``ThreadingHTTPServer`` around a
:class:`~benchmarks.dae_demo.api.DemoApp`.

Each request is handed to ``app.handle`` (which never raises); the handler only moves bytes.
Connections are kept alive (HTTP/1.1) unless a refused request left its body unread. Errors the
standard library detects itself (a malformed request line, oversized headers, an unknown
method) are answered in the API's JSON shape too. A client that stalls is dropped after
``timeout`` seconds, so it cannot hold a thread forever.
"""
from __future__ import annotations

import ipaddress
import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

from benchmarks.dae_demo.api import DemoApp, Response


class DemoRequestHandler(BaseHTTPRequestHandler):
    """Passes every request to ``self.server.app`` and writes its :class:`Response`."""

    server_version = "symgraph-dae-demo"
    protocol_version = "HTTP/1.1"
    #: seconds a client may take to send a request (socket timeout)
    timeout = 15

    def _dispatch(self) -> None:
        resp: Response = self.server.app.handle(self.command, self.path, self.headers,
                                                self.rfile)
        self._send(resp)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if resp.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def send_error(self, code: int, message: Optional[str] = None,
                   explain: Optional[str] = None) -> None:
        """The standard library's own refusals (bad request line, headers too large, unknown
        method...), in the API's JSON shape."""
        short, _ = self.responses.get(code, ("error", ""))
        body = json.dumps({"error": message or short, "status": code}).encode()
        if self.request_version == "HTTP/0.9":  # the request line was not understood:
            self.request_version = "HTTP/1.0"   # answer with a status line and headers
        self.log_error("code %d, message %s", code, message)
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


class DemoServer(ThreadingHTTPServer):
    """A threading HTTP server holding the app; ``quiet`` silences the request log."""

    daemon_threads = True

    def __init__(self, address, app: DemoApp, quiet: bool = False):
        self.app, self.quiet = app, quiet
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, DemoRequestHandler)

    def handle_error(self, request, client_address) -> None:
        """A client that went away (reset, closed before reading its answer) needs no
        traceback; anything else is reported by the base class."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


def make_server(app: DemoApp, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False) -> DemoServer:
    """A server for ``app`` bound to ``host:port`` (port 0: a free port, see ``.url``)."""
    return DemoServer((host, port), app, quiet)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (a loopback address or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
