"""Fixtures for the API client tests: a clean environment and a recording server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_recording_server import SDK_ENV, RecordingServer


@pytest.fixture(autouse=True)
def clean_sdk_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own ABEJA_* variables must not change what the tests send."""
    for name in SDK_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server
