"""Cost of a chart redraw: 3 series of 100,000 points each in a 140x40 pane, and of appending.

    python tests/bench/bench_charts.py [--alternatives DIR...]

Times, in CPU time of this process, `LineChart.build` (every row of the chart as Textual
strips: what a redraw costs the app, without a test harness's own overhead), zoomed out and
in, linear and log, raw and smoothed; appending 1,000 points to each series; building a
series; the metrics pane's ingest rate (lines filed into series per CPU second). With
`--alternatives DIR...` (`pip install --target DIR uniplot "plotext<6"`, made for the bench,
not project dependencies) it also times uniplot's and plotext's rendering of the same data
at the same size, which is how the chart implementation was chosen (see the README).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from runwatch.tui.widgets.chart import ChartLine, LineChart, colour
from runwatch.tui.widgets.chart_series import Series
from tests.bench.bench_tui_log import KeyDriver

POINTS = 100_000
WIDTH, HEIGHT = 140, 40


def data(seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    points = []
    loss = 3.0
    for step in range(POINTS):
        loss = loss * 0.99995 + rng.gauss(0, 0.02)
        # A spike now and then: decimation must keep it.
        points.append((float(step), abs(loss) + (5.0 if step % 33_333 == 17 else 0.0)))
    return points


def timed(action: Callable[[], object], repeat: int = 15) -> tuple[float, float]:
    """(median, max) milliseconds of this process's CPU time: what the work costs, not how
    long a machine shared with other jobs took to get round to it."""
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        action()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples), max(samples)


def report(name: str, figures: tuple[float, float], target: str = "") -> None:
    median, worst = figures
    print(f"{name:<52} {median:9.2f} ms  (max {worst:8.2f}){'  ' + target if target else ''}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--alternatives",
        nargs="*",
        default=[],
        help="--target dirs holding uniplot and plotext<6 (textual-plotext pins plotext<6)",
    )
    args = parser.parse_args()
    raw = [data(seed) for seed in range(3)]
    start = time.process_time()
    series = [Series(points) for points in raw]
    build_ms = (time.process_time() - start) * 1000 / 3
    print(f"{'building one series of 100,000 points':<52} {build_ms:9.2f} ms")
    chart = LineChart()
    chart.set_lines([ChartLine(f"s{i}", s, colour(i)) for i, s in enumerate(series)])

    def redraw() -> object:
        return chart.build(WIDTH, HEIGHT)

    report("redraw 3x100,000 points, 140x40, all steps", timed(redraw), "target <= 16 ms")
    chart.toggle_log()
    report("  same, log scale", timed(redraw))
    chart.toggle_log()
    chart.zoom(0.01)
    report("  zoomed to 1,000 steps", timed(redraw))
    chart.reset_view()
    chart.cycle_smoothing()
    start = time.process_time()
    redraw()
    print(
        f"{'  first smoothed redraw (EMA of 3x100,000 points)':<52} "
        f"{(time.process_time() - start) * 1000:9.2f} ms  (once per strength)"
    )
    report("  smoothed, later redraws", timed(redraw))
    chart.smoothing = 0

    step = [float(POINTS)]

    def append() -> None:
        # As the metrics pane does: a batch of log lines' points, added per series at once.
        for s in series:
            s.extend([(step[0] + i, 1.0 + (i % 7) / 10) for i in range(1000)])
            step[0] += 1000
        # What the app does after a batch: mark the chart for a redraw (drawn at the frame).
        chart.changed()

    single = Series(raw[0][:50_000])

    def one_by_one() -> None:
        for i in range(1000):
            single.append(step[0] + i, 1.0)
        step[0] += 1000

    report("append 1,000 points one by one to one series", timed(one_by_one, repeat=10))
    report("append 1,000 points to each of 3 series (extend)", timed(append, 10), "< a redraw")
    spiky = Series(raw[0])
    spans = spiky.columns(0, POINTS - 1, (WIDTH - 10) * 2)
    kept = sum(1 for s in spans if s is not None and s[1] >= 5.0)
    print(f"one-point spikes still drawn after min/max decimation: {kept} of 3")
    ingest()
    latency()
    if args.alternatives:
        alternatives(args.alternatives, raw)


def ingest() -> None:
    """What following a run costs the metrics pane: its lines filed into series, per second of
    CPU, on a mixed log (1 line in 10 carries metrics) and a metric-dense one."""
    from runwatch.api.models import LogEvent
    from runwatch.tui.panes.run_metrics import RunMetrics

    mixed = [
        LogEvent(
            json.dumps({"step": i, "loss": 1 / (i + 1), "lr": 0.001})
            if i % 20 == 0
            else f"step={i} loss={1 / (i + 1):.5f}"
            if i % 20 == 10
            else f"INFO worker 3: batch {i} of shard 17 loaded from /data/train-{i % 64}.tar",
            None,
            "2026-01-01T00:00:00.000Z",
        )
        for i in range(50_000)
    ]
    dense = [
        LogEvent(json.dumps({"step": i, "loss": 1 / (i + 1), "acc": i / 5e4}), None, "")
        for i in range(50_000)
    ]
    for name, events in (("mixed log (1 line in 10 a metric line)", mixed), ("dense", dense)):
        data = RunMetrics("run")
        start = time.process_time()
        for first in range(0, len(events), 1_000):
            data.add(events[first : first + 1_000])
        rate = len(events) / (time.process_time() - start)
        print(
            f"{'ingest, ' + name:<52} {rate:9,.0f} lines/s  "
            f"({20_000 / rate:.0%} of a core at 20,000 lines/s)"
        )


def _lines(offset: int, size: int, dense: bool) -> list[Any]:
    from runwatch.api.models import LogEvent

    return [
        LogEvent(
            json.dumps({"step": i, "loss": 1 / (i + 1), "acc": i / 1e6})
            if dense or i % 10 == 0
            else f"INFO worker 3: batch {i} of shard 17 loaded from /data/train-{i % 64}.tar",
            None,
            "2026-01-01T00:00:00.000Z",
        )
        for i in range(offset, offset + size)
    ]


async def input_latency(dense: bool, seconds: float = 5.0) -> list[float]:
    """Milliseconds from a key press (posted from another thread, as the terminal driver
    does) to the end of its action on the metrics screen, while the pane takes batches of
    2,000 lines every 0.1 s (20,000 lines/s) and redraws its chart and table as it does."""
    from types import SimpleNamespace

    from textual.app import App

    from runwatch.tui.app import freeze_startup_objects
    from runwatch.tui.screens.metrics import MetricsScreen

    handled: list[float] = []

    class TimedScreen(MetricsScreen):
        def action_zoom(self, factor: float) -> None:
            super().action_zoom(factor)
            handled.append(time.perf_counter())

        def action_log_scale(self) -> None:
            super().action_log_scale()
            handled.append(time.perf_counter())

    # No client: the pane's own reading stops at once and the bench feeds it instead.
    session: Any = SimpleNamespace(client=None, organization_id=None)
    screen = TimedScreen(session, "deployment", [("run", "RUNNING")])

    class ChartApp(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)
            self.call_after_refresh(freeze_startup_objects)

    app = ChartApp()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        pane = screen.pane
        data = pane.data[0]
        keys = [("plus", "+"), ("minus", "-"), ("L", "L"), ("L", "L")]
        driver = KeyDriver(app, keys)
        # Made before: what the wire hands the pane, not part of its cost.
        batches = [_lines(2_000 * i, 2_000, dense) for i in range(int(seconds * 10) + 1)]
        next_batch = time.perf_counter()
        deadline = next_batch + seconds
        driver.start()
        try:
            for batch in batches:
                if time.perf_counter() >= deadline:
                    break
                await pane._take(data, batch)
                next_batch += 0.1
                await asyncio.sleep(max(0.0, next_batch - time.perf_counter()))
        finally:
            driver.stop()
        await pilot.pause()
        await pilot.pause()
        gc.unfreeze()
        return driver.latencies(handled)


def latency() -> None:
    for dense in (False, True):
        latencies = sorted(asyncio.run(input_latency(dense)))
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        kind = "every line a metric line" if dense else "1 line in 10 a metric line"
        print(
            f"input latency, charts following 20,000 lines/s ({kind}): {len(latencies)} keys, "
            f"median {latencies[len(latencies) // 2]:.1f} ms, p99 {p99:.1f} ms (target p99 <= 50)"
        )


def alternatives(where: list[str], raw: list[list[tuple[float, float]]]) -> None:
    sys.path[:0] = where
    xs = [[x for x, _ in points] for points in raw]
    ys = [[y for _, y in points] for points in raw]
    try:
        from uniplot import plot_to_string  # type: ignore[import-not-found]

        def uni() -> object:
            return plot_to_string(ys, xs=xs, width=WIDTH - 12, height=HEIGHT - 6, lines=True)

        report("uniplot 0.23 plot_to_string, same data (numpy)", timed(uni, repeat=3))
    except ImportError as error:
        print(f"uniplot not available: {error}")
    try:
        import plotext as plt  # type: ignore[import-not-found]

        def plo() -> object:
            plt.clear_figure()
            plt.plotsize(WIDTH, HEIGHT)
            plt.theme("clear")
            for x, y in zip(xs, ys, strict=True):
                plt.plot(x, y, marker="braille")
            return plt.build()

        report(
            f"plotext {plt.__version__ if hasattr(plt, '__version__') else ''} build",
            timed(plo, repeat=2),
        )
        step = math.ceil(POINTS / ((WIDTH - 10) * 2))

        def plo_decimated() -> object:
            plt.clear_figure()
            plt.plotsize(WIDTH, HEIGHT)
            plt.theme("clear")
            for x, y in zip(xs, ys, strict=True):
                plt.plot(x[::step], y[::step], marker="braille")
            return plt.build()

        report("plotext build, every Nth point (spikes lost)", timed(plo_decimated, repeat=5))
    except ImportError as error:
        print(f"plotext not available: {error}")


if __name__ == "__main__":
    main()
