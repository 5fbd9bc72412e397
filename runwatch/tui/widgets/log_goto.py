"""What `:` in the log pane goes to: a line number (`:1200`) or a time, in UTC as the
timestamps are shown (`:12:30`, `:12:30:15`, `:2026-12-01 12:30`, `:2026-12-01T12:30:15`,
`:2026-12-01`). A time of day alone is on the day of the newest line loaded."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

Goto = int | datetime

_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?")


class GotoError(ValueError):
    """Text that names no line or time; the message is one line for the user."""


def parse_goto(text: str, day: date) -> Goto:
    """The line number or UTC time `text` names; `day` is the day of a bare time of day."""
    text = text.strip().removeprefix(":").strip().removesuffix("Z")
    if not text:
        raise GotoError("type a line number (1200) or a time (12:30, 2026-12-01 12:30)")
    if text.replace(",", "").replace("_", "").isdigit():
        number = int(text.replace(",", "").replace("_", ""))
        if number < 1:
            raise GotoError("line numbers start at 1")
        return number
    match = _TIME_OF_DAY.fullmatch(text)
    if match is not None:
        return datetime.combine(day, _time_of(match), UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise GotoError(f"not a line number or a time: {text[:40]!r}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _time_of(match: re.Match[str]) -> time:
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    micro = int((match.group(4) or "0").ljust(6, "0"))
    if hour > 23 or minute > 59 or second > 59:
        raise GotoError(f"not a time of day: {match.group(0)}")
    return time(hour, minute, second, micro)
