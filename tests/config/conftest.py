"""Config tests never see the developer's own config file, ~/.abeja or ABEJA_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CLIENT_ENV_VARS


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (*CLIENT_ENV_VARS, "RUNWATCH_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "cfg" / "config.toml"
    monkeypatch.setenv("RUNWATCH_CONFIG", str(path))
    # The abeja CLI's config is $HOME/.abeja/config: a HOME of the test's own.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return path
