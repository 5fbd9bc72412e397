"""The supervisor of one attempt: `python -m runwatch.engine.supervisor ATTEMPT_DIR`.

Started by the engine in its own session, so it outlives the engine (a closed app, a SIGKILL).
It runs the handler (runner.py) with stdout and stderr on one pipe, timestamps what it reads and
appends it to ATTEMPT_DIR/spool, then writes ATTEMPT_DIR/exit.json. The engine ingests the spool.

Spool format: records of `b"<ts_us> <n>\\n"` followed by n bytes of complete lines (each ending
in a newline). A record is written with one write() and never rewritten, so a reader knows a
record is whole when its n bytes are there. Each write goes straight to the OS (no buffering in
this process), so a kill of the engine or of this process loses nothing already read.

Stdlib only: it must start fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from runwatch.engine.common import Clock

READ_SIZE = 1 << 16
PIPE_SIZE = 1 << 20
F_SETPIPE_SZ = 1031  # Linux; fcntl exposes it only from Python 3.10 on some builds
COALESCE_SECONDS = 0.002
# A "line" with no newline is cut at this size so a handler cannot make us buffer without bound.
MAX_PENDING = 1 << 20
# After the handler exits, how long its children may keep the pipe open before they are killed.
DRAIN_SECONDS = 5.0
# Variables of the engine's own environment that a handler must not see.
_SECRET_ENV = (
    "PLATFORM_AUTH_TOKEN",
    "ABEJA_PLATFORM_USER_ID",
    "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN",
)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Spool:
    def __init__(self, path: Path, clock: Clock) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.clock = clock

    def record(self, lines: bytes, ts_us: int | None = None) -> None:
        """Append complete lines (ending in a newline) as one record."""
        if not lines:
            return
        ts = self.clock.now_us() if ts_us is None else ts_us
        _write_all(self.fd, b"%d %d\n" % (ts, len(lines)) + lines)

    def close(self) -> None:
        os.close(self.fd)


def _pump(proc: subprocess.Popen[bytes], spool: Spool) -> None:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    with contextlib.suppress(OSError):
        # A bigger pipe lets a chatty handler run on while we sleep between reads.
        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE)
    os.set_blocking(fd, False)
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    pending = b""
    deadline: float | None = None
    next_poll = time.monotonic() + 0.25
    while True:
        ready = selector.select(timeout=0.25)
        if ready:
            try:
                chunk = os.read(fd, READ_SIZE)
            except BlockingIOError:
                chunk = None
            if chunk == b"":
                break
            if chunk:
                # Every line completed by this read gets the time it was read: the moment it
                # became visible, within the few microseconds of one read.
                ts = spool.clock.now_us()
                data = pending + chunk
                cut = data.rfind(b"\n")
                if cut < 0:
                    pending = data
                    if len(pending) >= MAX_PENDING:
                        spool.record(pending + b"\n", ts)
                        pending = b""
                else:
                    spool.record(data[: cut + 1], ts)
                    pending = data[cut + 1 :]
                if len(chunk) < READ_SIZE:
                    # Let a chatty handler fill the pipe a little: one read and one record for
                    # many lines instead of a wake-up per line. Times stay within COALESCE.
                    time.sleep(COALESCE_SECONDS)
        now = time.monotonic()
        if now >= next_poll or not ready:
            next_poll = now + 0.25
            if deadline is None and proc.poll() is not None:
                deadline = now + DRAIN_SECONDS
            if deadline is not None and now > deadline:
                break
    if pending:
        spool.record(pending + b"\n")
    selector.close()


def handler_env(environment: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
    env.update(environment)
    # Children that are Python flush as they print, so their lines arrive as they are written.
    env["PYTHONUNBUFFERED"] = "1"
    return env


def main(argv: list[str]) -> int:
    attempt_dir = Path(argv[1])
    write_atomic(attempt_dir / "supervisor.pid", str(os.getpid()))
    # A terminal's Ctrl-C or the engine's shutdown must not stop a run: only SIGKILL/SIGTERM
    # aimed at this process do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    spec = json.loads((attempt_dir / "spec.json").read_text())
    clock = Clock()
    clock.not_before(int(spec.get("clock_after_us", 0)))
    spool = Spool(attempt_dir / "spool", clock)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runwatch.engine.runner", str(attempt_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Not the code dir: a `runwatch` package in the user's code must not shadow the
            # runner itself. The runner moves into the code dir once it is loaded.
            cwd=attempt_dir,
            env=handler_env(spec.get("environment") or {}),
            process_group=0,
        )
    except OSError as exc:
        spool.record(f"[engine] could not start the handler: {exc}\n".encode())
        code = 127
    else:
        write_atomic(attempt_dir / "runner.pid", str(proc.pid))
        _pump(proc, spool)
        code = proc.wait()
        # Children the handler left behind (daemons, a stuck pool) would otherwise hold the run.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    spool.close()
    write_atomic(attempt_dir / "exit.json", json.dumps({"exit_code": code, "at": clock.now_us()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
