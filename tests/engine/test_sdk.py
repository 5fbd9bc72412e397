"""The unmodified official SDK (abeja-sdk) drives a run of code deployed with `runwatch deploy`.

The SDK reads ABEJA_API_URL at import time, so it runs in a subprocess with engine.env's
variables in its environment, exactly as a user would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import EngineProcess, start_engine

pytest.importorskip("abeja.runs")

HANDLER = """
import time

def handler(input_data, context):
    n = int(input_data["n"])
    for i in range(n):
        print(f"line {i}")
    time.sleep(0.5)
    for i in range(n, n + 300):
        print(f"line {i}")
        if i % 50 == 0:
            time.sleep(0.05)
"""

SDK_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    from abeja.runs import APIClient
    from abeja.exceptions import BadRequest, NotFound

    org = os.environ["ABEJA_ORGANIZATION_ID"]
    dep, ver = sys.argv[1], sys.argv[2]
    client = APIClient()
    result = {}
    run = client.create_run(org, dep, ver, input_data={"n": 2500}, retry_count=0,
                            environment={"EXAMPLE_ENV": "x"})
    run_id = run["run_id"]
    result["created"] = run

    mode = sys.argv[3]
    if mode == "cloudwatch":
        # Tail while it runs: newest page first, then the forward token until the run is
        # over and a poll comes back empty with the same token.
        first = client.get_run_recent_logs(org, dep, run_id)
        tailed = [e["message"] for e in reversed(first["events"])]
        token = first["next_forward_token"]
        backward_from_first = first["next_backward_token"]
        terminal = False
        while True:
            page = client.get_run_recent_logs(org, dep, run_id, next_forward_token=token)
            tailed += [e["message"] for e in reversed(page["events"])]
            if not page["events"]:
                assert page["next_forward_token"] == token
                if terminal:
                    break
                terminal = client.get_run(org, dep, run_id)["status"] in ("SUCCEEDED", "FAILED")
                time.sleep(0.05)
            token = page["next_forward_token"]
    else:
        # The seed's way: the newest page's forward token is [] (no more logs that way).
        while client.get_run(org, dep, run_id)["status"] not in ("SUCCEEDED", "FAILED"):
            time.sleep(0.05)
        first = client.get_run_recent_logs(org, dep, run_id)
        result["newest_forward"] = first["next_forward_token"]
        tailed = [e["message"] for e in reversed(first["events"])]
        backward_from_first = first["next_backward_token"]
    # Scroll back from the very first page to the start of the stream.
    older = []
    back = backward_from_first
    while True:
        page = client.get_run_recent_logs(org, dep, run_id, next_backward_token=back)
        if not page["events"]:
            result["backward_end_same_token"] = page["next_backward_token"] == back
            break
        older += [e["message"] for e in page["events"]]
        back = page["next_backward_token"]
        if back == []:
            result["backward_end_same_token"] = "[]"
            break
    result["tailed"] = older[::-1] + tailed

    result["final"] = client.get_run(org, dep, run_id)
    # The whole log with get_run_logs paging.
    logs, next_token, pages = [], None, 0
    while True:
        page = client.get_run_logs(org, dep, run_id, next_token=next_token)
        pages += 1
        logs += [e["message"] for e in page["events"]]
        next_token = page.get("next_token")
        if not next_token:
            break
    result["logs"], result["log_pages"] = logs, pages
    # The whole log newest-first with recentlogs backward paging from the newest page.
    page = client.get_run_recent_logs(org, dep, run_id)
    backward = [e["message"] for e in page["events"]]
    while page["next_backward_token"] != []:
        page = client.get_run_recent_logs(
            org, dep, run_id, next_backward_token=page["next_backward_token"])
        if not page["events"]:
            break
        backward += [e["message"] for e in page["events"]]
    result["backward"] = backward
    result["runs"] = [r["run_id"] for r in client.get_runs(org, dep)["entries"]]
    result["runs_forward"] = [
        r["run_id"] for r in client.get_runs(org, dep, scan_forward=True)["entries"]]
    try:
        client.get_run(org, dep, "run-9999999999999999")
    except NotFound as exc:
        result["not_found"] = exc.status_code
    try:
        client.create_run(org, dep, ver, retry_count=10)
    except BadRequest as exc:
        result["bad_request"] = [exc.status_code, exc.error_description]
    print(json.dumps(result))
    """
)


@pytest.mark.parametrize("mode", ["seed", "cloudwatch"])
def test_official_sdk_end_to_end(tmp_path: Path, mode: str) -> None:
    engine = start_engine(tmp_path / "engine", extra_args=["--log-tokens", mode])
    try:
        _sdk_end_to_end(engine, tmp_path, mode)
    finally:
        engine.close()


def _sdk_end_to_end(engine: EngineProcess, tmp_path: Path, mode: str) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text(HANDLER)
    deployed = subprocess.run(
        [
            sys.executable,
            "-m",
            "runwatch",
            "deploy",
            str(code),
            "--name",
            "sdk-e2e",
            "--data-dir",
            str(engine.data_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ids = json.loads(deployed.stdout)
    env = {**os.environ, **engine.env}
    for key in ("ABEJA_PLATFORM_USER_ID", "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-c", SDK_SCRIPT, ids["deployment_id"], ids["version_id"], mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    expected = [f"line {i}" for i in range(2800)]
    run_id = result["created"]["run_id"]
    assert result["created"]["status"] == "SUBMITTED"
    assert result["final"]["status"] == "SUCCEEDED"
    logs = result["logs"]
    assert [m for m in logs if not m.startswith("[engine] ")] == expected
    assert logs[0].startswith("[engine] attempt 1 of 1 starting")
    assert result["log_pages"] == 3
    assert result["tailed"] == logs
    if mode == "cloudwatch":
        assert result["backward_end_same_token"] is True
    else:
        assert result["newest_forward"] == [] and result["backward_end_same_token"] == "[]"
    assert result["backward"] == logs[::-1]
    assert result["runs"] == [run_id] == result["runs_forward"]
    assert result["not_found"] == 404
    assert result["bad_request"][0] == 400 and "retry_count" in result["bad_request"][1]


SDK_DEPLOYMENTS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from abeja.deployments import APIClient
    from abeja.exceptions import NotFound

    org = os.environ["ABEJA_ORGANIZATION_ID"]
    dep, ver = sys.argv[1], sys.argv[2]
    client = APIClient()
    result = {
        "list": client.get_deployments(org),
        "one": client.get_deployment(org, dep),
        "versions": client.get_deployment_versions(org, dep),
        "version": client.get_deployment_version(org, dep, ver),
    }
    try:
        client.get_deployment_version(org, dep, "ver-ffffffffffffffff")
    except NotFound as exc:
        result["no_version"] = exc.status_code
    print(json.dumps(result))
    """
)

# The keys of the SDK's `abeja.deployments` docstring samples.
SDK_DEPLOYMENT_KEYS = {
    "deployment_id",
    "name",
    "creator",
    "default_environment",
    "runs",
    "services",
    "triggers",
    "created_at",
    "modified_at",
}
SDK_VERSION_KEYS = {
    "deployment_id",
    "version",
    "version_id",
    "handler",
    "image",
    "user_parameters",
    "creator",
    "created_at",
    "modified_at",
}
SDK_CREATOR_KEYS = {
    "display_name",
    "email",
    "id",
    "is_registered",
    "role",
    "created_at",
    "updated_at",
}


def test_official_sdk_reads_deployments_and_versions(engine: EngineProcess) -> None:
    deployment_id, version_id = engine.deploy_source(HANDLER, name="mnist-train")
    env = {**os.environ, **engine.env}
    for key in ("ABEJA_PLATFORM_USER_ID", "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-c", SDK_DEPLOYMENTS_SCRIPT, deployment_id, version_id],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    entries = result["list"]["entries"]
    assert [(d["name"], d["deployment_id"]) for d in entries][-1] == ("mnist-train", deployment_id)
    assert result["one"] == entries[-1]
    for deployment in entries:
        assert set(deployment) == SDK_DEPLOYMENT_KEYS
        assert set(deployment["creator"]) == SDK_CREATOR_KEYS
        assert deployment["runs"] == deployment["services"] == deployment["triggers"] == []
    versions = result["versions"]["entries"]
    assert versions == [result["version"]]
    version = result["version"]
    assert set(version) == SDK_VERSION_KEYS and set(version["creator"]) == SDK_CREATOR_KEYS
    assert (version["version_id"], version["deployment_id"]) == (version_id, deployment_id)
    assert version["handler"] == "main:handler"
    assert result["no_version"] == 404
