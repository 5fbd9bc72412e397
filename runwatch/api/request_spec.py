"""One API call before it meets a base URL or a credential, and the SDK's way of writing ids
and times into it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One API call, before it meets a base URL or a credential."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Mapping[str, Any] | None = None
    # False for create_run: resending a POST that may have arrived could submit the run twice.
    idempotent: bool = True


def path_segment(value: object) -> str:
    """An id inside a path. Characters `requests` would leave alone stay as they are, so normal
    ids go out byte for byte as the SDK sends them; `/ ? # %` are escaped (the SDK would let
    them change the path)."""
    return quote(str(value), safe="!$&'()*+,:;=@[]~")


def sdk_time(value: datetime) -> str:
    """`strftime('%Y-%m-%dT%H:%M:%S')` as the SDK sends it. An aware datetime is first
    converted to UTC (the API's zone); the SDK would send its wall-clock time instead."""
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # strftime, not isoformat: a plain `date` works too, as it does with the SDK.
    return value.strftime("%Y-%m-%dT%H:%M:%S")
