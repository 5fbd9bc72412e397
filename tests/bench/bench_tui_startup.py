"""Time to first frame and to the first runs on screen, as a user sees it, in tmux.

    python tests/bench/bench_tui_startup.py

Starts `python -m runwatch` in a detached tmux session with a fresh HOME (no config, no engine
running: the engine is started too, as a new user's first launch does), polls the pane every
10 ms, quits, then does it again with the engine's data dir already there.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SESSION = "rw-bench"


def capture() -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True
    ).stdout


def measure(home: Path) -> tuple[float, float]:
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"),
    }
    prefix = " ".join(f"{k}={v}" for k, v in env.items())
    command = f"env {prefix} {sys.executable} -m runwatch"
    start = time.monotonic()
    subprocess.run(
        ["tmux", "new", "-d", "-s", SESSION, "-x", "120", "-y", "40", command], check=True
    )
    first_frame = first_runs = 0.0
    try:
        while time.monotonic() - start < 30:
            text = capture()
            now = time.monotonic() - start
            if not first_frame and any(
                marker in text for marker in ("starting the local engine", "loading", "Runs")
            ):
                first_frame = now
                print(f"  first frame at {now:.2f} s:", text.strip().splitlines()[0][:80])
            if "run-" in text and ("RUNNING" in text or "PENDING" in text or "SUBMITTED" in text):
                first_runs = now
                break
            time.sleep(0.01)
    finally:
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "q"])
        time.sleep(2)
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    return first_frame, first_runs


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("tmux is required")
    home = Path(tempfile.mkdtemp(prefix="runwatch-bench-home-"))
    try:
        frame, runs = measure(home)
        print(f"cold (engine started): first frame {frame:.2f} s, first runs {runs:.2f} s")
        frame, runs = measure(home)
        print(f"warm (engine data dir exists): first frame {frame:.2f} s, first runs {runs:.2f} s")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
