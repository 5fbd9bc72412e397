"""Over a real network link: whole-log export and follow lag through https with a round trip.

    python tests/bench/bench_link.py [--lines 200000] [--delays 20,50] [--repeats 3]

Starts an engine (in a temporary directory) and, in front of it, `tests/tls_proxy.py` in its
own process: https on 127.0.0.1 with a private CA, every chunk held half the round trip in
each direction, and a new connection's first bytes one more round trip (its TCP handshake;
the TLS handshake pays its own on the way). A kept connection pays one round trip a request.

- export: a finished run printing `--lines` lines (+2 of the engine's), read whole by
  `runwatch logs RUN > /dev/null` (a fresh process: start-up, run lookup and all, timed from
  the outside) and by the official SDK's `get_run_logs` loop (bench_export.LOOP: only the
  loop is timed, start-up and the first page not). The CLI's output is checked once against
  the stored log. Each is repeated `--repeats` times per delay: median (min-max).
- follow lag: runs that print a line, with its own `time.time()`, at irregular 0.05-1.5 s
  gaps; `runwatch logs -f` (1 s interval) through the link; seconds from the print to the line
  on its stdout, p50/p95 (target: p95 at most the interval plus one round trip).

Not collected by pytest (the file name does not match test_*.py). Figures: see README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from runwatch.api.client import APIClient  # noqa: E402
from runwatch.engine.deploy import deploy  # noqa: E402
from runwatch.engine.launch import EngineHandle, ensure_engine  # noqa: E402
from tests.bench.bench_export import LOOP, client_env, process_cpu_seconds  # noqa: E402
from tests.bench.bench_follow import (  # noqa: E402
    FLOOD,
    percentile,
    stored,
    submit,
    tail_lags,
    wait_done,
)

CA_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "SSL_CERT_DIR", "CURL_CA_BUNDLE")

# bench_follow's ticker, after a pause: `logs -f` has started (a loaded machine can take
# seconds to start a Python process) before the first line, so what is measured is the lag of
# following, not the start-up.
TICKER = """
import time

def handler(input_data, context):
    n = int(input_data["lines"])
    time.sleep(5)
    for i in range(n):
        time.sleep(0.05 + ((i * 7919) % 29) / 20)
        print(f"tick {i} {time.time():.6f}", flush=True)
"""


class Link:
    """tests/tls_proxy.py in a process of its own, fronting `target` with `delay_ms`."""

    def __init__(self, target: str, delay_ms: float, directory: Path) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.tls_proxy",
                "--target",
                target,
                "--delay-ms",
                str(delay_ms),
                "--dir",
                str(directory),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url, ca_file = self.proc.stdout.readline().split()
        self.ca_file = Path(ca_file)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def env_through(link: Link, engine: EngineHandle, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in client_env(link.url, engine.organization_id, engine.token).items()}
    for name in CA_ENV:
        env.pop(name, None)
    # runwatch reads SSL_CERT_FILE, the SDK's requests REQUESTS_CA_BUNDLE: each its own way.
    env["SSL_CERT_FILE"] = env["REQUESTS_CA_BUNDLE"] = str(link.ca_file)
    env["RUNWATCH_CONFIG"] = str(tmp / "none.toml")
    env["RUNWATCH_DATA_DIR"] = str(tmp / "no-engine")
    env["PYTHONPATH"] = str(ROOT)
    # An installed runwatch has its bytecode cached; without it each start compiles every
    # module again (this machine sets PYTHONDONTWRITEBYTECODE).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# runwatch's whole-log read alone, in the manner of bench_export.LOOP (argv: org, deployment,
# run): the first page untimed, then `read_log_wire` to the end, messages written to devnull.
READ = """
import asyncio, json, os, sys, time
from runwatch.api.client import AsyncAPIClient
from runwatch.follow.log_read import messages, read_log_wire

org, dep, run = sys.argv[1:4]

async def main():
    async with AsyncAPIClient() as api:
        await api.get_run_logs(org, dep, run)
        lines = 0
        with open(os.devnull, "w") as out:
            start = time.perf_counter()
            async for wire in read_log_wire(api, org, dep, run):
                text = messages(wire)
                lines += len(text)
                out.write("\\n".join(text))
            return lines, time.perf_counter() - start

lines, seconds = asyncio.run(main())
print(json.dumps({"lines": lines, "seconds": seconds}))
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_export(
    env: dict[str, str], deployment: str, run_id: str, out: Path | None
) -> tuple[float, float]:
    """(seconds, CPU seconds) of `runwatch logs RUN`, process start to exit."""
    start, cpu = time.perf_counter(), children_cpu()
    with open(out, "wb") if out else open(os.devnull, "wb") as sink:
        subprocess.run(
            [sys.executable, "-m", "runwatch", "logs", run_id, "--deployment", deployment],
            env=env,
            stdout=sink,
            check=True,
            cwd=ROOT,
        )
    return time.perf_counter() - start, children_cpu() - cpu


def loop_export(
    script: list[str], env: dict[str, str], organization: str, deployment: str, run_id: str
) -> tuple[float, float]:
    """(seconds of a read loop alone, CPU seconds of its whole process): the SDK's
    get_run_logs loop (bench_export.LOOP) or runwatch's read (READ)."""
    cpu = children_cpu()
    out = subprocess.run(
        [sys.executable, "-c", *script, organization, deployment, run_id],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1])["seconds"]), children_cpu() - cpu


KINDS = {
    "cli": "runwatch logs RUN (whole process)",
    "read": "runwatch read_log_wire (loop alone)",
    "sdk": "SDK get_run_logs loop (loop alone)",
}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--delays", default="20,50", help="round trips in ms, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lag-lines", type=int, default=15, help="lines of each ticker run")
    parser.add_argument("--lag-runs", type=int, default=3, help="ticker runs followed at once")
    parser.add_argument("--lag-delay", type=float, default=20.0, help="round trip (ms)")
    parser.add_argument("--skip-lag", action="store_true")
    args = parser.parse_args()
    delays = [float(d) for d in args.delays.split(",") if d]

    with tempfile.TemporaryDirectory(prefix="runwatch-bench-link-") as tmp_name:
        tmp = Path(tmp_name)
        code = tmp / "code"
        code.mkdir()
        (code / "main.py").write_text(FLOOD)
        data_dir = tmp / "engine"
        engine = ensure_engine(data_dir, extra_args=["--no-demo", "--queues", "4"])
        try:
            flood = deploy(data_dir, code, name="flood", handler="main:handler")
            assert engine.process is not None
            engine_pid = engine.process.pid
            with APIClient({"auth_token": engine.token}, base_url=engine.url) as client:
                run_id = submit(client, engine, flood.deployment_id, flood.version_id, args.lines)
                wait_done(client, engine, flood.deployment_id, run_id)
                expected = stored(client, engine, flood.deployment_id, run_id)
                print(f"log: {len(expected):,} lines, run {run_id}")
                for delay in delays:
                    link = Link(engine.url, delay, tmp / f"tls-{delay:g}")
                    try:
                        env = env_through(link, engine, tmp)
                        out = tmp / "export.txt"
                        cli_export(env, flood.deployment_id, run_id, out)  # warm, and checked
                        assert out.read_text().splitlines() == expected, "export differs"
                        times: dict[str, list[float]] = {k: [] for k in KINDS}
                        cpu: dict[str, list[float]] = {k: [] for k in KINDS}
                        side: dict[str, list[float]] = {k: [] for k in KINDS}
                        for _ in range(args.repeats):
                            for kind in KINDS:
                                engine_cpu = process_cpu_seconds(engine_pid)
                                link_cpu = process_cpu_seconds(link.proc.pid)
                                if kind == "cli":
                                    seconds, used = cli_export(
                                        env, flood.deployment_id, run_id, None
                                    )
                                else:
                                    script = [READ] if kind == "read" else [LOOP, "sdk"]
                                    seconds, used = loop_export(
                                        script,
                                        env,
                                        engine.organization_id,
                                        flood.deployment_id,
                                        run_id,
                                    )
                                times[kind].append(seconds)
                                cpu[kind].append(used)
                                side[kind].append(
                                    process_cpu_seconds(engine_pid)
                                    - engine_cpu
                                    + process_cpu_seconds(link.proc.pid)
                                    - link_cpu
                                )
                        lines = len(expected)
                        print(f"{delay:g} ms round trip (load {os.getloadavg()[0]:.1f}):")
                        for kind in KINDS:
                            ratios = [s / o for o, s in zip(times[kind], times["sdk"], strict=True)]
                            print(
                                f"  {KINDS[kind]:<34} {spread(times[kind])} = "
                                f"{lines / statistics.median(times[kind]):>9,.0f} lines/s, "
                                f"SDK/this {statistics.median(ratios):5.1f}x "
                                f"({min(ratios):.1f}-{max(ratios):.1f}); CPU s: process "
                                f"{statistics.median(cpu[kind]):.2f}, engine+link "
                                f"{statistics.median(side[kind]):.2f}"
                            )
                    finally:
                        link.close()

                if not args.skip_lag:
                    (code / "main.py").write_text(TICKER)
                    ticker = deploy(data_dir, code, name="ticker", handler="main:handler")
                    link = Link(engine.url, args.lag_delay, tmp / "tls-lag")
                    try:
                        env = env_through(link, engine, tmp)
                        lags = [
                            lag
                            for run_lags in tail_lags(
                                client,
                                engine,
                                env,
                                ticker.deployment_id,
                                ticker.version_id,
                                args.lag_lines,
                                args.lag_runs,
                            )
                            for lag in run_lags
                        ]
                    finally:
                        link.close()
                    print(
                        f"follow lag through {args.lag_delay:g} ms (logs -f, 1 s interval, "
                        f"{len(lags)} lines): p50 {statistics.median(lags):.3f} s, "
                        f"p95 {percentile(lags, 95):.3f} s, max {max(lags):.3f} s"
                    )
        finally:
            engine.stop()


if __name__ == "__main__":
    main()
