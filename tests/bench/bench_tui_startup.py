"""Time to first frame and to the first runs on screen, as a user sees it, in tmux; `--help`.

    python tests/bench/bench_tui_startup.py

Starts `python -m runwatch` in a detached tmux session (its own tmux server) with a fresh HOME
and polls the pane every 10 ms until runs are on screen, then quits with `q`:
- cold: no config and no engine data dir, as a new user's first launch (the engine is started
  and creates its data dir and the demo runs);
- warm: the engine's data dir exists with a few finished runs, the engine is not running (the
  app starts it, as on every launch after the first).
Also times `runwatch --help`. Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runwatch.engine.launch import kill_attempts

FRAME_MARKERS = ("starting the local engine", "loading", "Runs")
STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


class Tmux:
    """A private tmux server (its own socket), so no other tmux session is touched."""

    def __init__(self) -> None:
        self.socket = f"rw-bench-{os.getpid()}"

    def run(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check
        )

    def capture(self) -> str:
        return self.run("capture-pane", "-p", "-t", "bench").stdout

    def alive(self) -> bool:
        return self.run("has-session", "-t", "bench").returncode == 0

    def quit_app(self, timeout: float = 15) -> None:
        """Press q in the app's pane and wait until it has exited, then close the server."""
        self.run("send-keys", "-t", "bench", "q")
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.close()

    def close(self) -> None:
        self.run("kill-server")
        # tmux leaves the socket file of a killed server behind.
        tmpdir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (tmpdir / self.socket).unlink(missing_ok=True)


def app_env(home: Path, data_dir: Path) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "RUNWATCH_DATA_DIR": str(data_dir),
    }
    return env


def measure(home: Path, data_dir: Path, *args: str) -> tuple[float, float]:
    """(first frame, first runs) in seconds from the start of `python -m runwatch ARGS`."""
    prefix = " ".join(f"{k}={v}" for k, v in app_env(home, data_dir).items())
    unset = " ".join(
        f"-u {k}" for k in os.environ if k.startswith(("ABEJA_", "PLATFORM_", "RUNWATCH_"))
    )
    command = f"env {unset} {prefix} {sys.executable} -m runwatch {shlex.join(args)}"
    tmux = Tmux()
    start = time.monotonic()
    tmux.run("new", "-d", "-s", "bench", "-x", "120", "-y", "40", command, check=True)
    first_frame = first_runs = 0.0
    try:
        while time.monotonic() - start < 30:
            text = tmux.capture()
            now = time.monotonic() - start
            if not first_frame and any(marker in text for marker in FRAME_MARKERS):
                first_frame = now
            if "run-" in text and any(status in text for status in STATUSES):
                first_runs = now
                break
            time.sleep(0.01)
        if not first_runs:
            raise RuntimeError(f"no runs on screen after 30 s:\n{tmux.capture()}")
    finally:
        tmux.quit_app()
        # The app stopped its engine; runs it started (the demo) would go on using the CPU.
        kill_attempts(data_dir)
    return first_frame, first_runs


def warm_data_dir(root: Path) -> tuple[Path, str]:
    """An engine data dir with the demo deployment installed and a deployment with three
    finished runs (returned with it), and no engine running."""
    from runwatch.api.client import APIClient
    from runwatch.engine.deploy import deploy
    from runwatch.engine.launch import ensure_engine

    data_dir = root / "warm-engine"
    code = root / "warm-code"
    code.mkdir()
    (code / "main.py").write_text("def handler(input_data, context):\n    print('done')\n")
    deployed = deploy(data_dir, code, name="startup")
    engine = ensure_engine(data_dir, extra_args=["--no-demo-runs"])
    try:
        with APIClient({"auth_token": engine.token}, base_url=engine.url) as client:
            org, dep = engine.organization_id, deployed.deployment_id
            ids = [client.create_run(org, dep, deployed.version_id)["run_id"] for _ in range(3)]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                statuses = [client.get_run(org, dep, run_id)["status"] for run_id in ids]
                if all(status in ("SUCCEEDED", "FAILED") for status in statuses):
                    break
                time.sleep(0.1)
    finally:
        engine.stop()
    return data_dir, deployed.deployment_id


def help_seconds(repeats: int) -> list[float]:
    """Wall time of `runwatch --help` (the installed script, else `python -m runwatch`)."""
    script = shutil.which("runwatch")
    command = [script, "--help"] if script else [sys.executable, "-m", "runwatch", "--help"]
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times[1:]  # the first warms the OS's file cache


def startup(root: Path, repeats: int, cold: bool) -> dict[str, list[float]]:
    """Warm first frame / first runs, `repeats` times; with `cold`, one cold launch too."""
    if not shutil.which("tmux"):
        raise RuntimeError("tmux is required")
    result: dict[str, list[float]] = {"frame": [], "runs": [], "cold_frame": [], "cold_runs": []}
    if cold:
        home = root / "cold-home"
        home.mkdir()
        frame, runs = measure(home, home / "engine")
        result["cold_frame"].append(frame)
        result["cold_runs"].append(runs)
    data_dir, deployment_id = warm_data_dir(root)
    home = root / "warm-home"
    home.mkdir()
    for _ in range(repeats):
        frame, runs = measure(home, data_dir, "--deployment", deployment_id)
        result["frame"].append(frame)
        result["runs"].append(runs)
    return result


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    with tempfile.TemporaryDirectory(prefix="runwatch-bench-startup-") as tmp:
        result = startup(Path(tmp), 3, cold=True)
    print(
        f"cold (engine started, data dir created): first frame {result['cold_frame'][0]:.2f} s,"
        f" first runs {result['cold_runs'][0]:.2f} s"
    )
    print(
        f"warm (engine data dir exists): first frame {statistics.median(result['frame']):.2f} s,"
        f" first runs {statistics.median(result['runs']):.2f} s (median of 3)"
    )
    print(f"runwatch --help: {statistics.median(help_seconds(5)):.2f} s (median of 5)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main()
