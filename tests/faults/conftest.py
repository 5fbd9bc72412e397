"""Fixtures for the fault tests: one real engine per module, and a hostile proxy in front of it.

The engine is shared by a module's tests (starting one costs about a second) and every test
gets its own proxy, so a fault left switched on cannot leak into the next test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EngineProcess, start_engine
from tests.faults.hostile import FaultProxy
from tests.tui.conftest import GATED_HANDLER


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = start_engine(tmp_path_factory.mktemp("faults") / "engine")
    try:
        yield proc
    finally:
        proc.close()


@pytest.fixture(scope="module")
def gated_version(shared_engine: EngineProcess) -> tuple[str, str]:
    """(deployment_id, version_id) of the gated handler: prints, waits for a file, prints more."""
    return shared_engine.deploy_source(GATED_HANDLER, name="gated")


@pytest.fixture
def proxy(shared_engine: EngineProcess) -> Iterator[FaultProxy]:
    with FaultProxy(shared_engine.url) as hostile:
        yield hostile


def start_gated_run(
    engine: EngineProcess, gated: tuple[str, str], gate: Path, *, before: int, after: int
) -> dict[str, Any]:
    """A run that prints `before 0..before-1`, waits for `gate` to exist, prints `after ...`."""
    deployment_id, version_id = gated
    run = engine.create_run(
        deployment_id,
        version_id,
        input_data={"before": before, "after": after, "gate": str(gate)},
        retry_count=0,
    )
    return run


def finished_gated_run(engine: EngineProcess, gated: tuple[str, str], tmp_path: Path) -> str:
    """A new run (so the newest, the one the app selects) that printed two lines and finished."""
    gate = tmp_path / "gate"
    gate.touch()
    run_id = str(start_gated_run(engine, gated, gate, before=2, after=0)["run_id"])
    engine.wait_for_status(gated[0], run_id, "SUCCEEDED")
    return run_id
