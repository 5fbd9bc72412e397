"""Command palette entries: every action of the dashboard by name (ctrl+p)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from runwatch.tui.format import ALL_STATUSES

if TYPE_CHECKING:
    from runwatch.tui.screens.main import MainScreen


def main_commands(screen: MainScreen, *, read_only: bool) -> Iterable[SystemCommand]:
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
        ("Clear runs filter", "Show every run", lambda: screen._apply_filter("")),
        ("Follow log", "Resume following the newest lines (f)", view.action_follow),
        ("Toggle timestamps", "Show or hide log timestamps (t)", view.action_toggle_timestamps),
        ("Toggle wrap", "Wrap long log lines (w)", view.action_toggle_wrap),
        ("Search log", "Find text in the loaded log (/ in the log)", view.action_search),
        ("Export log", "Write the whole log of the selected run to a file (e)", view.action_export),
        ("Toggle detail pane", "Show or hide the run detail (i)", screen.action_toggle_detail),
        ("Focus log", "Move focus to the log pane (l)", screen.action_focus_logs),
        ("Focus runs", "Move focus to the runs table (r)", screen.action_focus_runs),
        ("Copy run id", "The selected run's id to the clipboard (y)", screen.action_copy_run_id),
        ("Help", "Every key (?)", lambda: screen.app.action_help()),  # type: ignore[attr-defined]
    ]
    for status in ALL_STATUSES:
        entries.append(
            (
                f"Show only {status} runs",
                "Filter the runs table by status",
                partial(screen._apply_filter, status.lower()),
            )
        )
    for title, help_text, callback in entries:
        yield SystemCommand(title, help_text, callback)
