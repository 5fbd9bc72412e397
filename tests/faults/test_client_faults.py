"""The client itself against the hostile proxy: what each failure is called, and the limits
that keep a hostile server from holding or flooding it (both clients, sync and async)."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from runwatch.api import APIClient, AsyncAPIClient
from runwatch.api.errors import (
    ApiError,
    ConnectionFailed,
    RequestTimeout,
    ResponseShapeError,
    Unauthorized,
)
from tests.conftest import EngineProcess
from tests.faults.hostile import FaultProxy


def call(kind: str, url: str, token: str, organization: str, timeout: float = 1) -> Any:
    """get_deployments through the sync or the async client, with a 1 s timeout, no retries."""
    if kind == "sync":
        with APIClient(
            {"auth_token": token}, timeout=timeout, max_retry_count=0, base_url=url
        ) as c:
            return c.get_deployments(organization)

    async def main() -> Any:
        async with AsyncAPIClient(
            {"auth_token": token}, timeout=timeout, max_retry_count=0, base_url=url
        ) as client:
            return await client.get_deployments(organization)

    return asyncio.run(main())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_each_failure_has_a_safe_reason_and_the_limits_hold(
    kind: str, shared_engine: EngineProcess, proxy: FaultProxy
) -> None:
    org, token = shared_engine.organization_id, shared_engine.token
    expected: dict[str, tuple[type[ApiError], str]] = {
        "hang": (RequestTimeout, "timed out waiting for an answer"),
        # Each read is quick, the whole is not: held to the timeout all the same.
        "trickle": (RequestTimeout, "timed out waiting for an answer"),
        "drop": (ConnectionFailed, "connection dropped"),
        "reset": (ConnectionFailed, "connection reset"),
        "truncate": (ConnectionFailed, "answer cut off"),
    }
    for fault, (error_type, reason) in expected.items():
        proxy.set(fault)
        started = time.monotonic()
        with pytest.raises(error_type) as caught:
            call(kind, proxy.url, token, org)
        assert caught.value.reason == reason, fault  # type: ignore[attr-defined]
        assert time.monotonic() - started < 10, fault
        assert token not in str(caught.value)
    # 70 MiB announced and sent, or 128 MiB inside 130 kB of gzip: refused at 64 MiB.
    for fault in ("huge-body", "gzip-bomb"):
        proxy.set(fault)
        with pytest.raises(ResponseShapeError, match="larger than 64 MiB"):
            # (10 s: reading 64 MiB on a loaded CI machine took over 1 s)
            call(kind, proxy.url, token, org, timeout=10)
    # A server quoting the credential back: the client's error text has it masked.
    proxy.set("echo-auth")
    with pytest.raises(Unauthorized) as unauthorized:
        call(kind, proxy.url, token, org)
    assert token not in str(unauthorized.value) and "***" in str(unauthorized.value)
    assert token not in repr(unauthorized.value._asdict())
    proxy.set("pass")
    assert "entries" in call(kind, proxy.url, token, org)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_refused_and_unresolvable_are_named(kind: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(ConnectionFailed) as refused:
            call(kind, f"http://127.0.0.1:{closed_port}", "tok-0123456789", "org")
    assert refused.value.reason == "connection refused"
    with pytest.raises(ConnectionFailed) as unknown:
        call(kind, "http://no-such-host.invalid", "tok-0123456789", "org")
    assert unknown.value.reason == "host not found"
