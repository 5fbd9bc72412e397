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
from pathlib import Path

import httpx

from runwatch.engine import store
from runwatch.engine.common import Clock
from runwatch.engine.deploy import deploy
from runwatch.engine.server import encode_token

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


def bench_throughput(root: Path, lines: int) -> None:
    data_dir = root / "throughput"
    src = root / "chatty"
    src.mkdir()
    (src / "main.py").write_text(CHATTY)
    result = deploy(data_dir, src, name="chatty")
    engine = Engine(data_dir, "--queues", "4")
    try:
        path = f"/organizations/{engine.org}/deployments/{result.deployment_id}/runs"
        for _ in range(4):
            engine.client.post(
                path,
                json={
                    "version_id": result.version_id,
                    "input_data": {"lines": lines},
                    "environment": {},
                    "retry_count": 0,
                },
            ).raise_for_status()
        db = sqlite3.connect(data_dir / store.DB_NAME)
        expected = 4 * (lines + 2)
        samples: list[tuple[float, int]] = []
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            count = db.execute("SELECT sum(log_seq) FROM runs").fetchone()[0] or 0
            samples.append((time.monotonic(), count))
            if count >= expected:
                break
            time.sleep(0.1)
        db.close()
        first = next(i for i, (_, c) in enumerate(samples) if c > 100)
        t0, c0 = samples[first]
        t1, c1 = samples[-1]
        overall = (c1 - c0) / (t1 - t0)
        # When did the last handler exit (supervisor's exit record), and how far behind was
        # storage then? A small lag means the engine kept up with the handlers.
        exits = [
            json.loads(path.read_text())["at"] / 1e6
            for path in (data_dir / "runs").glob("*/attempt-1/exit.json")
        ]
        lag = max(0.0, (time.time() - (time.monotonic() - t1)) - max(exits))
        print(
            f"log write throughput, 4 runs x {lines:,} lines at once: {overall:,.0f} lines/s"
            f" ({c1:,} lines stored in {t1 - t0:.1f} s; all stored {lag:.2f} s after the last"
            " handler exited)"
        )
    finally:
        engine.stop()


def bench_reads(root: Path, log_lines: int, runs: int, requests: int) -> None:
    data_dir = root / "reads"
    src = root / "noop"
    src.mkdir()
    (src / "main.py").write_text("def handler(input_data, context):\n    pass\n")
    result = deploy(data_dir, src, name="bench")
    conn, meta = store.init_store(data_dir)
    clock = Clock()
    rows = []
    with store.Transaction(conn):
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
    start = time.perf_counter()
    batch = 100_000
    base_ts = clock.now_us()
    for offset in range(0, log_lines, batch):
        with store.Transaction(conn):
            store.append_logs(
                conn,
                big_rseq,
                [
                    (base_ts + i, [f"epoch={i // 1000} step={i} loss=0.{i:06d} accuracy=0.5"])
                    for i in range(offset, min(offset + batch, log_lines))
                ],
                offset,
            )
    print(
        f"(setup: {log_lines:,} lines bulk-inserted in {time.perf_counter() - start:.1f} s,"
        f" {runs:,} runs)"
    )
    conn.close()
    engine = Engine(data_dir, "--queues", "1")
    try:
        base = f"/organizations/{engine.org}/deployments/{result.deployment_id}/runs"
        rng = random.Random(1)
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
        print(
            f"recentlogs page (1,000 events) from the middle of a {log_lines:,}-line run, HTTP:"
            f" p50 {statistics.median(timings):.2f} ms, p99 {percentile(timings, 99):.2f} ms"
        )
        reader = store.connect(data_dir / store.DB_NAME, readonly=True)
        query_timings = []
        for _ in range(requests):
            seq = rng.randint(log_lines // 4, 3 * log_lines // 4)
            t = time.perf_counter()
            store.log_page(reader, big_rseq, before=seq, limit=1000)
            query_timings.append((time.perf_counter() - t) * 1000)
        reader.close()
        print(
            f"  (the SQLite query alone: p50 {statistics.median(query_timings):.2f} ms,"
            f" p99 {percentile(query_timings, 99):.2f} ms)"
        )

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
        print(
            f"get_runs page (50 runs) of a deployment with {runs:,} runs, HTTP:"
            f" p50 {statistics.median(timings):.2f} ms, p99 {percentile(timings, 99):.2f} ms"
        )
    finally:
        engine.stop()


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
            bench_throughput(root, lines)
        if args.only in (None, "reads"):
            bench_reads(root, log_lines, runs, requests)


if __name__ == "__main__":
    main()
