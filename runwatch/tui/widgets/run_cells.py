"""What the runs table shows of a run: its columns, the cells of one run, and the `/` filter.

Cells are Text, never str: DataTable parses str cells as markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text

from runwatch.tui.format import (
    ALL_STATUSES,
    coarse_duration,
    human_duration,
    inert,
    short_age,
    status_glyph,
)

if TYPE_CHECKING:
    from runwatch.api.models import Run

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("id", "run id", 20),
    ("status", "status", 11),
    ("version", "version", 10),
    ("model", "model", 10),
    ("created", "created", 7),  # "59m ago"
    ("duration", "duration", 8),
    # The API's retry_count: how many retries the run may have, not how many it used.
    ("retry", "max retries", 11),
    ("dist", "dist", 4),
)
# Columns left out, in this order, while the table is too narrow for them all: a column cut
# at the edge shows half a word.
DROP_ORDER = ("dist", "retry", "model", "duration", "version")

# Columns that take the room a wide terminal has to spare (version names and model aliases
# are often longer than 10 characters), up to this many cells each.
FLEX_COLUMNS = ("version", "model")
FLEX_MAX = 32

# Which table columns a changed run field feeds.
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "status": ("status", "duration"),
    "modified_at": ("duration",),
    "created_at": ("created", "duration"),
    "model_version": ("version",),
    "version_id": ("version",),
    "models": ("model",),
    "retry_count": ("retry",),
    "distribution": ("dist",),
}


def status_cell(status: str, quiet: str | None = None) -> Text:
    glyph, style = status_glyph(status)
    if quiet and status == "RUNNING":
        # A running run that printed nothing for a while: "quiet 12m" (follow/quiet.py) in
        # the status's place, the glyph still saying RUNNING.
        return Text(f"{glyph} {quiet}", style="bold yellow", no_wrap=True, end="")
    return Text(f"{glyph} {inert(status)}", style=style, no_wrap=True, end="")


def duration_cell(run: Run, now: datetime) -> str:
    """A finished run's duration to the second; a moving one's changes once a minute."""
    seconds = run.duration(now)
    if seconds is None:
        return "-"
    return human_duration(seconds) if run.terminal else coarse_duration(seconds)


def _cell(text: str) -> Text:
    # Text, never str: DataTable parses str cells as markup, and a version name or run id
    # holding "[" must show as typed.
    return Text(inert(text), no_wrap=True, end="")


def time_cells(run: Run, now: datetime) -> dict[str, Text]:
    """The cells that change with the clock alone (refreshed between polls)."""
    return {
        "created": _cell(short_age(run.created_at, now)),
        "duration": _cell(duration_cell(run, now)),
    }


def run_cells(run: Run, now: datetime, quiet: str | None = None) -> dict[str, Text]:
    version = run.model_version or run.version_id or "-"
    return {
        "id": _cell(run.run_id),
        "status": status_cell(run.status, quiet),
        "version": _cell(str(version)),
        "model": _cell(",".join(run.models) or "-"),
        **time_cells(run, now),
        "retry": _cell("-" if run.retry_count is None else str(run.retry_count)),
        "dist": _cell("-" if run.distribution is None else str(run.distribution)),
    }


class RunFilter:
    """`/` text: words naming a status keep those statuses, other words must be in the run id."""

    def __init__(self, text: str = "") -> None:
        self.text = text.strip()
        words = self.text.lower().split()
        self.statuses = {w.upper() for w in words if w.upper() in ALL_STATUSES}
        self.id_terms = [w for w in words if w.upper() not in ALL_STATUSES]

    def __bool__(self) -> bool:
        return bool(self.statuses or self.id_terms)

    def matches(self, run: Run) -> bool:
        if self.statuses and run.status not in self.statuses:
            return False
        run_id = run.run_id.lower()
        return all(term in run_id for term in self.id_terms)
