"""The benchmark runner keeps working: `run.py --smoke --json` (every step of `--quick` and the
full run, on the smallest sizes) ends well and its JSON has every metric of issue 7 in the
agreed shape. No timing is asserted (the machine is shared)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).with_name("run.py")

UNITS = {
    "cli.help_s": "s",
    "tui.first_frame_s": "s",
    "tui.first_runs_s": "s",
    "tui.table_refresh_ms": "ms",
    "tui.log_ingest_lines_per_s": "lines/s",
    "tui.input_latency_ms_p99": "ms",
    "tui.rss_mb_after_1m_lines": "MB",
    "follow.tail_lag_s_p95": "s",
    "follow.burst_lines_per_s": "lines/s",
    "api.export_lines_per_s": "lines/s",
    "engine.log_write_lines_per_s": "lines/s",
    "engine.recentlogs_p99_ms": "ms",
    "engine.get_runs_p99_ms": "ms",
}
WITH_BASELINE = {"tui.table_refresh_ms", "follow.burst_lines_per_s", "api.export_lines_per_s"}


@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("tmux") is None, reason="the startup benchmark needs tmux")
@pytest.mark.long
def test_quick_run_writes_every_metric(tmp_path: Path) -> None:
    pytest.importorskip("abeja.runs")  # the SDK baselines
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(RUNNER), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for metric in UNITS:
        assert metric in done.stdout  # the printed table

    results = json.loads(out.read_text())
    assert [r["metric"] for r in results] == list(UNITS)
    for r in results:
        assert set(r) == {"metric", "value", "unit", "target", "better", "baseline"}, r
        assert r["unit"] == UNITS[r["metric"]], r
        assert r["better"] in ("lower", "higher"), r
        for key in ("value", "target"):
            assert isinstance(r[key], int | float) and math.isfinite(r[key]) and r[key] > 0, r
        if r["metric"] in WITH_BASELINE:
            baseline = r["baseline"]
            assert isinstance(baseline, int | float) and math.isfinite(baseline), r
            assert baseline > 0, r
        else:
            assert r["baseline"] is None, r
