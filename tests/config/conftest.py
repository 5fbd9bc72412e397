"""Config tests never see the developer's own config file or ABEJA_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

VARIABLES = (
    "ABEJA_API_URL",
    "ABEJA_ORGANIZATION_ID",
    "ABEJA_DEPLOYMENT_ID",
    "PLATFORM_AUTH_TOKEN",
    "ABEJA_PLATFORM_USER_ID",
    "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN",
    "ABEJA_SDK_CONNECTION_TIMEOUT",
    "ABEJA_SDK_MAX_RETRY_COUNT",
    "RUNWATCH_PROFILE",
    "RUNWATCH_DATA_DIR",
)


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "cfg" / "config.toml"
    monkeypatch.setenv("RUNWATCH_CONFIG", str(path))
    return path
