"""Fixtures for the API client tests: a clean environment and a recording server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_recording_server import RecordingServer

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


@pytest.fixture(autouse=True)
def clean_sdk_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own ABEJA_* variables must not change what the tests send."""
    for name in SDK_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server
