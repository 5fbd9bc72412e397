"""The log pane's words: its title (which run, how many lines), its marker line (what the
pane is doing: following or paused, loading, seeking, the filter and the search with their
counts) and what its prompt asks for."""

from __future__ import annotations

from rich.text import Text

from runwatch.follow.log_levels import Level
from runwatch.tui.format import inert
from runwatch.tui.widgets.log_view import LogView

# What the prompt under the log asks for, by what opened it.
PROMPTS = {
    "search": "search the loaded log",
    "filter": "filter: text  !text hides  /regex/  -C 3 context  (empty: all lines)",
    "goto": "go to: a line number (1200) or a UTC time (12:30, 2026-12-01 12:30)",
}


def log_title(view: LogView, run_id: str | None, done: bool) -> Text | str:
    if not run_id:
        return "Log"
    if view.line_count:
        loaded = f"{view.line_count:,} lines" + ("" if view.at_start else " loaded")
    else:
        # Nothing yet is either the first page still on its way or an empty log.
        loaded = ("no lines" if done else "no lines yet") if view.at_start else "loading…"
    return Text(f"Log · {inert(run_id)} · {loaded}")


def log_marker(view: LogView, run_id: str | None, *, done: bool, stale: bool) -> Text:
    text = Text()
    if view.activity:
        text.append(inert(view.activity), style="bold")
    elif view.seeking is not None:
        seek = view.seeking
        text.append(f"seeking {seek.what}: {seek.lines:,} lines back (esc stops)", "italic")
    elif view.loading_older:
        text.append("loading older lines…", style="italic")
    if view.line_filter is not None or view.min_level is not None:
        if text:
            text.append(" · ")
        text.append_text(filter_marker(view))
    if view.search_term:
        number = view.current_match_number
        where = f"{number}/{view.match_count}" if number else f"{view.match_count} matches"
        if text:
            text.append(" · ")
        text.append(f"/{inert(view.search_term)} {where} (n/N)")
    if text:
        text.append(" · ")
    if not view.following:
        text.append("following paused", style="bold")
        if view.pending:
            text.append(f" · {view.pending:,} new lines")
        text.append(" · End/f resumes")
    elif stale:
        text.append("stale · waiting to reconnect", style="bold yellow")
    elif done:
        text.append("end of log (run finished)")
    elif run_id:
        text.append("following")
    return text


def filter_marker(view: LogView) -> Text:
    """`& 'loss' -C 2 · warnings+ · 12 matches`: what the filter keeps, and how many match."""
    text = Text("& ", style="bold")
    if view.line_filter is not None:
        text.append(inert(view.line_filter.describe()) + " ")
    if view.min_level is not None:
        text.append("errors " if view.min_level >= Level.ERROR else "warnings+ ")
    hits = view.filter_hits
    text.append(f"{hits:,} match" + ("" if hits == 1 else "es"))
    return text
