"""Paging through a whole log with `logs` (oldest first), for an export or a dump.

The one copy of the guard against a server that hands back a token it already gave (or pages
with no events): either would be paged for ever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from runwatch.api.errors import ResponseShapeError

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["log_pages"]


async def log_pages(
    client: AsyncAPIClient,
    organization_id: str,
    deployment_id: str,
    run_id: str,
    *,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
) -> AsyncIterator[list[Any]]:
    """Each page's raw events, oldest first, from the first page to the last."""
    token: str | None = None
    used: set[str] = set()
    while True:
        data = await client.get_run_logs(
            organization_id,
            deployment_id,
            run_id,
            next_token=token,
            start_time=start_time,
            end_time=end_time,
        )
        events = data.get("events") or []
        if not isinstance(events, list):
            raise ResponseShapeError("logs: 'events' is not a list")
        yield events
        next_token = data.get("next_token")
        if not isinstance(next_token, str) or not next_token or next_token in used or not events:
            return
        used.add(next_token)
        token = next_token
