"""The HTTP front end on a loopback port: answers, refusals in JSON (also those the standard
library makes), connections closed after an unread body, a server that outlives bad clients,
and concurrent requests that each get their own seed's answer."""
import http.client
import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from benchmarks.dae_demo.server import is_loopback


def request(server, method, path, body=None, headers=None):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def raw(server, payload: bytes) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection(server.server_address[:2], timeout=10) as s:
        s.sendall(payload)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_serves_the_page_and_the_api(server, digit):
    assert server.url.startswith("http://127.0.0.1:")
    resp, data = request(server, "GET", "/")
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/html")
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    resp, data = request(server, "HEAD", "/api/models")
    assert resp.status == 200 and data == b"" and int(resp.getheader("Content-Length")) > 0
    body = json.dumps({"pixels": digit, "noise": "masking", "seed": 2})
    resp, data = request(server, "POST", "/api/reconstruct", body,
                         {"Content-Type": "application/json"})
    assert resp.status == 200 and len(json.loads(data)["reconstruction"]) == 784


def test_keep_alive_serves_several_requests_on_one_connection(server, digit):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    for seed in range(3):
        conn.request("POST", "/api/reconstruct",
                     json.dumps({"pixels": digit, "noise": "gaussian", "seed": seed}),
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Connection") != "close"
        resp.read()
    conn.close()


def test_oversized_body_is_refused_unread_and_the_connection_closed(server):
    head = (b"POST /api/reconstruct HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\n\r\n")
    out = raw(server, head + b"[" * 1000)  # the server answers without reading 10 MB
    status, _, rest = out.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 413")
    assert b"Connection: close" in rest
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["status"] == 413


@pytest.mark.parametrize("payload, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\n\r\n", 505),
    (b"FROB / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
])
def test_the_standard_library_refusals_are_json_too(server, payload, status):
    out = raw(server, payload)
    assert out.startswith(f"HTTP/1.1 {status}".encode()) or \
        out.startswith(f"HTTP/1.0 {status}".encode()), out[:80]
    body = json.loads(out.split(b"\r\n\r\n", 1)[1])
    assert body["status"] == status and body["error"]
    resp, _ = request(server, "GET", "/api/models")  # and the server goes on
    assert resp.status == 200


def test_a_client_that_disconnects_mid_body_does_not_stop_the_server(server, capfd):
    for _ in range(5):
        with socket.create_connection(server.server_address[:2], timeout=10) as s:
            s.sendall(b"POST /api/reconstruct HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/json\r\nContent-Length: 5000\r\n\r\n{\"pixels\": [")
    resp, _ = request(server, "GET", "/api/models")
    assert resp.status == 200
    assert "Traceback" not in capfd.readouterr().err  # a vanished client is no error


def test_concurrent_requests_each_get_their_own_seed(server, digit):
    def ask(seed):
        body = json.dumps({"pixels": digit, "noise": "salt_and_pepper", "seed": seed,
                           "model": "masking"})
        resp, data = request(server, "POST", "/api/reconstruct", body,
                             {"Content-Type": "application/json"})
        assert resp.status == 200
        return json.loads(data)
    serial = {seed: ask(seed) for seed in range(8)}
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(ask, list(range(8)) * 3))
    for k, answer in enumerate(parallel):
        assert answer == serial[k % 8]
    assert len({json.dumps(a["noisy"]) for a in serial.values()}) == 8


@pytest.mark.parametrize("host, loop", [("127.0.0.1", True), ("localhost", True),
                                        ("::1", True), ("127.1.2.3", True),
                                        ("0.0.0.0", False), ("192.168.1.5", False),
                                        ("example.org", False)])
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop
