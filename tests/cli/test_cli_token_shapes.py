"""`runwatch logs` and `logs -f` as a user runs them, against every token shape.

Against the engine in both of its modes (the seed's `[]`, CloudWatch's same token) and against
`tests/token_server.py` for what the engine never says (`null`, `""`, no key, no usable token
on any answer): each line once, in order, the right exit status, and nothing on stderr (no
retry note, no "reconnecting"). Most commands run in-process (`in_process`); `logs -f` on a
hosted shape and the abeja-config user run as subprocesses, as a user starts them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CLIENT_ENV_VARS, InProcess, start_engine
from tests.token_server import SHAPES, TokenShapeServer

BURSTS = """
import sys, time

def handler(input_data, context):
    n = 0
    for burst in range(4):
        for _ in range(input_data["lines"]):
            print(f"line {n}")
            n += 1
        sys.stdout.flush()
        time.sleep(0.3)
    raise RuntimeError("failed on purpose")
"""
FAILURE = "RuntimeError: failed on purpose"


def runwatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def client_env(tmp_path: Path, api: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_ENV_VARS}
    env.update(api)
    env["RUNWATCH_CONFIG"] = str(tmp_path / "config.toml")
    env["RUNWATCH_DATA_DIR"] = str(tmp_path / "no-engine")
    (tmp_path / "home").mkdir(exist_ok=True)
    env["HOME"] = str(tmp_path / "home")
    return env


@pytest.mark.parametrize("mode", ["seed", "cloudwatch"])
def test_logs_against_both_engine_modes(tmp_path: Path, mode: str, in_process: InProcess) -> None:
    engine = start_engine(tmp_path / "engine", extra_args=["--log-tokens", mode])
    try:
        env = client_env(tmp_path, engine.env)
        deployment_id, version_id = engine.deploy_source(BURSTS, name="bursts")
        run = engine.create_run(
            deployment_id, version_id, input_data={"lines": 1500}, retry_count=0
        )["run_id"]
        followed = in_process("logs", "-f", run, "--deployment", deployment_id, env=env)
        assert followed.returncode == 1, followed.stderr
        # Nothing on stderr but why the run failed: no retry note, no "reconnecting".
        assert followed.stderr.splitlines()[0] == f"runwatch: {run} FAILED: {FAILURE}"
        stored = engine.all_log_messages(deployment_id, run)
        assert followed.stdout.splitlines() == stored
        lines = [line for line in stored if line.startswith("line ")]
        assert lines == [f"line {n}" for n in range(6000)]
        whole = in_process("logs", run, "--deployment", deployment_id, env=env)
        assert (whole.returncode, whole.stderr) == (1, "")
        assert whole.stdout.splitlines() == stored
        tail = in_process("logs", "--tail", "5", run, "--deployment", deployment_id, env=env)
        assert (tail.returncode, tail.stderr) == (1, "")
        assert tail.stdout.splitlines() == stored[-5:]
    finally:
        engine.close()


@pytest.fixture(params=SHAPES)
def hosted(request: pytest.FixtureRequest) -> Iterator[TokenShapeServer]:
    server = TokenShapeServer(str(request.param), page_size=50, precision="ms")
    try:
        yield server
    finally:
        server.close()


def _grow(server: TokenShapeServer, run: str, started: threading.Event) -> None:
    """A run that logs in bursts for about two seconds, then fails with a traceback."""
    started.wait(10)
    for burst in range(8):
        server.add(run, [f"step {burst * 40 + i}" for i in range(40)], step=0.001)
        time.sleep(0.25)
    server.add(
        run,
        ["Traceback (most recent call last):", '  File "train.py", line 3', "ValueError: nan"],
        step=0.0,
    )
    server.set_status(run, "FAILED")


def test_logs_follow_and_whole_log_on_a_hosted_shape(
    hosted: TokenShapeServer, tmp_path: Path
) -> None:
    run = hosted.add_run("run-20260301")
    hosted.add(run, [f"setup {i}" for i in range(120)], step=0.01)
    env = client_env(tmp_path, hosted.env)
    started = threading.Event()
    grower = threading.Thread(target=_grow, args=(hosted, run, started), daemon=True)
    grower.start()
    process = subprocess.Popen(
        [sys.executable, "-m", "runwatch", "logs", "-f", run, "--deployment", hosted.deployment_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.set()
    out, err = process.communicate(timeout=90)
    grower.join()
    # Only why the run failed on stderr, read back from the end of the log whatever the shape.
    assert process.returncode == 1
    assert err.splitlines() == [
        f"runwatch: {run} FAILED: ValueError: nan",
        "  Traceback (most recent call last):",
        '    File "train.py", line 3',
        "  ValueError: nan",
    ]
    assert out.splitlines() == hosted.messages(run)
    whole = runwatch("logs", run, "--deployment", hosted.deployment_id, env=env)
    assert (whole.returncode, whole.stderr) == (1, "")
    assert whole.stdout.splitlines() == hosted.messages(run)


def test_runs_lists_every_run_on_a_hosted_shape(
    hosted: TokenShapeServer, tmp_path: Path, in_process: InProcess
) -> None:
    for number in range(3):
        hosted.add_run(f"run-{number}", status="SUCCEEDED")
    result = in_process(
        "runs", "--deployment", hosted.deployment_id, env=client_env(tmp_path, hosted.env)
    )
    assert result.returncode == 0, result.stderr
    assert all(f"run-{number}" in result.stdout for number in range(3))


def test_a_platform_user_with_only_an_abeja_config(tmp_path: Path) -> None:
    """A clean HOME holding only ~/.abeja/config, a deployment known by name, tokens as []."""
    import json

    server = TokenShapeServer("seed", page_size=50, precision="ms")
    try:
        run = server.add_run("run-1111")
        server.add(run, [f"epoch {i}" for i in range(180)], step=0.01)
        server.add(run, ["Traceback (most recent call last):", "RuntimeError: boom"], step=0.0)
        server.set_status(run, "FAILED")
        why = "RuntimeError: boom\n  Traceback (most recent call last):\n  RuntimeError: boom\n"
        env = client_env(tmp_path, {})
        config = Path(env["HOME"]) / ".abeja" / "config"
        config.parent.mkdir()
        config.write_text(json.dumps(server.abeja_config()))
        runs = runwatch("runs", "--deployment", server.deployment_name, env=env)
        assert (runs.returncode, runs.stderr) == (0, ""), runs.stderr
        assert run in runs.stdout
        for args in (["logs", "-f", run], ["logs", run]):
            result = runwatch(*args, "--deployment", server.deployment_name, env=env)
            assert result.returncode == 1
            assert result.stderr == ("" if "-f" not in args else f"runwatch: {run} FAILED: {why}")
            assert result.stdout.splitlines() == server.messages(run)
        # No --deployment: the run is looked up across the deployments.
        found = runwatch("logs", run, env=env)
        assert found.stdout.splitlines() == server.messages(run), found.stderr
    finally:
        server.close()
