"""A small Run API server that answers log tokens in each shape the contract allows.

The engine answers the seed's way (`[]`) or the CloudWatch way (the same token back); hosted
servers and proxies also send `null`, `""` or no key at all, and some send no usable token on
any answer. This server plays each of those on real HTTP on a loopback port, over a log that a
test grows while a client follows it, so followers are tested against what the engine cannot
be made to say. It serves what a log follower and `runwatch logs` use: one deployment (known
by its name too), its runs, `GET run`, `recentlogs`, `logs`.

Shapes (how "no more logs that way" is said, on any page, events or not):
  "string"  the engine's cloudwatch style: a position token always (the same one on an
            empty forward page)
  "seed"    `[]`            "same"   the token that was sent (a position when none was)
  "null"    `null`          "empty"  `""`          "absent"  no key at all
  "never"   `null` for every token on every answer, more logs or not

`logs_ignore_times=True`: `logs` ignores start_time/end_time (recentlogs still reads them).
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SHAPES = ("string", "seed", "same", "null", "empty", "absent", "never")
_NO_KEY = object()
EPOCH = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _wire_time(when: datetime, precision: str) -> str:
    if precision == "s":
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if precision == "ms":
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_param(value: str) -> datetime:
    text = value.rstrip("Z")
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class TokenShapeServer:
    """Serves one organization, one deployment and its runs; `add` grows a run's log."""

    organization_id = "1234567890123"
    organization_name = "acme-ml"
    deployment_id = "2345678901234"
    deployment_name = "mnist-train"
    token = "test-token-not-a-secret"
    user_id = "1122334455667"

    def __init__(
        self,
        shape: str = "seed",
        *,
        page_size: int = 7,
        precision: str = "us",
        end_inclusive_second: bool = True,
        logs_ignore_times: bool = False,
    ) -> None:
        if shape not in SHAPES:
            raise ValueError(shape)
        self.shape = shape
        self.page_size = page_size
        self.precision = precision
        self.end_inclusive_second = end_inclusive_second
        # `logs` answers as if no start_time/end_time had been sent (a server or proxy that
        # drops them): a reader by time slices must notice and read on sequentially.
        self.logs_ignore_times = logs_ignore_times
        self.lock = threading.Lock()
        self.runs: dict[str, dict[str, Any]] = {}
        self.logs: dict[str, list[tuple[datetime, str]]] = {}
        self.clock = EPOCH
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval: closing the server waits for one (0.5 s by default, per test).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what a test does ------------------------------------------------------------------

    @property
    def credential(self) -> dict[str, str]:
        return {"auth_token": self.token}

    @property
    def organization(self) -> str:
        return self.organization_id

    @property
    def env(self) -> dict[str, str]:
        return {
            "ABEJA_API_URL": self.url,
            "ABEJA_ORGANIZATION_ID": self.organization_id,
            "PLATFORM_AUTH_TOKEN": self.token,
        }

    @property
    def accepted_auth(self) -> tuple[str, str]:
        """An auth token as Bearer, or a user's personal access token as Basic, as hosted."""
        basic = base64.b64encode(f"user-{self.user_id}:{self.token}".encode()).decode()
        return f"Bearer {self.token}", f"Basic {basic}"

    def abeja_config(self) -> dict[str, str]:
        """The abeja CLI's ~/.abeja/config for this server: the organization by name."""
        return {
            "abeja-platform-user": self.user_id,
            "personal-access-token": self.token,
            "organization-name": self.organization_name,
            "abeja-api-url": self.url,
        }

    def add_run(self, run_id: str = "run-1", status: str = "RUNNING") -> str:
        with self.lock:
            self.runs[run_id] = {
                "run_id": run_id,
                "deployment_id": self.deployment_id,
                "status": status,
                "model_version": "1",
                "model_version_id": "ver-1111111111111111",
                "input_data": "{}",
                "user_env_vars": "{}",
                "retry_count": 0,
                "created_at": _wire_time(EPOCH, "us"),
                "modified_at": _wire_time(EPOCH, "us"),
            }
            self.logs[run_id] = []
        return run_id

    def set_status(self, run_id: str, status: str) -> None:
        with self.lock:
            self.runs[run_id]["status"] = status

    def add(self, run_id: str, messages: list[str], *, step: float = 0.3) -> None:
        """Append lines `step` seconds apart (0: all at one instant)."""
        with self.lock:
            for message in messages:
                self.logs[run_id].append((self.clock, message))
                self.clock += timedelta(seconds=step)

    def last_second_count(self, run_id: str) -> int:
        """How many lines share the second of the newest line."""
        with self.lock:
            newest = self.logs[run_id][-1][0].replace(microsecond=0)
            return sum(1 for when, _m in self.logs[run_id] if when >= newest)

    def messages(self, run_id: str) -> list[str]:
        with self.lock:
            return [message for _when, message in self.logs[run_id]]

    # -- the API ---------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                server.requests.append(self.path)
                if self.headers.get("Authorization") not in server.accepted_auth:
                    self._send(401, {"error": "unauthorized", "error_description": "bad token"})
                    return
                with server.lock:
                    status, body = server.answer(parts.path, query)
                self._send(status, body)

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if path in (
            f"/organizations/{self.organization_name}",
            f"/organizations/{self.organization_id}",
        ):
            return 200, {"id": self.organization_id, "name": self.organization_name}
        org = f"/organizations/{self.organization_id}"
        deployments = f"{org}/deployments"
        deployment = {
            "deployment_id": self.deployment_id,
            "name": self.deployment_name,
            "creator": {"display_name": "tester", "email": "t@example.com", "id": "1"},
            "default_environment": {},
            "runs": [],
            "services": [],
            "triggers": [],
            "created_at": _wire_time(EPOCH, "us"),
            "modified_at": _wire_time(EPOCH, "us"),
        }
        if path == deployments:
            return 200, {"entries": [deployment]}
        if path == f"{deployments}/{self.deployment_id}":
            return 200, deployment
        runs = f"{deployments}/{self.deployment_id}/runs"
        if path == runs:
            entries = sorted(self.runs.values(), key=lambda r: r["run_id"], reverse=True)
            return 200, {"entries": entries}
        for run_id, run in self.runs.items():
            if path == f"{runs}/{run_id}":
                return 200, run
            if path == f"{runs}/{run_id}/recentlogs":
                return 200, self._recent(self.logs[run_id], query)
            if path == f"{runs}/{run_id}/logs":
                return 200, self._logs(self.logs[run_id], query)
        return 404, {"error": "not_found", "error_description": f"no {path}"}

    def _window(self, log: list[tuple[datetime, str]], query: dict[str, str]) -> list[int]:
        start = _parse_param(query["start_time"]) if "start_time" in query else None
        end = _parse_param(query["end_time"]) if "end_time" in query else None
        if end is not None and self.end_inclusive_second:
            end += timedelta(microseconds=999_999)
        return [
            i
            for i, (when, _m) in enumerate(log)
            if (start is None or when >= start) and (end is None or when <= end)
        ]

    def _event(self, log: list[tuple[datetime, str]], index: int) -> dict[str, str]:
        when, message = log[index]
        return {"message": message, "timestamp": _wire_time(when, self.precision)}

    def _no_more(self, sent: str | None, position: str) -> Any:
        if self.shape == "string":
            return position
        if self.shape == "seed":
            return []
        if self.shape == "same":
            return sent if sent is not None else position
        if self.shape == "empty":
            return ""
        if self.shape == "absent":
            return _NO_KEY
        return None

    def _recent(self, log: list[tuple[datetime, str]], query: dict[str, str]) -> dict[str, Any]:
        window = self._window(log, query)
        size = self.page_size
        forward_sent = query.get("next_forward_token")
        backward_sent = query.get("next_backward_token")
        if forward_sent is not None:
            after = int(forward_sent[1:])
            chosen = [i for i in window if i >= after][:size]
        elif backward_sent is not None:
            before = int(backward_sent[1:])
            chosen = [i for i in window if i < before][-size:]
        else:
            chosen = window[-size:]
        if chosen:
            newest_position, oldest_position = chosen[-1] + 1, chosen[0]
        elif forward_sent is not None:
            newest_position = oldest_position = int(forward_sent[1:])
        elif backward_sent is not None:
            newest_position = oldest_position = int(backward_sent[1:])
        else:
            newest_position = oldest_position = len(log)
        more_after = any(i >= newest_position for i in window)
        more_before = any(i < oldest_position for i in window)
        body: dict[str, Any] = {"events": [self._event(log, i) for i in reversed(chosen)]}
        forward: Any = f"f{newest_position}"
        backward: Any = f"b{oldest_position}"
        if self.shape == "never":
            forward = backward = None
        else:
            if not more_after:
                forward = self._no_more(forward_sent, forward)
            if not more_before:
                backward = self._no_more(backward_sent, backward)
        for key, value in (("next_backward_token", backward), ("next_forward_token", forward)):
            if value is not _NO_KEY:
                body[key] = value
        return body

    def _logs(self, log: list[tuple[datetime, str]], query: dict[str, str]) -> dict[str, Any]:
        window = list(range(len(log))) if self.logs_ignore_times else self._window(log, query)
        after = int(query["next_token"][1:]) if "next_token" in query else 0
        rest = [i for i in window if i >= after]
        chosen = rest[: self.page_size]
        body: dict[str, Any] = {"events": [self._event(log, i) for i in chosen]}
        if len(rest) > len(chosen):
            body["next_token"] = f"n{chosen[-1] + 1}"
        return body
