"""Execution: handlers under supervisors, log capture, statuses, retries, queues."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from pathlib import Path

from tests.conftest import EngineProcess, start_engine


def handler_lines(engine: EngineProcess, dep: str, run_id: str) -> list[str]:
    return [m for m in engine.all_log_messages(dep, run_id) if not m.startswith("[engine] ")]


def history(engine: EngineProcess, run_id: str) -> list[str]:
    with sqlite3.connect(engine.data_dir / "engine.db") as db:
        rows = db.execute(
            "SELECT h.status FROM status_history h JOIN runs r ON r.rseq = h.rseq"
            " WHERE r.run_id = ? ORDER BY h.n",
            (run_id,),
        ).fetchall()
    return [row[0] for row in rows]


def test_retry_then_success_records_every_status(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source(
        "def handler(input_data, context):\n"
        "    print('attempt', context.attempt, context['attempt'])\n"
        "    if context.attempt == 1:\n"
        "        raise RuntimeError('first attempt fails')\n"
    )
    run = engine.create_run(dep, ver, retry_count=2)
    done = engine.wait_for_status(dep, run["run_id"], {"SUCCEEDED", "FAILED"})
    assert done["status"] == "SUCCEEDED"
    log = engine.all_log_messages(dep, run["run_id"])
    assert log[0] == "[engine] attempt 1 of 3 starting"
    assert "attempt 1 1" in log and "attempt 2 2" in log
    assert "RuntimeError: first attempt fails" in log
    assert "Traceback (most recent call last):" in log
    assert "[engine] attempt 1 of 3 exited with code 1" in log
    assert "[engine] attempt 2 of 3 starting" in log
    assert log[-1] == "[engine] attempt 2 of 3 exited with code 0"
    assert history(engine, run["run_id"]) == [
        "SUBMITTED",
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
    ]


def test_failure_after_all_attempts(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source("import sys\ndef handler(i, c):\n    sys.exit(3)\n")
    run = engine.create_run(dep, ver, retry_count=1)
    assert engine.wait_for_status(dep, run["run_id"], {"FAILED"})["status"] == "FAILED"
    log = engine.all_log_messages(dep, run["run_id"])
    assert log.count("[engine] attempt 1 of 2 exited with code 3") == 1
    assert log.count("[engine] attempt 2 of 2 exited with code 3") == 1
    assert log[-1] == "[engine] run failed after 2 attempt(s)"


def test_import_error_fails_with_traceback(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source("import no_such_module_here\ndef handler(i, c):\n    pass\n")
    run = engine.create_run(dep, ver, retry_count=0)
    assert engine.wait_for_status(dep, run["run_id"], {"FAILED"})["status"] == "FAILED"
    log = engine.all_log_messages(dep, run["run_id"])
    assert any("ModuleNotFoundError" in line for line in log)


def test_handler_sees_input_context_environment(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source(
        "import os\n"
        "def handler(input_data, context):\n"
        "    print('input', sorted(input_data.items()))\n"
        "    print('ctx', context.run_id, context.deployment_id, context.version_id)\n"
        "    print('env', os.environ.get('EXAMPLE_ENV'), os.environ.get('PYTHONUNBUFFERED'))\n"
        "    print('token', 'PLATFORM_AUTH_TOKEN' in os.environ)\n"
        "    print('cwd', os.path.exists('main.py'))\n"
    )
    run = engine.create_run(
        dep, ver, input_data={"a": 1, "b": "x"}, environment={"EXAMPLE_ENV": "example"}
    )
    engine.wait_for_status(dep, run["run_id"], {"SUCCEEDED"})
    assert handler_lines(engine, dep, run["run_id"]) == [
        "input [('a', 1), ('b', 'x')]",
        f"ctx {run['run_id']} {dep} {ver}",
        "env example 1",
        "token False",
        "cwd True",
    ]


def test_stderr_and_child_processes_are_captured_in_order(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source(
        "import subprocess, sys\n"
        "def handler(i, c):\n"
        "    print('before')\n"
        "    print('to stderr', file=sys.stderr)\n"
        "    subprocess.run([sys.executable, '-c', 'print(\"child python\")'], check=True)\n"
        "    subprocess.run(['sh', '-c', 'echo child shell; echo child err >&2'], check=True)\n"
        "    print('x' * 70000)\n"
        "    sys.stdout.write('no newline at the end')\n"
    )
    run = engine.create_run(dep, ver, retry_count=0)
    engine.wait_for_status(dep, run["run_id"], {"SUCCEEDED"})
    lines = handler_lines(engine, dep, run["run_id"])
    assert lines == [
        "before",
        "to stderr",
        "child python",
        "child shell",
        "child err",
        "x" * 65536,
        "x" * (70000 - 65536),
        "no newline at the end",
    ]


def test_lines_arrive_while_running_with_their_own_times(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source(
        "import time\n"
        "def handler(i, c):\n"
        "    print('first')\n"
        "    time.sleep(0.6)\n"
        "    print('second')\n"
        "    time.sleep(float(i.get('hold', 0)))\n"
    )
    run = engine.create_run(dep, ver, input_data={"hold": 1.5})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "second" in handler_lines(engine, dep, run["run_id"]):
            break
        time.sleep(0.05)
    assert engine.get_run(dep, run["run_id"])["status"] == "RUNNING"
    with engine.client() as client:
        events = client.get(
            f"/organizations/{engine.organization_id}/deployments/{dep}/runs/{run['run_id']}/logs"
        ).json()["events"]
    times = {
        e["message"]: datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")) for e in events
    }
    assert (times["second"] - times["first"]).total_seconds() >= 0.5


def test_queues_by_distribution(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source("import time\ndef handler(i, c):\n    time.sleep(0.7)\n")
    same_a = engine.create_run(dep, ver, distribution=0)["run_id"]
    same_b = engine.create_run(dep, ver, distribution=2)["run_id"]
    other = engine.create_run(dep, ver, distribution=1)["run_id"]
    for run_id in (same_a, same_b, other):
        engine.wait_for_status(dep, run_id, {"SUCCEEDED"})
    with sqlite3.connect(engine.data_dir / "engine.db") as db:
        spans = dict(
            (run_id, (start, end))
            for run_id, start, end in db.execute(
                "SELECT r.run_id, a.started_us, a.ended_us FROM attempts a"
                " JOIN runs r ON r.rseq = a.rseq"
            )
        )
    # Distribution 0 and 2 share queue 0 (of 2): one after the other; 1 runs alongside.
    assert spans[same_b][0] >= spans[same_a][1]
    assert spans[other][0] < spans[same_a][1]


def test_frozen_clock_makes_times_deterministic(tmp_path: Path) -> None:
    proc = start_engine(
        tmp_path / "engine", env={"RUNWATCH_ENGINE_CLOCK": "frozen:2026-01-01T00:00:00Z"}
    )
    try:
        dep, ver = proc.deploy_source("def handler(i, c):\n    print('hello')\n    print('bye')\n")
        run = proc.create_run(dep, ver)
        assert run["created_at"].startswith("2026-01-01T00:00:00.0")
        proc.wait_for_status(dep, run["run_id"], {"SUCCEEDED"})
        with proc.client() as client:
            events = client.get(
                f"/organizations/{proc.organization_id}/deployments/{dep}/runs/{run['run_id']}/logs"
            ).json()["events"]
        assert all(e["timestamp"].startswith("2026-01-01T00:00:00.") for e in events)
        # The engine's own lines and the handler's (timed by its supervisor) in time order:
        # followers read by time and would otherwise see the handler's lines again and again.
        messages = [e["message"] for e in events]
        assert messages[:3] == ["[engine] attempt 1 of 6 starting", "hello", "bye"]
        assert messages[-1].startswith("[engine] attempt 1 of 6 exited")
        stamps = [e["timestamp"] for e in events]
        assert stamps == sorted(stamps)
    finally:
        proc.close()
