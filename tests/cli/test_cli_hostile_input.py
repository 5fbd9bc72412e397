"""Hostile arguments and unusable data dirs: one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from follow_fakes import FakeRunApi

from runwatch.cli import common, formats, main
from runwatch.tui.screens.submit_fields import parse_json_object
from tests.conftest import CLIENT_ENV_VARS


def runwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwatch", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def cli_env_no_api(tmp_path: Path) -> dict[str, str]:
    """No API in the environment and no config file: the commands look for the local engine."""
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_ENV_VARS}
    env["RUNWATCH_CONFIG"] = str(tmp_path / "config.toml")
    return env


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    assert stderr.count("\n") == 1, stderr
    return stderr


# ---------------------------------------------------------------- strict JSON, one rule

# The local engine's limit too (runwatch.json_text.MAX_DEPTH).
MAX_DEPTH = 64
NOT_JSON = [
    ('{"a": NaN}', "NaN is not a JSON number"),
    ('{"a": -Infinity}', "-Infinity is not a JSON number"),
    ('{"a": 1e999}', "the number 1e999 is out of range"),
    ('{"a": "\\ud800"}', "lone surrogate (\\ud800)"),
    ('{"\\udfff": 1}', "lone surrogate (\\udfff)"),
    ('{"a": "\udcff"}', "lone surrogate (\\udcff)"),  # a non-UTF-8 byte of argv
    ('{"a": ' + "1" * 5000 + "}", "a number has too many digits"),
    ('{"a": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}", f"deeper than {MAX_DEPTH} levels"),
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", f"deeper than {MAX_DEPTH} levels"),
    ('{"a": [1,', "invalid JSON at line 1 col 10"),
]


@pytest.mark.parametrize(("text", "reason"), NOT_JSON, ids=lambda v: str(v)[:24])
def test_non_standard_json_is_refused_by_the_cli_and_the_form_alike(text: str, reason: str) -> None:
    from runwatch.json_text import JsonTextError, parse_strict_json

    with pytest.raises(JsonTextError) as raised:
        parse_strict_json(text)
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)
    # The dashboard's submit form uses the same rule: a field error, nothing sent.
    assert parse_json_object(text, what="input data") == (None, str(raised.value))


def test_strict_json_takes_what_any_parser_reads_back() -> None:
    from runwatch.json_text import MAX_DEPTH as LIMIT
    from runwatch.json_text import parse_strict_json

    assert LIMIT == MAX_DEPTH
    text = '{"a": [1, 2.5e10, -0.0, "\\u00e9\\ud83d\\ude00"], "b": ' + "[" * 63 + "]" * 63 + "}"
    assert parse_strict_json(text) == json.loads(text)
    assert parse_json_object(text, what="input data") == (json.loads(text), "")


@pytest.mark.parametrize(("text", "reason"), NOT_JSON[:4], ids=lambda v: str(v)[:24])
def test_submit_refuses_non_standard_json_before_sending(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str], text: str, reason: str
) -> None:
    for flag in ("--input", "--output-template"):
        assert main(["submit", "--version", "ver-1", "--deployment", "dep-1", flag, text]) == 2
        err = one_error_line(capsys.readouterr().err)
        assert err.startswith(f"runwatch: error: {flag}: invalid JSON") and reason in err
    assert not fake_api.requests


def test_submit_input_that_cannot_be_read(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "latin1.json").write_bytes(b'{"caf\xe9": 1}')
    for value, message in (
        ("", "--input is empty"),
        ("  ", "--input is empty"),
        ("@", "@ must be followed by a file name"),
        (f"@{tmp_path}", f"cannot read {tmp_path}: Is a directory"),
        (f"@{tmp_path}/missing.json", "No such file or directory"),
        (f"@{tmp_path}/latin1.json", "latin1.json is not UTF-8 text (byte 6)"),
        ("@~no-such-user-here/x.json", "no such user"),
        ("@/dev/zero", "/dev/zero is larger than 16 MiB"),
    ):
        assert (
            main(["submit", "--version", "ver-1", "--deployment", "dep-1", "--input", value]) == 2
        )
        assert message in one_error_line(capsys.readouterr().err), value
    assert not fake_api.requests


@pytest.mark.parametrize("argv", [["--version", ""], ["--version", "ver-1", "--model", " "]])
def test_submit_refuses_empty_ids(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["submit", *argv])
    assert raised.value.code == 2
    assert "must not be empty" in capsys.readouterr().err
    assert not fake_api.requests


def test_submit_nan_against_the_engine(engine: Any, cli_env: dict[str, str]) -> None:
    version_id = engine.demo_versions["train"]
    result = runwatch("submit", "--version", version_id, "--input", '{"a": NaN}', env=cli_env)
    assert result.returncode == 2
    err = one_error_line(result.stderr)
    assert err == "runwatch: error: --input: invalid JSON: NaN is not a JSON number\n"
    listed = runwatch("runs", "--json", "--deployment", engine.demo_deployment_id, env=cli_env)
    assert listed.returncode == 0 and listed.stdout == ""


# ---------------------------------------------------------------- other hostile arguments


def test_since_too_far_back(fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(common.UsageError, match="before the year 1"):
        formats.parse_when("99999999999999999999d")
    assert main(["logs", "--since", "9999999d", "run-1", "--deployment", "dep-1"]) == 2
    assert "before the year 1" in one_error_line(capsys.readouterr().err)


def test_a_malformed_url_in_engine_env_means_no_engine(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = isolated_env / "engine"
    data_dir.mkdir()
    (data_dir / "engine.env").write_text(
        "ABEJA_API_URL=http://[::1\nABEJA_ORGANIZATION_ID=1\nPLATFORM_AUTH_TOKEN=t\n"
    )
    monkeypatch.setenv("RUNWATCH_DATA_DIR", str(data_dir))
    assert main(["runs"]) == 2
    assert capsys.readouterr().err == f"runwatch: error: {common.NO_ENGINE}\n"


def test_config_save_to_an_unwritable_path(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUNWATCH_CONFIG", "/proc/no-such-dir/config.toml")
    monkeypatch.setenv("ABEJA_API_URL", "http://api.example")
    monkeypatch.setenv("ABEJA_ORGANIZATION_ID", "1")
    monkeypatch.setenv("PLATFORM_AUTH_TOKEN", "secret-token")
    assert main(["config", "--save", "p"]) == 2
    err = one_error_line(capsys.readouterr().err)
    assert "cannot write /proc/no-such-dir/config.toml" in err and "secret-token" not in err
    with pytest.raises(SystemExit):
        main(["config", "--save", ""])
    assert "must not be empty" in capsys.readouterr().err


# ---------------------------------------------------------------- watch: one note per outage


def test_watch_says_each_outage_once(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two outages of refused connections (retried every half second), then the run ends.
    fake_api.faults = {n: "connect" for n in (*range(2, 8), *range(9, 13))}

    def script(api: FakeRunApi, n: int) -> None:
        if n >= 13:
            api.status = "SUCCEEDED"

    fake_api.on_request = script
    assert main(["watch", "run-1", "--deployment", "dep-1"]) == 0
    notes = capsys.readouterr().err.splitlines()
    assert len(notes) == 4, notes
    assert "connection refused" in notes[0] and "retrying" in notes[0]
    assert notes[1] == "runwatch: reconnected; watching again"
    assert notes[2:] == notes[:2]


# ---------------------------------------------------------------- unusable data dirs


def _unusable(tmp_path: Path) -> list[tuple[str, str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a dir")
    cases = [
        (str(a_file), "Not a directory"),
        (str(a_file / "below"), "Not a directory"),
        ("/proc/no-such-dir", "No such file or directory"),
    ]
    if Path("/sys/kernel").is_dir():
        # Permission denied even for root (sysfs).
        cases.append(("/sys/kernel", "Permission denied"))
    return cases


def test_serve_and_deploy_refuse_an_unusable_data_dir(tmp_path: Path) -> None:
    code = Path(__file__).resolve().parents[2] / "runwatch" / "engine" / "demo"
    for data_dir, reason in _unusable(tmp_path):
        for argv in (
            ["serve", "--no-demo", "--data-dir", data_dir],
            [
                *("deploy", str(code), "--name", "x", "--handler", "train:handler"),
                *("--data-dir", data_dir),
            ],
        ):
            result = runwatch(*argv)
            assert result.returncode == 2, (argv, result.stderr)
            err = one_error_line(result.stderr)
            assert data_dir in err and reason in err, err
    for argv in (["serve", "--data-dir", ""], ["deploy", "", "--name", "x"]):
        result = runwatch(*argv)
        assert result.returncode == 2 and "must not be empty" in result.stderr


def test_reading_commands_and_the_dashboard_refuse_an_unreadable_data_dir(
    tmp_path: Path, cli_env_no_api: dict[str, str]
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a dir")
    env = {**cli_env_no_api, "RUNWATCH_DATA_DIR": str(a_file)}
    for argv in (["runs"], ["logs", "run-1"], ["watch", "run-1"], ["submit", "--version", "v"]):
        result = runwatch(*argv, env=env)
        assert result.returncode == 2, (argv, result.stderr)
        err = one_error_line(result.stderr)
        assert err == f"runwatch: error: cannot read data dir {a_file}: Not a directory\n"
    # The dashboard says so before it takes the screen (it would start an engine there).
    for data_dir, reason in _unusable(tmp_path):
        result = runwatch("--data-dir", data_dir, env=cli_env_no_api)
        assert result.returncode == 2, result.stderr
        err = one_error_line(result.stderr)
        assert data_dir in err and reason in err, err


def test_serve_help_names_the_default_data_dir() -> None:
    from runwatch.engine.commands import default_data_dir

    env = {k: v for k, v in os.environ.items() if k != "RUNWATCH_DATA_DIR"}
    for command in ("serve", "deploy"):
        shown = " ".join(runwatch(command, "--help", env=env).stdout.split())
        assert "..." not in shown
        assert f"$RUNWATCH_DATA_DIR if set, else {default_data_dir()})" in shown
