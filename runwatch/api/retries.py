"""The retry policy: which failures are retried, and after how long (Retry-After honoured)."""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from runwatch.api.connection_config import DEFAULT_MAX_RETRY_COUNT

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRY_COUNT
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A longer Retry-After is handed to the caller (HttpError.retry_after) rather than slept on.
    max_retry_after: float = 60.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), or None if absent/unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds == float("inf"):
        return None
    return max(0.0, seconds)


def is_retryable_error(error: Exception, *, idempotent: bool) -> bool:
    if isinstance(error, httpx.ConnectError):
        # No connection, so no byte of the request left this machine: safe even for a POST.
        return True
    if not idempotent:
        return False
    if isinstance(error, httpx.UnsupportedProtocol | httpx.ProxyError):
        return False
    return isinstance(error, httpx.TimeoutException | httpx.NetworkError | httpx.ProtocolError)


def retry_delay(
    policy: RetryPolicy,
    *,
    attempt: int,
    idempotent: bool,
    status_code: int | None = None,
    error: Exception | None = None,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up.

    `attempt` is how many attempts have been made (1 after the first). Backoff is exponential
    with "equal jitter" (half fixed, half random); a Retry-After the server sent is a floor.
    """
    if attempt > policy.max_retries:
        return None
    if error is not None:
        if not is_retryable_error(error, idempotent=idempotent):
            return None
    elif status_code is None or not idempotent or status_code not in RETRY_STATUSES:
        return None
    backoff = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    delay: float = backoff / 2 + (rng or random.Random()).uniform(0, backoff / 2)
    if retry_after is not None:
        if retry_after > policy.max_retry_after:
            return None
        delay = max(delay, retry_after)
    return delay
