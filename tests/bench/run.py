"""The benchmark runner: every figure of issue 7, against its target, in one table.

    python tests/bench/run.py [--quick | --smoke] [--json PATH]

Starts its own engines (in a temporary directory) and runs the benchmarks of the modules next
to this file. Each figure is the median of several repetitions; each comparison with a
baseline (the official SDK, or rebuilding the runs table) is measured in the same run, and its
ratio is printed next to the ratio the target asks for. `--quick` uses small sizes (about a
minute on 2 cores).
`--smoke` uses the smallest sizes that still take every figure (one repetition; the figures
mean little): tests/bench/test_bench_runner.py runs it to keep the runner working.
`--json PATH` writes the list of {"metric", "value", "unit", "target", "better", "baseline"}.
Where the target is a ratio to the baseline (burst, export), "target" is that ratio times the
baseline measured in this run, so `value` against `target` is the whole check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench import (  # noqa: E402 - the repository root has to be on the path first
    bench_engine,
    bench_export,
    bench_follow,
    bench_tui_log,
    bench_tui_startup,
    bench_tui_table,
)


@dataclass(frozen=True)
class Sizes:
    repeats: int
    help_repeats: int
    startup_repeats: int
    cold_start: bool
    table_rows: int
    table_rounds: int
    rebuild_rounds: int
    ingest_lines: int
    latency_seconds: float
    tail_lines: int
    tail_runs: int
    burst_lines: int
    sdk_polls: int
    log_write_lines: int
    log_lines: int
    runs: int
    requests: int


FULL = Sizes(
    repeats=3,
    help_repeats=7,
    startup_repeats=3,
    cold_start=True,
    table_rows=10_000,
    table_rounds=20,
    rebuild_rounds=3,
    ingest_lines=1_000_000,
    latency_seconds=5.0,
    tail_lines=20,
    tail_runs=3,
    burst_lines=200_000,
    sdk_polls=5,
    log_write_lines=500_000,
    log_lines=1_000_000,
    runs=10_000,
    requests=1_000,
)
QUICK = Sizes(
    repeats=2,
    help_repeats=3,
    startup_repeats=1,
    cold_start=False,
    table_rows=2_000,
    table_rounds=10,
    rebuild_rounds=1,
    ingest_lines=100_000,
    latency_seconds=1.5,
    tail_lines=4,
    tail_runs=2,
    burst_lines=30_000,
    sdk_polls=2,
    log_write_lines=30_000,
    log_lines=100_000,
    runs=1_000,
    requests=200,
)
# Every step and figure once, on the smallest inputs each measurement still works on (recentlogs
# reads 1,000 events from the middle quarter of the big run; get_runs pages 50 runs).
SMOKE = Sizes(
    repeats=1,
    help_repeats=1,
    startup_repeats=1,
    cold_start=False,
    table_rows=500,
    table_rounds=3,
    rebuild_rounds=1,
    ingest_lines=20_000,
    latency_seconds=0.5,
    tail_lines=2,
    tail_runs=1,
    burst_lines=5_000,
    sdk_polls=1,
    log_write_lines=5_000,
    log_lines=10_000,
    runs=200,
    requests=20,
)


@dataclass
class Result:
    metric: str
    value: float
    unit: str
    target: float
    better: str  # "lower" | "higher"
    baseline: float | None = None
    ratio_target: float | None = None  # how many times better than the baseline it must be
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline (> 1: better)."""
        if self.baseline is None or not self.value or not self.baseline:
            return None
        return self.baseline / self.value if self.better == "lower" else self.value / self.baseline

    @property
    def passed(self) -> bool:
        ok = self.value <= self.target if self.better == "lower" else self.value >= self.target
        if self.ratio_target is not None:
            ok = ok and self.ratio is not None and self.ratio >= self.ratio_target
        return ok

    def as_json(self) -> dict[str, object]:
        return {
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "better": self.better,
            "baseline": self.baseline,
        }


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def percentile(values: list[float], pct: float) -> float:
    return bench_engine.percentile(values, pct)


def bench_cli_and_startup(root: Path, sizes: Sizes) -> list[Result]:
    helps = bench_tui_startup.help_seconds(sizes.help_repeats)
    start = bench_tui_startup.startup(root, sizes.startup_repeats, sizes.cold_start)
    cold = ""
    if start["cold_runs"]:
        cold = (
            f"first launch (data dir created, demo installed): frame {start['cold_frame'][0]:.2f}"
            f" s, runs {start['cold_runs'][0]:.2f} s"
        )
    return [
        Result("cli.help_s", median(helps), "s", 0.25, "lower"),
        Result(
            "tui.first_frame_s", median(start["frame"]), "s", 0.6, "lower", note="in tmux, warm"
        ),
        Result("tui.first_runs_s", median(start["runs"]), "s", 2.0, "lower", note=cold),
    ]


def bench_tui(sizes: Sizes) -> list[Result]:
    tables = [
        asyncio.run(
            bench_tui_table.measure(
                rows=sizes.table_rows,
                rounds=sizes.table_rounds,
                rebuild_rounds=sizes.rebuild_rounds,
            )
        )
        for _ in range(sizes.repeats)
    ]
    ingests = [bench_tui_log.ingest_in_subprocess(sizes.ingest_lines) for _ in range(sizes.repeats)]
    p99s = [
        percentile(asyncio.run(bench_tui_log.input_latency(sizes.latency_seconds)), 99)
        for _ in range(sizes.repeats)
    ]
    return [
        Result(
            "tui.table_refresh_ms",
            median([t["incremental_ms"] for t in tables]),
            "ms",
            20.0,
            "lower",
            baseline=median([t["rebuild_ms"] for t in tables]),
            ratio_target=50.0,
            note=f"{sizes.table_rows:,} runs, 10 changed; baseline: clear and re-add all rows",
        ),
        Result(
            "tui.log_ingest_lines_per_s",
            median([i["lines_per_s"] for i in ingests]),
            "lines/s",
            100_000.0,
            "higher",
            note="per CPU second, a frame after every 5,000-line batch",
        ),
        Result(
            "tui.input_latency_ms_p99",
            median(p99s),
            "ms",
            50.0,
            "lower",
            note="key posted by a driver thread -> action done, 20,000 lines/s arriving",
        ),
        Result(
            "tui.rss_mb_after_1m_lines",
            median([i["rss_mb"] for i in ingests]),
            "MB",
            250.0,
            "lower",
            note=f"{sizes.ingest_lines:,} lines through a fresh process's pane (keeps 100,000)",
        ),
    ]


def bench_follow_and_burst(root: Path, sizes: Sizes) -> list[Result]:
    from runwatch.api.client import APIClient
    from runwatch.engine.deploy import deploy
    from runwatch.engine.launch import ensure_engine, kill_attempts

    code = root / "follow-code"
    code.mkdir()
    data_dir = root / "follow-engine"
    (code / "main.py").write_text(bench_follow.FLOOD)
    flood = deploy(data_dir, code, name="flood", handler="main:handler")
    (code / "main.py").write_text(bench_follow.TICKER)
    ticker = deploy(data_dir, code, name="ticker", handler="main:handler")
    # The SDK's usual tail loop follows the forward token CloudWatch's way (it loops on the
    # seed's []); bench_token_shapes.py measures the other shapes.
    engine = ensure_engine(
        data_dir, extra_args=["--no-demo", "--queues", "4", "--log-tokens", "cloudwatch"]
    )
    try:
        env = bench_follow.cli_env(engine, root)
        with APIClient({"auth_token": engine.token}, base_url=engine.url) as client:
            # The quiet runs first, alone: their lag is not the flood's queueing.
            lag_runs = bench_follow.tail_lags(
                client,
                engine,
                env,
                ticker.deployment_id,
                ticker.version_id,
                sizes.tail_lines,
                sizes.tail_runs,
            )
            p95s = [percentile(lags, 95) for lags in lag_runs]
            rates = []
            run_id = ""
            for i in range(sizes.repeats):
                out = root / "live.txt" if i == 0 else None  # the first one checks the output
                rate, run_id = bench_follow.live_rate(
                    client,
                    engine,
                    env,
                    flood.deployment_id,
                    flood.version_id,
                    sizes.burst_lines,
                    out,
                )
                rates.append(rate)
            sdk = bench_follow.sdk_loop_rates(env, flood.deployment_id, run_id, sizes.sdk_polls)
    finally:
        engine.stop()
        kill_attempts(data_dir)
    return [
        Result(
            "follow.tail_lag_s_p95",
            median(p95s),
            "s",
            1.2,
            "lower",
            note=f"{sizes.tail_runs} quiet runs x {sizes.tail_lines} lines, each followed by"
            " `runwatch logs -f`",
        ),
        Result(
            "follow.burst_lines_per_s",
            median(rates),
            "lines/s",
            20 * median(sdk),
            "higher",
            baseline=median(sdk),
            ratio_target=20.0,
            note=f"{sizes.burst_lines:,} lines, submit -> `logs -f` exit; baseline: official SDK"
            " tail loop, 1 page/s",
        ),
    ]


def bench_engine_and_export(root: Path, sizes: Sizes) -> list[Result]:
    writes = bench_engine.bench_throughput(root, sizes.log_write_lines, sizes.repeats)
    setup = bench_engine.prepare_reads(root, sizes.log_lines, sizes.runs)
    engine = bench_engine.Engine(setup.data_dir, "--queues", "1")
    try:
        reads = [
            bench_engine.read_latencies(engine, setup, sizes.requests, seed=i)
            for i in range(sizes.repeats)
        ]
        token = engine.client.headers["Authorization"].split(" ", 1)[1]
        env = bench_export.client_env(engine.url, engine.org, token)
        exports: dict[str, list[float]] = {"runwatch": [], "sdk": []}
        engine_cpu: dict[str, list[float]] = {"runwatch": [], "sdk": []}  # per whole export
        for _ in range(sizes.repeats):
            for kind in exports:
                cpu = bench_export.process_cpu_seconds(engine.proc.pid)
                lines, rate = bench_export.export_rate(
                    kind, env, engine.org, setup.deployment_id, setup.big_run_id
                )
                engine_cpu[kind].append(bench_export.process_cpu_seconds(engine.proc.pid) - cpu)
                assert lines == sizes.log_lines, f"{kind} exported {lines} lines"
                exports[kind].append(rate)
    finally:
        engine.stop()
    sdk = median(exports["sdk"])
    # Both loops wait for the same server: what the engine spends per page bounds the ratio
    # any client can reach on this machine (a client that cost nothing would still wait it).
    pages = sizes.log_lines / 1000
    server_ms = median(engine_cpu["runwatch"]) / pages * 1000
    sdk_ms = 1000 / sdk * 1000
    rw_ms = 1000 / median(exports["runwatch"]) * 1000
    ceiling = (
        f"per 1,000-line page: runwatch {rw_ms:.2f} ms (engine CPU {server_ms:.2f} ms of it),"
        f" SDK {sdk_ms:.2f} ms (engine CPU"
        f" {median(engine_cpu['sdk']) / pages * 1000:.2f} ms);"
        f" a client costing nothing would reach {sdk_ms / server_ms:.1f}x"
    )
    return [
        Result(
            "api.export_lines_per_s",
            median(exports["runwatch"]),
            "lines/s",
            3 * sdk,
            "higher",
            baseline=sdk,
            ratio_target=3.0,
            note=f"{sizes.log_lines:,}-line run, get_run_logs paging; baseline: official SDK;"
            f" {ceiling}",
        ),
        Result(
            "engine.log_write_lines_per_s",
            median([w["lines_per_s"] for w in writes]),
            "lines/s",
            200_000.0,
            "higher",
            note=f"4 runs x {sizes.log_write_lines:,} lines at once",
        ),
        Result(
            "engine.recentlogs_p99_ms",
            median([r["recentlogs_p99_ms"] for r in reads]),
            "ms",
            5.0,
            "lower",
            note=f"1,000 events from the middle of a {sizes.log_lines:,}-line run, HTTP; p50"
            f" {median([r['recentlogs_p50_ms'] for r in reads]):.2f} ms; the SQLite query alone"
            f" p99 {median([r['query_p99_ms'] for r in reads]):.2f} ms",
        ),
        Result(
            "engine.get_runs_p99_ms",
            median([r["get_runs_p99_ms"] for r in reads]),
            "ms",
            10.0,
            "lower",
            note=f"50 runs of a deployment with {sizes.runs:,}, HTTP; p50"
            f" {median([r['get_runs_p50_ms'] for r in reads]):.2f} ms",
        ),
    ]


ORDER = [
    "cli.help_s",
    "tui.first_frame_s",
    "tui.first_runs_s",
    "tui.table_refresh_ms",
    "tui.log_ingest_lines_per_s",
    "tui.input_latency_ms_p99",
    "tui.rss_mb_after_1m_lines",
    "follow.tail_lag_s_p95",
    "follow.burst_lines_per_s",
    "api.export_lines_per_s",
    "engine.log_write_lines_per_s",
    "engine.recentlogs_p99_ms",
    "engine.get_runs_p99_ms",
]


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: list[Result]) -> str:
    header = ("metric", "value", "unit", "target", "baseline", "ratio", "result")
    rows = []
    for r in results:
        sign = "<=" if r.better == "lower" else ">="
        ratio = "-"
        if r.ratio is not None:
            ratio = f"{r.ratio:,.1f}x"
            if r.ratio_target is not None:
                ratio += f" (>= {r.ratio_target:g}x)"
        rows.append(
            (
                r.metric,
                fmt(r.value),
                r.unit,
                f"{sign} {fmt(r.target)}",
                fmt(r.baseline),
                ratio,
                "pass" if r.passed else "MISS",
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {1, 3, 4, 5}

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    out = [line(header), line(tuple("-" * w for w in widths))]
    out += [line(row) for row in rows]
    notes = [f"  {r.metric}: {r.note}" for r in results if r.note]
    return "\n".join([*out, "", "notes:", *notes])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, once: keeps it working")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write the results as JSON")
    args = parser.parse_args()
    mode = "quick" if args.quick else "smoke" if args.smoke else "full"
    sizes = {"quick": QUICK, "smoke": SMOKE, "full": FULL}[mode]
    started = time.perf_counter()
    results: list[Result] = []
    steps: list[tuple[str, Callable[[Path], list[Result]]]] = [
        ("engine and export", lambda root: bench_engine_and_export(root, sizes)),
        ("follow", lambda root: bench_follow_and_burst(root, sizes)),
        ("tui", lambda root: bench_tui(sizes)),
        ("cli and startup", lambda root: bench_cli_and_startup(root, sizes)),
    ]
    with tempfile.TemporaryDirectory(prefix="runwatch-bench-") as tmp:
        for name, step in steps:
            step_start = time.perf_counter()
            root = Path(tmp) / name.replace(" ", "-")
            root.mkdir()
            results += step(root)
            print(f"[{name}: {time.perf_counter() - step_start:.1f} s]", file=sys.stderr)
    results.sort(key=lambda r: ORDER.index(r.metric))
    assert [r.metric for r in results] == ORDER
    for r in results:
        if not math.isfinite(r.value):
            raise RuntimeError(f"{r.metric}: not a number ({r.value})")
    load = os.getloadavg()
    print(table(results))
    print(
        f"\n{mode} run, {time.perf_counter() - started:.0f} s;"
        f" load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        f" ({os.cpu_count()} CPUs)"
    )
    if args.json:
        args.json.write_text(json.dumps([r.as_json() for r in results], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
