"""Fixtures for the security tests: one seeded engine per module, and the canary it must keep.

The engine is the real one (a subprocess on a loopback port). It holds one deployment with a
finished run, so fuzzed requests can reach the code behind valid ids, not only the 404 paths.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import EngineProcess, start_engine

PRINTER = """
def handler(input_data, context):
    for i in range(int((input_data or {}).get("n", 3))):
        print(f"line {i}")
"""

CANARY_ROW = "still here"


@dataclass(frozen=True)
class Seeded:
    engine: EngineProcess
    deployment_id: str
    version_id: str
    run_id: str


def fuzz_examples(short: int) -> int:
    """Hypothesis examples per operation: `short` in CI, `$RUNWATCH_FUZZ_EXAMPLES` by hand."""
    value = os.environ.get("RUNWATCH_FUZZ_EXAMPLES", "")
    return int(value) if value.strip() else short


def plant_canary(data_dir: Path) -> Path:
    """A table in the engine's database and a file next to it, that no request may touch."""
    with sqlite3.connect(data_dir / "engine.db") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS zz_canary (value TEXT)")
        conn.execute("DELETE FROM zz_canary")
        conn.execute("INSERT INTO zz_canary VALUES (?)", (CANARY_ROW,))
    conn.close()
    canary = data_dir.parent / "canary.txt"
    canary.write_text(CANARY_ROW)
    return canary


def assert_canary(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "engine.db") as conn:
        rows = conn.execute("SELECT value FROM zz_canary").fetchall()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert rows == [(CANARY_ROW,)]
    assert {"runs", "deployments", "versions"} <= tables, tables
    assert (data_dir.parent / "canary.txt").read_text() == CANARY_ROW


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    engine = start_engine(tmp_path_factory.mktemp("security") / "engine")
    try:
        dep, ver = engine.deploy_source(PRINTER, name="fuzz")
        run_id = engine.create_run(dep, ver, input_data={"n": 3}, retry_count=0)["run_id"]
        engine.wait_for_status(dep, run_id, "SUCCEEDED")
        plant_canary(engine.data_dir)
        yield Seeded(engine, dep, ver, run_id)
    finally:
        engine.close()
