"""CPU per request of the async client, with StreamTransport and with httpx's default, run by hand:

    python tests/bench/bench_request_cpu.py [--requests 300] [--rounds 3]

A real engine (its own process) serves three answers the dashboard asks for all day: a page
of runs (`get_runs`), an empty `get_run_recent_logs` and a 1,000-event one. In this process
an `AsyncAPIClient` makes each request `--requests` times over one keep-alive connection, once
with its default transport (StreamTransport) and once with `httpx.AsyncHTTPTransport` (httpcore
over h11 and anyio, the transport before). What is printed is this process's CPU time
(time.process_time) per request, the least of `--rounds` rounds (the two transports taking
turns, so a burst of load elsewhere on the machine hits both): the whole call, from building
the request to the decoded dict. The engine's CPU is its own process's and not counted.
Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from runwatch.api.client import APIClient, AsyncAPIClient  # noqa: E402 - the repository root first
from runwatch.engine.deploy import deploy  # noqa: E402
from runwatch.engine.launch import ensure_engine  # noqa: E402
from tests.bench.bench_follow import FLOOD, submit, wait_done  # noqa: E402

Call = Callable[[AsyncAPIClient], Awaitable[Any]]


async def cpu_per_request(
    url: str, token: str, call: Call, requests: int, transport: httpx.AsyncBaseTransport | None
) -> float:
    """CPU milliseconds per call, after a warm-up (the connection opened, caches filled)."""
    async with AsyncAPIClient({"auth_token": token}, base_url=url, transport=transport) as client:
        for _ in range(20):
            await call(client)
        start = time.process_time()
        for _ in range(requests):
            await call(client)
        return 1000 * (time.process_time() - start) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="runwatch-bench-request-cpu-") as tmp_name:
        tmp = Path(tmp_name)
        code = tmp / "code"
        code.mkdir()
        (code / "main.py").write_text(FLOOD)
        data_dir = tmp / "engine"
        flood = deploy(data_dir, code, name="flood", handler="main:handler")
        engine = ensure_engine(data_dir, timeout=60, extra_args=["--no-demo"])
        org, dep = engine.organization_id, flood.deployment_id
        try:
            with APIClient({"auth_token": engine.token}, base_url=engine.url) as client:
                empty = submit(client, engine, dep, flood.version_id, 0)
                full = submit(client, engine, dep, flood.version_id, 1000)
                for run_id in (empty, full):
                    wait_done(client, engine, dep, run_id)
                page = client.get_run_recent_logs(org, dep, full)
                events = len(page["events"])

            calls: dict[str, Call] = {
                "get_runs": lambda c: c.get_runs(org, dep),
                "recentlogs, empty": lambda c: c.get_run_recent_logs(org, dep, empty),
                f"recentlogs, {events:,} events": lambda c: c.get_run_recent_logs(org, dep, full),
            }
            print(f"CPU ms per request, least of {args.rounds} rounds of {args.requests}:")
            print(f"{'':28} {'StreamTransport':>16} {'httpx default':>14} {'saved':>7}")
            for name, call in calls.items():
                ours = theirs = float("inf")
                for _ in range(args.rounds):
                    ours = min(
                        ours,
                        asyncio.run(
                            cpu_per_request(engine.url, engine.token, call, args.requests, None)
                        ),
                    )
                    default = httpx.AsyncHTTPTransport(verify=True)
                    theirs = min(
                        theirs,
                        asyncio.run(
                            cpu_per_request(engine.url, engine.token, call, args.requests, default)
                        ),
                    )
                print(f"{name:28} {ours:16.3f} {theirs:14.3f} {theirs - ours:7.3f}")
        finally:
            engine.stop()


if __name__ == "__main__":
    main()
