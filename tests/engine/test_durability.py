"""Runs outlive the engine: restarts, SIGKILLs of the engine and of a supervisor."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import EngineProcess
from tests.kill_cycles import attempt_dir, wait_for_file


@pytest.fixture
def engine(restartable_engine: EngineProcess) -> EngineProcess:
    """The suite's `engine` (and so cli_env's) here is one that restarts on its own port."""
    return restartable_engine


# Bursts bigger than one ingestion chunk, with pauses, so kills land mid-ingestion.
BURSTY = """
import time
def handler(input_data, context):
    n = 0
    for burst in range(int(input_data["bursts"])):
        for _ in range(int(input_data["size"])):
            print(f"line {n}")
            n += 1
        time.sleep(float(input_data["pause"]))
"""


def handler_lines(engine: EngineProcess, dep: str, run_id: str) -> list[str]:
    return [m for m in engine.all_log_messages(dep, run_id) if not m.startswith("[engine] ")]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_restart_keeps_runs_and_logs(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source("def handler(i, c):\n    print('kept')\n")
    run = engine.create_run(dep, ver)
    engine.wait_for_status(dep, run["run_id"], {"SUCCEEDED"})
    before = engine.all_log_messages(dep, run["run_id"])
    url = engine.url
    engine.stop()
    engine.start()
    assert engine.url == url
    assert engine.get_run(dep, run["run_id"])["status"] == "SUCCEEDED"
    assert engine.all_log_messages(dep, run["run_id"]) == before


@pytest.mark.long
def test_engine_sigkill_mid_run_loses_and_repeats_nothing(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source(BURSTY)
    run = engine.create_run(
        dep, ver, input_data={"bursts": 6, "size": 30000, "pause": 0.3}, retry_count=0
    )
    run_id = run["run_id"]
    for _ in range(3):
        wait_for_file(attempt_dir(engine, run_id) / "supervisor.pid")
        time.sleep(0.4)
        engine.kill()
        time.sleep(0.3)
        engine.start()
    done = engine.wait_for_status(dep, run_id, {"SUCCEEDED", "FAILED"}, timeout=60)
    assert done["status"] == "SUCCEEDED"
    assert handler_lines(engine, dep, run_id) == [f"line {n}" for n in range(180000)]


@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
def test_run_that_ends_while_the_engine_is_down(engine: EngineProcess, how: str) -> None:
    dep, ver = engine.deploy_source(
        "import time\ndef handler(i, c):\n    print('a')\n    time.sleep(1.5)\n    print('b')\n"
    )
    run_id = engine.create_run(dep, ver)["run_id"]
    engine.wait_for_status(dep, run_id, {"RUNNING"})
    if how == "sigkill":
        engine.kill()
    else:
        engine.stop()
    # The engine is gone; its run is not.
    assert not (attempt_dir(engine, run_id) / "exit.json").exists()
    wait_for_file(attempt_dir(engine, run_id) / "exit.json")
    engine.start()
    assert engine.wait_for_status(dep, run_id, {"SUCCEEDED", "FAILED"})["status"] == "SUCCEEDED"
    assert handler_lines(engine, dep, run_id) == ["a", "b"]


def test_supervisor_sigkill_is_a_failed_attempt_then_retry(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source(
        "import time\n"
        "def handler(i, c):\n"
        "    print('attempt', c.attempt)\n"
        "    if c.attempt == 1:\n"
        "        time.sleep(60)\n"
    )
    run_id = engine.create_run(dep, ver, retry_count=1)["run_id"]
    first = attempt_dir(engine, run_id)
    wait_for_file(first / "runner.pid")
    deadline = time.monotonic() + 20
    while "attempt 1" not in handler_lines(engine, dep, run_id):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runner = int((first / "runner.pid").read_text())
    os.kill(int((first / "supervisor.pid").read_text()), signal.SIGKILL)
    done = engine.wait_for_status(dep, run_id, {"SUCCEEDED", "FAILED"})
    assert done["status"] == "SUCCEEDED"
    log = engine.all_log_messages(dep, run_id)
    assert any("supervisor died without recording an exit status" in m for m in log), log
    assert "[engine] attempt 2 of 2 starting" in log
    assert log.count("attempt 1") == 1 and log.count("attempt 2") == 1
    deadline = time.monotonic() + 5
    while pid_alive(runner) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(runner), "the orphaned handler of the dead supervisor was not stopped"


def test_supervisor_sigkill_without_retries_fails_with_explanation(
    engine: EngineProcess,
) -> None:
    dep, ver = engine.deploy_source("import time\ndef handler(i, c):\n    time.sleep(60)\n")
    run_id = engine.create_run(dep, ver, retry_count=0)["run_id"]
    first = attempt_dir(engine, run_id)
    wait_for_file(first / "runner.pid")
    # The engine is down when the supervisor dies: the next start must notice.
    engine.kill()
    os.kill(int((first / "supervisor.pid").read_text()), signal.SIGKILL)
    engine.start()
    assert engine.wait_for_status(dep, run_id, {"SUCCEEDED", "FAILED"})["status"] == "FAILED"
    log = engine.all_log_messages(dep, run_id)
    assert any("supervisor died" in m for m in log)
    assert log[-1] == "[engine] run failed after 1 attempt(s)"
