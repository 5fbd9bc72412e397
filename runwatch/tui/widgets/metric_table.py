"""The table under a chart: one row per metric (or per run, when comparing) with its last,
min and max value and its number of points; a coloured mark names the row's line on the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from runwatch.tui.format import inert

COLUMNS = (("", 1), ("last", 11), ("min", 11), ("max", 11), ("points", 8))


@dataclass(frozen=True)
class StatsRow:
    key: str
    name: str
    colour: str | None  # its line's colour, None when it is not on the chart
    last: str
    low: str
    high: str
    points: int


class MetricTable(DataTable[object]):
    DEFAULT_CSS = """
    MetricTable { height: auto; max-height: 12; }
    """

    def __init__(self, first_column: str, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id=id)
        self.first_column = first_column
        self._rows: list[StatsRow] = []

    def on_mount(self) -> None:
        self.add_column("", key="mark", width=1)
        self.add_column(self.first_column, key="name", width=22)
        for label, width in COLUMNS[1:]:
            self.add_column(label, key=label, width=width)

    @property
    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value)
        except RowDoesNotExist:
            return None

    def show(self, rows: Sequence[StatsRow], prefer: str | None = None) -> None:
        """Show these rows, changing only the cells that changed; the cursor stays on its key
        (on `prefer` when it had none)."""
        rows = list(rows)
        if [r.key for r in rows] != [r.key for r in self._rows]:
            keep = self.current_key if self._rows else prefer
            self.clear()
            for row in rows:
                self.add_row(*self._cells(row), key=row.key)
            if keep is not None and any(r.key == keep for r in rows):
                self.move_cursor(row=self.get_row_index(keep), animate=False)
        else:
            keys = ("mark", "name", "last", "min", "max", "points")
            for old, new in zip(self._rows, rows, strict=True):
                if old != new:
                    for column, cell in zip(keys, self._cells(new), strict=True):
                        self.update_cell(new.key, column, cell)
        self._rows = rows

    @staticmethod
    def _cells(row: StatsRow) -> tuple[Text, ...]:
        mark = Text("■", style=row.colour) if row.colour else Text(" ")
        # Names come from the log (metric names, run ids): shown as typed, never as markup.
        name = Text(inert(row.name), no_wrap=True, overflow="ellipsis")
        values = (row.last, row.low, row.high)
        return (
            mark,
            name,
            *(Text(v, justify="right") for v in values),
            Text(f"{row.points:,}", justify="right"),
        )
