"""Engine benchmarks, run by hand: `python tests/bench/bench_engine.py [--quick]`.

Prints:
- log write throughput: lines per second stored in SQLite while 4 runs print as fast as they can
  (4 queues, so all 4 run at once; each handler is a plain `print()` loop);
- recentlogs latency: p50/p99 of one page (1,000 events) from the middle of a run with 1,000,000
  stored lines, over HTTP with a keep-alive client (and the store query alone);
- get_runs latency: p50/p99 of one page (50 runs) of a deployment with 10,000 runs.

Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from runwatch.engine import db, log_blocks, store, store_format
from runwatch.engine.common import Clock
from runwatch.engine.deploy import deploy
from runwatch.engine.request_parsing import encode_token

CHATTY = """
def handler(input_data, context):
    n = int(input_data["lines"])
    for i in range(n):
        print(f"run {context.run_id} line {i} loss=0.1234 accuracy=0.9876 some padding text")
"""


class Engine:
    def __init__(self, data_dir: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.log = open(data_dir.with_name("engine.log"), "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runwatch.engine",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                "--no-demo",
                *args,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        env_path = data_dir / "engine.env"
        while True:
            if env_path.exists():
                env = dict(
                    line.split("=", 1) for line in env_path.read_text().splitlines() if "=" in line
                )
                try:
                    if httpx.get(env["ABEJA_API_URL"] + "/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("engine did not start")
            time.sleep(0.05)
        self.url = env["ABEJA_API_URL"]
        self.org = env["ABEJA_ORGANIZATION_ID"]
        self.client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {env['PLATFORM_AUTH_TOKEN']}"},
            timeout=30,
        )

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=20)
        from runwatch.engine.launch import kill_attempts

        kill_attempts(self.data_dir)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def bench_throughput(root: Path, lines: int, repeats: int = 1) -> list[dict[str, float]]:
    """Log write throughput, `repeats` times on one engine: 4 runs x `lines` lines at once."""
    data_dir = root / "throughput"
    src = root / "chatty"
    src.mkdir()
    (src / "main.py").write_text(CHATTY)
    result = deploy(data_dir, src, name="chatty")
    engine = Engine(data_dir, "--queues", "4")
    try:
        return [
            _throughput_once(engine, data_dir, result.deployment_id, result.version_id, lines)
            for _ in range(repeats)
        ]
    finally:
        engine.stop()


def _throughput_once(
    engine: Engine, data_dir: Path, deployment_id: str, version_id: str, lines: int
) -> dict[str, float]:
    path = f"/organizations/{engine.org}/deployments/{deployment_id}/runs"
    conn_db = sqlite3.connect(data_dir / db.DB_NAME)
    try:
        before = conn_db.execute("SELECT coalesce(sum(log_seq), 0) FROM runs").fetchone()[0]
        run_ids = []
        for _ in range(4):
            response = engine.client.post(
                path,
                json={
                    "version_id": version_id,
                    "input_data": {"lines": lines},
                    "environment": {},
                    "retry_count": 0,
                },
            )
            response.raise_for_status()
            run_ids.append(response.json()["run_id"])
        expected = before + 4 * (lines + 2)
        samples: list[tuple[float, int]] = []
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            count = conn_db.execute("SELECT sum(log_seq) FROM runs").fetchone()[0] - before
            samples.append((time.monotonic(), count))
            if count + before >= expected:
                break
            time.sleep(0.05)
    finally:
        conn_db.close()
    first = next(i for i, (_, c) in enumerate(samples) if c > 100)
    t0, c0 = samples[first]
    t1, c1 = samples[-1]
    overall = (c1 - c0) / (t1 - t0)
    # When did the last handler exit (supervisor's exit record), and how far behind was
    # storage then? A small lag means the engine kept up with the handlers.
    exits = [
        json.loads((data_dir / "runs" / run_id / "attempt-1" / "exit.json").read_text())["at"] / 1e6
        for run_id in run_ids
    ]
    lag = max(0.0, (time.time() - (time.monotonic() - t1)) - max(exits))
    return {"lines_per_s": overall, "lines": c1, "seconds": t1 - t0, "lag_s": lag}


def print_throughput(lines: int, result: dict[str, float]) -> None:
    print(
        f"log write throughput, 4 runs x {lines:,} lines at once: {result['lines_per_s']:,.0f}"
        f" lines/s ({result['lines']:,.0f} lines stored in {result['seconds']:.1f} s; all stored"
        f" {result['lag_s']:.2f} s after the last handler exited)"
    )


@dataclass
class ReadsSetup:
    """A data dir with one run of `log_lines` lines among `runs` runs of one deployment."""

    data_dir: Path
    deployment_id: str
    big_run_id: str
    big_rseq: int
    log_lines: int
    runs: int


def training_line(i: int) -> str:
    return f"epoch={i // 1000} step={i} loss=0.{i:06d} accuracy=0.5"


def prepare_reads(
    root: Path, log_lines: int, runs: int, message: Callable[[int], str] = training_line
) -> ReadsSetup:
    """Bulk-insert the runs and the big run's log straight into the store (engine not running);
    `message(i)` is the big run's line i."""
    data_dir = root / "reads"
    src = root / "noop"
    src.mkdir()
    (src / "main.py").write_text("def handler(input_data, context):\n    pass\n")
    result = deploy(data_dir, src, name="bench")
    conn, meta = store_format.init_store(data_dir)
    clock = Clock()
    rows = []
    with db.Transaction(conn):
        for _ in range(runs):
            rows.append(
                store.insert_run(
                    conn,
                    ids_mode=meta.ids_mode,
                    deployment_id=result.deployment_id,
                    version_id=result.version_id,
                    model_version="0.0.1",
                    input_data={"a": 1},
                    output_template=None,
                    models={},
                    environment={"K": "v"},
                    retry_count=0,
                    distribution=None,
                    now_us=clock.now_us(),
                )
            )
        conn.execute("UPDATE runs SET status = 'SUCCEEDED'")
    big_rseq, big_run_id = rows[0][0], rows[0][1]
    batch = 100_000
    base_ts = clock.now_us()
    for offset in range(0, log_lines, batch):
        with db.Transaction(conn):
            log_blocks.append_logs(
                conn,
                big_rseq,
                [
                    (base_ts + i, [message(i)])
                    for i in range(offset, min(offset + batch, log_lines))
                ],
                offset,
            )
    conn.close()
    return ReadsSetup(data_dir, result.deployment_id, big_run_id, big_rseq, log_lines, runs)


def read_latencies(
    engine: Engine, setup: ReadsSetup, requests: int, seed: int = 1
) -> dict[str, float]:
    """p50/p99 (ms) over HTTP of recentlogs pages from the middle of the big run, of SQLite's
    query alone, and of runs pages; 50 warm-up requests of each kind are not counted."""
    log_lines, runs, big_run_id = setup.log_lines, setup.runs, setup.big_run_id
    base = f"/organizations/{engine.org}/deployments/{setup.deployment_id}/runs"
    rng = random.Random(seed)
    timings: list[float] = []
    for i in range(requests + 50):
        seq = rng.randint(log_lines // 4, 3 * log_lines // 4)
        if i % 2:
            params = {"next_backward_token": encode_token("b", big_run_id, seq)}
        else:
            params = {"next_forward_token": encode_token("f", big_run_id, seq)}
        t = time.perf_counter()
        response = engine.client.get(f"{base}/{big_run_id}/recentlogs", params=params)
        elapsed = time.perf_counter() - t
        assert response.status_code == 200 and len(response.json()["events"]) == 1000
        if i >= 50:
            timings.append(elapsed * 1000)
    result = {
        "recentlogs_p50_ms": statistics.median(timings),
        "recentlogs_p99_ms": percentile(timings, 99),
    }
    reader = db.connect(setup.data_dir / db.DB_NAME, readonly=True)
    query_timings = []
    for _ in range(requests):
        seq = rng.randint(log_lines // 4, 3 * log_lines // 4)
        t = time.perf_counter()
        log_blocks.log_page(reader, setup.big_rseq, before=seq, limit=1000)
        query_timings.append((time.perf_counter() - t) * 1000)
    reader.close()
    result["query_p50_ms"] = statistics.median(query_timings)
    result["query_p99_ms"] = percentile(query_timings, 99)

    timings = []
    tokens: list[str | None] = [None]
    response = engine.client.get(base)
    while "next_page_token" in response.json() and len(tokens) < runs // 50:
        tokens.append(response.json()["next_page_token"])
        response = engine.client.get(base, params={"next_page_token": tokens[-1]})
    for i in range(requests + 50):
        token = rng.choice(tokens)
        params = {"next_page_token": token} if token else {}
        t = time.perf_counter()
        response = engine.client.get(base, params=params)
        elapsed = time.perf_counter() - t
        assert response.status_code == 200 and len(response.json()["entries"]) == 50
        if i >= 50:
            timings.append(elapsed * 1000)
    result["get_runs_p50_ms"] = statistics.median(timings)
    result["get_runs_p99_ms"] = percentile(timings, 99)
    return result


def bench_reads(root: Path, log_lines: int, runs: int, requests: int) -> None:
    start = time.perf_counter()
    setup = prepare_reads(root, log_lines, runs)
    print(
        f"(setup: {log_lines:,} lines bulk-inserted, {runs:,} runs,"
        f" in {time.perf_counter() - start:.1f} s)"
    )
    engine = Engine(setup.data_dir, "--queues", "1")
    try:
        r = read_latencies(engine, setup, requests)
    finally:
        engine.stop()
    print(
        f"recentlogs page (1,000 events) from the middle of a {log_lines:,}-line run, HTTP:"
        f" p50 {r['recentlogs_p50_ms']:.2f} ms, p99 {r['recentlogs_p99_ms']:.2f} ms"
    )
    print(
        f"  (the SQLite query alone: p50 {r['query_p50_ms']:.2f} ms,"
        f" p99 {r['query_p99_ms']:.2f} ms)"
    )
    print(
        f"get_runs page (50 runs) of a deployment with {runs:,} runs, HTTP:"
        f" p50 {r['get_runs_p50_ms']:.2f} ms, p99 {r['get_runs_p99_ms']:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", choices=("throughput", "reads"), default=None)
    args = parser.parse_args()
    lines = 50_000 if args.quick else 500_000
    log_lines = 100_000 if args.quick else 1_000_000
    runs = 1_000 if args.quick else 10_000
    requests = 200 if args.quick else 1_000
    with tempfile.TemporaryDirectory(prefix="runwatch-bench-") as tmp:
        root = Path(tmp)
        if args.only in (None, "throughput"):
            print_throughput(lines, bench_throughput(root, lines)[0])
        if args.only in (None, "reads"):
            bench_reads(root, log_lines, runs, requests)


if __name__ == "__main__":
    main()
