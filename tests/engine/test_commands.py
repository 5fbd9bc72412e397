"""`runwatch serve` and `runwatch deploy` as a user runs them, and ensure_engine."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from runwatch.engine.launch import ensure_engine, kill_attempts
from tests.conftest import EngineProcess, InProcess


def runwatch(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwatch", *args], capture_output=True, text=True, timeout=timeout
    )


def start_serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runwatch", "serve", "--no-demo-runs", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    output = ""
    deadline = time.monotonic() + 20
    while "credentials:" not in output:
        line = proc.stdout.readline()
        assert line, f"serve exited early: {output}"
        output += line
        assert time.monotonic() < deadline
    return proc, output


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_where_it_is_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    data_dir = tmp_path / "data"
    proc, output = start_serve("--port", "0", "--data-dir", str(data_dir), "--no-demo")
    try:
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", output)
        assert url, output
        assert "organization: " in output and str(data_dir / "engine.env") in output
        env_file = data_dir / "engine.env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert f"ABEJA_API_URL={url.group(1)}" in env_file.read_text()
        assert httpx.get(url.group(1) + "/healthz").status_code == 200
        # A second engine on the same data dir refuses to start.
        second = runwatch("serve", "--port", "0", "--data-dir", str(data_dir), timeout=30)
        assert second.returncode == 1 and "another engine" in second.stderr
    finally:
        proc.send_signal(sig)
        rest, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, rest
    assert "engine stopped" in rest


def test_serve_warns_when_binding_beyond_loopback(tmp_path: Path) -> None:
    proc, output = start_serve("--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path))
    proc.terminate()
    proc.communicate(timeout=20)
    assert "WARNING" in output and "0.0.0.0" in output


def test_deploy_cli_without_an_engine(tmp_path: Path, in_process: InProcess) -> None:
    # In-process: deploying does not depend on the process (serve keeps its subprocesses).
    cli = functools.partial(in_process, env=dict(os.environ))
    data_dir = tmp_path / "data"
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text("def handler(i, c):\n    print('deployed')\n")
    (code / "pkg").mkdir()
    (code / "pkg" / "__init__.py").write_text("")
    (code / "pkg" / "mod.py").write_text("def run(i, c):\n    pass\n")
    first = cli("deploy", str(code), "--name", "mine", "--data-dir", str(data_dir), "--json")
    assert first.returncode == 0, first.stderr
    ids = json.loads(first.stdout)
    assert re.fullmatch(r"\d{13}", ids["deployment_id"])
    assert re.fullmatch(r"ver-[0-9a-f]{16}", ids["version_id"])
    again = cli(
        "deploy", str(code), "--deployment", ids["deployment_id"], "--handler", "pkg.mod:run",
        "--data-dir", str(data_dir), "--json",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["deployment_id"] == ids["deployment_id"]
    human = cli("deploy", str(code), "--name", "other", "--data-dir", str(data_dir))
    assert "deployment_id:" in human.stdout and "version_id:" in human.stdout
    for handler in ("../main:handler", "/etc/passwd:x", "main", "os.path:join", "nope:handler"):
        bad = cli(
            "deploy", str(code), "--name", "x", "--handler", handler, "--data-dir", str(data_dir)
        )
        assert bad.returncode != 0 and "runwatch deploy:" in bad.stderr, (handler, bad)
    missing = cli("deploy", str(tmp_path / "nope"), "--name", "x", "--data-dir", str(data_dir))
    assert missing.returncode != 0
    unknown = cli("deploy", str(code), "--deployment", "2999999999999", "--data-dir", str(data_dir))
    assert unknown.returncode != 0 and "no deployment" in unknown.stderr


def test_deploy_while_running_and_version_listing(engine: EngineProcess, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text("def handler(i, c):\n    print('v')\n")
    dep, ver1 = engine.deploy(code, "live")
    _, ver2 = engine.deploy(code, "live", deployment_id=dep)
    # Later edits of the source dir do not change a deployed version.
    (code / "main.py").write_text("def handler(i, c):\n    raise SystemExit(9)\n")
    with engine.client() as client:
        versions = client.get(
            f"/organizations/{engine.organization_id}/deployments/{dep}/versions"
        ).json()["entries"]
    assert [(v["version_id"], v["version"]) for v in versions] == [
        (ver1, "0.0.1"),
        (ver2, "0.0.2"),
    ]
    run = engine.create_run(dep, ver2)
    assert engine.wait_for_status(dep, run["run_id"], {"SUCCEEDED", "FAILED"})["status"] == (
        "SUCCEEDED"
    )


def test_ensure_engine_starts_then_reuses(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    handle = ensure_engine(data_dir, extra_args=["--no-demo"])
    try:
        assert handle.process is not None
        again = ensure_engine(data_dir)
        assert again.process is None and again.url == handle.url and again.token == handle.token
        response = httpx.get(
            f"{handle.url}/organizations/{handle.organization_id}/deployments",
            headers={"Authorization": f"Bearer {handle.token}"},
        )
        assert response.json() == {"entries": []}
    finally:
        handle.stop()
        kill_attempts(data_dir)
    assert handle.process.poll() is not None


def test_demo_runs_are_submitted_on_first_start_only(tmp_path: Path) -> None:
    from tests.conftest import start_engine

    proc = start_engine(tmp_path / "engine", extra_args=["--demo-runs"])
    try:
        path = f"/organizations/{proc.organization_id}/deployments/{proc.demo_deployment_id}/runs"
        with proc.client() as client:
            runs = client.get(path).json()["entries"]
        assert sorted(r["model_version"] for r in runs) == ["broken", "flaky", "flood", "train"]
        proc.stop()
        proc.start()
        with proc.client() as client:
            assert len(client.get(path).json()["entries"]) == 4
    finally:
        proc.close()


def test_fresh_data_dir_is_private(tmp_path: Path, in_process: InProcess) -> None:
    # In-process: deploying does not depend on the process (serve keeps its subprocesses).
    cli = functools.partial(in_process, env=dict(os.environ))
    data_dir = tmp_path / "new" / "engine"
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text("def handler(i, c):\n    pass\n")
    # The data dir inside the code dir: deploying must not copy it into itself.
    inner = code / ".runwatch-data"
    assert cli("deploy", str(code), "--name", "a", "--data-dir", str(inner)).returncode == 0
    assert cli("deploy", str(code), "--name", "b", "--data-dir", str(inner)).returncode == 0
    for version in (inner / "versions").iterdir():
        assert sorted(p.name for p in version.iterdir()) == ["main.py"]
    assert cli("deploy", str(code), "--name", "c", "--data-dir", str(data_dir)).returncode == 0
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
