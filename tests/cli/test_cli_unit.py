"""The headless commands in-process, against a fake Run API (MockTransport) and a fake clock."""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from follow_fakes import FakeRunApi

from runwatch.api.models import Run
from runwatch.cli import command_setup, common, formats, main, runs_cmd, terminal_output


class TtyStringIO(io.StringIO):
    def isatty(self) -> bool:
        return True


# ---------------------------------------------------------------- terminal safety


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("tab\tkept", "tab\tkept"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b]52;c;ZXZpbA==\x07clipboard", "clipboard"),  # OSC 52 would set the clipboard
        ("\x1b]0;new title\x1b\\x", "x"),  # window title, ended by ST
        ("\x1b[2J\x1b[Hcleared", "cleared"),
        ("\x1bPq#0;2;0;0;0\x1b\\sixel", "sixel"),
        ("over\rwrite", "over\\x0dwrite"),
        ("bell\x07", "bell\\x07"),
        ("lone escape \x1b", "lone escape \\x1b"),
        ("nul\x00", "nul\\x00"),
        ("c1 \x9b31m csi", "c1  csi"),
        ("bidi \u202eevil", "bidi \\u202eevil"),
        ("unicode ok: é ü 日本", "unicode ok: é ü 日本"),
    ],
)
def test_inert_strips_escapes_and_escapes_controls(raw: str, shown: str) -> None:
    assert terminal_output.inert(raw) == shown
    assert "\x1b" not in terminal_output.inert(raw)


def test_line_writer_is_inert_on_a_terminal_and_verbatim_in_a_pipe() -> None:
    tty = TtyStringIO()
    terminal_output.LineWriter(tty).write_lines(["\x1b[31mred\x1b[0m", "ok"])
    assert tty.getvalue() == "red\nok\n"
    pipe = io.StringIO()
    terminal_output.LineWriter(pipe).write_lines(["\x1b[31mred\x1b[0m", "ok"])
    assert pipe.getvalue() == "\x1b[31mred\x1b[0m\nok\n"


def test_line_writer_survives_unencodable_text() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    terminal_output.LineWriter(stream).write_lines(["caf\u00e9", "\ud800"])
    assert raw.getvalue() == b"caf?\n?\n"


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert terminal_output.use_color(TtyStringIO())
    assert not terminal_output.use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not terminal_output.use_color(TtyStringIO())


# ---------------------------------------------------------------- formatting


def wire_run(run_id: str, status: str, seconds: float) -> dict[str, object]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "run_id": run_id,
        "status": status,
        "model_version": "1.2",
        "model_version_id": "ver-1",
        "retry_count": 3,
        "created_at": start.isoformat().replace("+00:00", "Z"),
        "modified_at": (start + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
    }


def test_runs_table_columns_and_colour() -> None:
    runs = [
        Run.from_wire(wire_run("run-1", "SUCCEEDED", 75)),
        Run.from_wire(wire_run("run-22", "FAILED", 3.5)),
    ]
    plain = runs_cmd.table(runs, color=False)
    lines = plain.splitlines()
    assert lines[0].split() == ["RUN", "ID", "STATUS", "VERSION", "CREATED", "DURATION", "RETRIES"]
    assert lines[1].split() == [
        "run-1",
        "SUCCEEDED",
        "1.2",
        "2026-01-01",
        "00:00:00Z",
        "1m15s",
        "3",
    ]
    assert lines[2].split()[:2] == ["run-22", "FAILED"]
    assert "\x1b" not in plain
    colored = runs_cmd.table(runs, color=True)
    assert "\x1b[32mSUCCEEDED\x1b[0m" in colored
    assert "\x1b[31mFAILED\x1b[0m" in colored
    # Colour does not disturb the alignment of the columns after it.
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == plain


def test_a_hostile_run_id_cannot_reach_the_terminal_raw() -> None:
    run = Run.from_wire(wire_run("run-\x1b]52;c;eA==\x07x", "RUNNING\x1b[2J", 1))
    # Only our own colour codes remain.
    assert "\x1b" not in re.sub(r"\x1b\[\d+m", "", runs_cmd.table([run], color=True))
    assert "\x1b" not in runs_cmd.describe(run)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.25, "0.2s"), (9.94, "9.9s"), (42, "42s"), (75, "1m15s"), (7322, "2h02m")],
)
def test_show_duration(seconds: float | None, text: str) -> None:
    assert formats.show_duration(seconds) == text


def test_parse_when() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert formats.parse_when("10m", now=now) == now - timedelta(minutes=10)
    assert formats.parse_when("2h", now=now) == now - timedelta(hours=2)
    assert formats.parse_when("2026-01-01T10:00:00Z") == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert formats.parse_when("2026-01-01 10:00:00") == datetime(2026, 1, 1, 10, tzinfo=UTC)
    with pytest.raises(common.UsageError):
        formats.parse_when("yesterday")


def test_command_modules_import_only_the_standard_library() -> None:
    code = (
        "import sys, runwatch.cli.runs_cmd, runwatch.cli.logs_cmd, runwatch.cli.watch_cmd, "
        "runwatch.cli.submit_cmd, runwatch.cli.common, runwatch.cli.command_setup, "
        "runwatch.cli.terminal_output, runwatch.cli.formats;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('httpx', 'textual', 'fastapi', 'asyncio') or m.startswith('runwatch.api')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- commands, in-process


def test_runs_json_lines_are_the_wire_dicts(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.runs = [wire_run(f"run-{n}", "SUCCEEDED", n) for n in range(7)]
    assert main(["runs", "--json", "--all", "--deployment", "dep-1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == list(reversed(fake_api.runs))


def test_runs_first_page_only_says_there_is_more(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.runs = [wire_run(f"run-{n}", "RUNNING", n) for n in range(7)]
    # The deployment comes from the only one the organization has.
    assert main(["runs", "--oldest-first"]) == 0
    captured = capsys.readouterr()
    assert [line.split()[0] for line in captured.out.splitlines()[1:]] == [
        "run-0",
        "run-1",
        "run-2",
    ]
    assert "--all" in captured.err


def test_root_flags_before_the_command_are_kept(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.runs = [wire_run("run-1", "RUNNING", 1)]
    assert main(["--deployment", "dep-1", "runs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == "run-1"
    assert main(["--deployment", "nope", "runs"]) == 2
    assert "nope" in capsys.readouterr().err


def test_runs_get_human_and_json(fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "get", "run-1"]) == 0
    out = capsys.readouterr().out
    assert "run id" in out and "run-1" in out and "1 (ver-1)" in out
    assert main(["runs", "get", "run-1", "--json", "--deployment", "dep-1"]) == 0
    assert json.loads(capsys.readouterr().out) == fake_api.run_wire()


def test_logs_without_follow_pages_the_whole_log(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.add_lines(123)
    fake_api.status = "FAILED"
    assert main(["logs", "run-1", "--deployment", "dep-1"]) == 1
    assert capsys.readouterr().out.splitlines() == fake_api.messages
    assert main(["logs", "run-1", "--timestamps", "--json"]) == 1
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events == fake_api.events


@pytest.mark.parametrize(("final", "code"), [("SUCCEEDED", 0), ("FAILED", 1)])
def test_logs_follow_prints_everything_once_and_exits_by_status(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str], final: str, code: int
) -> None:
    fake_api.add_lines(120)  # already there before following starts

    def script(api: FakeRunApi, n: int) -> None:
        if n in (4, 9):
            api.add_lines(777)
        if n == 7:
            api.faults[n + 1] = "503"
        if n == 16:
            api.status = final

    fake_api.on_request = script
    assert main(["logs", "-f", "run-1", "--deployment", "dep-1"]) == code
    captured = capsys.readouterr()
    assert captured.out.splitlines() == fake_api.messages
    assert "retrying in" in captured.err and "reconnected" in captured.err


def test_logs_follow_tail(fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]) -> None:
    fake_api.add_lines(500)
    fake_api.status = "SUCCEEDED"
    assert main(["logs", "-f", "--tail", "5", "run-1", "--deployment", "dep-1"]) == 0
    assert capsys.readouterr().out.splitlines() == fake_api.messages[-5:]


def test_usage_errors_exit_2(fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "-f", "--until", "1h", "run-1"]) == 2
    assert "--until" in capsys.readouterr().err
    assert main(["logs", "--since", "someday", "run-1"]) == 2
    requests_before = len(fake_api.requests)
    for argv, message in (
        (["runs", "get", ""], "RUN_ID must not be empty"),
        (["logs", " "], "RUN_ID must not be empty"),
        (["watch", ""], "RUN_ID must not be empty"),
        (["serve", "--port", "99999"], "port must be 0-65535"),
        (["serve", "--port", "http"], "not a port number"),
    ):
        with pytest.raises(SystemExit) as raised:
            main(argv)
        assert raised.value.code == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, argv
    assert len(fake_api.requests) == requests_before  # refused before anything was sent


def test_errors_are_one_line_without_traceback_unless_debug(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "get", "run-404", "--deployment", "dep-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("runwatch: error: no such path")
    assert "HTTP 404" in err and "http://fake.test/organizations/" in err
    assert "secret-token" not in err and "Traceback" not in err
    assert main(["runs", "get", "run-404", "--deployment", "dep-1", "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_connection_errors_exit_2(fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]) -> None:
    fake_api.faults = {1: "connect"}
    assert main(["runs", "--deployment", "dep-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("runwatch: error:") and err.count("\n") == 1


def test_watch_prints_each_status_change(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    statuses = ["SUBMITTED", "SUBMITTED", "RUNNING", "RUNNING", None, "FAILED"]
    fetches = 0

    def script(api: FakeRunApi, n: int) -> None:
        # Scripted by the run's fetches; watch also reads the log for its metrics line.
        nonlocal fetches
        if "logs" in api.requests[-1].url.path:
            return
        fetches += 1
        status = statuses[min(fetches - 1, len(statuses) - 1)]
        if status is None:
            api.faults[n] = "drop"
        else:
            api.status = status

    fake_api.on_request = script
    assert main(["watch", "run-1", "--deployment", "dep-1"]) == 1
    captured = capsys.readouterr()
    assert [line.split()[-1] for line in captured.out.splitlines()] == [
        "SUBMITTED",
        "RUNNING",
        "FAILED",
    ]
    assert "retrying" in captured.err


def test_submit_prints_the_run_id_and_sends_the_body(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    args = [
        "submit",
        "--version",
        "ver-1",
        "--deployment",
        "dep-1",
        "--input",
        '{"a": 1}',
        "--env",
        "A=1",
        "--env",
        "B=x=y",
        "--retry-count",
        "2",
        "--distribution",
        "3",
        "--model",
        "m-1",
        "--output-template",
        '{"o": 2}',
    ]
    assert main(args) == 0
    assert capsys.readouterr().out == "run-1\n"
    assert fake_api.created == [
        {
            "version_id": "ver-1",
            "environment": {"A": "1", "B": "x=y"},
            "input_data": {"a": 1},
            "models": {"alias": "m-1"},
            "output_template": {"o": 2},
            "retry_count": 2,
            "distribution": 3,
        }
    ]


def test_submit_input_from_a_file_and_json_output(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "input.json"
    path.write_text('{"from": "file"}')
    assert main(["submit", "--version", "ver-1", "--input", f"@{path}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "SUBMITTED"
    assert fake_api.created[0]["input_data"] == {"from": "file"}
    assert main(["submit", "--version", "ver-1", "--input", "[1]"]) == 2
    assert main(["submit", "--version", "ver-1", "--env", "NOEQUALS"]) == 2
    assert main(["submit", "--version", "ver-1", "--retry-count", "10"]) == 2
    assert len(fake_api.created) == 1


def test_submit_outcome_unknown_is_not_resubmitted(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.faults = {2: "drop"}
    assert main(["submit", "--version", "ver-1", "--deployment", "dep-1"]) == 2
    err = capsys.readouterr().err
    assert "outcome unknown: the request may have reached the server" in err
    assert "runwatch runs" in err
    # The deployment looked up (a name or an id), one POST, never a second; then the runs
    # list, so the user can see what happened.
    assert [r.method for r in fake_api.requests] == ["GET", "POST", "GET"]
    assert "deployment dep-1 lists no runs so far" in err


def test_submit_follow(fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]) -> None:
    def script(api: FakeRunApi, n: int) -> None:
        if n == 3:
            api.add_lines(60)
        if n == 6:
            api.status = "SUCCEEDED"

    fake_api.on_request = script
    assert main(["submit", "--version", "ver-1", "--deployment", "dep-1", "--follow"]) == 0
    assert capsys.readouterr().out.splitlines() == ["run-1", *fake_api.messages]


def test_no_engine_and_no_api_says_so(
    isolated_env: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs"]) == 2
    assert capsys.readouterr().err == f"runwatch: error: {common.NO_ENGINE}\n"


async def test_engine_reconnector_follows_engine_env(tmp_path: Path) -> None:
    from runwatch.config import Settings

    def write(port: int) -> None:
        (tmp_path / "engine.env").write_text(
            f"ABEJA_API_URL=http://127.0.0.1:{port}\nABEJA_ORGANIZATION_ID=1\n"
            "PLATFORM_AUTH_TOKEN=tok\n"
        )

    args = argparse.Namespace(data_dir=str(tmp_path))
    write(1111)
    settings = Settings(
        api_url="http://127.0.0.1:1111",
        organization_id="1",
        credential={"auth_token": "tok"},
        local_engine=True,
    )
    reconnect = command_setup.engine_reconnector(args, settings)
    assert reconnect is not None
    assert reconnect() is None  # nothing moved
    write(2222)
    client = reconnect()
    assert client is not None and client.base_url == "http://127.0.0.1:2222"
    await client.aclose()
    assert reconnect() is None
    remote = Settings(api_url="https://api.example", credential={"auth_token": "x"})
    assert command_setup.engine_reconnector(args, remote) is None


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["MODE"], "--env takes KEY=VALUE"),
        (["A-B=1"], "'A-B' is not a valid variable name"),
        (["A=1", "A=2"], "A is given twice"),
    ],
)
def test_bad_env_pairs_are_refused_before_anything_is_sent(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str], pairs: list[str], message: str
) -> None:
    argv = ["submit", "--version", "ver-1", "--deployment", "dep-1"]
    for pair in pairs:
        argv += ["--env", pair]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not fake_api.requests


def test_one_shot_commands_say_when_they_retry(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A retried request is one line on stderr each time, not minutes of silence."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("ABEJA_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ABEJA_ORGANIZATION_ID", "1234567890123")
    monkeypatch.setenv("PLATFORM_AUTH_TOKEN", "secret-token")
    monkeypatch.setenv("ABEJA_SDK_MAX_RETRY_COUNT", "2")
    assert main(["runs", "--deployment", "dep-1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3, err
    assert re.fullmatch(
        r"runwatch: GET http://127.0.0.1:\d+/\S+: connection refused; "
        r"retry 1 of 2 in \d\.\ds",
        err[0],
    ), err
    assert "retry 2 of 2 in" in err[1]
    assert err[2].startswith("runwatch: error:") and "after 3 attempts" in err[2]
    assert "secret-token" not in "\n".join(err)
