"""What following a log costs under each token shape, run by hand:
`python tests/bench/bench_token_shapes.py [--lines N] [--quick]`.

1. Requests and bytes (the follower's own count, `LogFollower.traffic`) to follow a run whose
   log grows to N lines (default 100,000) in bursts while it is followed at the dashboard's
   and `logs -f`'s 1 s interval: against `tests/token_server.py` in each shape (`[]`, the same
   token, null, "", no key, no usable token at all; pages of 1,000 events, as the engine's) and
   against the engine in both of its modes. Each follow is checked: every line once, in order.
2. Tail lag under the seed's `[]` (the engine's default): seconds from a line's print in the
   handler to its arrival on the stdout of `runwatch logs -f`, p50 and p95, for quiet runs.

Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from runwatch.api.client import APIClient, AsyncAPIClient  # noqa: E402
from runwatch.engine.deploy import deploy  # noqa: E402
from runwatch.engine.launch import ensure_engine  # noqa: E402
from runwatch.follow.logs import LogFollower  # noqa: E402
from runwatch.follow.schedule import PollSchedule  # noqa: E402
from tests.bench import bench_follow  # noqa: E402
from tests.token_server import SHAPES, TokenShapeServer  # noqa: E402

BURST = 2_000  # lines per burst, 10 bursts a second: 20,000 lines/s


async def _follow(
    client: AsyncAPIClient, org: str, dep: str, run: str, expected_count: int
) -> tuple[LogFollower, list[str], int]:
    follower = LogFollower(client, org, dep, run, from_start=True)
    schedule = PollSchedule(interval=1.0, idle_interval=1.0, max_backoff=8.0)
    got: list[str] = []
    polls = 0
    async for batch in follower.follow(schedule):
        polls += 1
        got.extend(event.message for event in batch)
        if len(got) > expected_count * 2:
            break
    return follower, got, polls


def against_server(shape: str, lines: int) -> tuple[int, int, int]:
    server = TokenShapeServer(shape, page_size=1000, precision="us")
    run = server.add_run()

    def grow() -> None:
        for start in range(0, lines, BURST):
            # Stamped as printed: 20,000 lines a second, 50 µs apart.
            burst = [f"line {i}" for i in range(start, min(lines, start + BURST))]
            server.add(run, burst, step=5e-5)
            time.sleep(0.1)
        server.set_status(run, "SUCCEEDED")

    async def main() -> tuple[LogFollower, list[str], int]:
        async with AsyncAPIClient(
            server.credential, max_retry_count=0, base_url=server.url, environ={}
        ) as client:
            return await _follow(client, server.organization_id, server.deployment_id, run, lines)

    grower = threading.Thread(target=grow, daemon=True)
    grower.start()
    try:
        follower, got, polls = asyncio.run(main())
    finally:
        grower.join()
        server.close()
    assert got == [f"line {i}" for i in range(lines)], f"{shape}: lines lost or repeated"
    return follower.traffic.requests, follower.traffic.bytes, polls


def against_engine(tmp: Path, mode: str, lines: int) -> tuple[int, int, int]:
    code = tmp / f"code-{mode}"
    code.mkdir()
    (code / "main.py").write_text(bench_follow.FLOOD)
    data_dir = tmp / f"engine-{mode}"
    ids = deploy(data_dir, code, name="flood", handler="main:handler")
    engine = ensure_engine(data_dir, extra_args=["--no-demo", "--log-tokens", mode])
    try:
        with APIClient({"auth_token": engine.token}, base_url=engine.url) as sync:
            run = bench_follow.submit(sync, engine, ids.deployment_id, ids.version_id, lines)

        async def main() -> tuple[LogFollower, list[str], int]:
            async with AsyncAPIClient(
                {"auth_token": engine.token}, max_retry_count=0, base_url=engine.url, environ={}
            ) as client:
                return await _follow(
                    client, engine.organization_id, ids.deployment_id, run, lines + 10
                )

        follower, got, polls = asyncio.run(main())
        with APIClient({"auth_token": engine.token}, base_url=engine.url) as sync:
            stored = bench_follow.stored(sync, engine, ids.deployment_id, run)
        assert got == stored, f"engine {mode}: lines lost or repeated"
        return follower.traffic.requests, follower.traffic.bytes, polls
    finally:
        engine.stop()


def tail_lag(tmp: Path, lines: int, runs: int) -> list[float]:
    code = tmp / "ticker"
    code.mkdir()
    (code / "main.py").write_text(bench_follow.TICKER)
    data_dir = tmp / "engine-lag"
    ids = deploy(data_dir, code, name="ticker", handler="main:handler")
    engine = ensure_engine(data_dir, extra_args=["--no-demo", "--queues", str(runs)])
    try:
        env = bench_follow.cli_env(engine, tmp)
        with APIClient({"auth_token": engine.token}, base_url=engine.url) as client:
            per_run = bench_follow.tail_lags(
                client, engine, env, ids.deployment_id, ids.version_id, lines, runs
            )
        return [lag for lags in per_run for lag in lags]
    finally:
        engine.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 lines, fewer ticks")
    args = parser.parse_args()
    lines = 10_000 if args.quick else args.lines
    print(f"following a run that grows to {lines:,} lines ({BURST * 10:,} lines/s), 1 s interval")
    print(f"{'server':<22}{'requests':>10}{'bytes':>14}{'bytes/line':>12}{'polls':>7}")

    def row(name: str, requests: int, size: int, polls: int) -> None:
        print(f"{name:<22}{requests:>10,}{size:>14,}{size / lines:>12.1f}{polls:>7}")

    for shape in SHAPES:
        row(f"shape {shape}", *against_server(shape, lines))
    with tempfile.TemporaryDirectory(prefix="runwatch-bench-shapes-") as name:
        tmp = Path(name)
        for mode in ("seed", "cloudwatch"):
            requests, size, polls = against_engine(tmp, mode, lines)
            print(
                f"{'engine ' + mode:<22}{requests:>10,}{size:>14,}{size / lines:>12.1f}{polls:>7}"
            )
        lags = tail_lag(tmp, 10 if args.quick else 30, 2 if args.quick else 3)
    p95 = bench_follow.percentile(lags, 95)
    print(
        f"tail lag under [] (engine default, logs -f, 1 s interval, {len(lags)} lines): "
        f"p50 {statistics.median(lags):.2f} s, p95 {p95:.2f} s"
    )


if __name__ == "__main__":
    main()
