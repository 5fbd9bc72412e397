"""Why the selected run failed, at the top of its detail: the exception line and the end of its
traceback (or its last error lines), as `follow.failure` found them at the end of the log.

Everything shown is text from the run's log: Text objects, never markup, controls dropped,
one row per line (cut, not wrapped) and a bounded height, so a 10,000-character exception
message cannot push the run's fields off the pane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from runwatch.tui.format import inert

if TYPE_CHECKING:
    from runwatch.follow.failure import FailureSummary

# Lines of the summary shown under the reason: the innermost frames and the exception are at
# the end, so the end is kept; the pane's own height bounds it again (see DEFAULT_CSS).
SHOWN_LINES = 10


def render_failure(summary: FailureSummary | None) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    if summary is None:
        text.append("✗ failed; its log is empty", style="bold red")
        return text
    if summary.reason is None:
        text.append("✗ failed; its log names no error. Its last lines:", style="bold red")
    else:
        text.append(f"✗ {inert(summary.reason)}", style="bold red")
    lines = summary.shown_lines()
    if len(lines) > SHOWN_LINES:
        text.append(f"\n  … {len(lines) - SHOWN_LINES} more lines above", style="dim")
        lines = lines[-SHOWN_LINES:]
    for line in lines:
        text.append("\n  " + inert(line), style="dim" if line.startswith(" ") else "")
    return text


class FailureView(Static):
    """Hidden unless the run shown failed."""

    DEFAULT_CSS = """
    FailureView {
        display: none;
        height: auto;
        max-height: 14;
        margin-bottom: 1;
        overflow: hidden;
    }
    FailureView.-shown { display: block; }
    """

    def clear(self) -> None:
        self.remove_class("-shown")
        self.update("")

    def reading(self) -> None:
        self.add_class("-shown")
        self.update(Text("✗ failed · reading the end of its log…", style="red"))

    def failed_to_read(self, reason: str) -> None:
        self.add_class("-shown")
        self.update(Text(f"✗ failed · could not read its log: {inert(reason)}", style="red"))

    def show_summary(self, summary: FailureSummary | None) -> None:
        self.add_class("-shown")
        self.update(render_failure(summary))
