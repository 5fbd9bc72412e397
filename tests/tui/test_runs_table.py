"""The runs table on its own: in-place diffs, order, cursor and scroll kept, filter, bounds."""

from __future__ import annotations

import asyncio
import time

from textual.app import App, ComposeResult

from runwatch.api.models import Run
from runwatch.follow.runs import RunChange, RunsDiff
from runwatch.tui.widgets.runs_table import RunsTable
from tests.bench.bench_tui_table import NOW, make_run, measure


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RunsTable(clock=lambda: NOW)


def _runs(count: int) -> tuple[dict[str, Run], list[str]]:
    runs = {run.run_id: run for run in (make_run(i) for i in range(count))}
    return runs, list(runs)


async def test_new_runs_go_on_top_and_cursor_and_scroll_follow_their_run() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(RunsTable)
        runs, order = _runs(100)
        table.apply_diff(RunsDiff(added=list(runs.values())), runs, order)
        await pilot.pause()
        table.move_cursor(row=40)
        table.scroll_to(y=35, animate=False, immediate=True)
        await pilot.pause()
        on_cursor = table.selected_run_id
        top = table.shown_ids()[int(table.scroll_y)]
        new = [make_run(-1), make_run(-2)]
        for run in new:
            runs[run.run_id] = run
        order[:0] = [run.run_id for run in new]
        table.apply_diff(RunsDiff(added=new), runs, order)
        await pilot.pause()
        assert table.shown_ids()[:2] == order[:2]
        assert table.selected_run_id == on_cursor
        assert table.shown_ids()[int(table.scroll_y)] == top


async def test_changed_cells_change_and_filter_applies_to_diffs() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(RunsTable)
        runs, order = _runs(10)
        table.apply_diff(RunsDiff(added=list(runs.values())), runs, order)
        await pilot.pause()
        changed = make_run(3, status="FAILED", minute=2)
        runs[changed.run_id] = changed
        table.apply_diff(RunsDiff(changed=[RunChange(changed, frozenset({"status"}))]), runs, order)
        assert "FAILED" in table.get_cell(changed.run_id, "status").plain
        # The repaint shows it too (only that row's caches were dropped).
        await pilot.pause()
        row = table.get_row_index(changed.run_id)
        line = table.render_line(row + 1 - int(table.scroll_y)).text
        assert "FAILED" in line
        table.set_filter("failed", runs, order)
        assert table.shown_ids() == [changed.run_id]
        recovered = make_run(3, status="RUNNING", minute=3)
        runs[recovered.run_id] = recovered
        other = make_run(5, status="FAILED", minute=3)
        runs[other.run_id] = other
        table.apply_diff(
            RunsDiff(
                changed=[
                    RunChange(recovered, frozenset({"status"})),
                    RunChange(other, frozenset({"status"})),
                ]
            ),
            runs,
            order,
        )
        assert table.shown_ids() == [other.run_id]
        table.set_filter("", runs, order)
        assert table.row_count == 10


async def test_markup_in_values_is_shown_as_typed() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 10)) as pilot:
        table = app.query_one(RunsTable)
        run = Run.from_wire(
            {"run_id": "run-[b]x[/b]", "status": "WEIRD", "model_version": "[red]1[/red]"}
        )
        table.apply_diff(RunsDiff(added=[run]), {run.run_id: run}, [run.run_id])
        await pilot.pause()
        line = table.render_line(1).text
        assert "run-[b]x[/b]" in line and "[red]1[/re" in line and "? WEIRD" in line


def test_one_poll_on_10000_rows_is_cheap_and_50x_cheaper_than_rebuilding() -> None:
    start = time.process_time()
    result = asyncio.run(measure(rows=10_000, changed=10, rounds=10, rebuild_rounds=1))
    assert time.process_time() - start < 60
    assert result["incremental_ms"] <= 20, result
    assert result["rebuild_ms"] >= 50 * result["incremental_ms"], result
