"""Metrics read from log lines: the numbers training code already prints, as points.

UI-free and shared by the charts, the runs table's metric column and `runwatch metrics`.
`MetricParser.feed` takes one line (as stored: colours and `\r` redraws are handled here)
and returns the points it carries. A point's step comes from a step-like field on the same
line (step, global_step, iteration, iter, a leading `[N]`), else from the order of the
points of that name.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from runwatch.follow.line_text import plain_text


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    value: float
    step: int
    timestamp: str | None


STEP_KEYS = ("step", "global_step", "iteration", "iter")
_KEY_VALUE = re.compile(
    r"(?<![\w.-])([A-Za-z_][\w./-]*)\s*=\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.%/:])"
)


class MetricParser:
    """Turns log lines into points, remembering each metric's count for order-based steps."""

    def __init__(self, pattern: re.Pattern[str] | None = None) -> None:
        # A profile's custom format: named groups are metric names; a group named `step`
        # is the step.
        self.pattern = pattern
        self._counts: dict[str, int] = {}

    def feed(self, message: str, timestamp: str | None = None) -> list[Point]:
        text = plain_text(message)
        found = self._fields(text)
        if not found:
            return []
        step_value = None
        for key in STEP_KEYS:
            if key in found:
                step_value = found.pop(key)
                break
        points = []
        for name, value in found.items():
            if not math.isfinite(value):
                continue
            count = self._counts.get(name, 0)
            self._counts[name] = count + 1
            step = int(step_value) if step_value is not None else count
            points.append(Point(name, value, step, timestamp))
        return points

    def _fields(self, text: str) -> dict[str, float]:
        if self.pattern is not None:
            match = self.pattern.search(text)
            if match is not None:
                return {k: float(v) for k, v in match.groupdict().items() if v is not None}
        stripped = text.strip()
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                value = json.loads(stripped)
            except ValueError:
                value = None
            if isinstance(value, dict):
                return {
                    str(k): float(v)
                    for k, v in value.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                }
        if "=" in text:
            return {m.group(1): float(m.group(2)) for m in _KEY_VALUE.finditer(text)}
        return {}
