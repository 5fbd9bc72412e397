"""Reading wire values tolerantly: times, optional strings and numbers, JSON-or-text fields,
list answers; and the JSON nesting limit every view and body check shares.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from runwatch.api.errors import ResponseShapeError

T = TypeVar("T")


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


def optional_str(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def optional_int(value: object) -> int | None:
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


def maybe_json(value: object) -> Any:
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


def str_mapping(value: object) -> Mapping[str, str]:
    decoded = maybe_json(value)
    if not isinstance(decoded, Mapping):
        return MappingProxyType({})
    return MappingProxyType({str(k): as_text(v) for k, v in decoded.items()})


def as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def parse_entries(data: object, parse: Callable[[object], T], what: str) -> list[T]:
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


def id_text(value: object) -> str | None:
    """An id as text: the platform's ids are digit strings, and a number is taken as one."""
    if isinstance(value, bool):
        return None
    text = optional_str(value)
    return text if text else None
