"""One run's metrics as the charts hold them: a series per metric name, fed log batches.

The points come from the follow layer's `MetricParser` (the same reading as `runwatch
metrics`); this only files them by name into chart series, a batch at a time (a series takes
a batch's points in one go, see `Series.extend`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from runwatch.follow.metrics import MetricParser
from runwatch.tui.widgets.chart_series import Series

if TYPE_CHECKING:
    from runwatch.api.models import LogEvent


def number(value: float | None) -> str:
    """A metric's value as the tables show it: 6 significant digits."""
    return "-" if value is None else f"{value:.6g}"


class RunMetrics:
    def __init__(self, run_id: str, parser: MetricParser | None = None) -> None:
        self.run_id = run_id
        self.parser = parser or MetricParser()
        self.series: dict[str, Series] = {}
        self.lines = 0
        self.reading = True  # the whole log is still being read
        self.following = False
        self.error: str | None = None

    def add(self, events: Sequence[LogEvent]) -> bool:
        """File the points of these lines; True when a metric not seen before appeared."""
        grouped: dict[str, list[tuple[float, float]]] = {}
        feed = self.parser.feed
        for event in events:
            for point in feed(event.message, event.raw_timestamp):
                grouped.setdefault(point.name, []).append((float(point.step), point.value))
        self.lines += len(events)
        new = False
        for name, points in grouped.items():
            series = self.series.get(name)
            if series is None:
                series = self.series[name] = Series()
                new = True
            series.extend(points)
        return new

    def names(self) -> list[str]:
        return list(self.series)

    def state(self) -> str:
        """Where the reading is, for a title: `reading… 12,000 lines`, `following`, …"""
        if self.error:
            return f"stopped: {self.error}"
        lines = f"{self.lines:,} lines"
        if self.reading:
            return f"reading the log… {lines}"
        return f"following · {lines}" if self.following else f"whole log · {lines}"
