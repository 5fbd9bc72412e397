"""Cost of one runs-table refresh: 10 changed runs in a table of 10,000, in place vs rebuilt.

Run as a script (`python tests/bench/bench_tui_table.py`) for the numbers, or through pytest
(`tests/bench/test_tui_table_bench.py`) for the pass/fail bounds. A "refresh" is the table
update plus what Textual then does for it: the idle-time dimension pass and rendering every
visible line, so the rebuild is not flattered by deferring its work.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult
from textual.geometry import Region

from runwatch.api.models import Run
from runwatch.follow.runs import RunChange, RunsDiff
from runwatch.tui.widgets.runs_table import RunsTable

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def make_run(index: int, status: str = "RUNNING", minute: int = 0) -> Run:
    created = NOW - timedelta(seconds=index * 7)
    return Run.from_wire(
        {
            "run_id": f"run-{index:016d}",
            "status": status,
            "deployment_id": "2000000000001",
            "model_version": "1.0",
            "model_version_id": "ver-0000000000000001",
            "models": {"alias": "3000000000001"},
            "input_data": {"x": index},
            "retry_count": 3,
            "distribution": 0,
            "user_env_vars": {},
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "modified_at": (created + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
    )


class BenchApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RunsTable(clock=lambda: NOW, id="runs")


def _settle(table: RunsTable) -> None:
    # What the next frame costs: Textual's idle dimension pass, then every visible line.
    asyncio.get_running_loop()
    if table._require_update_dimensions or table._updated_cells:
        table._require_update_dimensions = False
        new_rows = table._new_rows.copy()
        table._new_rows.clear()
        table._update_dimensions(new_rows)
    width, height = table.size
    table.render_lines(Region(0, 0, width, height))


async def measure(
    rows: int = 10_000, changed: int = 10, rounds: int = 20, rebuild_rounds: int = 3
) -> dict[str, float]:
    app = BenchApp()
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.query_one(RunsTable)
        runs = {run.run_id: run for run in (make_run(i) for i in range(rows))}
        order = list(runs)
        table.apply_diff(RunsDiff(added=list(runs.values())), runs, order)
        await pilot.pause()
        _settle(table)
        incremental: list[float] = []
        for round_ in range(rounds):
            diff_runs = []
            for k in range(changed):
                index = (round_ * 97 + k * 1013) % rows
                status = "SUCCEEDED" if round_ % 2 == 0 else "RUNNING"
                run = make_run(index, status=status, minute=round_ + 1)
                runs[run.run_id] = run
                diff_runs.append(RunChange(run, frozenset({"status", "modified_at"})))
            diff = RunsDiff(changed=diff_runs)
            start = time.perf_counter()
            table.apply_diff(diff, runs, order)
            _settle(table)
            incremental.append(time.perf_counter() - start)
        rebuild: list[float] = []
        for _ in range(rebuild_rounds):
            start = time.perf_counter()
            table.rebuild(runs, order)
            _settle(table)
            rebuild.append(time.perf_counter() - start)
        # One new run at the top as well: the sort that places it.
        added: list[float] = []
        for round_ in range(5):
            run = make_run(-(round_ + 1))
            runs[run.run_id] = run
            order.insert(0, run.run_id)
            start = time.perf_counter()
            table.apply_diff(RunsDiff(added=[run]), runs, order)
            _settle(table)
            added.append(time.perf_counter() - start)
    return {
        "incremental_ms": statistics.median(incremental) * 1000,
        "incremental_max_ms": max(incremental) * 1000,
        "with_new_run_ms": statistics.median(added) * 1000,
        "rebuild_ms": statistics.median(rebuild) * 1000,
    }


if __name__ == "__main__":
    result = asyncio.run(measure())
    for key, value in result.items():
        print(f"{key:>20}: {value:8.2f}")
    print(f"{'rebuild / in place':>20}: {result['rebuild_ms'] / result['incremental_ms']:8.1f}x")
