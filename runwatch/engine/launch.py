"""Find or start the local engine of a data dir (what `runwatch` with no profile does)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runwatch.engine.attempts import process_matches, read_pid
from runwatch.engine.commands import ENV_FILE


@dataclass
class EngineHandle:
    url: str
    organization_id: str
    token: str
    data_dir: Path
    process: subprocess.Popen[bytes] | None  # None when an already-running engine was reused

    def stop(self) -> None:
        """Terminate the engine if we started it (its running attempts carry on)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def read_env(data_dir: Path) -> dict[str, str] | None:
    try:
        text = (data_dir / ENV_FILE).read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    needed = ("ABEJA_API_URL", "ABEJA_ORGANIZATION_ID", "PLATFORM_AUTH_TOKEN")
    return values if all(values.get(k) for k in needed) else None


def _answers(env: dict[str, str], timeout: float = 1.0) -> bool:
    """Does the engine of this env file answer, with this token and organization?"""
    url = f"{env['ABEJA_API_URL']}/organizations/{env['ABEJA_ORGANIZATION_ID']}/deployments"
    request = urllib.request.Request(  # noqa: S310 - the URL is the engine's own http URL
        url, headers={"Authorization": f"Bearer {env['PLATFORM_AUTH_TOKEN']}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status == 200 and "entries" in json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False


def ensure_engine(
    data_dir: Path, *, timeout: float = 10.0, extra_args: Sequence[str] = ()
) -> EngineHandle:
    """Reuse the live engine of `data_dir`, else start one as a child and wait until it answers."""
    data_dir = Path(data_dir)
    env = read_env(data_dir)
    if env is not None and _answers(env):
        return EngineHandle(
            env["ABEJA_API_URL"],
            env["ABEJA_ORGANIZATION_ID"],
            env["PLATFORM_AUTH_TOKEN"],
            data_dir,
            None,
        )
    if not data_dir.exists():
        data_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    env_path = data_dir / ENV_FILE
    before = env_path.stat().st_mtime_ns if env_path.exists() else None
    log_fd = os.open(data_dir / "engine.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(log_fd, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runwatch.engine",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                *extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exited = process.poll() is not None
        env = read_env(data_dir)
        fresh = env_path.exists() and env_path.stat().st_mtime_ns != before
        if env is not None and (fresh or exited) and _answers(env):
            # An engine that exited at once lost the data dir lock to another live engine.
            return EngineHandle(
                env["ABEJA_API_URL"],
                env["ABEJA_ORGANIZATION_ID"],
                env["PLATFORM_AUTH_TOKEN"],
                data_dir,
                None if exited else process,
            )
        if exited and env is None:
            break
        time.sleep(0.05)
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=5)
    raise RuntimeError(f"the engine did not start; see {data_dir / 'engine.log'}")


def kill_attempts(data_dir: Path) -> int:
    """SIGKILL every supervisor and handler still running for `data_dir`; returns how many."""
    killed = 0
    runs = Path(data_dir) / "runs"
    if not runs.is_dir():
        return 0
    for attempt_dir in runs.glob("*/attempt-*"):
        for name in ("supervisor.pid", "runner.pid"):
            pid = read_pid(attempt_dir / name)
            if pid is not None and process_matches(pid, str(attempt_dir)):
                try:
                    # Both are process-group leaders: this takes their children along.
                    os.killpg(pid, signal.SIGKILL)
                    killed += 1
                except (ProcessLookupError, PermissionError):
                    pass
    return killed
