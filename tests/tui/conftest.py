"""Fixtures for the TUI tests: an app pointed at the real engine, with short intervals."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.css.query import NoMatches
from textual.pilot import Pilot

from runwatch.config import Settings
from runwatch.tui.app import RunwatchApp
from runwatch.tui.state import StateStore

# A handler the tests drive: prints, waits for a gate file, prints more, finishes.
GATED_HANDLER = """
import os, sys, time

def handler(input_data, context):
    data = input_data or {}
    before = [f"before {i}\\n" for i in range(int(data.get("before", 1)))]
    if data.get("at_once"):
        # One write, one pipe read: the engine stores the lines at one instant.
        os.write(1, "".join(before).encode())
    for line in [] if data.get("at_once") else before:
        print(line, end="", flush=True)
    gate = data.get("gate")
    while gate and not os.path.exists(gate):
        time.sleep(0.02)
    for i in range(int(data.get("after", 0))):
        print(f"after {i}", flush=True)
        if data.get("pace"):
            time.sleep(float(data["pace"]))
    if data.get("fail"):
        raise SystemExit(1)
    return {"ok": True}
"""

FIXED_NOW = datetime(2026, 1, 1, 0, 1, 0, tzinfo=UTC)
FROZEN_ENGINE_CLOCK = "frozen:2026-01-01T00:00:00Z"


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWATCH_CONFIG", str(tmp_path / "no-config.toml"))
    for name in ("ABEJA_API_URL", "ABEJA_ORGANIZATION_ID", "PLATFORM_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def settings_for(engine: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "profile": None,
        "api_url": engine.url,
        "organization_id": engine.organization_id,
        "credential": dict(engine.credential),
        "poll_interval": 0.1,
        "idle_interval": 0.3,
        "max_backoff": 0.5,
        "bell": False,
    }
    values.update(overrides)
    return Settings(**values)


def make_app(engine: Any, tmp_path: Path, **kwargs: Any) -> RunwatchApp:
    settings = kwargs.pop("settings", None) or settings_for(engine)
    kwargs.setdefault("state_store", StateStore(tmp_path / "state"))
    kwargs.setdefault("export_dir", tmp_path)
    kwargs.setdefault("notify_status_changes", False)
    return RunwatchApp(settings, **kwargs)


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], object], within: float = 20.0, what: str = ""
) -> None:
    deadline = time.monotonic() + within
    while not _safely(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)


def _safely(predicate: Callable[[], object]) -> object:
    # Early on the screen may not have composed its widgets yet.
    try:
        return predicate()
    except (NoMatches, LookupError):
        return False


@pytest.fixture
def gated(engine: Any) -> Iterator[tuple[str, str]]:
    """(deployment_id, version_id) of GATED_HANDLER on the test engine."""
    yield engine.deploy_source(GATED_HANDLER, name="gated")


@pytest.fixture
def frozen_engine(tmp_path: Path) -> Iterator[Any]:
    """An engine whose every timestamp is 2026-01-01T00:00:00Z plus a microsecond counter."""
    from tests.conftest import start_engine

    proc = start_engine(tmp_path / "engine", env={"RUNWATCH_ENGINE_CLOCK": FROZEN_ENGINE_CLOCK})
    try:
        yield proc
    finally:
        proc.close()
