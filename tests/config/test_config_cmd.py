"""`runwatch config`: the path, the effective settings with their sources, secrets masked."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.cli import config_cmd
from runwatch.config import load_config

TOKEN = "env-token-0123456789abcdef"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="runwatch")
    parser.add_argument("--profile")
    config_cmd.register(parser.add_subparsers())
    return parser.parse_args(["config", *argv])


def test_shows_the_path_and_the_local_engine(
    isolated_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert config_cmd.run(parse()) == 0
    out = capsys.readouterr().out
    assert f"config file: {isolated_config} (not created yet)" in out
    assert "(local engine)" in out and "local_engine     true" in out


def test_masks_secrets_and_names_sources(
    isolated_config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("ABEJA_API_URL", "http://127.0.0.1:8123")
    assert config_cmd.run(parse()) == 0
    out = capsys.readouterr().out
    assert TOKEN not in out
    assert "****cdef" in out and "env PLATFORM_AUTH_TOKEN" in out
    assert "http://127.0.0.1:8123" in out and "env ABEJA_API_URL" in out


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_save_then_show_a_profile(
    isolated_config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("ABEJA_API_URL", "http://127.0.0.1:8123")
    monkeypatch.setenv("ABEJA_ORGANIZATION_ID", "1000000000001")
    assert config_cmd.run(parse("--save", "local", "--make-default")) == 0
    assert stat.S_IMODE(isolated_config.stat().st_mode) == 0o600
    saved = load_config(isolated_config)
    assert saved.default_profile == "local"
    assert saved.profiles["local"].auth_token == TOKEN
    for name in ("PLATFORM_AUTH_TOKEN", "ABEJA_API_URL", "ABEJA_ORGANIZATION_ID"):
        monkeypatch.delenv(name)
    capsys.readouterr()
    assert config_cmd.run(parse("--profile", "local")) == 0
    out = capsys.readouterr().out
    assert "(exists)" in out and "profile local" in out and TOKEN not in out


def test_save_refuses_when_nothing_is_configured(capsys: pytest.CaptureFixture[str]) -> None:
    assert config_cmd.run(parse("--save", "x")) == 2
    assert "nothing to save" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_warns_on_stderr_about_a_readable_secret(
    isolated_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated_config.parent.mkdir(parents=True)
    isolated_config.write_text(f'[profiles.p]\nauth_token = "{TOKEN}"\n')
    os.chmod(isolated_config, 0o644)
    assert config_cmd.run(parse("--profile", "p")) == 0
    captured = capsys.readouterr()
    assert "readable by other users" in captured.err and TOKEN not in captured.err + captured.out


def test_unknown_profile_exits_2(isolated_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert config_cmd.run(parse("--profile", "ghost")) == 2
    assert "no profile 'ghost'" in capsys.readouterr().err


def test_the_root_profile_flag_is_used_too(
    isolated_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated_config.parent.mkdir(parents=True)
    isolated_config.write_text('[profiles.p]\napi_url = "http://127.0.0.1:1"\n')
    parser = argparse.ArgumentParser(prog="runwatch")
    parser.add_argument("--profile")
    config_cmd.register(parser.add_subparsers())
    assert config_cmd.run(parser.parse_args(["--profile", "p", "config"])) == 0
    assert "http://127.0.0.1:1" in capsys.readouterr().out


def test_the_module_imports_only_the_standard_library() -> None:
    code = (
        "import sys, runwatch.cli.config_cmd as m; "
        "bad = [n for n in ('httpx', 'platformdirs', 'textual', 'runwatch.config') "
        "if n in sys.modules]; print(bad)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_through_the_console_script(isolated_config: Path) -> None:
    env = {**os.environ, "PLATFORM_AUTH_TOKEN": TOKEN, "ABEJA_API_URL": "http://127.0.0.1:1"}
    done = subprocess.run(
        [sys.executable, "-m", "runwatch", "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert str(isolated_config) in done.stdout
    assert TOKEN not in done.stdout + done.stderr and "****cdef" in done.stdout
