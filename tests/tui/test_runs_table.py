"""The runs table on its own: in-place diffs, order, cursor and scroll kept, filter, bounds."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.widgets.data_table import ColumnKey

from runwatch.api.models import Run
from runwatch.follow.runs import RunChange, RunsDiff
from runwatch.tui.widgets.runs_table import RunsTable
from tests.bench.bench_tui_table import NOW, make_run


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RunsTable(clock=lambda: NOW)


def _runs(count: int) -> tuple[dict[str, Run], list[str]]:
    runs = {run.run_id: run for run in (make_run(i) for i in range(count))}
    return runs, list(runs)


async def test_new_runs_go_on_top_and_cursor_and_scroll_follow_their_run() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 20), notifications=True) as pilot:
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
    async with app.run_test(size=(100, 20), notifications=True) as pilot:
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
    async with app.run_test(size=(100, 10), notifications=True) as pilot:
        table = app.query_one(RunsTable)
        run = Run.from_wire(
            {"run_id": "run-[b]x[/b]", "status": "WEIRD", "model_version": "[red]1[/red]"}
        )
        table.apply_diff(RunsDiff(added=[run]), {run.run_id: run}, [run.run_id])
        await pilot.pause()
        line = table.render_line(1).text
        assert "run-[b]x[/b]" in line and "[red]1[/re" in line and "? WEIRD" in line


async def test_one_poll_on_10000_rows_touches_only_the_changed_rows() -> None:
    """What keeps a poll cheap (tests/bench/bench_tui_table.py times it): no row is added,
    removed or cleared, and only the changed rows are repainted."""
    app = TableApp()
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        table = app.query_one(RunsTable)
        runs, order = _runs(10_000)
        table.apply_diff(RunsDiff(added=list(runs.values())), runs, order)
        await pilot.pause()
        calls: list[tuple[str, object]] = []
        for name in ("add_row", "remove_row", "clear", "refresh_row", "update_cell"):
            original = getattr(table, name)

            def spy(
                *args: object, _name: str = name, _original: Any = original, **kwargs: object
            ) -> Any:
                calls.append((_name, args[0] if args else None))
                return _original(*args, **kwargs)

            setattr(table, name, spy)
        changed_indices = [(k * 1013) % 10_000 for k in range(10)]
        changes = []
        for index in changed_indices:
            run = make_run(index, status="FAILED", minute=5)
            runs[run.run_id] = run
            changes.append(RunChange(run, frozenset({"status", "modified_at"})))
        table.apply_diff(RunsDiff(changed=changes), runs, order)
        await pilot.pause()
        assert sorted(arg for name, arg in calls if name == "refresh_row") == sorted(
            changed_indices
        )
        assert {name for name, _ in calls} == {"refresh_row"}, calls
        assert table.row_count == 10_000 and table.shown_ids() == order
        for index in changed_indices:
            assert "FAILED" in str(table.get_row_at(index)[1])
        assert "FAILED" not in str(table.get_row_at(1)[1])


async def test_long_versions_get_the_room_a_wide_terminal_has() -> None:
    app = TableApp()
    long_version = "resnet50-finetuned-imagenet-v2"  # 30 characters
    async with app.run_test(size=(160, 10), notifications=True) as pilot:
        table = app.query_one(RunsTable)
        runs, order = _runs(3)
        table.apply_diff(RunsDiff(added=list(runs.values())), runs, order)
        await pilot.pause()
        assert table.columns[ColumnKey("version")].width == 10  # "1.0": the base width
        wide = Run.from_wire({**runs[order[1]].raw, "model_version": long_version})
        runs[wide.run_id] = wide
        table.apply_diff(
            RunsDiff(changed=[RunChange(wide, frozenset({"model_version"}))]), runs, order
        )
        await pilot.pause()
        assert long_version in table.render_line(2).text
        await pilot.resize_terminal(80, 10)  # little room to spare: the version is cut
        await pilot.pause()
        assert table.columns[ColumnKey("version")].width < len(long_version)
        assert long_version not in table.render_line(2).text
        await pilot.resize_terminal(160, 10)
        await pilot.pause()
        assert long_version in table.render_line(2).text
        assert table.columns[ColumnKey("model")].width == 10  # its values are short: the base
