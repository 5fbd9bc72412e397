"""A supervised attempt as the scheduler sees it, and what it leaves on disk to be read back:
its pid and exit files, and its spool of timestamped log records.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from runwatch.engine import log_blocks

# Longer lines are stored as several events so one event (and so one page) stays bounded.
MAX_MESSAGE = 64 * 1024
ENGINE_PREFIX = "[engine] "


@dataclass
class Attempt:
    rseq: int
    run_id: str
    attempt: int
    dir: Path
    queue_key: int
    retry_count: int
    pid: int | None
    offset: int
    proc: subprocess.Popen[bytes] | None = None
    running_reported: bool = False
    file: IO[bytes] | None = field(default=None, repr=False)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def process_matches(pid: int, needle: str) -> bool:
    """Is `pid` alive, not a zombie, and (where /proc exists) running with `needle` in its argv?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True
    try:
        stat = (proc / "stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        return needle in (proc / "cmdline").read_bytes().decode("utf-8", "replace")
    except (OSError, IndexError):
        return False


def split_events(data: bytes) -> tuple[list[log_blocks.LogGroup], int]:
    """Parse whole spool records from `data`: ((ts_us, lines) groups, bytes consumed)."""
    events: list[log_blocks.LogGroup] = []
    pos = 0
    size = len(data)
    while True:
        nl = data.find(b"\n", pos, pos + 48)
        if nl < 0:
            break
        try:
            ts_text, n_text = data[pos:nl].split(b" ")
            ts, n = int(ts_text), int(n_text)
        except ValueError:
            # Records are written with single write() calls, so this means a damaged file:
            # keep what can be read and say so rather than stalling the run forever.
            events.append((0, [ENGINE_PREFIX + "spool damaged; the rest of this attempt is lost"]))
            return events, size
        end = nl + 1 + n
        if end > size:
            break
        text = data[nl + 1 : end].decode("utf-8", "replace")
        lines = text.split("\n")
        lines.pop()
        if "\r" in text:
            lines = [line.removesuffix("\r") for line in lines]
        if len(text) > MAX_MESSAGE and max(map(len, lines)) > MAX_MESSAGE:
            lines = [
                line[start : start + MAX_MESSAGE]
                for line in lines
                for start in range(0, max(len(line), 1), MAX_MESSAGE)
            ]
        events.append((ts, lines))
        pos = end
    return events, pos


def read_exit(path: Path) -> dict[str, Any] | None:
    """The supervisor's exit record, or None while it is missing or half-written."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
