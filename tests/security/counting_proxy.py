"""A reverse proxy in front of a real engine that counts what it forwards and injects faults.

It stands where a load balancer would: every request reaches the engine unchanged, so a
create_run that the client gives up on was still really created. It can hold a response back
(the client times out after the server acted) and answer 500 instead of forwarding.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

CREATE_RUN = re.compile(r"^/organizations/[^/]+/deployments/[^/]+/runs/?$")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "server", "date"}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ProxyState:
    upstream: str
    seen: list[Seen] = field(default_factory=list)
    # (method, path) -> status: answered by the proxy without forwarding.
    fail: Callable[[str, str], int | None] = lambda method, path: None
    # Seconds to hold the engine's answer to a create_run back after forwarding it.
    hold_create: float = 0.0
    # When set: the answer to a create_run waits (after forwarding) until this is set.
    gate: threading.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def creates(self) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.method == "POST" and CREATE_RUN.match(s.path)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def _handle(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        with state.lock:
            state.seen.append(Seen(self.command, path, dict(self.headers.items()), body))
        status = state.fail(self.command, path)
        if status is not None:
            payload = b'{"error": "internal_server_error", "error_description": "injected"}'
            self._reply(status, {"Content-Type": "application/json"}, payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        response = self.server.client.request(
            self.command, state.upstream + self.path, headers=headers, content=body
        )
        if self.command == "POST" and CREATE_RUN.match(path):
            if state.hold_create:
                time.sleep(state.hold_create)
            if state.gate is not None:
                state.gate.wait(timeout=60)
        relay = {k: v for k, v in response.headers.items() if k.lower() not in _HOP}
        self._reply(response.status_code, relay, response.content)

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting: that is the point of holding

    do_GET = _handle
    do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ProxyState
    client: httpx.Client


@contextmanager
def counting_proxy(upstream: str) -> Iterator[tuple[str, ProxyState]]:
    """(proxy url, state): a proxy on a free loopback port forwarding to `upstream`."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = ProxyState(upstream.rstrip("/"))
    server.client = httpx.Client(timeout=30, trust_env=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.state
    finally:
        server.shutdown()
        server.server_close()
        server.client.close()
