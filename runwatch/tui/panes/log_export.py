"""`e` in the log pane: the whole log of a run, every line as sent, into a file."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from runwatch.follow.log_read import read_log

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient


def file_name(run_id: str) -> str:
    """A run id as a file name: the server chose it, so no `/`, `..` or controls get through."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)[:120].lstrip(".")
    return name or "run"


def free_path(path: Path) -> Path:
    """`path`, or the first `name-N.ext` beside it that does not exist yet."""
    if not path.exists():
        return path
    for index in range(1, 10_000):
        candidate = path.with_name(f"{path.stem}-{index}{path.suffix}")
        if not candidate.exists():
            return candidate
    return path


async def export_log(
    client: AsyncAPIClient,
    organization_id: str,
    deployment_id: str,
    run_id: str,
    path: Path,
    progress: Callable[[int], None],
) -> int:
    """Write every line (`timestamp message`) to `path`; `progress` gets the count so far."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        async for events in read_log(client, organization_id, deployment_id, run_id):
            out.writelines(f"{event.raw_timestamp or ''} {event.message}\n" for event in events)
            count += len(events)
            progress(count)
    return count
