"""Typed, read-only views of the Run API's wire dicts.

The client methods return the decoded JSON exactly as the SDK does; these views are what the
UI works with. They are deliberately tolerant: the hosted platform has been seen sending
`input_data` as a JSON string, statuses can grow, and fields can be missing. The only thing a
view refuses is a value that cannot be a run or a log event at all (`ResponseShapeError`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from runwatch.api.errors import ResponseShapeError

__all__ = [
    "STATUS_STYLES",
    "TERMINAL_STATUSES",
    "Creator",
    "Deployment",
    "LogEvent",
    "Run",
    "RunStatus",
    "Version",
    "format_time",
    "is_terminal",
    "parse_time",
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


def parse_time(value: object) -> datetime | None:
    """A wire timestamp as an aware UTC datetime, or None when it is missing or unreadable.

    Accepts ISO 8601 with or without fractional seconds, with `Z`, an offset, or no zone
    (taken as UTC, which is what the API means), and datetime objects.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    try:
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def format_time(dt: datetime) -> str:
    """The wire form, `2018-01-01T00:00:00.000000Z`. A naive datetime is taken as UTC."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    # Not strftime: glibc does not zero-pad years below 1000.
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond:06d}Z"
    )


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages about a wrong shape."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


# No real answer nests anywhere near this (the engine refuses request bodies deeper than 64).
MAX_JSON_DEPTH = 100


def nested_deeper_than(value: Any, limit: int) -> bool:
    """True when arrays/objects nest more than `limit` levels (checked without recursion).

    Whatever shows or re-encodes a value later (json.dumps with indent, the scrubber, repr)
    recurses once per level; a hostile server's 900-level body would end in RecursionError
    far from here. Level by level, one comprehension each: ~0.2 ms for a 1,000-event page.
    """
    level = [value]
    depth = 0
    while level:
        if depth > limit:
            return True
        level = [
            child
            for item in level
            for child in (
                item.values() if type(item) is dict else item if type(item) is list else ()
            )
            if type(child) is dict or type(child) is list
        ]
        depth += 1
    return False


def _optional_str(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _optional_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _maybe_json(value: object) -> Any:
    """Decode a JSON-encoded string (the platform sometimes double-encodes); else as given.

    A string that decodes to something nested deeper than a whole answer may be
    (MAX_JSON_DEPTH) stays a string: what shows or re-encodes the value later recurses once
    per level, and must not meet a RecursionError far from here.
    """
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return value
    return value if nested_deeper_than(decoded, MAX_JSON_DEPTH) else decoded


def _str_mapping(value: object) -> Mapping[str, str]:
    decoded = _maybe_json(value)
    if not isinstance(decoded, Mapping):
        return MappingProxyType({})
    return MappingProxyType({str(k): _as_text(v) for k, v in decoded.items()})


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


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
        version_id = _optional_str(data.get("model_version_id"))
        if version_id is None:
            version_id = _optional_str(data.get("version_id"))
        return cls(
            run_id=run_id,
            status=status if isinstance(status, str) else ("" if status is None else str(status)),
            deployment_id=_optional_str(data.get("deployment_id")),
            version_id=version_id,
            model_version=_optional_str(data.get("model_version")),
            models=_str_mapping(data.get("models")),
            input_data=_maybe_json(data.get("input_data")),
            output_template=_maybe_json(data.get("output_template")),
            retry_count=_optional_int(data.get("retry_count")),
            distribution=_optional_int(data.get("distribution")),
            user_env_vars=_str_mapping(data.get("user_env_vars")),
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


@dataclass(frozen=True, slots=True)
class LogEvent:
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


def _parse_entries(data: object, parse: Callable[[object], T], what: str) -> list[T]:
    """The parsed `entries` of a list answer, leaving out entries `parse` refuses."""
    entries = data.get("entries") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise ResponseShapeError(f"a {what} list without an entries array")
    found: list[T] = []
    for entry in entries:
        try:
            found.append(parse(entry))
        except ResponseShapeError:
            continue
    return found


def _id_text(value: object) -> str | None:
    """An id as text: the platform's ids are digit strings, and a number is taken as one."""
    if isinstance(value, bool):
        return None
    text = _optional_str(value)
    return text if text else None


@dataclass(frozen=True, slots=True)
class Creator:
    """Who created a deployment or a version (the platform's user object)."""

    user_id: str | None
    display_name: str | None
    email: str | None
    role: str | None

    @classmethod
    def from_wire(cls, data: object) -> Creator | None:
        """The creator, or None when the field is missing or not an object."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            user_id=_id_text(data.get("id")),
            display_name=_optional_str(data.get("display_name")) or None,
            email=_optional_str(data.get("email")) or None,
            role=_optional_str(data.get("role")) or None,
        )

    @property
    def label(self) -> str:
        """The name a person would recognise: display name, else email, else the user id."""
        return self.display_name or self.email or self.user_id or "?"


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment as `abeja.deployments` shows it. Only `deployment_id` is required."""

    deployment_id: str
    name: str | None
    creator: Creator | None
    default_environment: Mapping[str, str]
    created_at: datetime | None
    modified_at: datetime | None
    raw: Mapping[str, Any]

    @classmethod
    def from_wire(cls, data: object) -> Deployment:
        if not isinstance(data, Mapping):
            raise ResponseShapeError(f"a deployment must be a JSON object, got {json_type(data)}")
        deployment_id = _id_text(data.get("deployment_id"))
        if deployment_id is None:
            raise ResponseShapeError("a deployment object without a deployment_id")
        return cls(
            deployment_id=deployment_id,
            name=_optional_str(data.get("name")) or None,
            creator=Creator.from_wire(data.get("creator")),
            default_environment=_str_mapping(data.get("default_environment")),
            created_at=parse_time(data.get("created_at")),
            modified_at=parse_time(data.get("modified_at")),
            raw=MappingProxyType(dict(data)),
        )

    @classmethod
    def list_from_wire(cls, data: object) -> list[Deployment]:
        """The deployments of a list answer (`{"entries": [...]}`).

        An entry without an id is left out: its runs could not be asked for (they would be
        polled at `.../deployments/None/runs`), and one odd entry must not hide the others.
        """
        return _parse_entries(data, cls.from_wire, "deployments")

    @property
    def label(self) -> str:
        """`name (id)`, or the id alone for a deployment without a name."""
        return f"{self.name} ({self.deployment_id})" if self.name else self.deployment_id


@dataclass(frozen=True, slots=True)
class Version:
    """A deployment's code version (`abeja.deployments` get_deployment_version)."""

    version_id: str
    version: str | None
    handler: str | None
    image: str | None
    creator: Creator | None
    created_at: datetime | None
    raw: Mapping[str, Any]

    @classmethod
    def from_wire(cls, data: object) -> Version:
        if not isinstance(data, Mapping):
            raise ResponseShapeError(f"a version must be a JSON object, got {json_type(data)}")
        version_id = _id_text(data.get("version_id"))
        if version_id is None:
            raise ResponseShapeError("a version object without a version_id")
        return cls(
            version_id=version_id,
            version=_optional_str(data.get("version")) or None,
            handler=_optional_str(data.get("handler")) or None,
            image=_optional_str(data.get("image")) or None,
            creator=Creator.from_wire(data.get("creator")),
            created_at=parse_time(data.get("created_at")),
            raw=MappingProxyType(dict(data)),
        )

    @classmethod
    def list_from_wire(cls, data: object) -> list[Version]:
        """The versions of a list answer; entries without a version_id are left out."""
        return _parse_entries(data, cls.from_wire, "versions")


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
