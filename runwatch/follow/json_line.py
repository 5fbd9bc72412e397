"""A JSON log line read as a record: its message, level, time and the other fields.

Structured loggers (structlog, python-json-logger, pino, zap, bunyan) write one JSON object a
line. The log pane shows them pretty (`J`), and reads their level and time from the fields,
not from wherever a level word happens to fall in the text. UI-free.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from runwatch.follow.log_levels import Level, json_level

__all__ = ["JsonRecord", "json_record", "looks_like_json"]

MESSAGE_KEYS = ("message", "msg", "event", "text", "log")
TIME_KEYS = ("time", "timestamp", "ts", "@timestamp", "asctime", "datetime", "t")


class JsonRecord(NamedTuple):
    fields: dict[str, Any]
    message: str | None
    level: Level | None
    time: str | None
    # The fields other than the message, level and time, in the order written.
    rest: list[tuple[str, Any]]


def looks_like_json(text: str) -> bool:
    """Cheap: whether `text` may be a JSON object line (checked before parsing it)."""
    return text[:1] == "{" and text.rstrip()[-1:] == "}"


def json_record(text: str) -> JsonRecord | None:
    """The record of a JSON object line, or None when the line is not one."""
    if not looks_like_json(text):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or not value:
        return None
    message_key = _first_key(value, MESSAGE_KEYS, str)
    time_key = _first_key(value, TIME_KEYS, (str, int, float))
    level = json_level(text)
    level_key = next(
        (key for key in ("level", "levelname", "severity", "lvl", "log.level") if key in value),
        None,
    )
    used = {message_key, time_key, level_key}
    rest = [(str(key), field) for key, field in value.items() if key not in used]
    message = value[message_key] if message_key is not None else None
    time = str(value[time_key]) if time_key is not None else None
    return JsonRecord(value, message, level, time, rest)


def _first_key(value: dict[str, Any], keys: tuple[str, ...], kind: Any) -> str | None:
    for key in keys:
        field = value.get(key)
        if isinstance(field, kind) and not isinstance(field, bool):
            return key
    return None


def field_text(value: Any) -> str:
    """A field's value on one line: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):  # pragma: no cover - json.loads gives only dumpable values
        return repr(value)
