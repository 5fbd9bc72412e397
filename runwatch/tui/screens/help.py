"""The help screen: every key, grouped by where it works."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# The single source for `?` and the README: (where, keys, what).
KEYS: tuple[tuple[str, str, str], ...] = (
    ("anywhere", "q", "quit"),
    ("anywhere", "?", "this help"),
    ("anywhere", "ctrl+p", "command palette: every action by name"),
    ("anywhere", "n", "new run (submit form); hidden when read-only"),
    ("anywhere", "R", "run again: the form pre-filled from the selected run"),
    ("anywhere", "d", "switch deployment (list, or a typed name or id)"),
    ("anywhere", "o", "flip the order: newest first / oldest first"),
    ("anywhere", "p", "pause / resume all polling"),
    ("anywhere", "ctrl+r", "refresh now; after a 401/403 re-read the profile and reconnect"),
    ("anywhere", "i", "show / hide the run detail pane"),
    ("anywhere", "tab / shift+tab", "move focus: runs, log, detail"),
    ("anywhere", "l / r", "focus the log / the runs table"),
    ("anywhere", "y", "copy the selected run's id to the clipboard"),
    ("anywhere", "m", "the selected run's metrics, charted from its whole log, live"),
    ("anywhere", "c", "compare one metric of the marked runs on one chart"),
    ("runs table", "up/down (j/k), pgup/pgdn, home/end (g/G)", "move; more runs load near the end"),
    ("runs table", "/", "filter: status names (running failed …) and/or part of a run id"),
    ("runs table", "escape", "clear the filter"),
    ("runs table", "space", "mark / unmark a run for comparing (c)"),
    ("runs table", "s, or a click on its header", "sort by the metric column: high, low, off"),
    ("log", "f / end / G", "follow the newest lines again"),
    ("log", "up/down (j/k), pgup/pgdn, wheel", "scroll; scrolling up pauses following"),
    ("log", "pgup at the top", "load the previous page of older lines"),
    ("log", "g / home", "first line of the log (loads older pages; escape stops)"),
    ("log", "t", "timestamps on / off"),
    ("log", "w", "wrap long lines on / off"),
    ("log", "/", "search the loaded log (highlights every match)"),
    ("log", "n / N", "next / previous match (while a search is active)"),
    ("log", "&", "filter: text (smart case), !text hides, /regex/, -C/-A/-B N context"),
    ("log", "L", "levels shown: all, warnings and up, errors only"),
    ("log", "e / E", "next / previous error (a traceback counts once); older pages load"),
    ("log", "] / [", "next / previous warning"),
    ("log", ":", "go to a line number (:1200) or a UTC time (:12:30, :2026-12-01 12:30)"),
    ("log", "J", "JSON lines pretty: message first, then a field a line"),
    ("log", "M / '", "mark / unmark a line; go to the next mark (reloads it if dropped)"),
    ("log", "escape", "stop a seek, clear the search, then the filter"),
    ("log", "x", "export the whole log to a file (path shown; x again stops it)"),
    ("log", "glyphs", "✖ error  ▲ warning  · debug  │ traceback  ▌ mark"),
    ("metrics", "up/down", "the metric charted (its last / min / max in the table)"),
    ("metrics", "space", "keep the metric on the chart too: several lines at once"),
    ("metrics", "[ / ]", "comparing runs: previous / next metric"),
    ("metrics", "L", "log scale on / off"),
    ("metrics", "s", "smoothing (moving average): off, 0.6, 0.9, 0.99"),
    ("metrics", "+ / -, wheel", "zoom in / out (the wheel zooms at the pointer)"),
    ("metrics", "left / right (h), shift+wheel", "pan along the steps"),
    ("metrics", "0", "all steps again (and follow new ones)"),
    ("metrics", "C", "show the metric as a column of the runs table"),
    ("metrics", "escape / m", "back to the runs"),
    ("submit form", "ctrl+s", "submit"),
    ("submit form", "escape", "cancel"),
    ("submit form", "tab / shift+tab", "next / previous field"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("where", style="dim", no_wrap=True)
        table.add_column("keys", style="bold cyan", ratio=2)
        table.add_column("does", ratio=3)
        last = None
        for where, keys, what in KEYS:
            table.add_row(where if where != last else "", keys, what)
            last = where
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("runwatch keys  (escape closes)", style="bold"))
            yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)
