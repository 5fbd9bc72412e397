"""The connection bar: where the data comes from and how fresh it is, always on screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from runwatch.tui.connection import Connection, Mode
from runwatch.tui.format import inert

__all__ = ["MODE_STYLE", "Connection", "Mode", "StatusBar"]

MODE_STYLE: dict[str, tuple[str, str]] = {
    "starting": ("◌", "yellow"),
    "loading": ("◌", "yellow"),
    "live": ("●", "green"),
    "paused": ("‖", "yellow"),
    "reconnecting": ("↻", "bold red"),
    "auth": ("✘", "bold red"),
    "not_found": ("✘", "bold red"),
    "failed": ("✘", "bold red"),
}


def _ago(seconds: float, *, coarse: bool = False) -> str:
    """A time span: seconds below two minutes, then minutes, then hours. `coarse` (how old
    the data is when nothing is wrong) says "<1 min" for the first minute instead, so the
    text changes once a minute at most."""
    seconds = max(0, int(seconds))
    if coarse and seconds < 60:
        return "<1 min"
    if not coarse and seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


# How long after the last successful poll the data still counts as fresh, beyond the longest
# interval between polls (a slow answer): "live" alone says it all until then.
FRESH_MARGIN = 5.0


class StatusBar(Widget):
    """One line: state and freshness on the left, profile, API and deployment on the right."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        dock: top;
        background: $panel;
        padding: 0 1;
    }
    """

    # Not repainted by themselves: every successful poll sets a new `connection` (its
    # last_ok moved), several times a second while a log pours in, and a repaint of this top
    # line joined with one of the log pane at the bottom made Textual recompose the whole
    # screen. `_changed` repaints only when the line's text (its seconds included) differs.
    connection: reactive[Connection] = reactive(Connection, repaint=False)
    source: reactive[str] = reactive("", repaint=False)
    # What of `source` must stay when the line is too narrow for all of it (the deployment).
    short_source: reactive[str] = reactive("", repaint=False)

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        fresh_for: float = 10.0 + FRESH_MARGIN,
        last_ok: Callable[[], datetime | None] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._clock = clock
        # When the newest poll succeeded: a success that changes nothing else is not sent as
        # a new `connection` (see `ConnectionState.succeeded`), so the line asks for it.
        self._last_ok = last_ok
        # Within this many seconds of the last successful poll, a live line does not say how
        # old the data is: polls come at least that often. "updated 3 s ago" counting up each
        # second was a repaint a second of a dashboard where nothing happened.
        self._fresh_for = fresh_for
        self._shown: Text | None = None

    def on_mount(self) -> None:
        # The countdown and "updated N s ago" must move without any data arriving.
        self.set_interval(1.0, self._changed)

    def watch_connection(self) -> None:
        self._changed()

    def watch_source(self) -> None:
        self._changed()

    def watch_short_source(self) -> None:
        self._changed()

    def on_resize(self) -> None:
        self._changed()

    def _changed(self) -> None:
        if self.render_text() != self._shown:
            self.refresh()

    def describe(self) -> str:
        return self.render_text().plain

    def render_text(self) -> Text:
        state = self.connection
        now = self._clock()
        glyph, style = MODE_STYLE.get(state.mode, ("?", ""))
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{glyph} ", style=style)
        updated = coarse = ""
        age = 0.0
        last_ok = state.last_ok
        if last_ok is not None and self._last_ok is not None:
            last_ok = self._last_ok() or last_ok
        if last_ok is not None:
            age = (now - last_ok).total_seconds()
            updated = f"updated {_ago(age)} ago"
            coarse = f"updated {_ago(age, coarse=True)} ago"
        if state.mode == "live":
            text.append("live", style=style)
            if coarse and age >= self._fresh_for:
                text.append(f" · {coarse}")
        elif state.mode == "paused":
            text.append("paused (p resumes)", style=style)
            if coarse:
                text.append(f" · {coarse}")
        elif state.mode == "reconnecting":
            wait = ""
            if state.retry_at is not None:
                wait = f" in {_ago((state.retry_at - now).total_seconds())}"
            text.append(f"reconnecting{wait}: {inert(state.reason)}", style=style)
            text.append(" · stale" + (f", {updated}" if updated else ""), style="yellow")
        elif state.mode in ("auth", "not_found", "failed"):
            text.append(inert(state.reason), style=style)
            text.append(" · polling stopped, ctrl+r retries", style="yellow")
        elif state.mode == "starting":
            text.append(state.reason or "starting the local engine…", style=style)
        else:
            text.append(state.reason or "loading…", style=style)
        source = self.source
        room = self.size.width - text.cell_len - 5
        if self.short_source and room < cell_len(source):
            source = self.short_source
        if source:
            # The deployment stays on screen: a long state (an outage's reason) gives way.
            keep = self.size.width - cell_len(source) - 5
            if text.cell_len > keep >= 12:
                text.truncate(keep, overflow="ellipsis")
            text.append("  │  ", style="dim")
            text.append(source, style="dim")
        return text

    def render(self) -> Text:
        self._shown = self.render_text()
        return self._shown
