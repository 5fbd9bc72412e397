"""Command palette entries: every action of the dashboard by name (ctrl+p)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual import events
from textual.app import SystemCommand
from textual.command import CommandPalette

from runwatch.tui.format import ALL_STATUSES

if TYPE_CHECKING:
    from runwatch.tui.screens.main import MainScreen


class SafeCommandPalette(CommandPalette):
    """Textual's palette, minus a crash: a double click on its background dismissed it twice,
    and the second dismissal popped the main screen (ScreenStackError, Textual 8.2.8)."""

    _dismissing = False

    def _on_click(self, event: events.Click) -> None:  # type: ignore[override]
        # Textual calls this, then the base class's handler, unless the default is prevented.
        if self._dismissing or not self.is_current:
            event.prevent_default()
            return
        if self.get_widget_at(event.screen_x, event.screen_y)[0] is self:
            self._dismissing = True


def main_commands(
    screen: MainScreen, show_help: Callable[[], None], *, read_only: bool
) -> Iterable[SystemCommand]:
    view = screen.log_view
    entries: list[tuple[str, str, Callable[[], object]]] = []
    if not read_only:
        entries += [
            ("New run", "Open the submit form (n)", screen.action_new_run),
            (
                "Run again",
                "Submit form pre-filled from the selected run (R)",
                screen.action_run_again,
            ),
        ]
    entries += [
        ("Switch deployment", "Choose the deployment to watch (d)", screen.action_deployments),
        ("Flip order", "Newest first / oldest first (o)", screen.action_flip_order),
        ("Pause or resume polling", "Stop or restart every poll (p)", screen.action_toggle_pause),
        (
            "Refresh now",
            "Poll everything now, retry after errors (ctrl+r)",
            screen.action_refresh_now,
        ),
        (
            "Filter runs",
            "By status names and/or part of a run id (/ in the table)",
            screen.table.action_filter,
        ),
        ("Clear runs filter", "Show every run", lambda: screen.runs_pane.apply_filter("")),
        ("Follow log", "Resume following the newest lines (f)", view.action_follow),
        ("Toggle timestamps", "Show or hide log timestamps (t)", view.action_toggle_timestamps),
        ("Toggle wrap", "Wrap long log lines (w)", view.action_toggle_wrap),
        ("Search log", "Find text in the loaded log (/ in the log)", view.action_search),
        ("Filter log", "Show only the lines holding a text (& in the log)", view.action_filter),
        ("Log levels shown", "All, warnings and up, errors only (L)", view.action_cycle_level),
        ("Next error", "The next error in the log, or the newest (e)", view.action_next_error),
        ("Go to line or time", "A line number or a UTC time (: in the log)", view.action_goto),
        ("Toggle JSON view", "JSON log lines pretty, a field a line (J)", view.action_toggle_json),
        ("Export log", "Write the whole log of the selected run to a file (x)", view.action_export),
        ("Toggle detail pane", "Show or hide the run detail (i)", screen.action_toggle_detail),
        ("Focus log", "Move focus to the log pane (l)", screen.action_focus_logs),
        ("Focus runs", "Move focus to the runs table (r)", screen.action_focus_runs),
        ("Copy run id", "The selected run's id to the clipboard (y)", screen.action_copy_run_id),
        ("Help", "Every key (?)", show_help),
    ]
    for status in ALL_STATUSES:
        entries.append(
            (
                f"Show only {status} runs",
                "Filter the runs table by status",
                partial(screen.runs_pane.apply_filter, status.lower()),
            )
        )
    for title, help_text, callback in entries:
        yield SystemCommand(title, help_text, callback)
