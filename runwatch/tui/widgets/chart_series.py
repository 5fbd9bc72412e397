"""A chart's data: one metric's points, and their min / max per screen column.

A series keeps its steps and values in flat arrays plus a pyramid of block minima and maxima
(blocks of 8, 64, 512, … points) kept up to date as points arrive. A column's min / max is
then a few slices of the coarsest level that fits it plus the raw points at its two edges,
so a redraw costs about the same for 1,000 points as for 1,000,000 and a spike inside a
column is never averaged away (tests/bench/bench_charts.py has the figures).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from itertools import pairwise

FAN = 8  # points per block at the first level, blocks per block above it

Span = tuple[float, float]  # (min, max) of the values in one column


class Series:
    """One metric's (step, value) points, sorted by step, with min / max levels."""

    def __init__(self, points: Iterable[tuple[float, float]] = ()) -> None:
        self.xs = array("d")
        self.ys = array("d")
        self.lowest = math.inf
        self.highest = -math.inf
        # _mins[k] / _maxs[k]: minima / maxima of blocks of FAN ** (k + 1) points.
        self._mins: list[array[float]] = []
        self._maxs: list[array[float]] = []
        self.extend(points)

    def __len__(self) -> int:
        return len(self.ys)

    @property
    def last(self) -> float | None:
        return self.ys[-1] if self.ys else None

    def append(self, x: float, y: float) -> None:
        xs = self.xs
        if xs and x < xs[-1]:
            # A step from the past (a phase that counts again, a late line): rare, so the
            # arrays are sorted again rather than kept sorted on every append.
            self._resort([*zip(xs, self.ys, strict=True), (x, y)])
            return
        self.extend_sorted((x,), (y,))

    def extend(self, points: Iterable[tuple[float, float]]) -> None:
        pairs = list(points)
        if not pairs:
            return
        xs = [x for x, _ in pairs]
        if (self.xs and xs[0] < self.xs[-1]) or any(b < a for a, b in pairwise(xs)):
            self._resort([*zip(self.xs, self.ys, strict=True), *pairs])
            return
        self.extend_sorted(xs, [y for _, y in pairs])

    def extend_sorted(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        """Add points already in step order, after every point held: in bulk, so a whole
        log's points (or a moving average of them) cost C loops, not an append each."""
        if not ys:
            return
        self.xs.extend(xs)
        self.ys.extend(ys)
        self.lowest = min(self.lowest, min(ys))
        self.highest = max(self.highest, max(ys))
        below_min: array[float] = self.ys
        below_max: array[float] = self.ys
        level = 0
        while len(below_min) >= FAN:
            if level == len(self._mins):
                self._mins.append(array("d"))
                self._maxs.append(array("d"))
            mins, maxs = self._mins[level], self._maxs[level]
            for start in range(len(mins) * FAN, len(below_min) - FAN + 1, FAN):
                mins.append(min(below_min[start : start + FAN]))
                maxs.append(max(below_max[start : start + FAN]))
            below_min, below_max = mins, maxs
            level += 1

    def _resort(self, points: list[tuple[float, float]]) -> None:
        points.sort(key=lambda point: point[0])
        self.xs, self.ys = array("d"), array("d")
        self._mins, self._maxs = [], []
        self.lowest, self.highest = math.inf, -math.inf
        self.extend_sorted([x for x, _ in points], [y for _, y in points])

    def x_bounds(self) -> Span | None:
        return (self.xs[0], self.xs[-1]) if self.xs else None

    def columns(self, x0: float, x1: float, count: int) -> list[Span | None]:
        """The (min, max) of the points in each of `count` equal slices of steps [x0, x1]."""
        xs = self.xs
        if count <= 0 or not xs or x1 < x0:
            return [None] * max(count, 0)
        width = (x1 - x0) / count if x1 > x0 else 1.0
        bounds = [bisect_left(xs, x0 + width * c) for c in range(count)]
        bounds.append(bisect_right(xs, x1))
        total = bounds[-1] - bounds[0]
        # The coarsest level whose blocks are at most a quarter of a column's points: a
        # column then reads a few blocks and at most two partial blocks' worth of raw points.
        per_column = total / count
        level = -1
        while level + 1 < len(self._mins) and FAN ** (level + 2) * 4 <= per_column:
            level += 1
        ys = self.ys
        spans: list[Span | None] = []
        if level < 0:
            for c in range(count):
                start, stop = bounds[c], bounds[c + 1]
                spans.append((min(ys[start:stop]), max(ys[start:stop])) if stop > start else None)
            return spans
        # Column edges snapped to whole blocks (a shift of under a quarter column): two
        # slices a column, and every point still falls in exactly one column.
        size = FAN ** (level + 1)
        mins, maxs = self._mins[level], self._maxs[level]
        blocks = len(mins)
        edges = [start // size for start in bounds]
        edges[-1] = min(-(-bounds[-1] // size), blocks)
        for c in range(count):
            first, end = edges[c], edges[c + 1]
            if end > first:
                spans.append((min(mins[first:end]), max(maxs[first:end])))
            else:
                start, stop = bounds[c], bounds[c + 1]
                spans.append((min(ys[start:stop]), max(ys[start:stop])) if stop > start else None)
        # Points after the last whole block belong to the last column.
        tail = max(blocks * size, bounds[0])
        if bounds[-1] > tail:
            low, high = min(ys[tail : bounds[-1]]), max(ys[tail : bounds[-1]])
            last = spans[-1]
            spans[-1] = (low, high) if last is None else (min(last[0], low), max(last[1], high))
        return spans


STRENGTHS: tuple[float, ...] = (0.0, 0.6, 0.9, 0.99)


class Smoothed(Series):
    """An exponential moving average of another series (debiased, as TensorBoard's), kept
    up to date from the points added to the source since the last `sync`."""

    def __init__(self, source: Series, weight: float) -> None:
        super().__init__()
        self.source = source
        self.weight = weight
        self._reset()

    def _reset(self) -> None:
        Series.__init__(self)
        self._read = 0
        self._source_xs = self.source.xs
        self._average = 0.0
        self._power = 1.0  # weight ** points averaged: the debiasing of the first points

    def sync(self) -> Smoothed:
        source = self.source
        if source.xs is not self._source_xs or len(source) < self._read:
            # The source sorted itself again: start over.
            self._reset()
        weight, rest, average, power = self.weight, 1 - self.weight, self._average, self._power
        averages = []
        append = averages.append
        for value in source.ys[self._read :]:
            average = weight * average + rest * value
            power *= weight
            append(average / (1 - power))
        self.extend_sorted(source.xs[self._read :], averages)
        self._read, self._average, self._power = len(source), average, power
        return self
