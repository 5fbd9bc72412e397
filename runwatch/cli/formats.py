"""Times, durations, runs' exit statuses and tables as the commands print them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from runwatch.cli.common import EXIT_FAILED, EXIT_OK, UsageError, describe_error

if TYPE_CHECKING:
    from runwatch.api.errors import ApiError
    from runwatch.api.models import Run


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """`10m`, `2h`, `30s`, `1d` (ago), or an ISO 8601 time (no zone = UTC)."""
    from runwatch.api.wire_values import parse_time

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if match:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
        try:
            return (now or datetime.now(UTC)) - timedelta(seconds=float(match.group(1)) * unit)
        except OverflowError:
            raise UsageError(f"{text.strip()} ago is before the year 1") from None
    parsed = parse_time(text.strip().replace(" ", "T", 1))
    if parsed is None:
        raise UsageError(f"not a duration (10m, 2h) or an ISO time: {text!r}")
    return parsed


def show_time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def show_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def run_duration(run: Run, *, now: datetime | None = None) -> float | None:
    """The run's duration (`Run.duration`, the one rule), measured now unless told."""
    return run.duration(now or datetime.now(UTC))


def exit_status_for(status: str | None) -> int:
    return EXIT_FAILED if status == "FAILED" else EXIT_OK


def format_table(
    rows: Iterable[Sequence[str]],
    header: Sequence[str],
    *,
    paint: Callable[[int, str, str], str] | None = None,
) -> str:
    """Left-aligned columns two spaces apart; `paint(column, cell, padded)` may colour a cell."""
    table = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines: list[str] = []
    for index, row in enumerate(table):
        cells: list[str] = []
        for column, cell in enumerate(row):
            padded = cell.ljust(widths[column]) if column < len(row) - 1 else cell
            if paint is not None and index > 0:
                padded = paint(column, cell, padded)
            cells.append(padded)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def retry_note(exc: ApiError, delay: float) -> str:
    return f"{describe_error(exc)}; retrying in {delay:.1f}s"
