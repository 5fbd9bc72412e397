"""Typed, read-only views of the Run API's wire dicts.

The client methods return the decoded JSON exactly as the SDK does; these views are what the
UI works with. They are deliberately tolerant: the hosted platform has been seen sending
`input_data` as a JSON string, statuses can grow, and fields can be missing. The only thing a
view refuses is a value that cannot be a run or a log event at all (`ResponseShapeError`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from runwatch.api.errors import ResponseShapeError
from runwatch.api.wire_values import (
    json_type,
    maybe_json,
    optional_int,
    optional_str,
    parse_time,
    str_mapping,
)

__all__ = [
    "STATUS_STYLES",
    "TERMINAL_STATUSES",
    "LogEvent",
    "Run",
    "RunStatus",
    "is_terminal",
    "status_style",
]


T = TypeVar("T")


class RunStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    RUNNABLE = "RUNNABLE"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self.value in TERMINAL_STATUSES


TERMINAL_STATUSES: frozenset[str] = frozenset({"SUCCEEDED", "FAILED"})


# The name of a variable in a run's environment: what a shell (and os.environ) can carry.
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_terminal(status: str) -> bool:
    """True for SUCCEEDED and FAILED. An unknown status is treated as still moving."""
    return status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    status: str
    deployment_id: str | None
    version_id: str | None
    model_version: str | None
    models: Mapping[str, str]
    input_data: Any
    output_template: Any
    retry_count: int | None
    distribution: int | None
    user_env_vars: Mapping[str, str]
    created_at: datetime | None
    modified_at: datetime | None
    raw: Mapping[str, Any]

    @classmethod
    def from_wire(cls, data: object) -> Run:
        if not isinstance(data, Mapping):
            raise ResponseShapeError(f"a run must be a JSON object, got {json_type(data)}")
        run_id = data.get("run_id")
        if not isinstance(run_id, str) or not run_id:
            raise ResponseShapeError("a run object without a string run_id")
        status = data.get("status")
        version_id = optional_str(data.get("model_version_id"))
        if version_id is None:
            version_id = optional_str(data.get("version_id"))
        return cls(
            run_id=run_id,
            status=status if isinstance(status, str) else ("" if status is None else str(status)),
            deployment_id=optional_str(data.get("deployment_id")),
            version_id=version_id,
            model_version=optional_str(data.get("model_version")),
            models=str_mapping(data.get("models")),
            input_data=maybe_json(data.get("input_data")),
            output_template=maybe_json(data.get("output_template")),
            retry_count=optional_int(data.get("retry_count")),
            distribution=optional_int(data.get("distribution")),
            user_env_vars=str_mapping(data.get("user_env_vars")),
            created_at=parse_time(data.get("created_at")),
            modified_at=parse_time(data.get("modified_at")),
            raw=MappingProxyType(dict(data)),
        )

    @property
    def terminal(self) -> bool:
        return is_terminal(self.status)

    def duration(self, now: datetime) -> float | None:
        """Seconds from creation to the end (its last change) of a finished run, or to `now`
        for one still moving; None when the times are not known."""
        if self.created_at is None:
            return None
        end = self.modified_at if self.terminal else now
        return None if end is None else (end - self.created_at).total_seconds()

    def __hash__(self) -> int:
        # The generated hash would fail on the mapping fields; these identify a run's state.
        return hash((self.run_id, self.status, self.modified_at))


class LogEvent(NamedTuple):
    """One line of a run's log. A named tuple, not a frozen dataclass: a follower builds one
    per line, and a tuple is built in a third of the time (tests/bench/bench_follow_cpu.py).
    Equal events are equal and hash alike, as before; unlike before, an event also equals a
    plain tuple of the same three values, which nothing compares it with."""

    message: str
    timestamp: datetime | None
    raw_timestamp: str

    @classmethod
    def from_wire(cls, data: object) -> LogEvent:
        if not isinstance(data, Mapping):
            raise ResponseShapeError(f"a log event must be a JSON object, got {json_type(data)}")
        message = data.get("message")
        if message is None:
            message = ""
        elif not isinstance(message, str):
            message = str(message)
        raw_timestamp = data.get("timestamp")
        if raw_timestamp is None:
            raw_timestamp = ""
        elif not isinstance(raw_timestamp, str):
            raw_timestamp = str(raw_timestamp)
        return cls(
            message=message, timestamp=parse_time(raw_timestamp), raw_timestamp=raw_timestamp
        )


# How each status is shown, by the command line's colours and the dashboard alike: a glyph
# (readable without colour) and a colour (Rich style words; the CLI maps them to ANSI).
STATUS_STYLES: dict[str, tuple[str, str]] = {
    "SUBMITTED": ("○", "dim"),
    "PENDING": ("◌", "yellow"),
    "RUNNABLE": ("◔", "yellow"),
    "STARTING": ("◑", "cyan"),
    "RUNNING": ("▶", "bold cyan"),
    "SUCCEEDED": ("✔", "green"),
    "FAILED": ("✘", "bold red"),
}
UNKNOWN_STATUS_STYLE = ("?", "magenta")


def status_style(status: str) -> tuple[str, str]:
    """(glyph, colour) of a status; an unknown one gets its own, never a known one's."""
    return STATUS_STYLES.get(status, UNKNOWN_STATUS_STYLE)
