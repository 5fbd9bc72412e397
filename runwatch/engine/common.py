"""Ids, clock and time formatting shared by the engine, its supervisors and `runwatch deploy`.

Stdlib only: supervisors import this module and must start fast.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from datetime import UTC, datetime

CLOCK_ENV = "RUNWATCH_ENGINE_CLOCK"
IDS_ENV = "RUNWATCH_ENGINE_IDS"

# How recentlogs says that no more logs lie one way: "seed" answers [] (the API reference's
# words), "cloudwatch" hands back the token it was given (GetLogEvents).
LOG_TOKEN_STYLES = ("seed", "cloudwatch")

ORG_ID_RE = re.compile(r"^[0-9]{13}$")
# The one organization's name: what an abeja CLI configuration's organization-name says.
ORGANIZATION_NAME = "runwatch-local"
DEPLOYMENT_ID_RE = re.compile(r"^[0-9]{13}$")
VERSION_ID_RE = re.compile(r"^ver-[0-9a-f]{16}$")
RUN_ID_RE = re.compile(r"^run-[0-9]{16}$")
# module.sub:function, nothing that could name a path outside the version dir.
HANDLER_RE = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)


class Clock:
    """Microseconds since the epoch, UTC; frozen: deterministic and strictly increasing."""

    def __init__(self, spec: str | None = None) -> None:
        spec = os.environ.get(CLOCK_ENV, "") if spec is None else spec
        self._frozen: int | None = None
        self._lock = threading.Lock()
        self._last = 0
        if spec.startswith("frozen:"):
            self._frozen = parse_time_us(spec[len("frozen:") :])
            if self._frozen is None:
                raise ValueError(f"{CLOCK_ENV}: bad instant {spec!r}")

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    @property
    def last_us(self) -> int:
        """The last time handed out (0 before the first)."""
        return self._last

    def not_before(self, us: int) -> None:
        """Hand out only times after `us`: a frozen clock in another process (an attempt's
        supervisor) continues the engine's count, so a log's stored order stays time order."""
        with self._lock:
            self._last = max(self._last, us)

    def now_us(self) -> int:
        with self._lock:
            if self._frozen is not None:
                self._last = max(self._last + 1, self._frozen + 1)
                return self._last
            # Strictly increasing even if the wall clock steps back: stored order = time order.
            now = time.time_ns() // 1000
            self._last = now if now > self._last else self._last + 1
            return self._last


_second_cache: dict[int, str] = {}


def format_us(ts_us: int) -> str:
    """`2018-01-01T00:00:00.000000Z`, cached per second: a log page formats a thousand."""
    seconds, micros = divmod(ts_us, 1_000_000)
    prefix = _second_cache.get(seconds)
    if prefix is None:
        prefix = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if len(_second_cache) > 4096:
            _second_cache.clear()
        _second_cache[seconds] = prefix
    return f"{prefix}.{micros:06d}Z"


def parse_time_us(value: str) -> int | None:
    """ISO 8601 (fraction optional; `Z`, offset, or no zone = UTC) -> microseconds, or None."""
    text = value.strip()
    if not text or len(text) > 64:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    except OverflowError:
        return None
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def random_digits(n: int) -> str:
    first = str(secrets.randbelow(9) + 1)
    return first + "".join(str(secrets.randbelow(10)) for _ in range(n - 1))


def new_token() -> str:
    return secrets.token_urlsafe(32)
