"""Follower benchmark, run by hand: `python tests/bench/bench_follow.py [--lines N] [--quick]`.

Measures the lines per second that `runwatch logs -f RUN > /dev/null` sustains against a local
engine (a real `python -m runwatch` subprocess, start-up included), in two cases:

- replay: the run has already finished with N lines; `logs -f` prints the whole log and exits;
- live: `logs -f` starts right after the submit while the handler prints N lines as fast as it
  can; the follower keeps up when it ends within a poll interval of the run's end.

and compares them with the SDK's usual tail loop: one `get_run_recent_logs` with the forward
token per interval (1 s), which reads at most one page (1,000 events on the engine) per second.

Each case also checks the output: exactly the stored lines, once each, in order.
Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runwatch.api.client import APIClient
from runwatch.api.models import parse_time
from runwatch.engine.deploy import deploy
from runwatch.engine.launch import EngineHandle, ensure_engine

FLOOD = """
import sys

def handler(input_data, context):
    n = int(input_data["lines"])
    write = sys.stdout.write
    for i in range(n):
        write(f"line {i} loss=0.1234 accuracy=0.9876 the quick brown fox jumps over the dog\\n")
"""


def cli_env(engine: EngineHandle, tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ABEJA_", "PLATFORM_", "RUNWATCH_"))
    }
    env.update(
        {
            "ABEJA_API_URL": engine.url,
            "ABEJA_ORGANIZATION_ID": engine.organization_id,
            "PLATFORM_AUTH_TOKEN": engine.token,
            "RUNWATCH_CONFIG": str(tmp / "none.toml"),
        }
    )
    return env


def submit(
    client: APIClient, engine: EngineHandle, deployment: str, version: str, lines: int
) -> str:
    run = client.create_run(
        engine.organization_id, deployment, version, input_data={"lines": str(lines)}, retry_count=0
    )
    return str(run["run_id"])


def wait_done(client: APIClient, engine: EngineHandle, deployment: str, run_id: str) -> dict:  # type: ignore[type-arg]
    while True:
        run = client.get_run(engine.organization_id, deployment, run_id)
        if run["status"] in ("SUCCEEDED", "FAILED"):
            return run
        time.sleep(0.05)


def stored(client: APIClient, engine: EngineHandle, deployment: str, run_id: str) -> list[str]:
    messages: list[str] = []
    token = None
    while True:
        page = client.get_run_logs(engine.organization_id, deployment, run_id, next_token=token)
        messages.extend(event["message"] for event in page["events"])
        token = page.get("next_token")
        if not token:
            return messages


def follow(env: dict[str, str], deployment: str, run_id: str, out: Path | None) -> float:
    start = time.perf_counter()
    with open(out, "wb") if out else open(os.devnull, "wb") as sink:
        subprocess.run(
            [sys.executable, "-m", "runwatch", "logs", "-f", run_id, "--deployment", deployment],
            env=env,
            stdout=sink,
            check=True,
        )
    return time.perf_counter() - start


def sdk_loop_rate(
    client: APIClient, engine: EngineHandle, deployment: str, run_id: str, polls: int
) -> float:
    """The SDK way: one forward page per 1 s interval. Returns lines per second."""
    first = client.get_run_recent_logs(engine.organization_id, deployment, run_id)
    token = first["next_backward_token"]
    # Start from the beginning of the log, as `logs -f` does: walk back to the start first.
    while True:
        page = client.get_run_recent_logs(
            engine.organization_id, deployment, run_id, next_backward_token=token
        )
        if not page["events"]:
            break
        token = page["next_backward_token"]
    forward = page["next_forward_token"]
    seen = 0
    start = time.perf_counter()
    for _ in range(polls):
        page = client.get_run_recent_logs(
            engine.organization_id, deployment, run_id, next_forward_token=forward
        )
        seen += len(page["events"])
        forward = page["next_forward_token"]
        time.sleep(1.0)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="50,000 lines, 3 SDK polls")
    args = parser.parse_args()
    lines = 50_000 if args.quick else args.lines
    polls = 3 if args.quick else 5

    with tempfile.TemporaryDirectory(prefix="runwatch-bench-follow-") as tmp_name:
        tmp = Path(tmp_name)
        code = tmp / "code"
        code.mkdir()
        (code / "main.py").write_text(FLOOD)
        data_dir = tmp / "engine"
        engine = ensure_engine(data_dir, extra_args=["--no-demo"])
        try:
            deployed = deploy(data_dir, code, name="flood", handler="main:handler")
            deployment, version = deployed.deployment_id, deployed.version_id
            env = cli_env(engine, tmp)
            with APIClient({"auth_token": engine.token}, base_url=engine.url) as client:
                # Warm-up (imports, page cache), not measured.
                warm = submit(client, engine, deployment, version, 1000)
                wait_done(client, engine, deployment, warm)
                follow(env, deployment, warm, None)

                # replay
                run_id = submit(client, engine, deployment, version, lines)
                wait_done(client, engine, deployment, run_id)
                expected = stored(client, engine, deployment, run_id)
                out = tmp / "replay.txt"
                follow(env, deployment, run_id, out)
                assert out.read_text().splitlines() == expected, "replay output differs"
                elapsed = follow(env, deployment, run_id, None)
                replay_rate = len(expected) / elapsed
                print(
                    f"replay: {len(expected):,} lines in {elapsed:.2f} s -> "
                    f"{replay_rate:,.0f} lines/s (logs -f > /dev/null, start-up included)"
                )

                # live
                run_id = submit(client, engine, deployment, version, lines)
                out = tmp / "live.txt"
                submitted = time.perf_counter()
                follow(env, deployment, run_id, out)
                elapsed = time.perf_counter() - submitted
                exited = time.time()
                run = wait_done(client, engine, deployment, run_id)
                expected = stored(client, engine, deployment, run_id)
                assert out.read_text().splitlines() == expected, "live output differs"
                created = parse_time(run["created_at"])
                ended = parse_time(run["modified_at"])
                assert created is not None and ended is not None
                print(
                    f"live:   {len(expected):,} lines in {elapsed:.2f} s from submit to exit -> "
                    f"{len(expected) / elapsed:,.0f} lines/s; the run itself took "
                    f"{(ended - created).total_seconds():.2f} s, logs -f exited "
                    f"{exited - ended.timestamp():.2f} s after its end"
                )

                sdk_rate = sdk_loop_rate(client, engine, deployment, run_id, polls)
                print(f"SDK loop (1 forward page per 1 s interval): {sdk_rate:,.0f} lines/s")
                print(f"replay / SDK loop: {replay_rate / sdk_rate:,.1f}x")
        finally:
            engine.stop()


if __name__ == "__main__":
    main()
