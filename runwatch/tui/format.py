"""Pure formatting helpers shared by the widgets: status glyphs, times, inert text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from runwatch.api.models import STATUS_STYLES, status_style

# Glyphs make the status readable without colour (screen readers, monochrome terminals);
# the table is the CLI's too.
STATUS_STYLE = STATUS_STYLES

ALL_STATUSES = tuple(STATUS_STYLE)

# C0, DEL and C1 controls would move the cursor or start escape sequences in the terminal:
# dropping them (ESC included) leaves any ANSI sequence as inert visible text. The bidi
# embedding, override and isolate controls would let a line display reordered.
_CONTROL_TABLE: dict[int, str | None] = {
    **{code: None for code in range(0x00, 0x20)},
    0x7F: None,
    **{code: None for code in range(0x80, 0xA0)},
    **{code: None for code in range(0x202A, 0x202F)},
    **{code: None for code in range(0x2066, 0x206A)},
    0x09: "    ",
}


def inert(text: str) -> str:
    """`text` with control characters removed and tabs expanded, safe to print as is."""
    if text.isprintable():
        return text
    return text.translate(_CONTROL_TABLE)


def status_glyph(status: str) -> tuple[str, str]:
    return status_style(status)


def human_duration(seconds: float) -> str:
    """Compact duration: 4s, 3m05s, 2h07m, 3d04h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def coarse_duration(seconds: float) -> str:
    """A duration that is still growing, as kubectl shows an AGE: 45s, 3m, 2h07m, 3d04h.

    Seconds only in the first minute, whole minutes below an hour: the text then changes at
    most once a minute, so a clock tick repaints nothing (a dashboard left open all day
    repainted every running run's cells every second). Truncated, never rounded up: `3m` is
    3 to 4 minutes, as long as it has been at least."""
    seconds = max(0, int(seconds))
    if 60 <= seconds < 3600:
        return f"{seconds // 60}m"
    return human_duration(seconds)


def relative_time(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    delta = (now - when).total_seconds()
    if delta < -1:
        return "in " + human_duration(-delta)
    if delta < 1:
        return "now"
    return human_duration(delta) + " ago"


def exact_time(when: datetime | None) -> str:
    if when is None:
        return "-"
    return when.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def pretty_json(value: Any) -> str:
    """Pretty-print a decoded JSON value; a string holding JSON is decoded first.

    A string nested too deeply to decode or indent (a server's `"[[[[…"`) is shown as it came.
    """
    text: str | None = None
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return text
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    except RecursionError:
        return text if text is not None else "(nested too deeply to show)"
    except (TypeError, ValueError):
        return repr(value)


def short_age(when: datetime | None, now: datetime) -> str:
    """How long ago, in one unit (12s, 5m, 3h, 2d): the runs table's narrow created column."""
    if when is None:
        return "-"
    seconds = int((now - when).total_seconds())
    if seconds < 1:
        return "now"
    if seconds >= 100 * 86400:
        # "274d ago" would not fit the column's 7 cells: the date says it better.
        return when.strftime("%b %d" if seconds < 300 * 86400 else "%Y-%m")
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
