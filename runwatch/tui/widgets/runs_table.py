"""The runs table: a DataTable kept in step with the runs poller by in-place edits.

A poll touches only the rows in its diff (`update_cell`, `add_row`, `remove_row`); a full
rebuild happens only when the user changes what is shown (filter, order, deployment). New
runs are placed by sorting on the poller's display order, and the cursor and scroll position
follow the run they were on, never the row index.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowDoesNotExist, RowKey

from runwatch.tui.format import inert
from runwatch.tui.widgets.run_cells import (
    COLUMNS,
    DROP_ORDER,
    FIELD_COLUMNS,
    FLEX_COLUMNS,
    FLEX_MAX,
    RunFilter,
    run_cells,
    status_cell,
    time_cells,
)

if TYPE_CHECKING:
    from runwatch.api.models import Run
    from runwatch.follow.runs import RunsDiff


class RunsTable(DataTable[object]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        # DataTable scrolls sideways on home/end; in a list of runs they mean first/last run.
        Binding("home,g", "first_row", "First run", show=False),
        Binding("end,G", "last_row", "Last run", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    """
    DROP_ORDER = DROP_ORDER

    class FilterRequested(Message):
        pass

    class ClearFilterRequested(Message):
        pass

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            cursor_type="row",
            zebra_stripes=False,
            name=name,
            id=id,
            classes=classes,
        )
        self._clock = clock
        self.run_filter = RunFilter()
        self._shown: dict[str, Run] = {}
        self._cells: dict[str, dict[str, Text]] = {}
        self._pending_cells: dict[str, dict[str, Text]] = {}
        # "quiet 12m" of the running runs that printed nothing for a while.
        self._quiet: dict[str, str] = {}
        # The widest value seen in each flexible column (it never shrinks until a rebuild).
        self._widest = dict.fromkeys(FLEX_COLUMNS, 0)
        self._fit_wanted = False
        self._visible: tuple[str, ...] = tuple(key for key, _, _ in COLUMNS)
        self._order: Sequence[str] = ()

    def on_mount(self) -> None:
        for key, label, width in self.layout_columns():
            self.add_column(label, key=key, width=width)

    def layout_columns(self) -> tuple[tuple[str, str, int], ...]:  # (key, label, width)
        return COLUMNS

    def cells_for(self, run: Run, now: datetime) -> dict[str, Text]:
        return run_cells(run, now, self._quiet.get(run.run_id))

    def clear(self, columns: bool = False) -> RunsTable:
        """Every row goes, and with them what the table knew of them: rows kept in the
        bookkeeping after a clear were never added again (`o`, a deployment seen before)."""
        super().clear(columns)
        self._shown.clear()
        self._cells.clear()
        self._pending_cells.clear()
        self._widest = dict.fromkeys(FLEX_COLUMNS, 0)
        return self

    @property
    def visible_columns(self) -> tuple[str, ...]:
        return self._visible

    def _choose_columns(self, room: int) -> tuple[str, ...]:
        base = {key: width for key, _, width in self.layout_columns()}
        visible = [key for key, _, _ in self.layout_columns()]
        for key in (k for k in self.DROP_ORDER if k in visible):
            if sum(base[k] + 2 * self.cell_padding for k in visible) <= room:
                break
            visible.remove(key)
        return tuple(visible)

    def _show_columns(self, visible: tuple[str, ...]) -> None:
        """Lay the table out again with these columns, keeping rows, order and cursor."""
        keep = self.selected_run_id
        ids = self.shown_ids()
        DataTable.clear(self, columns=True)
        self._visible = visible
        for key, label, width in self.layout_columns():
            if key in visible:
                self.add_column(label, key=key, width=width)
        for run_id in ids:
            cells = self._cells[run_id]
            self.add_row(*(cells[key] for key in visible), key=run_id)
        self._restore_cursor(keep, scroll=True)

    def on_resize(self) -> None:
        self._fit_columns()

    def _fit_if_wanted(self) -> None:
        if self._fit_wanted:
            self._fit_wanted = False
            self._fit_columns()

    def _fit_columns(self) -> None:
        """Widen the version and model columns to their longest value, as far as the terminal
        has room to spare (and FLEX_MAX): never narrower than their base width."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        visible = self._choose_columns(width)
        if visible != self._visible:
            self._show_columns(visible)
        base = {key: width for key, _, width in self.layout_columns() if key in visible}
        flex = [key for key in FLEX_COLUMNS if key in visible]
        if not flex:
            return
        padding = 2 * self.cell_padding * len(visible)
        fixed = sum(width for key, width in base.items() if key not in FLEX_COLUMNS)
        room = width - fixed - padding
        needs = {key: max(base[key], min(FLEX_MAX, self._widest[key])) for key in flex}
        # Each gets up to an even share; what one leaves unused goes to the other.
        share = room // len(flex)
        widths = {key: max(base[key], min(need, share)) for key, need in needs.items()}
        for key, need in needs.items():
            left = room - sum(widths.values())
            if left > 0 and need > widths[key]:
                widths[key] += min(left, need - widths[key])
        changed = False
        for key, want in widths.items():
            column = self.columns.get(ColumnKey(key))
            if column is not None and column.width != want:
                column.width = want
                changed = True
        if changed:
            # Every cached row was cut to the old widths.
            self._clear_caches()
            self._require_update_dimensions = True
            self.refresh()

    # -- queries --------------------------------------------------------------------------

    @property
    def selected_run_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            row_key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key
        except RowDoesNotExist:
            return None
        return row_key.value

    def shown_ids(self) -> list[str]:
        return [str(row.key.value) for row in self.ordered_rows]

    # -- updates --------------------------------------------------------------------------

    def rebuild(self, runs: Mapping[str, Run], order: Sequence[str]) -> None:
        """Show exactly `order` (filtered), keeping the cursor on the same run if still there."""
        keep = self.selected_run_id
        self.clear()
        self._order = order
        now = self._clock()
        for run_id in order:
            run = runs.get(run_id)
            if run is not None and self._wanted(run):
                self._add(run, now)
        self._fit_if_wanted()
        self._restore_cursor(keep, scroll=True)

    def apply_diff(self, diff: RunsDiff, runs: Mapping[str, Run], order: Sequence[str]) -> None:
        """Apply one poll's changes in place."""
        now = self._clock()
        self._order = order
        keep = self.selected_run_id
        first_visible = self._first_visible_id()
        added = False
        for run_id in diff.removed:
            if run_id in self._shown:
                self._remove(run_id)
        for change in diff.changed:
            run = change.run
            wanted = self._wanted(run)
            if run.run_id in self._shown:
                if wanted:
                    self._update(run, change.fields, now)
                else:
                    self._remove(run.run_id)
            elif wanted:
                self._add(run, now)
                added = True
        for run in diff.added:
            if run.run_id in self._shown:
                self._update(run, frozenset(FIELD_COLUMNS), now)
            elif self._wanted(run):
                self._add(run, now)
                added = True
        self._commit()
        self._fit_if_wanted()
        if added:
            self._reorder(order, keep, first_visible)

    def refresh_times(self) -> None:
        """Tick the relative columns of the rows on screen (cheap: a screenful at most)."""
        now = self._clock()
        for run in self.runs_on_screen():
            for column, cell in time_cells(run, now).items():
                self._set(run.run_id, column, cell)
        self._commit()

    def runs_on_screen(self) -> list[Run]:
        top = max(0, int(self.scroll_y))
        runs = []
        for index in range(top, min(self.row_count, top + self.size.height)):
            try:
                row_key = self.coordinate_to_cell_key(Coordinate(index, 0)).row_key
            except RowDoesNotExist:
                continue
            if (run := self._shown.get(str(row_key.value))) is not None:
                runs.append(run)
        return runs

    def set_quiet(self, labels: Mapping[str, str]) -> None:
        """Show these runs as quiet ("quiet 12m" in their status cell), the others not."""
        changed = set(labels) | set(self._quiet)
        self._quiet = dict(labels)
        for run_id in changed:
            run = self._shown.get(run_id)
            if run is not None:
                self._set(run_id, "status", status_cell(run.status, labels.get(run_id)))
        self._commit()

    def set_filter(self, text: str, runs: Mapping[str, Run], order: Sequence[str]) -> None:
        self.run_filter = RunFilter(text)
        self.rebuild(runs, order)

    # -- internals ------------------------------------------------------------------------

    def _wanted(self, run: Run) -> bool:
        return not self.run_filter or self.run_filter.matches(run)

    def _add(self, run: Run, now: datetime) -> None:
        cells = self.cells_for(run, now)
        self._shown[run.run_id] = run
        self._cells[run.run_id] = cells
        self.add_row(*(cells[key] for key in self._visible), key=run.run_id)
        for key in FLEX_COLUMNS:
            self._note_width(key, cells[key])

    def _note_width(self, column: str, value: Text) -> None:
        width = value.cell_len
        if width > self._widest[column]:
            self._widest[column] = width
            self._fit_wanted = True

    def _remove(self, run_id: str) -> None:
        self._shown.pop(run_id, None)
        self._cells.pop(run_id, None)
        with contextlib.suppress(RowDoesNotExist):
            self.remove_row(run_id)

    def _update(self, run: Run, fields: Iterable[str], now: datetime) -> None:
        self._shown[run.run_id] = run
        columns: set[str] = set()
        for field in fields:
            columns.update(FIELD_COLUMNS.get(field, ()))
        if not columns:
            return
        fresh = self.cells_for(run, now)
        for column in columns:
            self._set(run.run_id, column, fresh[column])

    def _set(self, run_id: str, column: str, value: Text) -> None:
        cells = self._cells.get(run_id)
        if cells is None or cells.get(column) == value:
            return
        cells[column] = value
        self._pending_cells.setdefault(run_id, {})[column] = value
        if column in self._widest:
            self._note_width(column, value)

    def _commit(self) -> None:
        """Write pending cell values and repaint only their rows.

        `DataTable.update_cell` bumps a table-wide counter that is part of every render
        cache key, so one changed cell re-renders every visible cell (tens of ms at 160x50).
        Here the values go in the same way, but only the cache entries of the changed rows
        are dropped, which keeps a poll's cost proportional to what changed.
        """
        pending = self._pending_cells
        if not pending:
            return
        self._pending_cells = {}
        indices: set[int] = set()
        for run_id, columns in pending.items():
            row_key = RowKey(run_id)
            data = self._data.get(row_key)
            index = self._row_locations.get(row_key)
            if data is None or index is None:
                continue
            for column, value in columns.items():
                if column in self._visible:
                    data[ColumnKey(column)] = value
            indices.add(index)
        rows = set(pending)
        header = self.header_height if self.show_header else 0
        lines = {index + header for index in indices}
        caches: tuple[tuple[Any, int, set[Any]], ...] = (
            (self._cell_render_cache, 0, rows),
            (self._row_render_cache, 0, rows),
            (self._row_renderable_cache, 1, indices),
            (self._line_cache, 0, lines),
        )
        for cache, position, stale in caches:
            for key in [key for key in list(cache.keys()) if key[position] in stale]:
                cache.discard(key)
        for index in indices:
            self.refresh_row(index)

    def _first_visible_id(self) -> str | None:
        if self.row_count == 0 or self.scroll_y <= 0:
            return None
        index = min(self.row_count - 1, int(self.scroll_y))
        try:
            return str(self.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value)
        except RowDoesNotExist:
            return None

    def _reorder(self, order: Sequence[str], keep: str | None, first_visible: str | None) -> None:
        # Keyed like the id cells, which show the id made inert.
        position = {inert(run_id): index for index, run_id in enumerate(order)}
        last = len(position)
        self.sort("id", key=lambda cell: position.get(cell.plain, last))
        if first_visible is not None:
            # Rows inserted above the viewport push it down by as many rows: follow them so
            # the runs on screen stay where they were.
            self.scroll_to(
                y=self.get_row_index(first_visible), animate=False, immediate=True, force=True
            )
        self._restore_cursor(keep, scroll=False)

    def _restore_cursor(self, run_id: str | None, *, scroll: bool) -> None:
        if run_id is None or run_id not in self._shown:
            return
        index = self.get_row_index(run_id)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False, scroll=scroll)

    def select_run(self, run_id: str) -> bool:
        if run_id not in self._shown:
            return False
        self.move_cursor(row=self.get_row_index(run_id), animate=False, scroll=True)
        return True

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0, animate=False, scroll=True)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False, scroll=True)

    def action_filter(self) -> None:
        self.post_message(self.FilterRequested())

    def action_clear_filter(self) -> None:
        self.post_message(self.ClearFilterRequested())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return bool(self.run_filter)
        return True
