"""What a follower does after a failed request, one rule for the log follower, the run watcher
and the dashboard: errors retrying cannot fix are raised; any other waits out the schedule's
backoff (longer if the server said Retry-After, shorter while nothing is listening).
"""

from __future__ import annotations

from collections.abc import Callable

from runwatch.api.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    NotFound,
    TlsRefused,
    Unauthorized,
)
from runwatch.follow.schedule import PollSchedule, refused_connection

__all__ = ["FATAL_ERRORS", "ErrorHook", "back_off", "failure_delay", "is_fatal"]

# Errors that retrying cannot fix: the follower re-raises them instead of backing off.
# BadRequest is here because the only 400 recentlogs gives is a token the server rejects,
# and asking again with the same token would fail forever; a refused certificate is refused
# on every try.
FATAL_ERRORS: tuple[type[ApiError], ...] = (
    Unauthorized,
    Forbidden,
    NotFound,
    BadRequest,
    TlsRefused,
)

# Told of each failure that will be retried, with the delay before the retry.
ErrorHook = Callable[[ApiError, float], None]


def is_fatal(exc: ApiError) -> bool:
    return isinstance(exc, FATAL_ERRORS)


def failure_delay(schedule: PollSchedule, exc: ApiError) -> float:
    """Record a failure on `schedule` and return the delay before the next try.

    A server that said when to come back (Retry-After) is not asked sooner; one that is not
    listening at all (restarting) is probed often.
    """
    value = getattr(exc, "retry_after", None)
    retry_after = float(value) if isinstance(value, int | float) else None
    return schedule.failed(retry_after, refused=refused_connection(exc))


async def back_off(exc: ApiError, schedule: PollSchedule, on_error: ErrorHook | None) -> None:
    """Raise a fatal error; otherwise report the failure to `on_error` and wait the delay."""
    if is_fatal(exc):
        raise exc
    delay = failure_delay(schedule, exc)
    if on_error is not None:
        on_error(exc, delay)
    await schedule.wait(active=True)
