"""Runs that cannot touch each other, and progress bars stored while they are redrawn: real
handlers under a real engine (one engine for the module; its two runs share no queue)."""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import EngineProcess, start_engine

# Set in the engine's own environment: a run must see none of them.
ENGINE_SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "engine-aws-secret",
    "ABEJA_PLATFORM_USER_TOKEN": "engine-user-token",
    "SOME_SHELL_VARIABLE": "engine-shell",
}
# What a run's environment may hold besides its own variables (README, "Runs in the engine").
DOCUMENTED = {
    "PATH",
    "LANG",
    "HOME",
    "PYTHONPATH",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUSERBASE",
    "HANDLER",
    "ABEJA_ORGANIZATION_ID",
    "ABEJA_DEPLOYMENT_ID",
    "ABEJA_MODEL_VERSION",
    "ABEJA_MODEL_VERSION_ID",
    "ABEJA_RUN_ID",
    "LC_CTYPE",  # Python's own locale coercion (PEP 538) when LANG names the C locale
}

MAIN = """
import json, os
from pathlib import Path

import helper

def handler(input_data, context):
    with open("checkpoint.txt", "a") as out:
        out.write(input_data["tag"] + "\\n")
    print("checkpoint", Path("checkpoint.txt").read_text().split())
    print("config", Path("config.txt").read_text().strip())
    print("helper", helper.VALUE)
    print("cwd", os.getcwd())
    for target in (__file__, "config.txt"):  # the code itself, and through the working dir
        try:
            open(target, "a").close()
            print("wrote", target)
        except PermissionError:
            print("read-only", os.path.basename(target))
    print("env", json.dumps(dict(os.environ)))
"""

BAR = """
import sys, time

def handler(input_data, context):
    # ~2.5 s of a bar redrawn up to 10,000 times a second, no newline until the end.
    end = time.monotonic() + 2.5
    n = 0
    while time.monotonic() < end:
        n += 1
        sys.stdout.write(f"\\r{n} redraws   ")
        sys.stdout.flush()
        time.sleep(0.0001)
    sys.stdout.write(f"\\rdone after {n} redraws\\n")
    print("after the bar")
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = start_engine(tmp_path_factory.mktemp("isolation") / "engine", env=ENGINE_SECRETS)
    try:
        yield proc
    finally:
        proc.close()


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _handler_events(engine: EngineProcess, dep: str, run_id: str) -> list[tuple[str, float]]:
    path = f"/organizations/{engine.organization_id}/deployments/{dep}/runs/{run_id}/logs"
    with engine.client() as client:
        events = client.get(path).json()["events"]
    return [
        (e["message"], datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")).timestamp())
        for e in events
        if not e["message"].startswith("[engine] ")
    ]


def test_two_runs_write_their_own_files_and_see_only_their_environment(
    engine: EngineProcess, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text(MAIN)
    (code / "helper.py").write_text("VALUE = 'sibling module'\n")
    (code / "config.txt").write_text("shipped with the code\n")
    dep, ver = engine.deploy(code, "isolation")
    with engine.client() as client:
        versions = client.get(
            f"/organizations/{engine.organization_id}/deployments/{dep}/versions"
        ).json()["entries"]
    label = versions[0]["version"]
    version_dir = engine.data_dir / "versions" / ver
    before = _tree(version_dir)
    assert all(
        not p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        for p in [version_dir, *version_dir.rglob("*")]
    ), "a deployed version is read-only"

    runs = {
        tag: engine.create_run(
            dep, ver, input_data={"tag": tag}, environment={"RUN_TAG": tag}, distribution=i
        )["run_id"]
        for i, tag in enumerate(("first", "second"))
    }
    for tag, run_id in runs.items():
        engine.wait_for_status(dep, run_id, {"SUCCEEDED"})
        lines = [message for message, _ in _handler_events(engine, dep, run_id)]
        work = engine.data_dir / "runs" / run_id / "attempt-1" / "work"
        assert lines[:6] == [
            f"checkpoint [{tag!r}]",
            "config shipped with the code",
            "helper sibling module",
            f"cwd {work}",
            "read-only main.py",
            "read-only config.txt",
        ]
        assert (work / "checkpoint.txt").read_text() == f"{tag}\n"
        env = json.loads(lines[6].removeprefix("env "))
        assert not set(ENGINE_SECRETS) & set(env), "nothing of the engine's environment"
        assert set(env) - {"RUN_TAG"} <= DOCUMENTED
        assert env["RUN_TAG"] == tag
        assert env["HOME"] == str(work)
        assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
        assert env["PYTHONPATH"] == str(version_dir)
        assert env["ABEJA_RUN_ID"] == run_id
        assert env["ABEJA_DEPLOYMENT_ID"] == dep
        assert env["ABEJA_ORGANIZATION_ID"] == engine.organization_id
        assert env["ABEJA_MODEL_VERSION_ID"] == ver
        assert env["ABEJA_MODEL_VERSION"] == label
        assert env["HANDLER"] == "main:handler"
        assert "PLATFORM_AUTH_TOKEN" not in env
    assert _tree(version_dir) == before, "the version's code is as deployed"


def test_a_redrawn_line_is_stored_while_it_changes_about_once_a_second(
    engine: EngineProcess,
) -> None:
    dep, ver = engine.deploy_source(BAR, name="bar")
    run_id = engine.create_run(dep, ver)["run_id"]
    engine.wait_for_status(dep, run_id, {"SUCCEEDED"})
    events = _handler_events(engine, dep, run_id)
    assert all("\r" not in message for message, _ in events)
    (final, final_ts), (last, _) = events[-2], events[-1]
    assert last == "after the bar"
    found = re.fullmatch(r"done after (\d+) redraws", final)
    assert found and int(found[1]) > 500, "the bar was redrawn far more often than stored"
    states = [(m, ts) for m, ts in events[:-2] if re.fullmatch(r"\d+ redraws", m)]
    assert len(states) == len(events) - 2, "nothing but states of the bar before it ends"
    # Stored as the bar ran (from its first state on), about once a second, not per redraw.
    assert 2 <= len(states) <= 5
    assert final_ts - states[0][1] >= 1.5
    gaps = [b[1] - a[1] for a, b in itertools.pairwise(states)]
    assert min(gaps) >= 0.9
    counts = [int(m.split()[0]) for m, _ in states]
    assert counts == sorted(counts) and counts[-1] < int(found[1])
