"""The chart's data and canvas on their own: decimation keeps spikes, the braille canvas draws
where the values are, log scale, zoom and pan, smoothing."""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from typing import Any

import pytest

from runwatch.tui.widgets.chart import GUTTER, ChartLine, LineChart, colour
from runwatch.tui.widgets.chart_series import Series, Smoothed


def _dots(strip_text: str) -> str:
    return strip_text[GUTTER:]


def _rows(chart: LineChart, width: int, height: int) -> list[str]:
    return ["".join(segment.text for segment in strip) for strip in chart.build(width, height)]


def _chart(*series: Series) -> LineChart:
    chart = LineChart()
    chart.set_lines([ChartLine(f"s{i}", s, colour(i)) for i, s in enumerate(series)])
    return chart


@pytest.mark.parametrize("columns", [7, 260, 1000])
def test_every_spike_survives_min_max_decimation(columns: int) -> None:
    rng = random.Random(3)
    points = 20_000
    spikes = sorted(rng.sample(range(points), 12))
    series = Series((float(i), 100.0 if i in spikes else rng.random()) for i in range(points))
    spans = series.columns(0, points - 1, columns)
    width = (points - 1) / columns
    for spike in spikes:
        column = min(int(spike / width), columns - 1)
        # Snapped to whole blocks, a spike may land one column over, never further.
        near = spans[max(column - 1, 0) : column + 2]
        assert any(span is not None and span[1] == 100.0 for span in near), spike
    assert max(span[1] for span in spans if span) == 100.0
    assert min(span[0] for span in spans if span) == min(series.ys)


def test_columns_hold_exactly_the_values_in_view() -> None:
    rng = random.Random(5)
    series = Series((float(i), rng.gauss(0, 1)) for i in range(20_003))
    for x0, x1, count in ((0, 20_002, 130), (1_000, 5_000, 77), (19_990, 20_002, 30)):
        spans = series.columns(x0, x1, count)
        inside = series.ys[bisect_left(series.xs, x0) : bisect_right(series.xs, x1)]
        assert max(s[1] for s in spans if s) == max(inside)
        assert min(s[0] for s in spans if s) == min(inside)


def test_points_one_by_one_build_the_same_levels_as_in_bulk_and_late_steps_are_sorted() -> None:
    values = [(float(i), math.sin(i)) for i in range(1_000)]
    bulk, single = Series(values), Series()
    for x, y in values:
        single.append(x, y)
    assert single._mins == bulk._mins and single._maxs == bulk._maxs
    single.append(10.5, 99.0)  # a step from the past
    assert list(single.xs[:13]) == [*range(11), 10.5, 11]
    assert list(single.xs) == sorted(single.xs) and single.highest == 99.0
    assert single.columns(10, 11, 1) == [(min(math.sin(10), math.sin(11)), 99.0)]


def test_smoothing_is_a_debiased_moving_average_kept_up_as_points_come() -> None:
    source = Series((float(i), float(i % 2)) for i in range(10))
    smoothed = Smoothed(source, 0.5).sync()
    average, expected = 0.0, []
    for i in range(10):
        average = 0.5 * average + 0.5 * (i % 2)
        expected.append(average / (1 - 0.5 ** (i + 1)))
    assert list(smoothed.ys) == pytest.approx(expected)
    source.extend([(10.0, 0.0), (11.0, 1.0)])
    assert len(smoothed.sync()) == 12
    assert list(smoothed.ys) == pytest.approx(list(Smoothed(source, 0.5).sync().ys))


def test_the_canvas_draws_a_rising_line_from_bottom_left_to_top_right() -> None:
    chart = _chart(Series((float(i), float(i)) for i in range(100)))
    rows = _rows(chart, 40, 11)
    plot = [_dots(row) for row in rows[:-1]]
    assert plot[-1][0] != " " and plot[0][-1] != " "
    assert plot[0][0] == " " and plot[-1][-1] == " "
    assert rows[0].strip().startswith("99") and rows[-2].lstrip().startswith("0")
    assert rows[-1].rstrip().endswith("99")  # the last step on the x axis


def test_a_one_point_spike_is_drawn_up_to_the_top_row() -> None:
    chart = _chart(Series((float(i), 50.0 if i == 5_000 else 1.0) for i in range(10_000)))
    rows = _rows(chart, 60, 12)
    assert rows[0].lstrip().startswith("50")
    assert any(cell != " " for cell in _dots(rows[0]))


def test_log_scale_labels_powers_of_ten_and_leaves_out_values_at_or_below_zero() -> None:
    chart = _chart(Series([(0.0, -1.0), (1.0, 0.0), (2.0, 10.0), (3.0, 1_000_000.0)]))
    chart.toggle_log()
    rows = _rows(chart, 40, 10)
    assert rows[0].split()[0] == "1.00e+06" and rows[-2].split()[0] == "10"


def test_zoom_and_pan_move_the_view_within_the_steps() -> None:
    chart = _chart(Series((float(i), 0.0) for i in range(1_001)))
    assert chart.visible() == (0, 1_000)
    chart.zoom(0.5)
    assert chart.view == (250, 750)
    chart.pan(-1.0)
    assert chart.view == (0, 500)  # clamped at the first step
    chart.pan(0.5)
    assert chart.view == (250, 750)
    chart.zoom(4)
    assert chart.view is None  # all steps: follows new ones again
    assert _rows(LineChart(), 30, 5)[2].strip() == "no points yet"


def test_the_wheel_zooms_and_shift_wheel_pans() -> None:
    from types import SimpleNamespace

    chart = _chart(Series((float(i), 0.0) for i in range(1_001)))

    def wheel(shift: bool = False) -> Any:
        return SimpleNamespace(x=0, shift=shift, ctrl=False, stop=lambda: None)

    chart.on_mouse_scroll_up(wheel())
    assert chart.view == (100, 900)
    chart.on_mouse_scroll_down(wheel(shift=True))
    assert chart.view == (180, 980)
    chart.on_mouse_scroll_right(wheel())
    assert chart.view == (200, 1_000)
    chart.on_mouse_scroll_down(wheel())
    assert chart.view is None
