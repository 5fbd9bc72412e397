"""The one connection state of the dashboard: every pane reports into it, the status line reads it.

Each data source (runs, detail, logs) is either fine or in an outage (reconnecting, with a
reason and the time of the next try). Above the sources: a block (401/403, a deployment that
is not found, an internal error) that stops polling until the user acts, the pause key, and
the start-up phases. `view()` turns all of it into the one line the status bar shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

Mode = Literal[
    "starting", "loading", "live", "paused", "reconnecting", "auth", "not_found", "failed"
]


class Block(StrEnum):
    """Why polling stopped until the user acts."""

    # 401/403 or a refused TLS certificate: the settings (ctrl+r re-reads the profile)
    AUTH = "auth"
    NOT_FOUND = "not_found"  # the deployment is not there (d switches)
    FAILED = "failed"  # no organization, no deployment, engine failed, an internal error


@dataclass(frozen=True)
class Connection:
    """What the status line shows: one mode, why, how fresh, when the next try is."""

    mode: Mode = "starting"
    reason: str = ""
    last_ok: datetime | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class Outage:
    reason: str
    retry_at: datetime


class ConnectionState:
    def __init__(self) -> None:
        self.outages: dict[str, Outage] = {}
        self.block: Block | None = None
        self.block_reason = ""
        self.last_ok: datetime | None = None
        self.paused = False
        self.connected = False
        self.phase_text = "starting the local engine…"
        self._listeners: list[Callable[[], None]] = []

    def listen(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in list(self._listeners):
            callback()

    # -- what panes report ----------------------------------------------------------------

    def succeeded(self, source: str, now: datetime) -> None:
        had = self.outages.pop(source, None)
        first = self.last_ok is None
        self.last_ok = now
        # Only a success that changes what is shown is news: the first (loading -> live) or
        # the end of an outage. The others only move `last_ok`, which the status line reads
        # on its own tick; telling every listener of each of the ~8 polls a second while a
        # log pours in cost a status-line and a log-marker update each.
        if had is not None or (first and self.block is None):
            self._changed()

    def failing(self, source: str, reason: str, retry_at: datetime) -> None:
        self.outages[source] = Outage(reason, retry_at)
        self._changed()

    def forget(self, source: str) -> None:
        if self.outages.pop(source, None) is not None:
            self._changed()

    def blocked(self, block: Block, reason: str) -> None:
        self.block = block
        self.block_reason = reason
        self._changed()

    def unblock(self) -> None:
        if self.block is not None:
            self.block = None
            self.block_reason = ""
            self._changed()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self._changed()

    def starting(self, text: str) -> None:
        self.connected = False
        self.phase_text = text
        self._changed()

    def connecting(self, text: str = "connecting…") -> None:
        self.connected = True
        self.block = None
        self.phase_text = text
        self._changed()

    # -- what the status line and the panes read ------------------------------------------

    @property
    def stale(self) -> bool:
        """Shown data may be out of date: a source is failing or polling is blocked."""
        return bool(self.outages) or self.block is not None

    def outage(self, source: str) -> Outage | None:
        return self.outages.get(source)

    def view(self) -> Connection:
        if self.block is not None:
            return Connection(self.block.value, self.block_reason, self.last_ok)  # type: ignore[arg-type]
        if self.outages:
            source = "runs" if "runs" in self.outages else next(iter(self.outages))
            outage = self.outages[source]
            return Connection("reconnecting", outage.reason, self.last_ok, outage.retry_at)
        if not self.connected:
            return Connection("starting", self.phase_text)
        if self.last_ok is None:
            return Connection("loading", self.phase_text)
        return Connection("paused" if self.paused else "live", "", self.last_ok)
