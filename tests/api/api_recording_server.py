"""A tiny HTTP server on 127.0.0.1 that records every request and answers canned JSON.

Both the official SDK (in a subprocess) and runwatch's clients talk to it, so a test can
compare exactly what each side put on the wire.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Everything the official SDK reads from the environment.
SDK_ENV = (
    "ABEJA_API_URL",
    "ABEJA_ORGANIZATION_ID",
    "PLATFORM_AUTH_TOKEN",
    "ABEJA_PLATFORM_USER_ID",
    "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN",
    "ABEJA_PLATFORM_DATASOURCE_ID",
    "ABEJA_PLATFORM_DATASOURCE_SECRET",
    "ABEJA_SDK_CONNECTION_TIMEOUT",
    "ABEJA_SDK_MAX_RETRY_COUNT",
)


@dataclass(frozen=True)
class Recorded:
    method: str
    target: str  # the raw request target: path and query, exactly as sent
    headers: dict[str, str]  # lower-cased names
    body: bytes
    client_port: int

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]


Responder = Callable[[Recorded, int], tuple[int, dict[str, str], bytes]]


def echo_index(request: Recorded, index: int) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"index": index, "method": request.method}).encode()
    return 200, {"Content-Type": "application/json"}, body


class RecordingServer:
    def __init__(self, responder: Responder = echo_index) -> None:
        self.requests: list[Recorded] = []
        self.responder = responder
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is observable

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    method=self.command,
                    target=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    client_port=self.client_address[1],
                )
                with server._lock:
                    index = len(server.requests)
                    server.requests.append(recorded)
                status, headers, payload = server.responder(recorded, index)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        # A short poll interval: shutdown() waits for the serving loop to notice, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def take(self) -> list[Recorded]:
        with self._lock:
            taken, self.requests = self.requests, []
        return taken
