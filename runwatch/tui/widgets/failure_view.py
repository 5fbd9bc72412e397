"""Why the selected run failed, at the top of its detail: the exception line and the end of its
traceback (or its last error lines), as `follow.failure` found them at the end of the log.

Everything shown is text from the run's log: Text objects, never markup, controls dropped,
one row per line (cut, not wrapped) and a bounded height, so a 10,000-character exception
message cannot push the run's fields off the pane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from runwatch.tui.format import inert

if TYPE_CHECKING:
    from runwatch.follow.failure import FailureSummary

# Lines of the summary shown under the reason: the innermost frames and the exception are at
# the end, so the end is kept; the pane's own height bounds it again (see DEFAULT_CSS).
SHOWN_LINES = 10


def render_reason(summary: FailureSummary | None) -> Text:
    if summary is None:
        return Text("✗ failed; its log is empty", style="bold red")
    if summary.reason is None:
        return Text("✗ failed; its log names no error. Its last lines:", style="bold red")
    return Text(f"✗ {inert(summary.reason)}", style="bold red")


def render_lines(summary: FailureSummary | None) -> Text:
    text = Text(end="")
    if summary is None:
        return text
    lines = summary.shown_lines()
    if len(lines) > SHOWN_LINES:
        text.append(f"  … {len(lines) - SHOWN_LINES} more lines above\n", style="dim")
        lines = lines[-SHOWN_LINES:]
    for index, line in enumerate(lines):
        text.append(
            ("\n" if index else "") + "  " + inert(line), style="dim" if line[:1] == " " else ""
        )
    return text


class FailureView(Vertical):
    """Hidden unless the run shown failed: the reason (wrapped, a few rows at most), then the
    end of the traceback (a row a line, cut at the pane's edge)."""

    DEFAULT_CSS = """
    FailureView {
        display: none;
        height: auto;
        margin-bottom: 1;
    }
    FailureView.-shown { display: block; }
    FailureView > #failure-reason { height: auto; max-height: 4; }
    FailureView > #failure-lines {
        height: auto;
        max-height: 12;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="failure-reason")
        yield Static(id="failure-lines")

    def _show(self, reason: Text, lines: Text | None = None) -> None:
        self.add_class("-shown")
        self.query_one("#failure-reason", Static).update(reason)
        self.query_one("#failure-lines", Static).update(lines or "")

    def clear(self) -> None:
        self.remove_class("-shown")
        self.query_one("#failure-reason", Static).update("")
        self.query_one("#failure-lines", Static).update("")

    def reading(self) -> None:
        self._show(Text("✗ failed · reading the end of its log…", style="red"))

    def failed_to_read(self, reason: str) -> None:
        self._show(Text(f"✗ failed · could not read its log: {inert(reason)}", style="red"))

    def show_summary(self, summary: FailureSummary | None) -> None:
        self._show(render_reason(summary), render_lines(summary))

    @property
    def shown_text(self) -> str:
        """What it shows, as plain text (for tests)."""
        parts = [self.query_one(f"#failure-{part}", Static).content for part in ("reason", "lines")]
        return "\n".join(part.plain if isinstance(part, Text) else str(part) for part in parts)
