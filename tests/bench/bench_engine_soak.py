"""Soak of the engine alone: a run printing N lines/s, followed as the dashboard follows it.

    python tests/bench/bench_engine_soak.py [--rate 5000] [--minutes 5] [--sample 30]
                                            [--probe DIR [--frames N]]

A real engine (its own process, a temporary data dir, no demo) runs bench_soak's handler;
a LogFollower on an AsyncAPIClient polls it twice a second (the log pane's pace in a flood,
the forward token), in this process. Every `--sample` seconds the engine's CPU (as a
percentage of one core) and RSS are printed; the summary gives the RSS each minute. No
dashboard, no tmux: what grows here is the engine's own.

`--export` then reads the whole log from its start (a second follower, pages back to back,
as `runwatch logs` does) and prints the engine's RSS after it and 15 s later.

`--probe DIR` runs the engine under memory_probe.py (a line of RSS, glibc's heap and SQLite's
own heap into DIR/stats.txt each sample; with `--frames N` > 0 also tracemalloc snapshots,
which slow the engine down: compare them with memory_diff.py).
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from runwatch.api.client import AsyncAPIClient  # noqa: E402 - the repository root first
from runwatch.engine.deploy import deploy  # noqa: E402
from runwatch.engine.launch import EngineHandle, ensure_engine, kill_attempts, read_env  # noqa: E402
from runwatch.engine.launch import _answers as answers  # noqa: E402
from runwatch.follow.logs import LogFollower  # noqa: E402
from tests.bench.bench_soak import HANDLER, Process, rss_mb  # noqa: E402

POLL_SECONDS = 0.5


def start_engine(data_dir: Path, probe: Path | None, sample: float, frames: int) -> EngineHandle:
    if probe is None:
        return ensure_engine(data_dir, timeout=60, extra_args=["--no-demo"])
    # The probe in place of `python -m runwatch.engine`: ensure_engine's own wait, by hand.
    script = Path(__file__).with_name("memory_probe.py")
    data_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    log = (data_dir / "engine.log").open("ab")
    process = subprocess.Popen(
        [
            *(sys.executable, str(script), str(probe), str(sample), str(frames)),
            *("--module", "runwatch.engine", "--", "serve", "--port", "0"),
            *("--data-dir", str(data_dir), "--no-demo"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        env = read_env(data_dir)
        if env is not None and answers(env):
            return EngineHandle(
                env["ABEJA_API_URL"],
                env["ABEJA_ORGANIZATION_ID"],
                env["PLATFORM_AUTH_TOKEN"],
                data_dir,
                process,
            )
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the probed engine did not start; see {data_dir / 'engine.log'}")


async def follow(handle: EngineHandle, deployment_id: str, run_id: str, stop: float) -> int:
    lines = 0
    async with AsyncAPIClient({"auth_token": handle.token}, base_url=handle.url) as client:
        follower = LogFollower(client, handle.organization_id, deployment_id, run_id)
        while time.monotonic() < stop:
            started = time.monotonic()
            lines += len(await follower.poll())
            await asyncio.sleep(max(0.0, started + POLL_SECONDS - time.monotonic()))
    return lines


async def export(handle: EngineHandle, deployment_id: str, run_id: str) -> int:
    lines = 0
    async with AsyncAPIClient({"auth_token": handle.token}, base_url=handle.url) as client:
        follower = LogFollower(
            client, handle.organization_id, deployment_id, run_id, from_start=True
        )
        while True:
            batch = await follower.poll()
            lines += len(batch)
            if follower.caught_up:
                return lines


async def sampler(engine: Process, start: float, stop: float, sample: float) -> None:
    engine.start()
    last = start
    print("   t(s)  engine%cpu  engine MB  load1", flush=True)
    while last < stop - 0.5:
        await asyncio.sleep(max(0.0, last + sample - time.monotonic()))
        now = time.monotonic()
        engine.sample(now - last)
        last = now
        print(
            f"{now - start:7.0f}  {engine.cpu[-1]:10.1f}  {engine.rss[-1]:9.1f}"
            f"  {os.getloadavg()[0]:5.2f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--sample", type=float, default=30.0)
    parser.add_argument("--export", action="store_true", help="then read the log from its start")
    parser.add_argument("--probe", type=Path, help="run the engine under memory_probe.py")
    parser.add_argument("--frames", type=int, default=0, help="tracemalloc frames (with --probe)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runwatch-engine-soak-") as tmp:
        root = Path(tmp)
        data_dir = root / "engine"
        code = root / "code"
        code.mkdir()
        (code / "main.py").write_text(HANDLER)
        deployed = deploy(data_dir, code, name="soak")
        handle = start_engine(data_dir, args.probe, args.sample, args.frames)
        assert handle.process is not None
        try:
            run_id = asyncio.run(create_run(handle, deployed, args))
            time.sleep(5)  # the first lines, before the follower starts at the newest page
            engine = Process("engine", handle.process.pid)
            start = time.monotonic()
            stop = start + args.minutes * 60

            async def both() -> int:
                task = asyncio.create_task(sampler(engine, start, stop, args.sample))
                lines = await follow(handle, deployed.deployment_id, run_id, stop)
                await task
                return lines

            lines = asyncio.run(both())
            if args.export:
                started = time.monotonic()
                exported = asyncio.run(export(handle, deployed.deployment_id, run_id))
                print(
                    f"export: {exported} lines in {time.monotonic() - started:.1f} s,"
                    f" engine RSS {rss_mb(engine.pid):.1f} MB",
                    flush=True,
                )
                time.sleep(15)
                print(f"  15 s later: engine RSS {rss_mb(engine.pid):.1f} MB", flush=True)
        finally:
            handle.stop()
            kill_attempts(data_dir)
    per_minute = max(1, round(60 / args.sample))
    minutes = ", ".join(f"{mb:.0f}" for mb in engine.rss[per_minute - 1 :: per_minute])
    print(
        f"summary, rate {args.rate:g} lines/s: {lines} lines followed;"
        f" engine mean CPU {sum(engine.cpu) / len(engine.cpu):.1f}% of a core,"
        f" RSS {engine.rss[0]:.1f} -> {engine.rss[-1]:.1f} MB (each minute: {minutes} MB)"
    )


async def create_run(handle: EngineHandle, deployed: object, args: argparse.Namespace) -> str:
    async with AsyncAPIClient({"auth_token": handle.token}, base_url=handle.url) as client:
        run = await client.create_run(
            handle.organization_id,
            deployed.deployment_id,  # type: ignore[attr-defined]
            deployed.version_id,  # type: ignore[attr-defined]
            input_data={"rate": str(args.rate), "seconds": str(args.minutes * 60 + 60)},
            retry_count=0,
        )
    return str(run["run_id"])


if __name__ == "__main__":
    main()
