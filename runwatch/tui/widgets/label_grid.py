"""Rows of a bold label and a value folded under its own column: `Table.grid` drawn cheaply.

The run detail's head is redrawn every second while the run moves (its elapsed time). As a
rich `Table.grid` that redraw measured and wrapped every cell, ~5 ms each time, the largest
cost of a dashboard with nothing else happening. This draws the same characters in the same
styles (the snapshot tests hold it to that) with one `Text.wrap` per value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

__all__ = ["LabelGrid"]


class LabelGrid:
    """Like `Table.grid(padding=(0, 1))` with a bold, unwrapped label column and values that
    fold (`overflow="fold"`): labels padded to the widest, one space, then the value; a
    value's further lines start under its first."""

    def __init__(self, rows: Iterable[tuple[str, Text | str]] = ()) -> None:
        self.rows: list[tuple[str, Text]] = []
        for label, value in rows:
            self.add_row(label, value)

    def add_row(self, label: str, value: Text | str) -> None:
        self.rows.append((label, value if isinstance(value, Text) else Text(value)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.rows:
            return
        width = options.max_width
        # The label column never wraps nor shrinks: the values get what is left.
        label_width = max(len(label) for label, _ in self.rows)
        room = max(1, width - label_width - 1)
        wrapped = [
            (label, value.wrap(console, room, overflow="fold", no_wrap=False))
            for label, value in self.rows
        ]
        # The value column is as wide as the widest value unwrapped, if there is room (a
        # table measures its cells before it wraps them, and does not stretch to fill).
        widest = max(
            (cell_len(line) for _, value in self.rows for line in value.plain.split("\n")),
            default=0,
        )
        column = min(room, widest)
        blank = " " * (label_width + 1)
        new_line = Segment.line()
        for label, lines in wrapped:
            for index, line in enumerate(_at_least_one(lines)):
                line.pad_right(column - line.cell_len)
                # Appended, each part's base style becomes a span: `Text.render` draws spans
                # only (a table pads its cells in the value's base style too).
                row = Text()
                row.append(label.ljust(label_width) + " " if index == 0 else blank, "bold")
                row.append_text(line)
                for segment in row.render(console):
                    # Unstyled as a table leaves it (None, not the null Style()).
                    yield Segment(segment.text, segment.style or None)
                yield new_line


def _at_least_one(lines: Sequence[Text]) -> Sequence[Text]:
    return lines if lines else [Text()]
