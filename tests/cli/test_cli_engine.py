"""The headless commands as a user runs them: `python -m runwatch ...` against a real engine."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from typing import Any

import pytest

BURSTS = textwrap.dedent(
    """
    import sys
    import time

    def handler(input_data, context):
        n = 0
        for burst in range(input_data.get("bursts", 4)):
            for _ in range(input_data.get("lines", 2500)):
                print(f"line {n} of burst {burst}")
                n += 1
            sys.stdout.flush()
            time.sleep(input_data.get("pause", 0.4))
        if input_data.get("fail"):
            raise RuntimeError("the handler failed on purpose")
        return {"lines": n}
    """
)

ENGINE_PREFIX = "[engine] "


def runwatch(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def handler_lines(output: str) -> list[str]:
    """The run's own lines: the engine adds a few of its own, marked `[engine] `."""
    return [line for line in output.splitlines() if not line.startswith(ENGINE_PREFIX)]


def expected(bursts: int, lines: int) -> list[str]:
    return [f"line {n} of burst {n // lines}" for n in range(bursts * lines)]


@pytest.mark.parametrize(("fail", "code"), [(False, 0), (True, 1)])
def test_logs_follow_gives_every_line_once_in_order(
    engine: Any, cli_env: dict[str, str], fail: bool, code: int
) -> None:
    deployment_id, version_id = engine.deploy_source(BURSTS, name="bursts")
    run = engine.create_run(
        deployment_id,
        version_id,
        input_data={"bursts": 4, "lines": 2500, "fail": fail},
        retry_count=0,
    )
    result = runwatch("logs", "-f", run["run_id"], "--deployment", deployment_id, env=cli_env)
    assert result.returncode == code, result.stderr
    lines = handler_lines(result.stdout)
    assert lines[:10000] == expected(4, 2500)
    if fail:
        # Then the handler's traceback, from its stderr.
        assert lines[10000] == "Traceback (most recent call last):"
        assert lines[-1] == "RuntimeError: the handler failed on purpose"
        # And the failure at a glance on stderr, the exit status still the run's.
        err = result.stderr.splitlines()
        assert err[0] == (
            f"runwatch: {run['run_id']} FAILED: RuntimeError: the handler failed on purpose"
        )
        assert err[1] == "  Traceback (most recent call last):"
        assert err[-1] == "  RuntimeError: the handler failed on purpose"
    else:
        assert len(lines) == 10000
        assert result.stderr == ""
    # Nothing else either: the output is the stored log, exactly.
    assert result.stdout.splitlines() == engine.all_log_messages(deployment_id, run["run_id"])
    final = engine.get_run(deployment_id, run["run_id"])
    assert final["status"] == ("FAILED" if fail else "SUCCEEDED")


def test_logs_follow_finds_the_local_engine_on_its_new_port(
    engine: Any, cli_env: dict[str, str]
) -> None:
    # No API in the environment: the command reads the engine's engine.env, and reads it
    # again when the engine stops answering (a restarted `runwatch serve` picks a new port).
    env = {k: v for k, v in cli_env.items() if not k.startswith(("ABEJA_", "PLATFORM_"))}
    env["RUNWATCH_DATA_DIR"] = str(engine.data_dir)
    deployment_id, version_id = engine.deploy_source(BURSTS, name="bursts")
    run = engine.create_run(
        deployment_id,
        version_id,
        input_data={"bursts": 6, "lines": 300, "pause": 0.4},
        retry_count=0,
    )
    follower = subprocess.Popen(
        [sys.executable, "-m", "runwatch", "logs", "-f", run["run_id"]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,  # unbuffered: the line read below is not held back from communicate()
    )
    try:
        # Killed only once the follower has found the engine: a fixed pause lost that race on
        # a loaded machine (the command had not started yet: "no engine running").
        assert follower.stdout is not None
        first = follower.stdout.readline()
        old_port = engine.port
        engine.kill()
        engine.port = 0
        engine.start()
        rest, errors = follower.communicate(timeout=60)
        out, err = (first + rest).decode(), errors.decode()
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.returncode == 0, err
    if engine.port != old_port:
        assert f"the local engine now answers at {engine.url}" in err
    assert handler_lines(out) == expected(6, 300)


def test_runs_json_pipes_into_python(engine: Any, cli_env: dict[str, str]) -> None:
    deployment_id = engine.demo_deployment_id
    version_id = engine.demo_versions["broken"]
    ids = [engine.create_run(deployment_id, version_id, retry_count=0)["run_id"] for _ in range(3)]
    parse = "import json, sys; print(sorted(json.loads(l)['run_id'] for l in sys.stdin))"
    # runwatch runs --json | python -c "..."
    producer = subprocess.Popen(
        [sys.executable, "-m", "runwatch", "runs", "--json", "--deployment", deployment_id],
        env=cli_env,
        stdout=subprocess.PIPE,
    )
    consumer = subprocess.run(
        [sys.executable, "-c", parse],
        stdin=producer.stdout,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert producer.stdout is not None
    producer.stdout.close()
    assert producer.wait(timeout=60) == 0
    assert consumer.returncode == 0, consumer.stderr
    assert consumer.stdout.strip() == str(sorted(ids))
    table = runwatch("runs", "--deployment", deployment_id, env=cli_env)
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split()[:3] == ["RUN", "ID", "STATUS"]
    assert "\x1b" not in table.stdout  # piped: no colour


def test_submit_follow_and_watch(engine: Any, cli_env: dict[str, str]) -> None:
    _, version_id = engine.deploy_source(BURSTS, name="bursts")
    result = runwatch(
        "submit",
        "--version",
        version_id,
        "--input",
        json.dumps({"bursts": 2, "lines": 1500, "pause": 0.2}),
        "--retry-count",
        "0",
        "--follow",
        env=cli_env,
    )
    assert result.returncode == 0, result.stderr
    run_id, *lines = result.stdout.splitlines()
    assert run_id.startswith("run-")
    assert handler_lines("\n".join(lines)) == expected(2, 1500)
    watched = runwatch("watch", run_id, env=cli_env)
    assert watched.returncode == 0, watched.stderr
    assert watched.stdout.split()[-1] == "SUCCEEDED"
    shown = runwatch("runs", "get", run_id, "--json", env=cli_env)
    assert json.loads(shown.stdout)["status"] == "SUCCEEDED"


EXITS = textwrap.dedent(
    """
    import sys

    def handler(input_data, context):
        print("ERROR dataset not found: s3://bucket/[red]train[/]", file=sys.stderr, flush=True)
        sys.exit(3)
    """
)


def test_watch_and_runs_reason_say_why_a_run_failed(
    engine: Any,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In-process against the engine: three commands without three interpreters' start-up.
    from runwatch.cli import main

    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    deployment_id, version_id = engine.deploy_source(EXITS, name="exits")
    failed = engine.create_run(deployment_id, version_id, retry_count=0)["run_id"]
    engine.wait_for_status(deployment_id, failed, "FAILED")
    reason = "ERROR dataset not found: s3://bucket/[red]train[/]"
    assert main(["watch", failed, "--deployment", deployment_id]) == 1
    watched = capsys.readouterr()
    assert watched.out.split()[-1] == "FAILED"
    assert watched.err.splitlines() == [f"runwatch: {failed} FAILED: {reason}", f"  {reason}"]
    assert main(["runs", "--reason", "--deployment", deployment_id]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[-1] == "REASON" and row.startswith(failed) and row.endswith(reason)
    assert main(["runs", "--json", "--reason", "--deployment", deployment_id]) == 0
    assert json.loads(capsys.readouterr().out)["reason"] == reason


def test_errors_are_one_line(engine: Any, cli_env: dict[str, str]) -> None:
    result = runwatch(
        "logs", "run-does-not-exist", "--deployment", engine.demo_deployment_id, env=cli_env
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("runwatch: error: ")
    assert "Traceback" not in result.stderr
    assert engine.token not in result.stderr


def test_local_engine_from_its_engine_env(engine: Any, cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if not k.startswith(("ABEJA_", "PLATFORM_"))}
    env["RUNWATCH_DATA_DIR"] = str(engine.data_dir)
    result = runwatch("runs", "--deployment", engine.demo_deployment_id, env=env)
    assert result.returncode == 0, result.stderr
    engine.stop()
    result = runwatch("runs", env=env)
    assert result.returncode == 2
    assert (
        "no engine running; start one with `runwatch serve` or set ABEJA_API_URL" in result.stderr
    )


SLOW = textwrap.dedent(
    """
    import time

    def handler(input_data, context):
        for n in range(600):
            print(f"tick {n}", flush=True)
            time.sleep(0.05)
    """
)


def as_a_terminal_starts_it() -> None:
    """`preexec_fn` for a command the test will Ctrl-C: SIGINT at its default, unblocked, as
    an interactive shell starts a foreground job.

    A signal ignored at exec stays ignored, and a non-interactive shell starts its background
    jobs (`.ci/run > log &`) with SIGINT ignored: Python then installs no KeyboardInterrupt
    handler, nor asyncio.run its Ctrl-C handler, and `logs -f` rightly went on (as `tail -f`
    would) until the run ended, 20 s after the test's SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


SIGINT_SEEN = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"


def test_ctrl_c_reaches_a_command_whatever_sigint_the_suite_was_started_with() -> None:
    ignored = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the suite as a background job
    try:
        inherited = subprocess.run(
            [sys.executable, "-I", "-S", "-c", SIGINT_SEEN],
            capture_output=True,
            text=True,
            check=True,
        )
        started = subprocess.run(
            [sys.executable, "-I", "-S", "-c", SIGINT_SEEN],
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=as_a_terminal_starts_it,
        )
    finally:
        signal.signal(signal.SIGINT, ignored)
    assert inherited.stdout.strip() == "False"  # the cause: no Ctrl-C handling at all
    assert started.stdout.strip() == "True"


def test_ctrl_c_exits_130_and_a_closed_pipe_is_quiet(engine: Any, cli_env: dict[str, str]) -> None:
    deployment_id, version_id = engine.deploy_source(SLOW, name="slow")
    run_id = engine.create_run(deployment_id, version_id, retry_count=0)["run_id"]
    command = [
        sys.executable,
        "-m",
        "runwatch",
        "logs",
        "-f",
        run_id,
        "--deployment",
        deployment_id,
    ]
    follower = subprocess.Popen(
        command,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_a_terminal_starts_it,
    )
    # Alongside (one start-up's wait, not two): `runwatch logs -f RUN | head -n 2`, whose
    # reader goes away; runwatch stops without noise.
    reader = subprocess.Popen(command, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert follower.stdout is not None
        while "tick 3" not in (line := follower.stdout.readline()):
            assert line, "logs -f ended before the run's fourth line"
        follower.send_signal(signal.SIGINT)
        _, err = follower.communicate(timeout=20)
        assert follower.returncode == 130
        assert "Traceback" not in err

        assert reader.stdout is not None
        for _ in range(2):
            reader.stdout.readline()
        reader.stdout.close()
        reader.wait(timeout=20)
        assert reader.stderr is not None
        assert reader.stderr.read() == b""
        assert reader.returncode == 0
    finally:
        for process in (follower, reader):
            if process.poll() is None:
                process.kill()
                process.wait()
