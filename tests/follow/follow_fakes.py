"""Fakes shared by the follow tests (imported by module name: tests dirs are not packages)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient


class FakeClock:
    """A clock whose sleeps advance virtual time at once and are recorded.

    `real_pause`: real seconds each sleep takes besides, so an app driven by it keeps
    running between polls (0: just a yield).
    """

    def __init__(self, real_pause: float = 0.0) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.real_pause = real_pause

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        # Yield at least once so a task cancelling this sleep still gets a chance to run.
        await asyncio.sleep(self.real_pause)


class BlockingClock(FakeClock):
    """A clock whose sleeps never end by themselves: only a poke or a pause change wakes a wait."""

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.Event().wait()


EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class FakeRunApi:
    """An in-memory Run API for one run, served through httpx.MockTransport.

    Tokens follow the contract: `f:N` is the position after the first N events, `b:N` the
    position before event N. `faults` maps a request number (1-based, counting every request)
    to "503", "500", "429" or "drop" (the connection breaks, no response).
    `on_request(api, n)` runs before each request is answered: it lets a test grow the log
    or finish the run while the follower is polling.
    """

    def __init__(
        self,
        events: list[str] | None = None,
        *,
        page_size: int = 10,
        status: str = "RUNNING",
        run_id: str = "run-1",
        deployment_id: str = "dep-1",
        organization_id: str = "org-1",
    ) -> None:
        self.events: list[dict[str, str]] = []
        self.page_size = page_size
        self.status = status
        self.run_id = run_id
        self.deployment_id = deployment_id
        self.organization_id = organization_id
        self.faults: dict[int, str] = {}
        self.requests: list[httpx.Request] = []
        self.on_request: Callable[[FakeRunApi, int], None] | None = None
        self.runs: list[dict[str, Any]] = []
        self.runs_page_size = 3
        self.created: list[dict[str, Any]] = []
        self.add(*(events or []))

    def add(self, *messages: str) -> None:
        for message in messages:
            n = len(self.events)
            self.events.append(
                {
                    "message": message,
                    "timestamp": f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}.000000Z",
                }
            )

    def add_lines(self, count: int, prefix: str = "line") -> None:
        start = len(self.events)
        self.add(*(f"{prefix} {i}" for i in range(start, start + count)))

    @property
    def messages(self) -> list[str]:
        return [event["message"] for event in self.events]

    def client(self, **kwargs: Any) -> AsyncAPIClient:
        from runwatch.api.client import AsyncAPIClient

        async def no_sleep(seconds: float) -> None:
            return None

        return AsyncAPIClient(
            {"auth_token": "secret-token"},
            max_retry_count=kwargs.pop("max_retry_count", 0),
            base_url="http://fake.test",
            transport=httpx.MockTransport(self.handle),
            sleep=no_sleep,
            **kwargs,
        )

    def _error(self, status: int, name: str, description: str) -> httpx.Response:
        return httpx.Response(status, json={"error": name, "error_description": description})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        n = len(self.requests)
        if self.on_request is not None:
            self.on_request(self, n)
        fault = self.faults.get(n)
        if fault == "drop":
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        if fault == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if fault is not None:
            code = int(fault)
            return self._error(code, "fault", f"injected {code}")
        path = request.url.path
        base = f"/organizations/{self.organization_id}/deployments/{self.deployment_id}/runs"
        if path == base and request.method == "POST":
            return self._create_run(request)
        if path == base:
            return self._runs_page(request)
        if path == f"/organizations/{self.organization_id}/deployments":
            return httpx.Response(
                200, json={"entries": [{"deployment_id": self.deployment_id, "name": "fake"}]}
            )
        if (
            path
            == f"/organizations/{self.organization_id}/deployments/{self.deployment_id}/versions"
        ):
            return httpx.Response(200, json={"entries": [{"version_id": "ver-1", "version": "1"}]})
        if path == f"{base}/{self.run_id}":
            return httpx.Response(200, json=self.run_wire())
        if path == f"{base}/{self.run_id}/recentlogs":
            return self._recent(request)
        if path == f"{base}/{self.run_id}/logs":
            return self._logs(request)
        return self._error(404, "not_found", f"no such path {path}")

    def run_wire(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "deployment_id": self.deployment_id,
            "model_version_id": "ver-1",
            "model_version": "1",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "modified_at": "2026-01-01T00:00:05.000000Z",
        }

    def _create_run(self, request: httpx.Request) -> httpx.Response:
        self.created.append(json.loads(request.content))
        return httpx.Response(200, json={**self.run_wire(), "status": "SUBMITTED"})

    def _page(self, start: int, end: int, forward: int, backward: int) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "events": list(reversed(self.events[start:end])),
                "next_forward_token": f"f:{forward}",
                "next_backward_token": f"b:{backward}",
            },
        )

    def _recent(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        total = len(self.events)
        size = self.page_size
        forward = params.get("next_forward_token")
        backward = params.get("next_backward_token")
        try:
            if forward is not None:
                kind, value = forward.split(":")
                position = int(value)
                if kind != "f" or not 0 <= position <= total:
                    raise ValueError(forward)
                end = min(total, position + size)
                return self._page(position, end, end, position)
            if backward is not None:
                kind, value = backward.split(":")
                position = int(value)
                if kind != "b" or not 0 <= position <= total:
                    raise ValueError(backward)
                start = max(0, position - size)
                return self._page(start, position, position, start)
        except ValueError:
            return self._error(400, "bad_request", "invalid token")
        start = max(0, total - size)
        return self._page(start, total, total, start)

    def _logs(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("next_token")
        position = int(token) if token else 0
        end = min(len(self.events), position + self.page_size)
        body: dict[str, Any] = {"events": self.events[position:end]}
        if end < len(self.events):
            body["next_token"] = str(end)
        return httpx.Response(200, json=body)

    def _runs_page(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        ordered = list(self.runs)
        if params.get("scan_forward") != "True":
            ordered.reverse()
        position = int(params.get("next_page_token") or 0)
        end = position + self.runs_page_size
        body: dict[str, Any] = {"entries": ordered[position:end]}
        if end < len(ordered):
            body["next_page_token"] = str(end)
        return httpx.Response(200, json=body)
