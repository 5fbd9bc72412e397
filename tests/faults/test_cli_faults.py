"""The headless commands against a misbehaving server.

One-shot commands (`runs`, `runs get`, `logs`, `submit`) run in-process for every fault and
must exit 2 with one clear line on stderr: no traceback, no secret, no control character.
The following commands (`logs -f`, `watch`) run as real processes while the proxy goes
through every fault: they note each failure, carry on when the server is back, and print
every line exactly once. Hostile text from the server is checked on a real terminal (a pty)
and through a pipe.
"""

from __future__ import annotations

import itertools
import os
import pty
import re
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runwatch.cli import main
from tests.conftest import CLIENT_ENV_VARS, EngineProcess
from tests.faults.conftest import start_gated_run
from tests.faults.hostile import HOSTILE_TEXT, FaultProxy
from tests.faults.test_tui_faults import FAULT_REASONS, SHAPES, hostile_ids

# Controls that must never reach a terminal from the CLI (TAB is allowed, newlines separate
# lines).
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The colours runwatch itself paints statuses with.
OWN_COLOURS = re.compile(r"\x1b\[(?:0|3[1-6])m")


@pytest.fixture(scope="module")
def finished_run(shared_engine: EngineProcess, gated_version: tuple[str, str]) -> str:
    run = shared_engine.create_run(*gated_version, input_data={"before": 3}, retry_count=0)
    shared_engine.wait_for_status(gated_version[0], run["run_id"], "SUCCEEDED")
    return str(run["run_id"])


def cli_environ(
    engine: EngineProcess, proxy: FaultProxy, deployment_id: str, tmp_path: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_ENV_VARS}
    env.update(
        {
            "ABEJA_API_URL": proxy.url,
            "ABEJA_ORGANIZATION_ID": engine.organization_id,
            "PLATFORM_AUTH_TOKEN": engine.token,
            "ABEJA_DEPLOYMENT_ID": deployment_id,
            "ABEJA_SDK_CONNECTION_TIMEOUT": "0.5",
            "ABEJA_SDK_MAX_RETRY_COUNT": "0",
            "RUNWATCH_CONFIG": str(tmp_path / "no-config.toml"),
            "RUNWATCH_DATA_DIR": str(tmp_path / "no-engine"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture
def in_process_env(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    proxy: FaultProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in CLIENT_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    for key, value in cli_environ(shared_engine, proxy, gated_version[0], tmp_path).items():
        monkeypatch.setenv(key, value)


def one_shot_commands(run_id: str, version_id: str) -> list[list[str]]:
    return [
        ["runs"],
        ["runs", "--json"],
        ["runs", "get", run_id],
        ["logs", run_id],
        ["submit", "--version", version_id, "--input", '{"before": 1}'],
    ]


def assert_one_clean_error(err: str, out: str, token: str) -> None:
    lines = err.splitlines()
    # One error line, last; a submit whose outcome is unknown may note what it checked first.
    assert lines and lines[-1].startswith("runwatch: error: "), err
    assert all(line.startswith("runwatch: ") for line in lines), err
    assert sum(line.startswith("runwatch: error: ") for line in lines) == 1, err
    assert "Traceback" not in err and token not in err + out
    assert not CONTROLS.search(err), repr(err)


@pytest.mark.usefixtures("in_process_env")
def test_one_shot_commands_fail_cleanly_on_every_fault(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    finished_run: str,
    proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases: list[tuple[str, Any]] = [(fault, None) for fault in FAULT_REASONS]
    cases += [("pass", shape) for shape, _ in SHAPES]
    # A hostile 404 description, and a 401 quoting the credential back.
    cases += [("404", None), ("echo-auth", None)]
    for fault, shape in cases:
        proxy.set(fault)
        proxy.rewrite = shape
        commands = one_shot_commands(finished_run, gated_version[1])
        if fault in ("404", "echo-auth"):
            # The followers wait out anything else (tested below), but not a 404 or 401.
            commands += [["watch", finished_run], ["logs", "-f", finished_run]]
        for argv in commands:
            started = time.monotonic()
            code = main(argv)
            out, err = capsys.readouterr()
            where = f"{fault} {argv}"
            assert code == 2, f"{where}: exit {code}, {err!r}"
            assert_one_clean_error(err, out, shared_engine.token)
            assert out == "" or argv[0] == "logs", where
            # One attempt each (retries are off here) and the 0.5 s timeout: never a hang.
            assert time.monotonic() - started < 10, where
    proxy.set("pass")
    proxy.rewrite = None
    assert main(["runs", "get", finished_run]) == 0
    assert finished_run in capsys.readouterr().out


@pytest.mark.usefixtures("in_process_env")
def test_storms_are_retried_then_reported_and_submit_is_sent_once(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    finished_run: str,
    proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ABEJA_SDK_MAX_RETRY_COUNT", "2")
    for fault in ("500", "502", "503", "429"):
        proxy.set(fault)
        before = proxy.served[fault]
        assert main(["runs", "get", finished_run]) == 2
        _, err = capsys.readouterr()
        assert_one_clean_error(err, "", shared_engine.token)
        assert proxy.served[fault] - before == 3, fault  # the first try and two retries
        before = posts(proxy)
        assert main(["submit", "--version", gated_version[1]]) == 2
        capsys.readouterr()
        assert posts(proxy) - before == 1, fault  # a POST is never resent
    # A hang after the request was sent: the run may exist, so it is not sent again.
    proxy.set("hang")
    before = posts(proxy)
    assert main(["submit", "--version", gated_version[1]]) == 2
    _, err = capsys.readouterr()
    assert "outcome unknown" in err and posts(proxy) - before == 1
    # A 503 storm that ends within the retries: the answer, and a note for each retry only.
    proxy.set("503", only="/runs/", times=2)
    monkeypatch.setenv("ABEJA_SDK_MAX_RETRY_COUNT", "5")
    assert main(["runs", "get", finished_run]) == 0
    out, err = capsys.readouterr()
    assert finished_run in out
    notes = err.splitlines()
    assert len(notes) == 2, err
    assert all(re.search(r": HTTP 503; retry [12] of 5 in ", note) for note in notes), err


def posts(proxy: FaultProxy) -> int:
    return sum(method == "POST" for method, _, _ in proxy.requests)


class Reader:
    """Collects a stream's lines on a thread."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in iter(stream.readline, ""):
            self.lines.append(line.rstrip("\n"))

    def join(self) -> None:
        self._thread.join(timeout=30)


def noted(reader: Reader, word: str, *, after: int) -> Callable[[], bool]:
    """True once a line from index `after` on holds `word`."""
    return lambda: any(word in line for line in reader.lines[max(0, after) :])


def wait_until(predicate: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def fast_profile(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    proxy: FaultProxy,
    tmp_path: Path,
) -> dict[str, str]:
    """Environment for CLI processes whose profile polls fast and backs off briefly."""
    config = tmp_path / "config.toml"
    config.write_text(
        "[profiles.faults]\n"
        f'api_url = "{proxy.url}"\n'
        f'organization_id = "{shared_engine.organization_id}"\n'
        f'deployment_id = "{gated_version[0]}"\n'
        f'auth_token = "{shared_engine.token}"\n'
        "poll_interval = 0.1\nidle_interval = 0.3\nmax_backoff = 3\ntimeout = 0.5\n"
    )
    config.chmod(0o600)
    env = cli_environ(shared_engine, proxy, gated_version[0], tmp_path)
    for name in ("ABEJA_API_URL", "ABEJA_ORGANIZATION_ID", "PLATFORM_AUTH_TOKEN"):
        env.pop(name)
    env.pop("ABEJA_DEPLOYMENT_ID")
    env.pop("ABEJA_SDK_CONNECTION_TIMEOUT")
    env["RUNWATCH_CONFIG"] = str(config)
    env["RUNWATCH_PROFILE"] = "faults"
    return env


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_logs_follow_and_watch_ride_out_every_fault(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    proxy: FaultProxy,
    fast_profile: dict[str, str],
    processes: list[subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    run_id = start_gated_run(shared_engine, gated_version, gate, before=4, after=3)["run_id"]
    shared_engine.wait_for_status(gated_version[0], run_id, "RUNNING")
    readers: dict[str, tuple[Reader, Reader]] = {}
    for name, argv in (("logs", ["logs", "-f", run_id]), ("watch", ["watch", run_id])):
        process = subprocess.Popen(
            [sys.executable, "-m", "runwatch", *argv],
            env=fast_profile,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        readers[name] = (Reader(process.stdout), Reader(process.stderr))
    logs_out, _ = readers["logs"]
    wait_until(lambda: "before 3" in logs_out.lines, 30, "the first lines")
    cases: list[tuple[str, Any]] = [(fault, None) for fault in FAULT_REASONS]
    cases += [("pass", shape) for shape, _ in SHAPES]
    for fault, shape in cases:
        counts = {name: len(err.lines) for name, (_, err) in readers.items()}
        proxy.set(fault)
        proxy.rewrite = shape
        for name, (_, err) in readers.items():
            wait_until(noted(err, "retrying", after=counts[name]), 15, f"{name} noting {fault}")
        if fault in ("429", "503"):
            # Retry-After: 1 is a floor for the next attempt, and the note says so.
            for name, (_, err) in readers.items():
                assert "retrying in 1.0s" in err.lines[counts[name]], (name, err.lines[-1])
        proxy.set("pass")
        proxy.rewrite = None
        for name, (_, err) in readers.items():
            wait_until(
                noted(err, "again", after=len(err.lines) - 1),
                15,
                f"{name} reconnecting after {fault}",
            )
    gate.touch()
    for process in processes:
        process.wait(timeout=60)
    for reader_pair in readers.values():
        for reader in reader_pair:
            reader.join()
    assert [p.returncode for p in processes] == [0, 0]
    want = shared_engine.all_log_messages(gated_version[0], run_id)
    assert logs_out.lines == want
    watch_out, _ = readers["watch"]
    statuses = [line.split()[-1] for line in watch_out.lines]
    assert statuses[0] == "RUNNING" and statuses[-1] == "SUCCEEDED"
    assert len(statuses) == len(set(statuses)), statuses  # each change once
    for name, (out, err) in readers.items():
        text = "\n".join(out.lines + err.lines)
        assert "Traceback" not in text and shared_engine.token not in text, name
        assert not CONTROLS.search(text), name
        assert all(line.startswith("runwatch: ") for line in err.lines), name
        notes = sum("retrying" in line for line in err.lines)
        assert notes >= len(cases), (name, notes)


def run_on_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run the CLI with stdout on a pseudo-terminal (isatty is true), as a user sees it."""
    master, slave = pty.openpty()
    attributes = termios.tcgetattr(slave)
    attributes[1] &= ~termios.OPOST  # no \n -> \r\n: what the program wrote, byte for byte
    termios.tcsetattr(slave, termios.TCSANOW, attributes)
    process = subprocess.Popen(
        [sys.executable, "-m", "runwatch", *argv],
        env=env,
        stdout=slave,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.stderr is not None
    err = process.stderr.read().decode("utf-8", "replace")
    process.stderr.close()
    code = process.wait(timeout=60)
    return code, b"".join(chunks).decode("utf-8", "replace"), err


def test_hostile_text_is_inert_on_a_terminal_and_in_a_pipe(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    finished_run: str,
    proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    proxy.rewrite, proxy.unmap = hostile_ids(HOSTILE_TEXT)
    # A status the client does not know is one still moving: watch would wait for ever.
    calm_rewrite, _ = hostile_ids(HOSTILE_TEXT, statuses=False)
    env = cli_environ(shared_engine, proxy, gated_version[0], tmp_path)
    hostile_id = finished_run + HOSTILE_TEXT
    version = gated_version[1]
    commands = [
        ["runs"],
        ["runs", "get", hostile_id],
        ["runs", "get", hostile_id, "--json"],
        ["logs", hostile_id],
        ["logs", hostile_id, "--timestamps"],
        ["logs", hostile_id, "--json"],
        ["watch", hostile_id],
        ["submit", "--version", version, "--input", '{"before": 1}'],
        ["submit", "--version", version, "--input", '{"before": 1}', "--json"],
    ]
    full_rewrite = proxy.rewrite
    for argv in commands:
        proxy.rewrite = calm_rewrite if argv[0] in ("watch", "logs") else full_rewrite
        code, out, err = run_on_terminal(argv, env)
        assert code == 0, (argv, err)
        # A log line redrawn with \r shows its last state on a terminal (as the terminal
        # would leave it), the rest the whole text.
        redrawn = argv[0] == "logs" and "--json" not in argv
        if argv[0] != "watch":  # (watch shows only times and statuses)
            marker = "[/x]" if redrawn else "[b]"
            assert marker in out, (argv, out)  # the text is there, shown as typed
        assert not CONTROLS.search(OWN_COLOURS.sub("", out)), (argv, out)
        assert not CONTROLS.search(err) and shared_engine.token not in out + err
    # Piped: log lines are what the run printed, byte for byte (README); everything else,
    # made for reading or for JSON parsers, is as inert as on a terminal.
    for argv in commands[::2]:
        proxy.rewrite = calm_rewrite if argv[0] in ("watch", "logs") else full_rewrite
        result = subprocess.run(
            [sys.executable, "-m", "runwatch", *argv],
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 0, (argv, result.stderr)
        # Decoded by hand: universal newlines would turn the \r into \n.
        out = result.stdout.decode()
        if argv[0] == "logs" and "--json" not in argv:
            assert HOSTILE_TEXT in out, argv
        else:
            assert not CONTROLS.search(out), (argv, out)


@pytest.mark.usefixtures("in_process_env")
def test_a_server_handing_back_the_same_page_token_does_not_page_for_ever(
    finished_run: str, proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    def rewrite(path: str, body: Any) -> Any:
        if path.endswith("/runs"):
            return {**body, "next_page_token": "again"}
        if path.endswith("/logs"):
            return {**body, "next_token": "again"}
        return body

    proxy.rewrite = rewrite
    # The engine would refuse the made-up token: it is asked for the first page each time.
    proxy.unmap = lambda path: path.split("?", 1)[0]
    for argv in (["runs", "--all"], ["runs", "--all", "--json"], ["logs", finished_run]):
        assert main(argv) == 0, argv
        out, _ = capsys.readouterr()
        assert finished_run in out or argv[0] == "logs"
        assert out.count(finished_run) <= 1, argv  # the repeated page is not printed again
    # Ever new tokens, the same runs (or none) behind each: the listing ends all the same.
    tokens = itertools.count()
    no_runs: list[Any] = []
    for entries in (None, no_runs):

        def fresh(path: str, body: Any, entries: Any = entries) -> Any:
            if not path.endswith("/runs"):
                return body
            page = body if entries is None else {**body, "entries": entries}
            return {**page, "next_page_token": f"t{next(tokens)}"}

        proxy.rewrite = fresh
        for argv in (["runs", "--all"], ["runs", "--all", "--json"]):
            assert main(argv) == 0, (argv, entries)
            out, _ = capsys.readouterr()
            assert out.count(finished_run) <= 1, argv


@pytest.mark.usefixtures("in_process_env")
def test_a_created_run_whose_answer_cannot_be_read_is_outcome_unknown(
    gated_version: tuple[str, str], proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    # The POST reaches the engine (the run is created), the answer comes back mangled.
    for mangle in (lambda run: [run], lambda run: {**run, "run_id": None}):
        proxy.rewrite = lambda path, body, mangle=mangle: mangle(body) if "run_id" in body else body
        before = posts(proxy)
        assert main(["submit", "--version", gated_version[1], "--input", '{"before": 1}']) == 2
        out, err = capsys.readouterr()
        assert out == "" and "outcome unknown" in err and "Traceback" not in err, err
        assert "the newest runs of deployment" in err  # what to check before submitting again
        assert posts(proxy) - before == 1
