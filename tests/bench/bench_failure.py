"""The failure at a glance on a long log: what `follow.failure.read_failure` costs against what
reading the whole log would.

    python tests/bench/bench_failure.py [--lines N]

Starts an engine in a temporary directory and two runs that print N lines and then fail: one
with a short traceback, one with a traceback of some 1,800 lines (longer than a page, so the
summary reads back to its start). For each: the summary's time and requests (median of 5),
and, for comparison, reading the whole log once (`follow.log_read.read_log`, as `runwatch logs`
does). Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runwatch.api.client import AsyncAPIClient
from runwatch.follow.failure import read_failure
from runwatch.follow.log_read import read_log
from runwatch.follow.logs import LogFollower
from tests.conftest import start_engine

HANDLER = """
import sys

def ping(n):
    if n == 0:
        raise RuntimeError("deep end")
    return pong(n - 1)

def pong(n):
    return ping(n)

def handler(data, context):
    out = sys.stdout
    for i in range(data["lines"]):
        out.write(f"step {i}: loss=0.{i % 97:02d}\\n")
    out.flush()
    ping(data["depth"])
"""


async def measure(client: AsyncAPIClient, org: str, deployment: str, run: str) -> dict[str, float]:
    times, requests = [], 0
    reason = None
    for _ in range(5):
        start = time.perf_counter()
        summary = await read_failure(client, org, deployment, run)
        times.append(time.perf_counter() - start)
        assert summary is not None
        reason, requests = summary.reason, summary.requests
    follower = LogFollower(client, org, deployment, run, from_start=True, max_pages_per_poll=1)
    start = time.perf_counter()
    lines = 0
    async for batch in read_log(client, org, deployment, run, follower=follower):
        lines += len(batch)
    whole = time.perf_counter() - start
    print(f"    reason: {reason}")
    return {
        "summary_ms": statistics.median(times) * 1000,
        "summary_requests": requests,
        "whole_log_ms": whole * 1000,
        "whole_log_requests": follower.traffic.requests,
        "lines": lines,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-failure-") as tmp:
        engine = start_engine(Path(tmp) / "engine")
        try:
            deployment, version = engine.deploy_source(HANDLER, name="bench-failure")
            runs = {
                "short traceback": engine.create_run(
                    deployment, version, input_data={"lines": args.lines, "depth": 1}, retry_count=0
                )["run_id"],
                "1,800-line traceback": engine.create_run(
                    deployment,
                    version,
                    input_data={"lines": args.lines, "depth": 300},
                    retry_count=0,
                )["run_id"],
            }
            for run in runs.values():
                engine.wait_for_status(deployment, run, "FAILED", timeout=300)

            async def go() -> None:
                async with AsyncAPIClient(engine.credential, base_url=engine.url) as client:
                    for name, run in runs.items():
                        print(f"{name}:")
                        found = await measure(client, engine.organization_id, deployment, run)
                        for key, value in found.items():
                            print(f"    {key}: {value:,.1f}")

            asyncio.run(go())
        finally:
            engine.close()


if __name__ == "__main__":
    main()
