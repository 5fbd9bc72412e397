"""The follower's CPU per line, run by hand:

    python tests/bench/bench_follow_cpu.py [--rate 5000] [--seconds 10] [--replay N] [--profile]

A real engine (its own process, seed tokens as the dashboard's local engine uses) runs a
handler that prints `rate` lines/s (bench_soak's handler); in this process a `LogFollower`
follows it with the dashboard's log schedule (1 s interval, 0.25 s while lines pour in) and
throws the batches away. What is measured is this process's CPU time (time.process_time)
from the first batch to the last, per delivered line and as a share of one core: everything
from the HTTP answer to the list of events a log pane is handed, and nothing of the view.
The engine's CPU is its own process's and not counted. `--profile` prints cProfile's top
functions by own time. The live figure depends on the machine's load (how the polls fall
against the handler's writes); `--replay N` also reads a finished run of N lines from its start
(`logs -f --from-start`'s path: `logs` pages of 1,000 events) and gives the CPU per line of
that, which is steadier. Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from runwatch.api.client import APIClient, AsyncAPIClient  # noqa: E402 - the repository root first
from runwatch.engine.deploy import deploy  # noqa: E402
from runwatch.engine.launch import ensure_engine  # noqa: E402
from runwatch.follow.logs import LogFollower  # noqa: E402
from runwatch.follow.schedule import PollSchedule  # noqa: E402
from tests.bench.bench_follow import FLOOD, submit, wait_done  # noqa: E402
from tests.bench.bench_soak import HANDLER  # noqa: E402


async def replay_run(url: str, token: str, org: str, deployment: str, run_id: str) -> float:
    """CPU seconds of reading a finished run's whole log from its start (repeated 3 times,
    the least taken)."""
    best = float("inf")
    async with AsyncAPIClient({"auth_token": token}, base_url=url) as client:
        for _ in range(3):
            follower = LogFollower(client, org, deployment, run_id, from_start=True)
            follower.set_run_status("SUCCEEDED")
            start = time.process_time()
            while not follower.done:
                await follower.poll()
            best = min(best, time.process_time() - start)
    return best


async def follow_run(
    url: str, token: str, org: str, deployment: str, run_id: str, seconds: float
) -> tuple[int, float, float, int]:
    """(lines, CPU seconds, wall seconds, requests) of following for `seconds`."""
    async with AsyncAPIClient({"auth_token": token}, base_url=url) as client:
        follower = LogFollower(client, org, deployment, run_id)
        follower.set_run_status("RUNNING")
        schedule = PollSchedule(interval=1.0, busy_interval=0.25)
        lines = 0
        cpu0 = wall0 = 0.0
        requests0 = 0
        first = True
        async for batch in follower.follow(schedule, fetch_status=False):
            if first:
                # From the first batch on: the start (imports, the first page) is not counted.
                first = False
                cpu0, wall0 = time.process_time(), time.perf_counter()
                requests0 = follower.traffic.requests
                continue
            lines += len(batch)
            if time.perf_counter() - wall0 >= seconds:
                break
        return (
            lines,
            time.process_time() - cpu0,
            time.perf_counter() - wall0,
            follower.traffic.requests - requests0,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--replay", type=int, default=0, help="lines of a finished run")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="runwatch-bench-follow-cpu-") as tmp_name:
        tmp = Path(tmp_name)
        code = tmp / "code"
        code.mkdir()
        (code / "main.py").write_text(HANDLER)
        data_dir = tmp / "engine"
        deployed = deploy(data_dir, code, name="soak")
        (code / "main.py").write_text(FLOOD)
        flood = deploy(data_dir, code, name="flood", handler="main:handler")
        engine = ensure_engine(data_dir, timeout=60, extra_args=["--no-demo"])
        try:
            with APIClient({"auth_token": engine.token}, base_url=engine.url) as client:
                run = client.create_run(
                    engine.organization_id,
                    deployed.deployment_id,
                    deployed.version_id,
                    input_data={"rate": str(args.rate), "seconds": str(args.seconds + 30)},
                    retry_count=0,
                )
                finished = None
                if args.replay:
                    finished = submit(
                        client, engine, flood.deployment_id, flood.version_id, args.replay
                    )
                    wait_done(client, engine, flood.deployment_id, finished)
            if finished is not None:
                cpu = asyncio.run(
                    replay_run(
                        engine.url,
                        engine.token,
                        engine.organization_id,
                        flood.deployment_id,
                        finished,
                    )
                )
                print(
                    f"replay of {args.replay:,} lines from the start: follower CPU {cpu:.3f} s"
                    f" = {1e6 * cpu / args.replay:.2f} us/line"
                )
            time.sleep(2)  # the run starts printing
            follow = follow_run(
                engine.url,
                engine.token,
                engine.organization_id,
                deployed.deployment_id,
                str(run["run_id"]),
                args.seconds,
            )
            profiler = cProfile.Profile(time.process_time) if args.profile else None
            if profiler is not None:
                profiler.enable()
            lines, cpu, wall, requests = asyncio.run(follow)
            if profiler is not None:
                profiler.disable()
            print(
                f"rate {args.rate:g} lines/s: {lines:,} lines in {wall:.1f} s, {requests} requests;"
                f" follower CPU {cpu:.3f} s = {1e6 * cpu / max(lines, 1):.1f} us/line,"
                f" {100 * cpu / wall:.1f}% of a core (load1 {os.getloadavg()[0]:.2f})"
            )
            if profiler is not None:
                stats = pstats.Stats(profiler)
                stats.sort_stats("tottime").print_stats(25)
                stats.sort_stats("cumtime").print_stats(40)
        finally:
            engine.stop()


if __name__ == "__main__":
    main()
