"""SIGKILL under running runs: the engine, a run's handler, the store's writer.

- The engine dies at random moments while several runs are RUNNING and new ones are being
  launched: every run finishes normally with each of its lines stored exactly once, and every
  line a reader had seen before a kill is still there, in place, after the restart.
- A handler SIGKILLed: retried or FAILED per its retry budget, with the reason in the log.
- A launch the engine recorded but never carried out (it died in between) is launched again
  without spending the run's retry budget.
- The store itself: a writer SIGKILLed mid-transaction loses none of the lines it had committed
  and doubles none (the WAL + synchronous=NORMAL argument in db.connect, proven).
(test_durability.py covers one run through engine kills and the supervisor's SIGKILL.)
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runwatch.engine import db, log_blocks, store_format
from tests.conftest import EngineProcess
from tests.kill_cycles import (
    ENGINE_PREFIX,
    KILL_TIMEOUT,
    NUMBERED_HANDLER,
    KillSchedule,
    attempt_dir,
    check_numbered,
    handler_lines,
    kill_cycles,
    kill_seed,
    start_restartable_engine,
    wait_for_file,
)


@pytest.fixture
def engine(restartable_engine: EngineProcess) -> EngineProcess:
    """The suite's `engine` (and so cli_env's) here is one that restarts on its own port."""
    return restartable_engine


TERMINAL = {"SUCCEEDED", "FAILED"}
SIZES = [1, 3, 40, 200, 600]


def wait_for_line(engine: EngineProcess, dep: str, run_id: str, line: str) -> None:
    deadline = time.monotonic() + 20
    while line not in engine.all_log_messages(dep, run_id):
        assert time.monotonic() < deadline, f"{line!r} never logged"
        time.sleep(0.05)


@pytest.fixture
def engine3(tmp_path: Path) -> Iterator[EngineProcess]:
    """An engine running three runs at once."""
    proc = start_restartable_engine(tmp_path / "engine", extra_args=["--queues", "3"])
    try:
        yield proc
    finally:
        proc.close()


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(KILL_TIMEOUT)
def test_engine_sigkills_under_running_runs_lose_and_double_nothing(
    engine3: EngineProcess,
) -> None:
    engine = engine3
    schedule = KillSchedule(kill_seed(), kill_cycles())
    context = schedule.describe()
    dep, ver = engine.deploy_source(NUMBERED_HANDLER, name="numbered")

    def submit(seed: int, bursts: int) -> str:
        body = {"seed": seed, "bursts": bursts, "sizes": SIZES}
        return str(engine.create_run(dep, ver, input_data=body, retry_count=0)["run_id"])

    # Three long runs that outlast the kills, and one short run submitted just before each
    # kill, so kills also land while attempts are being launched.
    started = time.monotonic()
    runs = [submit(schedule.seed + k, 10 * schedule.cycles) for k in range(3)]
    for run_id in runs:
        engine.wait_for_status(dep, run_id, {"RUNNING"})
    seen_before_kills = 0
    for cycle in range(schedule.cycles):
        time.sleep(schedule.up_time())
        # Everything a reader can see has been committed: it must all survive the kill.
        seen = {run_id: engine.all_log_messages(dep, run_id) for run_id in runs}
        seen_before_kills += sum(map(len, seen.values()))
        runs.append(submit(schedule.seed + 100 + cycle, 6))
        time.sleep(schedule.rng.uniform(0.0, 0.1))
        schedule.kill(engine)
        time.sleep(schedule.down_time())
        schedule.restart(engine)
        for run_id, before in seen.items():
            after = engine.all_log_messages(dep, run_id)
            assert after[: len(before)] == before, f"{run_id} changed after kill {cycle}: {context}"
    # A launch the kill interrupted waits out the launch grace (10 s) before it is redone.
    finals = {run_id: engine.wait_for_status(dep, run_id, TERMINAL, timeout=120) for run_id in runs}
    lines_checked = relaunched = 0
    for run_id, run in finals.items():
        log = engine.all_log_messages(dep, run_id)
        assert run["status"] == "SUCCEEDED", f"{run_id}: {log[-5:]} {context}"
        lines_checked += check_numbered(handler_lines(log), f"{run_id} {context}") + 1
        engine_lines = [m for m in log if m.startswith(ENGINE_PREFIX)]
        restarted = sum("never started" in m for m in engine_lines)
        relaunched += restarted
        assert engine_lines.count("[engine] attempt 1 of 1 starting") == 1 + restarted, log[:5]
        assert engine_lines[-1] == "[engine] attempt 1 of 1 exited with code 0", engine_lines
        assert len(engine_lines) == 2 + 2 * restarted, engine_lines
    print(
        f"\nengine kills under runs: {schedule.cycles} cycles, {len(runs)} runs,"
        f" {lines_checked} lines checked, {seen_before_kills} seen-before-kill lines re-checked,"
        f" {relaunched} interrupted launches redone, {time.monotonic() - started:.0f}s, {context}"
    )


HANDLER_KILLED = """
import time
def handler(input_data, context):
    print("attempt", context.attempt, flush=True)
    if context.attempt == 1:
        time.sleep(60)
    print("done", context.attempt)
"""


@pytest.mark.parametrize(("retry_count", "status"), [(1, "SUCCEEDED"), (0, "FAILED")])
def test_handler_sigkill_is_retried_or_failed_per_budget(
    engine: EngineProcess, retry_count: int, status: str
) -> None:
    dep, ver = engine.deploy_source(HANDLER_KILLED)
    run_id = engine.create_run(dep, ver, retry_count=retry_count)["run_id"]
    first = attempt_dir(engine, run_id)
    wait_for_file(first / "runner.pid")
    wait_for_line(engine, dep, run_id, "attempt 1")
    os.kill(int((first / "runner.pid").read_text()), signal.SIGKILL)
    assert engine.wait_for_status(dep, run_id, TERMINAL)["status"] == status
    log = engine.all_log_messages(dep, run_id)
    total = retry_count + 1
    assert f"[engine] attempt 1 of {total} killed by signal 9" in log
    assert log.count("attempt 1") == 1
    if retry_count:
        assert "[engine] retrying: 1 attempt(s) left" in log
        assert handler_lines(log) == ["attempt 1", "attempt 2", "done 2"]
    else:
        assert log[-1] == "[engine] run failed after 1 attempt(s)"
        assert handler_lines(log) == ["attempt 1"]


def test_handler_sigkilled_while_the_engine_is_down_fails_with_the_reason(
    engine: EngineProcess,
) -> None:
    dep, ver = engine.deploy_source(HANDLER_KILLED)
    run_id = engine.create_run(dep, ver, retry_count=0)["run_id"]
    first = attempt_dir(engine, run_id)
    wait_for_file(first / "runner.pid")
    wait_for_line(engine, dep, run_id, "attempt 1")
    engine.kill()
    os.kill(int((first / "runner.pid").read_text()), signal.SIGKILL)
    wait_for_file(first / "exit.json")  # the supervisor outlives the engine and records it
    engine.start()
    assert engine.wait_for_status(dep, run_id, TERMINAL)["status"] == "FAILED"
    log = engine.all_log_messages(dep, run_id)
    assert "[engine] attempt 1 of 1 killed by signal 9" in log
    assert log[-1] == "[engine] run failed after 1 attempt(s)"


def test_a_launch_the_engine_died_in_is_redone_without_spending_a_retry(
    engine: EngineProcess, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    dep, ver = engine.deploy_source(
        "import os, time\n"
        "def handler(i, c):\n"
        "    while not os.path.exists(i['gate']):\n"
        "        time.sleep(0.02)\n"
        "    print('ran', c.attempt)\n"
    )
    run_id = engine.create_run(dep, ver, input_data={"gate": str(gate)}, retry_count=0)["run_id"]
    first = attempt_dir(engine, run_id)
    wait_for_file(first / "runner.pid")
    engine.kill()
    # Leave exactly what a kill between recording the launch and starting the supervisor
    # leaves: the attempt row `launching` with no pid, the spec, and no process.
    os.killpg(int((first / "supervisor.pid").read_text()), signal.SIGKILL)
    os.killpg(int((first / "runner.pid").read_text()), signal.SIGKILL)
    for name in ("supervisor.pid", "runner.pid", "spool", "exit.json"):
        (first / name).unlink(missing_ok=True)
    old = time.time() - 60  # past the launch grace
    os.utime(first / "spec.json", (old, old))
    conn = sqlite3.connect(engine.data_dir / db.DB_NAME)
    with conn:
        conn.execute("UPDATE attempts SET state = 'launching', supervisor_pid = NULL")
    conn.close()
    engine.start()
    wait_for_file(first / "runner.pid")
    gate.touch()
    run = engine.wait_for_status(dep, run_id, TERMINAL)
    log = engine.all_log_messages(dep, run_id)
    assert run["status"] == "SUCCEEDED", log
    assert (
        "[engine] attempt 1 of 1 never started (the engine stopped while launching it);"
        " starting it again" in log
    )
    assert log.count("[engine] attempt 1 of 1 starting") == 2
    assert handler_lines(log) == ["ran 1"]


# -- the store's own durability ----------------------------------------------------------------

WRITER = """
import random, sys, time
from pathlib import Path
from runwatch.engine import db, log_blocks, store, store_format

conn, _meta = store_format.init_store(Path(sys.argv[1]))
rng = random.Random(int(sys.argv[2]))
last = conn.execute(
    "SELECT coalesce(max(first_seq + count - 1), 0) FROM log_blocks WHERE rseq = 1"
).fetchone()[0]
while True:
    lines = [f"n {seq:07d}" for seq in range(last + 1, last + 1 + rng.choice([1, 3, 20, 200]))]
    with db.Transaction(conn):
        last = log_blocks.append_logs(conn, 1, [(1_700_000_000_000_000 + last, lines)], last)
    # Acknowledged only once COMMIT has returned.
    sys.stdout.write(f"{last}\\n")
    sys.stdout.flush()
    # Many small commits rather than a flood of lines: commits are what a kill can tear.
    time.sleep(0.0005)
"""


def test_the_store_uses_wal_with_synchronous_normal(tmp_path: Path) -> None:
    # The durability argument in db.connect rests on these two settings.
    conn, _meta = store_format.init_store(tmp_path / "data")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.timeout(KILL_TIMEOUT)
def test_lines_committed_before_a_sigkill_are_there_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed = kill_seed()
    rng = random.Random(seed)
    cycles = 2 * kill_cycles()  # cheap: no engine, one small process per kill
    acked = 0
    for cycle in range(cycles):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data), str(seed + cycle)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        first = writer.stdout.readline()  # it is writing: kill it at a random moment after
        assert first, "the writer did not start"
        time.sleep(rng.uniform(0.0, 0.25))
        writer.send_signal(signal.SIGKILL)
        rest, _ = writer.communicate(timeout=30)
        acks = [int(line) for line in [first, *rest.splitlines()] if line.strip()]
        acked = max(acked, *acks)
        conn = db.connect(data / db.DB_NAME)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            rows = log_blocks.log_page(conn, 1, after=0, limit=10**9)
        finally:
            conn.close()
        messages = [json.loads(event)["message"] for _seq, _ts, event in rows]
        stored = len(messages)
        context = f"cycle {cycle} seed {seed}"
        assert stored >= acked, f"{context}: {acked} lines acknowledged, {stored} stored"
        assert [seq for seq, _, _ in rows] == list(range(1, stored + 1)), context
        assert messages == [f"n {seq:07d}" for seq in range(1, stored + 1)], context
    print(f"\nstore writer SIGKILLs: {cycles} kills, {acked} acknowledged lines all stored once")
