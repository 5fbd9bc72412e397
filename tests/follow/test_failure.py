"""The failure at a glance (`follow/failure.py`): found at the end of the log, read back only
when the failure began before the newest page.

Against the real engine (its pages are 1,000 lines) for failures as handlers make them, and
against `tests/token_server.py` (7-line pages) for every token shape the contract allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from runwatch.api.client import AsyncAPIClient
from runwatch.follow.failure import MAX_LINES, read_failure, summarize
from runwatch.follow.line_text import plain_text
from tests.conftest import EngineProcess, start_engine
from tests.token_server import SHAPES, TokenShapeServer

# Two functions calling each other: Python folds repeated identical frames, not alternating
# ones, so this prints about 1,800 traceback lines, more than one page of the engine's.
DEEP = """
def ping(n):
    if n == 0:
        raise RuntimeError("deep end")
    return pong(n - 1)

def pong(n):
    return ping(n)

def handler(data, context):
    print("starting", flush=True)
    ping(300)
"""
# Raises mid-run, one exception chained to another.
CHAINED = """
def handler(data, context):
    for i in range(3):
        print(f"epoch {i}", flush=True)
    try:
        {}["missing"]
    except KeyError as exc:
        raise RuntimeError("could not load config " + str(data.get("x"))) from exc
"""
EXITS = """
import sys

def handler(data, context):
    print("loading", flush=True)
    print("ERROR dataset s3://bucket/train not found", file=sys.stderr, flush=True)
    sys.exit(3)
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    """The engine with a queue for each run, so that they fail side by side."""
    proc = start_engine(tmp_path / "engine", extra_args=["--queues", "3"])
    try:
        yield proc
    finally:
        proc.close()


def test_failures_made_by_handlers_on_the_engine(engine: EngineProcess) -> None:
    runs: dict[str, tuple[str, str]] = {}
    for name, source in {
        "deep": DEEP,
        "chained": CHAINED,
        "exits": EXITS,
    }.items():
        deployment, version = engine.deploy_source(source, name=f"fail-{name}")
        run = engine.create_run(deployment, version, input_data={"x": 7})
        runs[name] = (deployment, run["run_id"])
    for deployment, run_id in runs.values():
        engine.wait_for_status(deployment, run_id, "FAILED")

    async def read_all() -> dict[str, object]:
        async with AsyncAPIClient(engine.credential, base_url=engine.url) as client:
            found = await asyncio.gather(
                *(
                    read_failure(client, engine.organization_id, deployment, run_id)
                    for deployment, run_id in runs.values()
                )
            )
        return dict(zip(runs, found, strict=True))

    found = asyncio.run(read_all())

    deep = found["deep"]
    assert deep is not None and deep.reason == "RuntimeError: deep end"
    # Its first line lies pages back: read back to it, and no further than needed.
    assert deep.lines[0] == "Traceback (most recent call last):"
    assert not deep.incomplete
    assert 2 <= deep.requests <= 3
    assert len(deep.lines) == MAX_LINES and deep.omitted > 1000
    assert f"  … {deep.omitted} lines …" in deep.shown_lines()

    chained = found["chained"]
    assert chained is not None and chained.reason == "RuntimeError: could not load config 7"
    assert chained.lines[0] == "Traceback (most recent call last):"
    assert chained.requests == 1  # the end of the log sufficed
    assert any(line.startswith("KeyError") for line in chained.lines)
    assert any(line.startswith("The above exception") for line in chained.lines)

    exits = found["exits"]
    assert exits is not None and exits.reason == "ERROR dataset s3://bucket/train not found"
    assert exits.requests == 1


def _traceback(frames: int) -> list[str]:
    lines = ["Traceback (most recent call last):"]
    for n in range(frames):
        lines += [f'  File "train.py", line {n}, in step{n}', f"    step{n + 1}()"]
    return [*lines, "ValueError: loss is nan"]


async def test_every_token_shape_reads_back_to_the_traceback() -> None:
    # One server whose shape changes between reads: each shape is a normal answer.
    server = TokenShapeServer(precision="s")
    try:
        run = server.add_run(status="FAILED")
        server.add(run, [f"step {i}" for i in range(60)], step=0.3)
        # 22 lines over 7-line pages, several sharing each second: paged back by count.
        server.add(run, _traceback(10), step=0.2)
        server.add(run, ["\x1b[2mattempt 1 of 1 exited with code 1\x1b[0m"], step=0.1)
        expected = summarize([plain_text(message) for message in server.messages(run)])
        assert expected is not None and expected.reason == "ValueError: loss is nan"
        async with AsyncAPIClient(
            server.credential, max_retry_count=0, base_url=server.url, environ={}
        ) as client:
            for shape in SHAPES:
                server.shape = shape
                found = await read_failure(
                    client, server.organization_id, server.deployment_id, run
                )
                assert found is not None, shape
                assert (found.reason, found.lines) == (expected.reason, expected.lines), shape
                assert not found.incomplete, shape
                # Back to the traceback's start (4 pages of 7), not the whole log (12 pages).
                # With no token at all the shared pager goes by whole seconds, each second
                # read through `logs` as well (about 3 requests a second of log read back).
                limit = 16 if shape == "never" else 4
                assert found.requests <= limit, (shape, found.requests)
    finally:
        server.close()


def test_the_summary_is_bounded() -> None:
    found = summarize(["ERROR disk " + "x" * 1000, "done"])
    assert found is not None and found.reason is not None
    assert len(found.reason) == 200 and len(found.lines[0]) == 300


def test_a_traceback_cut_at_the_top_is_marked_incomplete() -> None:
    lines = _traceback(3)
    found = summarize(lines[3:], at_start=False)
    assert found is not None and found.reason == "ValueError: loss is nan" and found.incomplete
    whole = summarize(lines)
    assert whole is not None and not whole.incomplete and whole.lines == tuple(lines)


def test_error_lines_next_to_a_traceback_are_one_block() -> None:
    log = ["ok", "ERROR:root:step failed", *_traceback(1), "", "ERROR:root:giving up", "bye"]
    found = summarize(log)
    assert found is not None
    assert found.reason == "ValueError: loss is nan"
    assert found.lines[0] == "ERROR:root:step failed"
    assert found.lines[-1] == "ERROR:root:giving up"


def test_no_error_named_the_last_lines_are_the_clue() -> None:
    assert summarize([]) is None
    log = [f"line {i}" for i in range(20)] + ["attempt 1 of 1 exited with code 4"]
    found = summarize(log)
    assert found is not None and not found.found
    assert found.lines == tuple(log[-5:])
