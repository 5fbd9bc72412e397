"""The run detail pane: every field of the selected run, its status history, elapsed time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from runwatch.tui.format import exact_time, human_duration, inert, pretty_json, status_glyph

if TYPE_CHECKING:
    from runwatch.api.models import Run


def masked_env(env: dict[str, str] | object) -> list[tuple[str, str]]:
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
    if run.created_at is None:
        return "-"
    if run.terminal:
        end = run.modified_at or run.created_at
        return human_duration((end - run.created_at).total_seconds())
    so_far = human_duration((now - run.created_at).total_seconds())
    if run.status == "RUNNING":
        return so_far + " (running)"
    if run.status in _NOT_STARTED:
        return so_far + " (not started yet)"
    return so_far + " (so far)"  # a status this version does not know: say no more than that


def render_run(
    run: Run, history: Sequence[tuple[str, datetime]], now: datetime, *, stale: bool = False
) -> RenderableType:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    glyph, style = status_glyph(run.status)
    status = Text(f"{glyph} {inert(run.status)}", style=style)
    if stale:
        status.append("  (stale)", style="yellow")
    grid.add_row("run", Text(inert(run.run_id)))
    grid.add_row("status", status)
    grid.add_row("elapsed", elapsed_text(run, now))
    grid.add_row("deployment", Text(inert(str(run.deployment_id or "-"))))
    version = " ".join(inert(str(v)) for v in (run.model_version, run.version_id) if v) or "-"
    grid.add_row("version", Text(version))
    models = Text("\n".join(f"{inert(k)} = {inert(str(v))}" for k, v in run.models.items()) or "-")
    grid.add_row("models", models)
    grid.add_row("created", exact_time(run.created_at))
    grid.add_row("modified", exact_time(run.modified_at))
    grid.add_row("retry count", "-" if run.retry_count is None else str(run.retry_count))
    grid.add_row("distribution", "-" if run.distribution is None else str(run.distribution))
    env_rows = masked_env(dict(run.user_env_vars))
    env = Text("\n".join(f"{k}={v}" for k, v in env_rows) or "-")
    grid.add_row("environment", env)

    history_text = Text()
    for index, (seen, when) in enumerate(history):
        glyph, style = status_glyph(seen)
        if index:
            history_text.append("\n")
        history_text.append(when.strftime("%H:%M:%S "), style="dim")
        history_text.append(f"{glyph} {inert(seen)}", style=style)
    grid.add_row("history", history_text if history else Text("-"))

    sections: list[RenderableType] = [grid]
    sections.append(Text("\ninput data", style="bold"))
    sections.append(Text(inert_block(pretty_json(run.input_data))))
    sections.append(Text("\noutput template", style="bold"))
    sections.append(Text(inert_block(pretty_json(run.output_template))))
    return Group(*sections)


def inert_block(text: str) -> str:
    return "\n".join(inert(line) for line in text.split("\n"))


class RunDetail(VerticalScroll):
    DEFAULT_CSS = """
    RunDetail > Static { width: 1fr; }
    """

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text("Select a run to see its details.", style="dim"), id="detail-body")

    def show(
        self,
        run: Run | None,
        history: Sequence[tuple[str, datetime]],
        now: datetime,
        *,
        stale: bool = False,
    ) -> None:
        body = self.query_one("#detail-body", Static)
        if run is None:
            body.update(Text("Select a run to see its details.", style="dim"))
            return
        body.update(render_run(run, history, now, stale=stale))
