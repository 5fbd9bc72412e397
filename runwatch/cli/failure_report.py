"""Why a run failed, for the commands: the summary `logs -f` and `watch` end with on stderr,
and the reason column of `runs --reason`. The reading of the log is `follow.failure`'s.

Only the standard library at module level (see common.py).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from runwatch.cli import common
from runwatch.cli.terminal_output import inert

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.follow.failure import FailureSummary
    from runwatch.follow.log_source import LogSource

# `runs --reason` reads the newest log page of this many failed runs at a time.
REASON_CONCURRENCY = 4
# The reason column's width: a glance, `logs -f` has the whole of it.
REASON_WIDTH = 80


def summary_lines(run_id: str, summary: FailureSummary | None) -> list[str]:
    """The summary as stderr shows it: a headline, then the lines indented."""
    name = inert(run_id)
    if summary is None:
        return [f"runwatch: {name} FAILED; its log is empty"]
    if summary.reason is None:
        head = f"runwatch: {name} FAILED; its log names no error. Its last lines:"
    else:
        head = f"runwatch: {name} FAILED: {inert(summary.reason)}"
    return [head, *(f"  {inert(line)}" for line in summary.shown_lines())]


async def report_failure(
    source: LogSource | None = None,
    *,
    client: AsyncAPIClient | None = None,
    organization: str = "",
    deployment_id: str = "",
    run_id: str = "",
) -> None:
    """Print why a failed run failed on stderr, read from the end of its log (one request
    when the end holds it). A failed read is one note: the exit status stays the run's."""
    from runwatch.api.errors import ApiError
    from runwatch.follow.failure import find_failure, read_failure

    name = source.run_id if source is not None else run_id
    try:
        if source is not None:
            summary = await find_failure(source)
        else:
            assert client is not None
            summary = await read_failure(client, organization, deployment_id, run_id)
    except ApiError as exc:
        common.note(f"could not read why {inert(name)} failed: {common.describe_error(exc)}")
        return
    sys.stderr.write("\n".join(summary_lines(name, summary)) + "\n")
    sys.stderr.flush()


async def reasons(
    client: AsyncAPIClient, organization: str, deployment_id: str, run_ids: list[str]
) -> dict[str, str]:
    """The reason of each failed run, from its newest log page only (one request each, at
    most `REASON_CONCURRENCY` at a time); "?" where the page could not be read, "-" where it
    names no error."""
    import asyncio

    from runwatch.api.errors import ApiError
    from runwatch.follow.failure import read_failure

    limit = asyncio.Semaphore(REASON_CONCURRENCY)

    async def one(run_id: str) -> str:
        async with limit:
            try:
                summary = await read_failure(
                    client, organization, deployment_id, run_id, max_pages=1
                )
            except ApiError:
                return "?"
        if summary is None or summary.reason is None:
            return "-"
        reason = inert(summary.reason)
        return reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 1] + "…"

    found = await asyncio.gather(*(one(run_id) for run_id in run_ids))
    return dict(zip(run_ids, found, strict=True))
