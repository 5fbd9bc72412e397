"""`quiet_after`: flag > RUNWATCH_QUIET_AFTER > profile > 10 minutes; durations; bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwatch.config import ConfigError, resolve_settings


def write(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[profiles.default]\napi_url = "http://127.0.0.1:1"\n'
        f'organization_id = "1"\nauth_token = "t"\nquiet_after = {value}\n'
    )
    return path


def test_the_order_and_the_units(tmp_path: Path) -> None:
    path = write(tmp_path, '"15m"')
    assert resolve_settings(environ={}, path=tmp_path / "none.toml").quiet_after == 600
    profile = resolve_settings(environ={}, path=path)
    assert (profile.quiet_after, profile.sources["quiet_after"]) == (900, "profile default")
    env = {"RUNWATCH_QUIET_AFTER": "1h"}
    assert resolve_settings(environ=env, path=path).quiet_after == 3600
    flagged = resolve_settings(environ=env, path=path, quiet_after="90s")
    assert (flagged.quiet_after, flagged.sources["quiet_after"]) == (90, "flag")
    assert resolve_settings(environ={}, local=True, quiet_after="0").quiet_after == 0
    assert resolve_settings(environ={}, path=write(tmp_path, "120")).quiet_after == 120


@pytest.mark.parametrize("value", ['"soon"', "-5", "true", '"10 min"'])
def test_a_bad_value_is_a_clear_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="quiet_after must be"):
        resolve_settings(environ={}, path=write(tmp_path, value))
    with pytest.raises(ConfigError, match="RUNWATCH_QUIET_AFTER must be"):
        resolve_settings(environ={"RUNWATCH_QUIET_AFTER": "x"}, local=True)
