"""Cost of a chart redraw: 3 series of 100,000 points each in a 140x40 pane, and of appending.

    python tests/bench/bench_charts.py [--alternatives /tmp/chartbench]

Times `LineChart.build` (every row of the chart as Textual strips: what a redraw costs the
app, without a test harness's own overhead), zoomed out and zoomed in, linear and log, raw
and smoothed; appending 1,000 points to each series; building the series. With
`--alternatives DIR...` (`pip install --target DIR uniplot "plotext<6"`, made for the bench, not a
project dependency) it also times uniplot's and plotext's rendering of the same data at the
same size, which is how the chart implementation was chosen (see the README's note).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections.abc import Callable

from runwatch.tui.widgets.chart import ChartLine, LineChart, colour
from runwatch.tui.widgets.chart_series import Series

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
    """(median, max) milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
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
    start = time.perf_counter()
    series = [Series(points) for points in raw]
    build_ms = (time.perf_counter() - start) * 1000 / 3
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
    start = time.perf_counter()
    redraw()
    print(
        f"{'  first smoothed redraw (EMA of 3x100,000 points)':<52} "
        f"{(time.perf_counter() - start) * 1000:9.2f} ms  (once per strength)"
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
    print(f"spikes kept by min/max decimation: {kept} of 4 (3 in data + step-0 start)")
    if args.alternatives:
        alternatives(args.alternatives, raw)


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
