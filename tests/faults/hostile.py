"""A small hostile HTTP server: a loopback proxy in front of a real engine that sabotages it.

Good data comes from the real engine; the proxy forwards every request to it until a test
switches it into a fault mode. Faults a real server cannot be made to produce are played at
the socket level: an answer that never comes, a body cut off mid-way, a connection dropped or
reset, a body that trickles in a byte at a time. `rewrite` edits the engine's JSON answers
(hostile run ids, ANSI escapes in log lines, wrong types) on their way to the client.
"""

from __future__ import annotations

import functools
import http.client
import json
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Rewrite = Callable[[str, Any], Any]

HTML_502 = (
    "<html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>"
    + "<!-- padding -->" * 2000
    + "</body></html>"
)

# Every fault the proxy can play. The status-code faults answer at once; the socket-level
# ones are what a broken network or a dying server does.
FAULTS = (
    "pass",  # forward to the engine (through `rewrite`, if set)
    "500",  # JSON error body
    "502",  # a proxy's HTML error page
    "503",  # plain text, Retry-After: 1
    "429",  # JSON error body, Retry-After: 1
    "hang",  # read the request, never answer (until released or closed)
    "drop",  # read the request, close the connection without a byte
    "reset",  # read the request, reset the connection (RST)
    "truncate",  # the engine's answer, cut off half-way with the connection closed
    "trickle",  # the engine's answer, one byte every 0.2 s (each read is quick, the whole is not)
    "not-json",  # 200 with an HTML page
    "empty",  # 200 with no body at all
    "garbage",  # 200, JSON content type, invalid UTF-8 bytes
    "404",  # JSON error body whose description is hostile (markup, escapes)
    "echo-auth",  # 401 whose description quotes the Authorization header it received
    "huge-body",  # 200 announcing and sending 70 MiB
    "gzip-bomb",  # 200, Content-Encoding: gzip, 130 kB that inflate to 128 MiB
)

# What a hostile server puts in any text field: Rich/Textual markup (one tag that closes
# nothing), CSI, a window title, OSC 52 (clipboard), an 8-bit CSI, CR, BEL, a bidi override.
HOSTILE_TEXT = "[b]\x1b[2J\x1b[31m[/]\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x9b31m\r\x07\u202e[/x]"


class FaultProxy:
    """A threaded loopback HTTP/1.1 server. Set `fault` (and `only`) from the test thread."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.fault = "pass"
        # When set, the fault applies only to paths containing this text; the rest pass.
        self.only: str | None = None
        self.rewrite: Rewrite | None = None
        # Maps the path a client asked for to the engine's (undoes a rewrite of ids).
        self.unmap: Callable[[str], str] | None = None
        self.served: Counter[str] = Counter()
        # (method, path, fault) of every request, in order.
        self.requests: list[tuple[str, str, str]] = []
        self._release = threading.Event()
        self._count_lock = threading.Lock()
        self._times: int | None = None
        self._closed = False
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def set(self, fault: str, *, only: str | None = None, times: int | None = None) -> None:
        """Answer with `fault` from now on; with `times`, only the next `times` requests it
        applies to (a storm that ends after so many requests, however slow the machine)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        # Hanging requests of the previous mode are let go (they then drop the connection).
        self._release.set()
        self._release = threading.Event()
        with self._count_lock:
            self.only = only
            self.fault = fault
            self._times = times

    def fault_for(self, path: str) -> str:
        if self.only is not None and self.only not in path:
            return "pass"
        with self._count_lock:
            if self._times is not None:
                if self._times <= 0:
                    return "pass"
                self._times -= 1
            return self.fault

    def wait_released(self, limit: float) -> None:
        release = self._release
        deadline = time.monotonic() + limit
        while not release.is_set() and not self._closed and time.monotonic() < deadline:
            release.wait(0.05)

    def close(self) -> None:
        self._closed = True
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a trickle or a hang closes its end: expected, not news
        # (and in-process CLI tests capture stderr, which must hold only the CLI's lines).
        return


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output clean

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        proxy = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = proxy.fault_for(self.path)
        proxy.served[fault] += 1
        proxy.requests.append((self.command, self.path, fault))
        if fault == "500":
            self._answer(
                500,
                json.dumps(
                    {"error": "internal_server_error", "error_description": "boom in the server"}
                ).encode(),
                "application/json",
            )
        elif fault == "502":
            self._answer(502, HTML_502.encode(), "text/html")
        elif fault == "503":
            self._answer(503, b"Service Unavailable", "text/plain", {"Retry-After": "1"})
        elif fault == "429":
            self._answer(
                429,
                b'{"error": "too_many_requests", "error_description": "slow down"}',
                "application/json",
                {"Retry-After": "1"},
            )
        elif fault == "404":
            answer = {"error": "not_found", "error_description": f"gone {HOSTILE_TEXT}"}
            self._answer(404, json.dumps(answer).encode(), "application/json")
        elif fault == "echo-auth":
            echoed = self.headers.get("Authorization", "")
            answer = {"error": "unauthorized", "error_description": f"bad credential {echoed}"}
            self._answer(401, json.dumps(answer).encode(), "application/json")
        elif fault == "huge-body":
            size = 70 * 2**20
            self._send_head(200, {"Content-Type": "application/json"}, size)
            chunk = b" " * 2**20
            try:
                for _ in range(70):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the client stopped reading, as it should
            self._drop()
        elif fault == "gzip-bomb":
            bomb = _gzip_bomb()
            self._answer(200, bomb, "application/json", {"Content-Encoding": "gzip"})
        elif fault == "hang":
            proxy.wait_released(60.0)
            self._drop()
        elif fault == "drop":
            self._drop()
        elif fault == "reset":
            self._reset()
        elif fault == "not-json":
            self._answer(200, b"<html><body>It works!</body></html>", "text/html")
        elif fault == "empty":
            self._answer(200, b"", "application/json")
        elif fault == "garbage":
            self._answer(200, b"\xff\xfe{\x00\xc3(", "application/json")
        else:
            status, headers, content = self._forward(body)
            if fault == "truncate":
                self._send_head(status, headers, len(content))
                self.wfile.write(content[: len(content) // 2])
                self.wfile.flush()
                self._drop()
            elif fault == "trickle":
                self._send_head(status, headers, len(content))
                for index in range(len(content)):
                    if proxy.fault != "trickle":
                        self.wfile.write(content[index:])
                        break
                    self.wfile.write(content[index : index + 1])
                    self.wfile.flush()
                    time.sleep(0.2)
                self.wfile.flush()
            else:
                self._send_head(status, headers, len(content))
                self.wfile.write(content)
                self.wfile.flush()

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        proxy = self.owner
        connection = http.client.HTTPConnection(
            proxy.upstream_host, proxy.upstream_port, timeout=30
        )
        headers = {
            key: value for key, value in self.headers.items() if key.lower() not in _HOP_HEADERS
        }
        path = self.path if proxy.unmap is None else proxy.unmap(self.path)
        try:
            connection.request(self.command, path, body=body or None, headers=headers)
            response = connection.getresponse()
            content = response.read()
            kept = {
                key: value
                for key, value in response.getheaders()
                if key.lower() not in _HOP_HEADERS and key.lower() != "content-length"
            }
            status = response.status
        finally:
            connection.close()
        if proxy.rewrite is not None and 200 <= status < 300:
            path = self.path.split("?", 1)[0]
            content = json.dumps(proxy.rewrite(path, json.loads(content))).encode()
        return status, kept, content

    def _send_head(self, status: int, headers: dict[str, str], length: int) -> None:
        self.send_response_only(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def _answer(
        self,
        status: int,
        content: bytes,
        content_type: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        self._send_head(status, {"Content-Type": content_type, **(extra or {})}, len(content))
        self.wfile.write(content)
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _reset(self) -> None:
        self.close_connection = True
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


@functools.cache
def _gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip format
    zeros = b" " * 2**20
    return b"".join(packer.compress(zeros) for _ in range(128)) + packer.flush()


_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "host", "te", "upgrade", "proxy-connection"}
)
