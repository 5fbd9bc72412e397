"""APIClient and AsyncAPIClient drive the real local engine end to end."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runwatch.api import APIClient, AsyncAPIClient, BadRequest, LogEvent, NotFound, Run

HANDLER = """
def handler(input_data, context):
    for i in range(5):
        print(f"line {i} of {input_data['name']}", flush=True)
    return {"ok": True}
"""


def _check_logs(whole: dict[str, Any], recent: dict[str, Any], name: str) -> None:
    messages = [LogEvent.from_wire(e).message for e in whole["events"]]
    assert [f"line {i} of {name}" for i in range(5)] == [
        m for m in messages if m.startswith("line ")
    ]
    assert "next_token" not in whole
    recent_messages = [LogEvent.from_wire(e).message for e in recent["events"]]
    assert recent_messages == list(reversed(messages))  # newest first
    # The engine answers the seed's way: the whole log fits, so no more logs lie either way.
    assert recent["next_forward_token"] == [] and recent["next_backward_token"] == []


@pytest.mark.timeout(90)
async def test_both_clients_against_the_engine(engine: Any) -> None:
    deployment_id, version_id = engine.deploy_source(HANDLER, name="api-e2e")
    org = engine.organization_id

    with APIClient(engine.credential, base_url=engine.url) as client:
        created = Run.from_wire(
            client.create_run(org, deployment_id, version_id, {"name": "sync"}, retry_count=0)
        )
        assert created.status == "SUBMITTED" and created.version_id == version_id
        engine.wait_for_status(deployment_id, created.run_id, "SUCCEEDED")
        run = Run.from_wire(client.get_run(org, deployment_id, created.run_id))
        assert run.terminal and run.input_data == {"name": "sync"} and run.retry_count == 0
        _check_logs(
            client.get_run_logs(org, deployment_id, run.run_id),
            client.get_run_recent_logs(org, deployment_id, run.run_id),
            "sync",
        )
        window = client.get_run_logs(
            org,
            deployment_id,
            run.run_id,
            start_time=datetime.now(UTC) - timedelta(hours=1),
            end_time=datetime.now(UTC) + timedelta(hours=1),
        )
        assert len(window["events"]) >= 5
        assert [d["deployment_id"] for d in client.get_deployments(org)["entries"]]
        assert client.get_deployment(org, deployment_id)["deployment_id"] == deployment_id
        versions = client.get_deployment_versions(org, deployment_id)["entries"]
        assert version_id in [v["version_id"] for v in versions]
        with pytest.raises(NotFound):
            client.get_run(org, deployment_id, "run-9999999999999999")
        with pytest.raises(BadRequest) as info:
            client.create_run(org, deployment_id, version_id, retry_count=10)
        assert "retry_count" in info.value.error_description

    async with AsyncAPIClient(engine.credential, base_url=engine.url) as aclient:
        second = Run.from_wire(
            await aclient.create_run(org, deployment_id, version_id, {"name": "async"})
        )
        engine.wait_for_status(deployment_id, second.run_id, "SUCCEEDED")
        _check_logs(
            await aclient.get_run_logs(org, deployment_id, second.run_id),
            await aclient.get_run_recent_logs(org, deployment_id, second.run_id),
            "async",
        )
        newest = await aclient.get_runs(org, deployment_id)
        assert [Run.from_wire(r).run_id for r in newest["entries"]] == [
            second.run_id,
            created.run_id,
        ]
        oldest = await aclient.get_runs(org, deployment_id, scan_forward=True)
        assert [r["run_id"] for r in oldest["entries"]] == [created.run_id, second.run_id]


SDK_AGAINST_ENGINE = r"""
import json, sys, time
from datetime import datetime, timedelta
from abeja.runs import APIClient

org, deployment_id, version_id = sys.argv[1:4]
client = APIClient()
run = client.create_run(org, deployment_id, version_id, {"name": "sdk"}, retry_count=0,
                        environment={"A": "1"})
deadline = time.monotonic() + 30
while client.get_run(org, deployment_id, run["run_id"])["status"] not in ("SUCCEEDED", "FAILED"):
    assert time.monotonic() < deadline, "run did not finish"
    time.sleep(0.05)
now = datetime.utcnow()
print(json.dumps({
    "run": client.get_run(org, deployment_id, run["run_id"]),
    "runs": client.get_runs(org, deployment_id, scan_forward=True),
    "runs_desc": client.get_runs(org, deployment_id, scan_forward=False),
    "logs": client.get_run_logs(org, deployment_id, run["run_id"],
                                start_time=now - timedelta(hours=1),
                                end_time=now + timedelta(hours=1)),
    "recent": client.get_run_recent_logs(org, deployment_id, run["run_id"]),
}))
"""


@pytest.mark.timeout(90)
@pytest.mark.skipif(
    importlib.util.find_spec("abeja") is None,
    reason="the official SDK (abeja-sdk, Python < 3.12 only) is not installed",
)
def test_the_unmodified_sdk_drives_the_engine_too(engine: Any) -> None:
    deployment_id, version_id = engine.deploy_source(HANDLER, name="sdk-e2e")
    env = {**os.environ, **engine.env}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SDK_AGAINST_ENGINE,
            engine.organization_id,
            deployment_id,
            version_id,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
    run = Run.from_wire(seen["run"])
    assert run.status == "SUCCEEDED" and run.user_env_vars.get("A") == "1"
    assert [r["run_id"] for r in seen["runs"]["entries"]] == [run.run_id]
    _check_logs(seen["logs"], seen["recent"], "sdk")
