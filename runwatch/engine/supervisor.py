"""The supervisor of one attempt: `python -m runwatch.engine.supervisor ATTEMPT_DIR`.

Started by the engine in its own session, so it outlives the engine (a closed app, a SIGKILL).
It runs the handler (runner.py) in the attempt's own working dir with the run's own environment
(isolation.py), stdout and stderr on one pipe; it cuts what it reads into lines (redraw.py: a
progress bar redrawn with `\r` is stored as its states), timestamps them and appends them to
ATTEMPT_DIR/spool, then writes ATTEMPT_DIR/exit.json. The engine ingests the spool.

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
from runwatch.engine.isolation import handler_env, is_read_only, make_read_only, make_work_dir
from runwatch.engine.redraw import LineCutter

READ_SIZE = 1 << 16
PIPE_SIZE = 1 << 20
F_SETPIPE_SZ = 1031  # Linux; fcntl exposes it only from Python 3.10 on some builds
COALESCE_SECONDS = 0.002
RUNNER = Path(__file__).with_name("runner.py")
# After the handler exits, how long its children may keep the pipe open before they are killed.
DRAIN_SECONDS = 5.0


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
    lines = LineCutter()
    deadline: float | None = None
    next_poll = time.monotonic() + 0.25
    while True:
        # A line being redrawn (a progress bar) gets its state stored when due, even while
        # the handler is silent.
        due = lines.next_due(time.monotonic())
        wait = 0.25 if due is None else min(0.25, max(0.0, due - time.monotonic()))
        ready = selector.select(timeout=wait)
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
                spool.record(lines.feed(chunk, time.monotonic(), ts), ts)
                if len(chunk) < READ_SIZE:
                    # Let a chatty handler fill the pipe a little: one read and one record for
                    # many lines instead of a wake-up per line. Times stay within COALESCE.
                    time.sleep(COALESCE_SECONDS)
        now = time.monotonic()
        state = lines.due(now)
        if state is not None:
            spool.record(*state)
        if now >= next_poll or not ready:
            next_poll = now + 0.25
            if deadline is None and proc.poll() is not None:
                deadline = now + DRAIN_SECONDS
            if deadline is not None and now > deadline:
                break
    spool.record(lines.finish())
    selector.close()


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
    code_dir = Path(spec["code_dir"])
    if not is_read_only(code_dir):
        make_read_only(code_dir)  # a version deployed before versions were made read-only
    try:
        work_dir = make_work_dir(attempt_dir, code_dir)
        proc = subprocess.Popen(
            # By path, not `-m`: the handler's environment has no say in where the runner
            # comes from (no PYTHONPATH of the engine's), and a `runwatch` package in the
            # user's code cannot shadow it.
            [sys.executable, str(RUNNER), str(attempt_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=work_dir,
            env=handler_env(spec, work_dir),
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
