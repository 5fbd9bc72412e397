"""Starts test engines by forking a process that has already imported the engine.

An engine's start costs about a second of CPU, nearly all of it importing FastAPI, pydantic and
uvicorn; the suite starts ~150 engines on a 2-core machine, so that alone was a fifth of its
CPU. Each xdist worker keeps one of these zygotes; `EngineForks.spawn` asks it to fork a child
that runs exactly what `python -m runwatch.engine ARGS` runs (`commands.main`), with the
test's environment, working directory and log file. The engine is the same code on the same
wire; only the interpreter's start-up is shared. `RUNWATCH_TEST_FORK=0` starts engines with
`subprocess.Popen` instead.

Run as a script, this module is the zygote: it reads one JSON request a line on stdin, answers
`pid N` on stdout, and reports `exit N CODE` (Popen's returncode: -SIGNAL when killed) when it
reaps a child. It exits when its stdin closes (the test process ended).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any


def _child(request: dict[str, Any], wakeup: tuple[int, int]) -> None:
    """In the forked child: become `python -m runwatch.engine ARGS`, never return."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for fd in wakeup:
            os.close(fd)
        for sig in (signal.SIGCHLD, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["runwatch.engine", *request["argv"]]
        from runwatch.engine.commands import main

        try:
            code = main(request["argv"])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _zygote() -> None:
    # Everything an engine imports, once: the children inherit it.
    import uvicorn.lifespan.on
    import uvicorn.loops.auto
    import uvicorn.protocols.http.auto
    import uvicorn.protocols.websockets.auto  # noqa: F401

    import runwatch.engine.commands
    import runwatch.engine.server  # noqa: F401

    # ctrl+c in pytest reaches the engines (as when Popen started them); the zygote itself
    # lives until its stdin closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = sys.stdout
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "request")
    selector.register(read_end, selectors.EVENT_READ, "child")
    pending = b""
    alive: set[int] = set()
    while True:
        for key, _ in selector.select():
            if key.data == "child":
                with contextlib.suppress(BlockingIOError):
                    os.read(read_end, 4096)
                _reap(out, alive)
                continue
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                # The test process is gone: so are its engines (a test that failed to start
                # one never reached its teardown).
                for pid in alive:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                out.flush()
                pid = os.fork()
                if pid == 0:
                    _child(json.loads(line), (read_end, write_end))
                alive.add(pid)
                out.write(f"pid {pid}\n")
                out.flush()
        _reap(out, alive)


def _reap(out: IO[str], alive: set[int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        alive.discard(pid)
        out.write(f"exit {pid} {os.waitstatus_to_exitcode(status)}\n")
        out.flush()


class ForkedEngine:
    """The Popen surface the tests use, for an engine forked by the zygote."""

    def __init__(self, forks: EngineForks, pid: int, args: Sequence[str]) -> None:
        self._forks = forks
        self.pid = pid
        self.args = list(args)

    @property
    def returncode(self) -> int | None:
        return self._forks.exit_code(self.pid)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        code = self._forks.wait(self.pid, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class EngineForks:
    """This process's zygote: started on first use, ended when this process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._exits: dict[int, int] = {}
        self._pids: list[int] = []
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._read, daemon=True, name="engine-zygote").start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            kind, pid, *rest = line.split()
            with self._changed:
                if kind == "pid":
                    self._pids.append(int(pid))
                else:
                    self._exits[int(pid)] = int(rest[0])
                self._changed.notify_all()

    def spawn(
        self, argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: str | None = None
    ) -> ForkedEngine:
        log.touch()  # the caller reads it at once; the child opens it a moment later
        request = {"argv": list(argv), "env": dict(env), "log": str(log), "cwd": cwd or os.getcwd()}
        with self._lock:
            assert self._process.stdin is not None
            with self._changed:
                known = len(self._pids)
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            with self._changed:
                if not self._changed.wait_for(lambda: len(self._pids) > known, timeout=20):
                    raise RuntimeError("the engine zygote did not fork")
                pid = self._pids[known]
        return ForkedEngine(self, pid, ["runwatch.engine", *argv])

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            return self._exits.get(pid)

    def wait(self, pid: int, timeout: float | None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits, timeout=timeout)
            return self._exits.get(pid)

    @property
    def alive(self) -> bool:
        return self._process.poll() is None


_forks: EngineForks | None = None


def engine_forks() -> EngineForks | None:
    """This process's zygote, or None when RUNWATCH_TEST_FORK=0 asks for plain subprocesses."""
    global _forks
    if os.environ.get("RUNWATCH_TEST_FORK", "1") == "0":
        return None
    if _forks is None or not _forks.alive:
        _forks = EngineForks()
    return _forks


if __name__ == "__main__":
    _zygote()
