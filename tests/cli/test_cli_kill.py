"""`runwatch logs -f` while the engine is SIGKILLed and restarted, again and again.

The real console script follows a run printing a numbered sequence in bursts; the engine dies
at random moments (mid-burst, mid-ingestion, mid-request) and comes back on the same port and
data dir. The output must be the handler's lines exactly: none lost, none doubled, in order.
CI runs the short form; RUNWATCH_KILL_CYCLES=20 runs the long one (see tests/kill_cycles.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EngineProcess
from tests.kill_cycles import (
    KILL_TIMEOUT,
    NUMBERED_HANDLER,
    KillSchedule,
    check_numbered,
    handler_lines,
    kill_cycles,
    kill_seed,
    stop_file,
)


@pytest.fixture
def engine(restartable_engine: EngineProcess) -> EngineProcess:
    """The suite's `engine` (and so cli_env's) here is one that restarts on its own port."""
    return restartable_engine


def runwatch_command() -> list[str]:
    """The installed console script next to this Python, else `python -m runwatch`."""
    script = Path(sys.executable).with_name("runwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "runwatch"]


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(KILL_TIMEOUT)
def test_logs_follow_through_engine_sigkills_gives_every_line_once(
    engine: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    schedule = KillSchedule(kill_seed(), kill_cycles())
    context = schedule.describe()
    deployment_id, version_id = engine.deploy_source(NUMBERED_HANDLER, name="numbered")
    stop = stop_file(tmp_path)
    run_id = engine.create_run(
        deployment_id,
        version_id,
        input_data={"seed": schedule.seed, "stop": str(stop)},
        retry_count=0,
    )["run_id"]
    out_path, err_path = tmp_path / "follow.out", tmp_path / "follow.err"
    # Files, not pipes: a follower blocked on a full pipe would not be following.
    with out_path.open("wb") as out, err_path.open("wb") as err:
        follower = subprocess.Popen(
            [*runwatch_command(), "logs", "-f", run_id, "--deployment", deployment_id],
            env=cli_env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    try:
        engine.wait_for_status(deployment_id, run_id, {"RUNNING"})
        for cycle in range(schedule.cycles):
            time.sleep(schedule.up_time())
            schedule.kill(engine)
            down = schedule.down_time()
            # Short outages may fall between two polls; the first one is long enough that
            # the follower certainly meets it (the check on stderr below).
            time.sleep(max(down, 2.5) if cycle == 0 else down)
            schedule.restart(engine)
            assert follower.poll() is None, f"follower exited in cycle {cycle}: {context}"
        time.sleep(schedule.up_time())
        stop.touch()
        follower.wait(timeout=180)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    stderr = err_path.read_text(errors="replace")
    assert follower.returncode == 0, f"{context}\n{stderr[-2000:]}"
    assert "retrying in" in stderr, context  # it did see the engine go away
    lines = out_path.read_text().splitlines()
    total = check_numbered(handler_lines(lines), context)
    assert total > 0
    # And nothing else: the output is the stored log, engine lines included, exactly.
    assert lines == engine.all_log_messages(deployment_id, run_id), context
    assert engine.get_run(deployment_id, run_id)["status"] == "SUCCEEDED"
    print(f"\nlogs -f: {schedule.cycles} kill cycles, {total + 1} handler lines checked, {context}")


@pytest.mark.long
def test_watch_probes_a_restarting_engine_often_and_carries_on(
    engine: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """`watch` while the engine is down: a refused connection is tried again within half a
    second (not backed off towards a minute), and the watch ends when the run does."""
    deployment_id, version_id = engine.deploy_source(NUMBERED_HANDLER, name="numbered")
    stop = stop_file(tmp_path)
    run_id = engine.create_run(
        deployment_id,
        version_id,
        input_data={"seed": 1, "stop": str(stop), "sizes": [1]},
        retry_count=0,
    )["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"RUNNING"})
    out_path, err_path = tmp_path / "watch.out", tmp_path / "watch.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        watcher = subprocess.Popen(
            [*runwatch_command(), "watch", run_id, "--deployment", deployment_id],
            env=cli_env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 30
        while "RUNNING" not in out_path.read_text():
            assert watcher.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        port = engine.port
        engine.kill()
        # Long enough that a backoff doubling from 0.3 s would next probe seconds after the
        # engine is back.
        time.sleep(5)
        engine.start()
        assert engine.port == port
        answering = time.monotonic()
        while "reconnected" not in err_path.read_text(errors="replace"):
            assert watcher.poll() is None and time.monotonic() < answering + 30
            time.sleep(0.05)
        noticed = time.monotonic() - answering
        stop.touch()
        watcher.wait(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    stderr = err_path.read_text(errors="replace")
    assert watcher.returncode == 0, stderr[-2000:]
    assert out_path.read_text().split()[-1] == "SUCCEEDED"
    # Probed every 0.25-0.5 s, but said once: one note for the outage, one when it is over.
    assert noticed < 2.0, (noticed, stderr)
    assert len(re.findall(r"retrying in 0\.[0-5][0-9]*s", stderr)) == 1, stderr
    assert stderr.count("reconnected; watching again") == 1, stderr
