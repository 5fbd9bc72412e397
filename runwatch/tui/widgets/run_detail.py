"""The run detail view: every field of the selected run, its status history, elapsed time.

Two parts: a short head (status, elapsed, history: redrawn when its text changes, which a
running run's elapsed time does each second in its first minute, once a minute after)
and the run's data (input, output template, environment: redrawn only when the run changed).
A running run with 600 KB of input data used to be laid out again every second, and each key
then waited seconds for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from runwatch.tui.format import (
    coarse_duration,
    exact_time,
    human_duration,
    inert,
    pretty_json,
    status_glyph,
)
from runwatch.tui.widgets.failure_view import FailureView
from runwatch.tui.widgets.label_grid import LabelGrid

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runwatch.api.models import Run
    from runwatch.follow.progress import Progress

# How many status changes of one run are remembered.
HISTORY_LIMIT = 50


class Seen(NamedTuple):
    status: str
    when: datetime
    # True when `when` is the time the dashboard noticed the status (the run had no time of
    # its own): shown as "seen", never as the time the run changed.
    noticed: bool = False


class StatusHistory:
    """The statuses each run was seen in, with the run's own time of each change."""

    def __init__(self) -> None:
        self._runs: dict[str, list[Seen]] = {}

    def observe(self, run: Run, now: datetime) -> str | None:
        """Note the run's status; the previous one when it changed, else None."""
        seen = self._runs.setdefault(run.run_id, [])
        if seen and seen[-1].status == run.status:
            return None
        previous = seen[-1].status if seen else None
        # A run's modified_at is the time of its last change: the time of this status.
        when = run.modified_at
        seen.append(Seen(run.status, when or now, when is None))
        if len(seen) > HISTORY_LIMIT:
            del seen[:-HISTORY_LIMIT]
        return previous

    def of(self, run_id: str) -> list[Seen]:
        return self._runs.get(run_id, [])

    def clear(self) -> None:
        self._runs.clear()


def masked_env(env: Mapping[str, str] | object) -> list[tuple[str, str]]:
    from runwatch.config import looks_secret, mask_secret

    if not isinstance(env, dict):
        return []
    rows = []
    for name, value in sorted(env.items()):
        shown = mask_secret(str(value)) if looks_secret(str(name)) else str(value)
        rows.append((inert(str(name)), inert(shown)))
    return rows


_NOT_STARTED = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING"})


def elapsed_text(run: Run, now: datetime) -> str:
    seconds = run.duration(now)
    if seconds is None:
        return "-"
    if run.terminal:
        return human_duration(seconds)
    # Still growing: whole minutes after the first (the created row gives the exact start).
    so_far = coarse_duration(seconds)
    if run.status == "RUNNING":
        return so_far + " (running)"
    if run.status in _NOT_STARTED:
        return so_far + " (not started yet)"
    return so_far + " (so far)"  # a status this version does not know: say no more than that


def render_head(
    run: Run,
    history: Sequence[tuple[str, datetime]],
    now: datetime,
    *,
    stale: bool = False,
    progress: Progress | None = None,
    quiet: str | None = None,
) -> RenderableType:
    # Drawn as a rich Table.grid looks, ~5x cheaper: the head is redrawn every second.
    grid = LabelGrid()
    glyph, style = status_glyph(run.status)
    status = Text(f"{glyph} {inert(run.status)}", style=style)
    if quiet and run.status == "RUNNING":
        # Printed nothing for a while (see follow/quiet.py): "quiet 12m".
        status.append(f"  {quiet}", style="bold yellow")
    if stale:
        status.append("  (stale)", style="yellow")
    grid.add_row("run", Text(inert(run.run_id)))
    grid.add_row("status", status)
    grid.add_row("elapsed", elapsed_text(run, now))
    shown = progress_text(run, progress)
    if shown is not None:
        grid.add_row("progress", Text(shown))
    grid.add_row("deployment", Text(inert(str(run.deployment_id or "-"))))
    version = " ".join(inert(str(v)) for v in (run.model_version, run.version_id) if v) or "-"
    grid.add_row("version", Text(version))
    models = Text("\n".join(f"{inert(k)} = {inert(str(v))}" for k, v in run.models.items()) or "-")
    grid.add_row("models", models)
    grid.add_row("created", exact_time(run.created_at))
    grid.add_row("modified", exact_time(run.modified_at))
    # The API's retry_count is how many retries the run may have, not how many it used.
    grid.add_row("retries allowed", "-" if run.retry_count is None else str(run.retry_count))
    grid.add_row("distribution", "-" if run.distribution is None else str(run.distribution))
    history_text = Text()
    for index, entry in enumerate(history):
        seen, when = entry[0], entry[1]
        noticed = len(entry) > 2 and bool(entry[2])  # type: ignore[misc]
        glyph, style = status_glyph(seen)
        if index:
            history_text.append("\n")
        history_text.append(("seen " if noticed else "") + when.strftime("%H:%M:%S "), style="dim")
        history_text.append(f"{glyph} {inert(seen)}", style=style)
    grid.add_row("history", history_text if history else Text("-"))
    return grid


def progress_text(run: Run, progress: Progress | None) -> str | None:
    """The progress row: the bar's last state as the log printed it, rate included (inert)."""
    if progress is None or run.terminal:
        return None
    rate = f" · {progress.rate}" if progress.rate else ""
    return inert(progress.short() + rate)


def head_key(
    run: Run,
    history: Sequence[tuple[str, datetime]],
    now: datetime,
    *,
    stale: bool = False,
    progress: Progress | None = None,
    quiet: str | None = None,
) -> tuple[object, ...]:
    """Everything `render_head` shows, the progress and elapsed texts last: equal keys,
    equal heads."""
    fields = (
        run.run_id,
        run.status,
        run.deployment_id,
        run.model_version,
        run.version_id,
        tuple(run.models.items()),
        run.created_at,
        run.modified_at,
        run.retry_count,
        run.distribution,
    )
    shown = progress_text(run, progress)
    return (
        fields,
        tuple(history),
        stale,
        quiet,
        shown is None,
        shown or "",
        elapsed_text(run, now),
    )


def _same_size(old: tuple[object, ...], new: tuple[object, ...]) -> bool:
    """Only the progress or elapsed texts moved, each to a text as wide as before."""
    return old[:-2] == new[:-2] and all(
        isinstance(a, str) and isinstance(b, str) and len(a) == len(b)
        for a, b in zip(old[-2:], new[-2:], strict=True)
    )


def render_data(run: Run) -> RenderableType:
    env_rows = masked_env(dict(run.user_env_vars))
    return Group(
        Text("\nenvironment", style="bold"),
        Text("\n".join(f"{k}={v}" for k, v in env_rows) or "-"),
        Text("\ninput data", style="bold"),
        Text(inert_block(pretty_json(run.input_data))),
        Text("\noutput template", style="bold"),
        Text(inert_block(pretty_json(run.output_template))),
    )


def render_run(
    run: Run, history: Sequence[tuple[str, datetime]], now: datetime, *, stale: bool = False
) -> RenderableType:
    """The whole detail of a run, as the view shows it."""
    return Group(render_head(run, history, now, stale=stale), render_data(run))


def inert_block(text: str) -> str:
    return "\n".join(inert(line) for line in text.split("\n"))


class RunDetail(VerticalScroll):
    DEFAULT_CSS = """
    RunDetail > Static { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        # The run whose data is shown (its wire dict): the data part is redrawn only when
        # another run, or a changed one, comes.
        self._data_of: Mapping[str, object] | None = None
        # What the head shows (see head_key): the once-a-second tick and every poll of the
        # run redrew it and laid the screen out again even when not one character moved.
        self._head_of: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        # First: for a failed run, why it failed is what the detail is opened for.
        yield FailureView(id="detail-failure")
        yield Static(Text("Select a run to see its details.", style="dim"), id="detail-head")
        yield Static("", id="detail-data")

    def show(
        self,
        run: Run | None,
        history: Sequence[tuple[str, datetime]],
        now: datetime,
        *,
        stale: bool = False,
        progress: Progress | None = None,
        quiet: str | None = None,
    ) -> None:
        head = self.query_one("#detail-head", Static)
        data = self.query_one("#detail-data", Static)
        if run is None:
            self._data_of = self._head_of = None
            head.update(Text("Select a run to see its details.", style="dim"))
            data.update("")
            return
        key = head_key(run, history, now, stale=stale, progress=progress, quiet=quiet)
        if key != self._head_of:
            # Only the elapsed time or the progress moved, to a text as wide as before: the
            # head keeps its height, so it is repainted without a layout of the screen.
            same_size = self._head_of is not None and _same_size(self._head_of, key)
            self._head_of = key
            head.update(
                render_head(run, history, now, stale=stale, progress=progress, quiet=quiet),
                layout=not same_size,
            )
        if self._data_of is None or self._data_of != run.raw:
            self._data_of = run.raw
            data.update(render_data(run))
