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
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from runwatch.api.client import APIClient
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


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


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


# The SDK's usual tail loop, with the official SDK (argv: org, deployment, run, polls,
# interval): walk back to the start of the log, then one forward page per interval.
SDK_TAIL = """
import json, sys, time
from abeja.runs import APIClient

org, dep, run = sys.argv[1:4]
polls, interval = int(sys.argv[4]), float(sys.argv[5])
client = APIClient()
page = client.get_run_recent_logs(org, dep, run)
while page["events"]:
    page = client.get_run_recent_logs(
        org, dep, run, next_backward_token=page["next_backward_token"]
    )
forward = page["next_forward_token"]
rates = []
for _ in range(polls):
    start = time.perf_counter()
    page = client.get_run_recent_logs(org, dep, run, next_forward_token=forward)
    forward = page["next_forward_token"]
    time.sleep(max(0.0, interval - (time.perf_counter() - start)))
    rates.append(len(page["events"]) / (time.perf_counter() - start))
print(json.dumps(rates))
"""


def sdk_loop_rates(
    env: dict[str, str], deployment: str, run_id: str, polls: int, interval: float = 1.0
) -> list[float]:
    """The official SDK's tail loop over a finished run: lines per second of each interval."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            SDK_TAIL,
            env["ABEJA_ORGANIZATION_ID"],
            deployment,
            run_id,
            str(polls),
            str(interval),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [float(rate) for rate in json.loads(out.strip().splitlines()[-1])]


def live_rate(
    client: APIClient,
    engine: EngineHandle,
    env: dict[str, str],
    deployment: str,
    version: str,
    lines: int,
    out: Path | None = None,
) -> tuple[float, str]:
    """`logs -f` started with the submit of a run that floods `lines` lines: lines per second
    from the submit to the exit of `logs -f` (which exits once the run is over and its log is
    drained). Returns (rate, run_id); with `out`, checks the output is the stored log."""
    run_id = submit(client, engine, deployment, version, lines)
    submitted = time.perf_counter()
    follow(env, deployment, run_id, out)
    elapsed = time.perf_counter() - submitted
    if out is not None:
        expected = stored(client, engine, deployment, run_id)
        assert out.read_text().splitlines() == expected, "live output differs"
    return (lines + 2) / elapsed, run_id


# Prints a line, with its own wall-clock time, at irregular intervals (0.05-1.5 s): a quiet run
# is the follower's worst case, it waits a whole interval after each empty poll.
TICKER = """
import time

def handler(input_data, context):
    n = int(input_data["lines"])
    for i in range(n):
        time.sleep(0.05 + ((i * 7919) % 29) / 20)
        print(f"tick {i} {time.time():.6f}", flush=True)
"""


def tail_lags(
    client: APIClient,
    engine: EngineHandle,
    env: dict[str, str],
    deployment: str,
    version: str,
    lines: int,
    runs: int,
) -> list[list[float]]:
    """Seconds from each line's print in the handler to its arrival on the stdout of a
    `runwatch logs -f` (default 1 s interval) started right after the submit; `runs` runs at
    once, one list of lags per run."""
    procs = []
    for _ in range(runs):
        run_id = submit(client, engine, deployment, version, lines)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runwatch",
                    "logs",
                    "-f",
                    run_id,
                    "--deployment",
                    deployment,
                ],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    lags: list[list[float]] = [[] for _ in procs]
    threads = [
        threading.Thread(target=_read_lags, args=(proc, run_lags))
        for proc, run_lags in zip(procs, lags, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread, proc in zip(threads, procs, strict=True):
        thread.join(timeout=lines * 2 + 60)
        proc.wait(timeout=30)
    assert all(len(run_lags) == lines for run_lags in lags), f"tick lines missing: {lags}"
    return lags


def _read_lags(proc: subprocess.Popen[str], lags: list[float]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        arrived = time.time()
        parts = line.split()
        if len(parts) == 3 and parts[0] == "tick":
            lags.append(arrived - float(parts[2]))


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
        # The SDK's usual tail loop (below) follows the forward token CloudWatch's way; the
        # seed's `[]` shapes are measured by bench_token_shapes.py.
        engine = ensure_engine(
            data_dir, extra_args=["--no-demo", "--queues", "4", "--log-tokens", "cloudwatch"]
        )
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
                rate, run_id = live_rate(
                    client, engine, env, deployment, version, lines, tmp / "live.txt"
                )
                print(f"live:   {lines:,} lines, submit to exit of logs -f: {rate:,.0f} lines/s")

                rates = sdk_loop_rates(env, deployment, run_id, polls)
                sdk_rate = statistics.median(rates)
                print(f"SDK loop (1 forward page per 1 s interval): {sdk_rate:,.0f} lines/s")
                print(f"live / SDK loop: {rate / sdk_rate:,.1f}x")

                # tail lag of a quiet run
                (code / "main.py").write_text(TICKER)
                ticker = deploy(data_dir, code, name="ticker", handler="main:handler")
                lags = [
                    lag
                    for run_lags in tail_lags(
                        client, engine, env, ticker.deployment_id, ticker.version_id, 10, 2
                    )
                    for lag in run_lags
                ]
                print(
                    f"tail lag (print -> logs -f stdout, 1 s interval): p50"
                    f" {statistics.median(lags):.2f} s, p95 {percentile(lags, 95):.2f} s"
                )
        finally:
            engine.stop()


if __name__ == "__main__":
    main()
