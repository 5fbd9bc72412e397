"""Shared fixtures: a real local engine on a random loopback port.

Every test that needs a server uses the `engine` fixture (or `start_engine` for more control).
The engine runs as a separate process, exactly as a user runs it, so tests exercise the real HTTP
contract. Its attempts run under supervisors in their own sessions (they outlive the engine by
design), so teardown kills the supervisors of that data dir explicitly.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.engine_zygote import ForkedEngine, engine_forks

# Every variable that points a client somewhere or changes how it behaves: tests that start a
# client subprocess or resolve settings clear them, so the developer's own shell cannot leak in.
CLIENT_ENV_VARS = (
    "ABEJA_API_URL",
    "ABEJA_ORGANIZATION_ID",
    "ABEJA_DEPLOYMENT_ID",
    "PLATFORM_AUTH_TOKEN",
    "ABEJA_PLATFORM_USER_ID",
    "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN",
    "RUNWATCH_PROFILE",
    "NO_COLOR",
    "ABEJA_SDK_CONNECTION_TIMEOUT",
    "ABEJA_SDK_MAX_RETRY_COUNT",
    # The abeja CLI's (its ~/.abeja/config is kept out by a temporary HOME).
    "ABEJA_CLI_USER",
    "ABEJA_CLI_TOKEN",
    "ABEJA_CLI_ORGANIZATION",
)

_LISTENING = re.compile(r"listening on (http://[\w.\-\[\]:]+)")
_START_TIMEOUT = 20.0


class EngineProcess:
    """One engine process on a data dir; stop, kill and start it again on the same port."""

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | ForkedEngine | None = None
        self.url = ""
        self.organization_id = ""
        self.token = ""
        self.env: dict[str, str] = {}
        self.log_path = self.data_dir.with_name(self.data_dir.name + "-engine.log")
        self._demo: tuple[str, dict[str, str]] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the engine (again): same data dir and, after the first start, same port."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("engine already running")
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        env = {**os.environ, "RUNWATCH_ENGINE_IDS": "seq", **self.extra_env}
        # Do not let a developer's own credentials leak into the engine's handlers.
        for key in ("PLATFORM_AUTH_TOKEN", "ABEJA_API_URL", "ABEJA_ORGANIZATION_ID"):
            env.pop(key, None)
        cmd = [
            sys.executable,
            "-m",
            "runwatch.engine",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]
        if "--no-demo" not in self.extra_args and "--demo-runs" not in self.extra_args:
            cmd.append("--no-demo-runs")
        forks = engine_forks()
        if forks is not None:
            self.process = forks.spawn(cmd[3:], env, self.log_path)
        else:
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
                )
        deadline = time.monotonic() + _START_TIMEOUT
        url = ""
        while not url:
            if self.process.poll() is not None:
                raise RuntimeError(f"engine exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"engine did not start:\n{self.log()}")
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                match = _LISTENING.search(log.read().decode("utf-8", "replace"))
            if match:
                url = match.group(1)
            else:
                time.sleep(0.02)
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.env = _read_env_file(self.data_dir / "engine.env")
        self.organization_id = self.env["ABEJA_ORGANIZATION_ID"]
        self.token = self.env["PLATFORM_AUTH_TOKEN"]
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"engine did not answer:\n{self.log()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM and wait: a clean shutdown (attempts keep running under their supervisors)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def kill(self) -> None:
        """SIGKILL: the engine dies on the spot, as when a laptop's app is force-closed."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(timeout=10)

    def close(self) -> None:
        """Stop the engine and kill every supervisor and handler it left running."""
        self.stop()
        from runwatch.engine.launch import kill_attempts

        kill_attempts(self.data_dir)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""

    # -- convenience ---------------------------------------------------------------------------

    @property
    def credential(self) -> dict[str, str]:
        return {"auth_token": self.token}

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client with the base URL and token set."""
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=10.0, **kwargs)

    def _load_demo(self) -> tuple[str, dict[str, str]]:
        if self._demo is None:
            org = self.organization_id
            with self.client() as client:
                deployments = client.get(f"/organizations/{org}/deployments").json()["entries"]
                demo = next(d for d in deployments if d["name"] == "demo")
                versions = client.get(
                    f"/organizations/{org}/deployments/{demo['deployment_id']}/versions"
                ).json()["entries"]
            self._demo = (demo["deployment_id"], {v["version"]: v["version_id"] for v in versions})
        return self._demo

    @property
    def demo_deployment_id(self) -> str:
        return self._load_demo()[0]

    @property
    def demo_versions(self) -> dict[str, str]:
        return dict(self._load_demo()[1])

    def deploy(
        self,
        code_dir: Path,
        name: str,
        handler: str = "main:handler",
        deployment_id: str | None = None,
    ) -> tuple[str, str]:
        """Deploy a code dir as a new version, as `runwatch deploy` does: (deployment, version)."""
        from runwatch.engine.deploy import deploy

        result = deploy(
            self.data_dir, Path(code_dir), name=name, handler=handler, deployment_id=deployment_id
        )
        return result.deployment_id, result.version_id

    def deploy_source(
        self, source: str, name: str = "t", deployment_id: str | None = None
    ) -> tuple[str, str]:
        """Write `source` to main.py in a temp dir and deploy it with handler main:handler."""
        with tempfile.TemporaryDirectory(prefix="runwatch-src-") as tmp:
            (Path(tmp) / "main.py").write_text(source)
            return self.deploy(Path(tmp), name, "main:handler", deployment_id)

    def create_run(self, deployment_id: str, version_id: str, **body: Any) -> dict[str, Any]:
        """POST a run through the HTTP API; `body` adds input_data, retry_count, environment, ..."""
        payload = {"version_id": version_id, "environment": {}, **body}
        with self.client() as client:
            response = client.post(
                f"/organizations/{self.organization_id}/deployments/{deployment_id}/runs",
                json=payload,
            )
        response.raise_for_status()
        return dict(response.json())

    def get_run(self, deployment_id: str, run_id: str) -> dict[str, Any]:
        with self.client() as client:
            response = client.get(
                f"/organizations/{self.organization_id}/deployments/{deployment_id}/runs/{run_id}"
            )
        response.raise_for_status()
        return dict(response.json())

    def wait_for_status(
        self,
        deployment_id: str,
        run_id: str,
        statuses: str | Iterable[str],
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Poll get_run until its status is one of `statuses`; returns the run."""
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = self.get_run(deployment_id, run_id)
            if run["status"] in wanted:
                return run
            time.sleep(0.05)
        raise TimeoutError(f"run {run_id} still {run.get('status')}, wanted {sorted(wanted)}")

    def all_log_messages(self, deployment_id: str, run_id: str) -> list[str]:
        """Every stored log message of a run, oldest first, via the logs endpoint's paging."""
        messages: list[str] = []
        params: dict[str, str] = {}
        path = (
            f"/organizations/{self.organization_id}/deployments/{deployment_id}/runs/{run_id}/logs"
        )
        with self.client() as client:
            while True:
                response = client.get(path, params=params)
                response.raise_for_status()
                body = response.json()
                messages.extend(event["message"] for event in body["events"])
                if "next_token" not in body:
                    return messages
                params = {"next_token": body["next_token"]}


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def start_engine(
    data_dir: Path,
    port: int = 0,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> EngineProcess:
    """Start an engine on `data_dir` (demo deployment, no demo runs, sequential ids); wait."""
    engine = EngineProcess(data_dir, port=port, extra_args=extra_args, env=env)
    engine.start()
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    """A fresh engine on a random loopback port: demo deployment, no demo runs, seq ids."""
    proc = start_engine(tmp_path / "engine")
    try:
        yield proc
    finally:
        proc.close()


@pytest.fixture
def restartable_engine(tmp_path: Path) -> Iterator[EngineProcess]:
    """Like `engine`, on a port below the ephemeral range, so kill/start cycles keep the port
    (see tests/kill_cycles.py); a test module overrides `engine` with it."""
    from tests.kill_cycles import start_restartable_engine

    proc = start_restartable_engine(tmp_path / "engine")
    try:
        yield proc
    finally:
        proc.close()


InProcess = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    """`runwatch ARGS` run by `main` in this process with exactly `env` as its environment,
    answered as `subprocess.run` would (a subprocess costs a second of start-up under load).
    For what does not depend on the process; signals, pipes, exit codes of an uncaught
    exception and start-up keep their subprocess tests (e.g. tests/cli/test_cli_engine.py)."""
    from runwatch.cli import main

    def run(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        with monkeypatch.context() as patch:
            for name in set(os.environ) - set(env):
                patch.delenv(name)
            for name, value in env.items():
                patch.setenv(name, value)
            try:
                code = main(list(args))
            except SystemExit as stop:  # as the interpreter ends on it (argparse's usage errors)
                code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
                if not isinstance(stop.code, int | None):
                    print(stop.code, file=sys.stderr)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["runwatch", *args], code, out, err)

    return run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `long` run only with RUNWATCH_LONG=1: the suite must fit CI's 8 minutes
    on 2 cores, and these repeat what shorter tests check (fixed fuzz seeds, kill cycles,
    stateful schema fuzzing, the benchmark harness)."""
    if os.environ.get("RUNWATCH_LONG") == "1":
        return
    skip = pytest.mark.skip(reason="long form: RUNWATCH_LONG=1 runs it")
    for item in items:
        if item.get_closest_marker("long") is not None:
            item.add_marker(skip)
