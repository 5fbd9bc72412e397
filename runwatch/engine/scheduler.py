"""Execution: queues, attempts under supervisors, spool ingestion. Runs on the writer thread.

Every state change of runs, attempts and logs happens here, on one thread with one connection,
so there is exactly one writer and no lock juggling. The ingestion of a spool chunk inserts its
lines and advances the attempt's stored spool offset in the SAME transaction: after any crash the
next start resumes exactly at the first byte not yet stored, so no line is lost or stored twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from runwatch.engine import db, log_blocks, store
from runwatch.engine.attempts import (
    ENGINE_PREFIX,
    Attempt,
    process_matches,
    read_exit,
    read_pid,
    split_events,
)
from runwatch.engine.common import Clock

# Bytes ingested per attempt per tick: bounds how long one tick holds the writer thread (other
# writes such as create_run wait behind it) while staying big enough for large transactions.
INGEST_CHUNK = 2 << 20
# A supervisor that has not written its pid file after this long never started.
LAUNCH_GRACE_SECONDS = 10.0


class Scheduler:
    """Owns the writer connection. Only ever called from the writer thread."""

    def __init__(
        self, data_dir: Path, conn: sqlite3.Connection, meta: db.Meta, clock: Clock, queues: int
    ) -> None:
        self.data_dir = data_dir
        self.conn = conn
        self.meta = meta
        self.clock = clock
        self.queues = max(1, queues)
        self.active: dict[tuple[int, int], Attempt] = {}
        self.runs_dir = data_dir / "runs"
        self.runs_dir.mkdir(exist_ok=True)

    # -- startup -------------------------------------------------------------------------------

    def recover(self) -> None:
        """Re-attach to the attempts that were running when the engine last stopped."""
        rows = self.conn.execute(
            "SELECT a.rseq, r.run_id, a.attempt, a.dir, r.queue_key, r.retry_count,"
            " a.supervisor_pid, a.spool_offset FROM attempts a JOIN runs r ON r.rseq = a.rseq"
            " WHERE a.state != 'done' ORDER BY a.rseq"
        ).fetchall()
        for rseq, run_id, attempt, adir, queue_key, retry_count, pid, offset in rows:
            if pid is None:
                pid = read_pid(Path(adir) / "supervisor.pid")
            self.active[(rseq, attempt)] = Attempt(
                rseq, run_id, attempt, Path(adir), queue_key, retry_count, pid, offset
            )
        # A run said to be starting or running with no attempt to watch would stay so forever.
        attached = {key[0] for key in self.active}
        orphans = self.conn.execute(
            "SELECT rseq, attempts, retry_count FROM runs WHERE status IN ('STARTING', 'RUNNING')"
        ).fetchall()
        for rseq, attempts, retry_count in orphans:
            if rseq not in attached:
                with db.Transaction(self.conn):
                    self._log(rseq, f"attempt {attempts} was lost while the engine was stopped")
                    self._after_failure(rseq, attempts, retry_count)

    # -- helpers -------------------------------------------------------------------------------

    def _log(self, rseq: int, message: str) -> None:
        last = self.conn.execute("SELECT log_seq FROM runs WHERE rseq = ?", (rseq,)).fetchone()[0]
        # A stored line never holds a newline (blocks join lines with it): split, e.g. an OSError.
        lines = [ENGINE_PREFIX + line for line in message.split("\n")]
        log_blocks.append_logs(self.conn, rseq, [(self.clock.now_us(), lines)], last)

    def _queue_of(self, queue_key: int) -> int:
        return queue_key % self.queues

    # -- the tick ------------------------------------------------------------------------------

    def tick(self) -> bool:
        """One round: ingest spools, settle finished attempts, start queued runs.

        Returns True when there is more spool data waiting (the caller ticks again at once).
        """
        more = self._ingest_and_settle()
        self._schedule()
        return more

    def has_active(self) -> bool:
        return bool(self.active)

    def _ingest(self, attempts: list[Attempt], *, drain: bool) -> bool:
        """Store new spool lines of `attempts`; one transaction for all. True if more remain."""
        batches: list[tuple[Attempt, list[log_blocks.LogGroup], int]] = []
        more = False
        for att in attempts:
            if att.file is None:
                try:
                    att.file = open(att.dir / "spool", "rb")  # noqa: SIM115 - kept open across ticks
                except FileNotFoundError:
                    continue
            att.file.seek(att.offset)
            data = att.file.read(INGEST_CHUNK)
            if not data:
                continue
            events, used = split_events(data)
            while drain and len(data) == INGEST_CHUNK:
                att.file.seek(att.offset + used)
                data = att.file.read(INGEST_CHUNK)
                extra, extra_used = split_events(data)
                events.extend(extra)
                used += extra_used
                if not extra_used:
                    break
            if used:
                batches.append((att, events, used))
            if len(data) == INGEST_CHUNK:
                more = True
        if not batches:
            return more
        with db.Transaction(self.conn):
            for att, events, used in batches:
                last = self.conn.execute(
                    "SELECT log_seq FROM runs WHERE rseq = ?", (att.rseq,)
                ).fetchone()[0]
                log_blocks.append_logs(self.conn, att.rseq, events, last)
                # The supervisor's clock may run ahead of ours (a frozen one counts apart):
                # the engine's next line about this run must not be older than these.
                self.clock.not_before(max((ts for ts, _ in events), default=0))
                self.conn.execute(
                    "UPDATE attempts SET spool_offset = ? WHERE rseq = ? AND attempt = ?",
                    (att.offset + used, att.rseq, att.attempt),
                )
        for att, _events, used in batches:
            att.offset += used
        return more

    def _alive(self, att: Attempt) -> bool:
        if att.proc is not None:
            return att.proc.poll() is None
        if att.pid is None:
            att.pid = read_pid(att.dir / "supervisor.pid")
        if att.pid is None:
            try:
                age = time.time() - (att.dir / "spec.json").stat().st_mtime
            except OSError:
                return False
            return age < LAUNCH_GRACE_SECONDS
        return process_matches(att.pid, str(att.dir))

    def _ingest_and_settle(self) -> bool:
        if not self.active:
            return False
        attempts = list(self.active.values())
        # Order matters: liveness and exit records are checked BEFORE reading the spool, so
        # everything a finished supervisor wrote is read by this very tick.
        finished: list[tuple[Attempt, dict[str, Any] | None]] = []
        for att in attempts:
            exit_path = att.dir / "exit.json"
            if exit_path.exists():
                finished.append((att, read_exit(exit_path)))
            elif not self._alive(att):
                if exit_path.exists():
                    finished.append((att, read_exit(exit_path)))
                else:
                    finished.append((att, None))
        more = self._ingest(attempts, drain=False)
        if finished:
            self._ingest([att for att, _ in finished], drain=True)
        for att in attempts:
            if not att.running_reported and (
                (att.dir / "runner.pid").exists() or any(a is att for a, _ in finished)
            ):
                att.running_reported = True
                with db.Transaction(self.conn):
                    status = self.conn.execute(
                        "SELECT status FROM runs WHERE rseq = ?", (att.rseq,)
                    ).fetchone()[0]
                    if status == "STARTING":
                        store.set_status(self.conn, att.rseq, "RUNNING", self.clock.now_us())
        for att, record in finished:
            self._settle(att, record)
        return more

    def _settle(self, att: Attempt, record: dict[str, Any] | None) -> None:
        att.close()
        del self.active[(att.rseq, att.attempt)]
        now = self.clock.now_us()
        if record is None and att.pid is None and not (att.dir / "supervisor.pid").exists():
            self._relaunch_unstarted(att, now)
            return
        code: int | None = None
        if record is not None and isinstance(record.get("exit_code"), int):
            code = int(record["exit_code"])
        else:
            self._kill_runner(att)
        with db.Transaction(self.conn):
            self.conn.execute(
                "UPDATE attempts SET state = 'done', exit_code = ?, ended_us = ?"
                " WHERE rseq = ? AND attempt = ?",
                (code, now, att.rseq, att.attempt),
            )
            total = att.retry_count + 1
            if code is None:
                self._log(
                    att.rseq,
                    f"attempt {att.attempt} of {total}: its supervisor died without recording an"
                    " exit status (killed?); counting the attempt as failed",
                )
            elif code < 0:
                self._log(att.rseq, f"attempt {att.attempt} of {total} killed by signal {-code}")
            else:
                self._log(att.rseq, f"attempt {att.attempt} of {total} exited with code {code}")
            if code == 0:
                store.set_status(self.conn, att.rseq, "SUCCEEDED", self.clock.now_us())
            else:
                self._after_failure(att.rseq, att.attempt, att.retry_count)
        # Every line of it is stored and the attempt is closed for good: the spool is only a
        # second copy of the log now.
        with contextlib.suppress(OSError):
            (att.dir / "spool").unlink()

    def _relaunch_unstarted(self, att: Attempt, now: int) -> None:
        """The engine died between recording a launch and starting its supervisor (the
        supervisor writes its pid file first thing, and the launch grace is over): the handler
        never ran, so this is no failed attempt. Launch it again under the same number rather
        than spend the run's retry budget (or fail a run with no retries) on the engine's crash.
        """
        with db.Transaction(self.conn):
            self.conn.execute(
                "UPDATE attempts SET state = 'done', ended_us = ? WHERE rseq = ? AND attempt = ?",
                (now, att.rseq, att.attempt),
            )
            self.conn.execute(
                "UPDATE runs SET attempts = ? WHERE rseq = ?", (att.attempt - 1, att.rseq)
            )
            self._log(
                att.rseq,
                f"attempt {att.attempt} of {att.retry_count + 1} never started (the engine"
                " stopped while launching it); starting it again",
            )
            store.set_status(self.conn, att.rseq, "RUNNABLE", now)

    def _after_failure(self, rseq: int, attempt: int, retry_count: int) -> None:
        """Inside a transaction: retry (RUNNABLE, picked first by its queue) or FAILED."""
        if attempt < retry_count + 1:
            self._log(rseq, f"retrying: {retry_count + 1 - attempt} attempt(s) left")
            store.set_status(self.conn, rseq, "RUNNABLE", self.clock.now_us())
        else:
            self._log(rseq, f"run failed after {attempt} attempt(s)")
            store.set_status(self.conn, rseq, "FAILED", self.clock.now_us())

    def _kill_runner(self, att: Attempt) -> None:
        """A dead supervisor may leave its handler running (until its next write fails)."""
        pid = read_pid(att.dir / "runner.pid")
        if pid is not None and process_matches(pid, str(att.dir)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    # -- scheduling ----------------------------------------------------------------------------

    def _schedule(self) -> None:
        rows = self.conn.execute(
            "SELECT rseq, status, queue_key FROM runs WHERE status NOT IN ('SUCCEEDED', 'FAILED')"
            " ORDER BY rseq"
        ).fetchall()
        if not rows:
            return
        busy = {self._queue_of(att.queue_key) for att in self.active.values()}
        submitted = [rseq for rseq, status, _ in rows if status == "SUBMITTED"]
        if submitted:
            with db.Transaction(self.conn):
                now = self.clock.now_us()
                for rseq in submitted:
                    store.set_status(self.conn, rseq, "PENDING", now)
        # A RUNNABLE run is one whose retry is due: it keeps its place at the head of its queue.
        candidates: dict[int, tuple[int, int]] = {}
        for rseq, status, queue_key in rows:
            queue = self._queue_of(queue_key)
            if queue in busy or status not in ("SUBMITTED", "PENDING", "RUNNABLE"):
                continue
            rank = 0 if status == "RUNNABLE" else 1
            if queue not in candidates or (rank, rseq) < candidates[queue]:
                candidates[queue] = (rank, rseq)
        for _rank, rseq in candidates.values():
            self._launch(rseq)

    def _launch(self, rseq: int) -> None:
        row = self.conn.execute(
            "SELECT r.run_id, r.deployment_id, r.version_id, r.model_version, r.input_data,"
            " r.environment, r.retry_count, r.queue_key, r.attempts, r.status, v.handler,"
            " v.code_dir FROM runs r LEFT JOIN versions v ON v.version_id = r.version_id"
            " WHERE r.rseq = ?",
            (rseq,),
        ).fetchone()
        (
            run_id,
            deployment_id,
            version_id,
            model_version,
            input_data,
            environment,
            retry_count,
            queue_key,
            attempts,
            status,
            handler,
            code_dir,
        ) = row
        attempt = attempts + 1
        adir = self.runs_dir / run_id / f"attempt-{attempt}"
        adir.mkdir(parents=True, exist_ok=True)
        spec = {
            "code_dir": code_dir,
            "handler": handler,
            "input_data": json.loads(input_data),
            "environment": json.loads(environment),
            "context": {
                "run_id": run_id,
                "deployment_id": deployment_id,
                "version_id": version_id,
                "model_version": model_version,
                "organization_id": self.meta.organization_id,
                "attempt": attempt,
                "retry_count": retry_count,
            },
        }
        with db.Transaction(self.conn):
            now = self.clock.now_us()
            if status != "RUNNABLE":
                store.set_status(self.conn, rseq, "RUNNABLE", now)
            store.set_status(self.conn, rseq, "STARTING", self.clock.now_us())
            self.conn.execute(
                "INSERT OR REPLACE INTO attempts (rseq, attempt, state, dir, started_us)"
                " VALUES (?, ?, 'launching', ?, ?)",
                (rseq, attempt, str(adir), now),
            )
            self.conn.execute("UPDATE runs SET attempts = ? WHERE rseq = ?", (attempt, rseq))
            self._log(rseq, f"attempt {attempt} of {retry_count + 1} starting")
        spec["clock_after_us"] = self.clock.last_us
        (adir / "spec.json").write_text(json.dumps(spec))
        att = Attempt(rseq, run_id, attempt, adir, queue_key, retry_count, None, 0)
        self.active[(rseq, attempt)] = att
        try:
            with open(adir / "supervisor.log", "ab") as out:
                att.proc = subprocess.Popen(
                    [sys.executable, "-m", "runwatch.engine.supervisor", str(adir)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    # Its own session: the engine's terminal, its Ctrl-C and its death do not
                    # reach the run.
                    start_new_session=True,
                    close_fds=True,
                )
        except OSError as exc:
            with db.Transaction(self.conn):
                self._log(rseq, f"could not start the supervisor: {exc}")
            (adir / "exit.json").write_text(json.dumps({"exit_code": 127}))
            return
        att.pid = att.proc.pid
        self.conn.execute(
            "UPDATE attempts SET state = 'running', supervisor_pid = ?"
            " WHERE rseq = ? AND attempt = ?",
            (att.pid, rseq, attempt),
        )

    # -- shutdown ------------------------------------------------------------------------------

    def close(self) -> None:
        for att in self.active.values():
            att.close()
