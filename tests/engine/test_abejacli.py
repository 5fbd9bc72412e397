"""The unmodified official `abeja` CLI (abejacli 2.2.8 from PyPI) drives runs on the engine.

abejacli pins click<7.1 and old requests and docker releases, which would break this
environment's own packages; so it is installed once into a directory of its own (`pip install
--target`, kept under ~/.cache/runwatch-tests) and run in a subprocess with that directory on
PYTHONPATH and HOME set to a temp dir holding `~/.abeja/config` as `abeja configure` writes it.
A failed install (no network) fails these tests: they exist to prove the real CLI works.

What abejacli does with runs: `abeja model submit-run`, `describe-runs` (one run or the list)
and `describe-run-logs`, each one request under `<api>/organizations/<organization-name>`
with Basic auth (user, personal access token); no organization lookup is involved.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CLIENT_ENV_VARS, EngineProcess

ABEJACLI = "abejacli==2.2.8"
# Everything abejacli reads besides its config file (abejacli/configuration/config.py).
ABEJACLI_ENV = (
    "ABEJA_CLI_USER",
    "ABEJA_CLI_TOKEN",
    "ABEJA_CLI_ORGANIZATION",
    "ABEJA_PLATFORM_USER",
    "PERSONAL_ACCESS_TOKEN",
    "ORGANIZATION_NAME",
)
# abejacli has no __main__; its console script calls abejacli.run:main.
ENTRY = "import sys; sys.argv[0] = 'abeja'; from abejacli.run import main; main()"
# abejacli prints its JSON through pygments' terminal formatter, colours included.
SGR = re.compile(r"\x1b\[[0-9;]*m")

HANDLER = """
def handler(input_data, context):
    for i in range(int(input_data["lines"])):
        print(f"line {i}", flush=True)
    if input_data.get("fail"):
        raise RuntimeError("failed on purpose")
"""


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runwatch-tests" / ABEJACLI.replace("==", "-")


@pytest.fixture(scope="session")
def abejacli_dir() -> Path:
    """abejacli and its pinned dependencies in a directory of their own, installed once."""
    target = _cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two xdist workers may get here at once: one installs, the other waits and reuses it.
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".installed").exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "--no-compile",
                "--target",
                str(target),
                ABEJACLI,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            pytest.fail(f"could not install {ABEJACLI}: {proc.stderr.strip()[-2000:]}")
        seconds = time.monotonic() - started
        (target / ".installed").write_text(f"{ABEJACLI} installed in {seconds:.1f} s\n")
    return target


class AbejaCli:
    """`abeja ...` with a HOME of its own and nothing from the developer's environment."""

    def __init__(self, package_dir: Path, home: Path, extra_env: dict[str, str]) -> None:
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in CLIENT_ENV_VARS and key not in ABEJACLI_ENV
        }
        self.env.update(
            HOME=str(home), PYTHONPATH=str(package_dir), PYTHONNOUSERSITE="1", **extra_env
        )
        self.env.pop("XDG_CONFIG_HOME", None)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", ENTRY, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def json(self, *args: str) -> Any:
        proc = self.run(*args)
        assert proc.returncode == 0, f"abeja {' '.join(args)}: {proc.stderr}"
        return json.loads(SGR.sub("", proc.stdout))


@pytest.fixture
def abeja(abejacli_dir: Path, engine: EngineProcess, tmp_path: Path) -> Iterator[AbejaCli]:
    """The CLI configured for the engine the way a platform user is: `~/.abeja/config`."""
    home = tmp_path / "home"
    (home / ".abeja").mkdir(parents=True)
    config = home / ".abeja" / "config"
    config.write_text(
        json.dumps(
            {
                "abeja-platform-user": "user-1234567890123",
                "personal-access-token": engine.token,
                # The platform takes the organization's name or id in the path; the engine
                # knows its organization by id.
                "organization-name": engine.organization_id,
                "abeja-api-url": engine.url,
            }
        )
    )
    config.chmod(0o600)
    yield AbejaCli(abejacli_dir, home, {})


def test_submit_describe_and_read_the_log(abeja: AbejaCli, engine: EngineProcess) -> None:
    deployment_id, version_id = engine.deploy_source(HANDLER, name="abejacli")
    created = abeja.json(
        "model",
        "submit-run",
        "--deployment_id",
        deployment_id,
        "--version_id",
        version_id,
        "--input_operator",
        "lines",
        "--input_target",
        "5",
        "--retry_count",
        "0",
        "-e",
        "MODE:fast",
    )
    run_id = created["run_id"]
    assert created["status"] == "SUBMITTED"
    assert created["input_data"] == {"lines": "5"}
    assert created["user_env_vars"] == {"MODE": "fast"}
    assert created["deployment_id"] == deployment_id
    engine.wait_for_status(deployment_id, run_id, "SUCCEEDED")

    one = abeja.json("model", "describe-runs", "--deployment_id", deployment_id, "-r", run_id)
    assert (one["run_id"], one["status"], one["retry_count"]) == (run_id, "SUCCEEDED", 0)
    listed = abeja.json("model", "describe-runs", "--deployment_id", deployment_id)
    assert [r["run_id"] for r in listed["entries"]] == [run_id]

    logs = abeja.json(
        "model", "describe-run-logs", "--deployment_id", deployment_id, "--run_id", run_id
    )
    messages = [e["message"] for e in logs["events"]]
    assert [m for m in messages if not m.startswith("[engine] ")] == [f"line {i}" for i in range(5)]
    assert messages == engine.all_log_messages(deployment_id, run_id)
    assert "next_token" not in logs


def test_a_failed_run_and_its_traceback(abeja: AbejaCli, engine: EngineProcess) -> None:
    deployment_id, version_id = engine.deploy_source(HANDLER, name="abejacli-fail")
    run_id = engine.create_run(
        deployment_id, version_id, input_data={"lines": 2, "fail": True}, retry_count=0
    )["run_id"]
    engine.wait_for_status(deployment_id, run_id, "FAILED")
    assert abeja.json("model", "describe-runs", "-d", deployment_id, "-r", run_id)["status"] == (
        "FAILED"
    )
    logs = abeja.json("model", "describe-run-logs", "-d", deployment_id, "-r", run_id)
    messages = [e["message"] for e in logs["events"]]
    assert "Traceback (most recent call last):" in messages
    assert "RuntimeError: failed on purpose" in messages


def test_a_run_that_does_not_exist_is_an_error_exit(abeja: AbejaCli, engine: EngineProcess) -> None:
    proc = abeja.run(
        "model", "describe-runs", "-d", engine.demo_deployment_id, "-r", "run-9999999999999999"
    )
    assert proc.returncode == 1
    assert "404" in proc.stderr and "Traceback" not in proc.stderr


def test_engine_env_alone_is_enough(
    abejacli_dir: Path, engine: EngineProcess, tmp_path: Path
) -> None:
    """No config file: abejacli reads ABEJA_API_URL, ABEJA_ORGANIZATION_ID and
    PLATFORM_AUTH_TOKEN (Bearer), which is exactly what the engine's engine.env holds."""
    home = tmp_path / "empty-home"
    home.mkdir()
    cli = AbejaCli(abejacli_dir, home, dict(engine.env))
    deployment_id, version_id = engine.deploy_source(HANDLER, name="abejacli-env")
    run_id = engine.create_run(deployment_id, version_id, input_data={"lines": 1})["run_id"]
    listed = cli.json("model", "describe-runs", "-d", deployment_id)
    assert [r["run_id"] for r in listed["entries"]] == [run_id]
