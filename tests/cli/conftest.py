"""Fixtures for the CLI tests: the commands run in-process against a fake Run API, or as
subprocesses against a real engine."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# The fake Run API and the fake clock are shared with the follow tests; test directories are
# not packages, so make that directory importable by name.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "follow"))

from follow_fakes import FakeClock, FakeRunApi

from runwatch.api.client import AsyncAPIClient
from runwatch.cli import command_setup
from runwatch.follow.schedule import PollSchedule
from tests.conftest import CLIENT_ENV_VARS


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No config file, no engine, none of the contract's variables from the developer's shell."""
    for name in CLIENT_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RUNWATCH_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("RUNWATCH_DATA_DIR", str(tmp_path / "no-engine"))
    # No ~/.abeja/config of the developer's: the abeja CLI's file is under HOME.
    (tmp_path / "home").mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def fake_api(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunApi]:
    """A FakeRunApi behind the CLI: its client goes through MockTransport, its clock is fake."""
    api = FakeRunApi(page_size=50)
    monkeypatch.setenv("ABEJA_API_URL", "http://fake.test")
    monkeypatch.setenv("ABEJA_ORGANIZATION_ID", api.organization_id)
    monkeypatch.setenv("PLATFORM_AUTH_TOKEN", "secret-token")
    clock = FakeClock()

    def make_client(settings: object, *, max_retry_count: int | None = None) -> AsyncAPIClient:
        async def no_sleep(seconds: float) -> None:
            return None

        return AsyncAPIClient(
            {"auth_token": "secret-token"},
            max_retry_count=0 if max_retry_count is None else max_retry_count,
            base_url="http://fake.test",
            transport=httpx.MockTransport(api.handle),
            sleep=no_sleep,
        )

    def make_schedule(settings: object) -> PollSchedule:
        return PollSchedule(interval=1.0, max_backoff=8.0, clock=clock, rng=random.Random(3))

    monkeypatch.setattr(command_setup, "make_client", make_client)
    monkeypatch.setattr(command_setup, "make_schedule", make_schedule)
    yield api


@pytest.fixture
def cli_env(engine: Any, tmp_path: Path) -> dict[str, str]:
    """The environment for `python -m runwatch` subprocesses aimed at the test's engine."""
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_ENV_VARS}
    env.update(engine.env)
    env["RUNWATCH_CONFIG"] = str(tmp_path / "config.toml")
    env["RUNWATCH_DATA_DIR"] = str(tmp_path / "no-engine")
    (tmp_path / "home").mkdir(exist_ok=True)
    env["HOME"] = str(tmp_path / "home")
    env["PYTHONUNBUFFERED"] = "1"
    return env
