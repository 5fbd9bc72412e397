"""Where the newest instant of a run's log begins, when the newest page lies inside it.

A follower that goes on by time skips, at the time of the newest event it delivered, as many
events as it counted there, from the first event at that time in the log (`log_edges`). The
newest page of `recentlogs` can begin inside one instant: a handler that prints 1,100 lines at
once gets them stored at one time, and the newest page holds the last 1,000. Counted within the
page, the edge said 1,000 where the log held 1,100 up to it, and the first step by time handed
out the newest 100 lines again (seen in the dashboard under load, 1 run in 4).

So the start reads that instant's second oldest first through `logs`, whose `next_token` is a
position on every server (whatever shape its `recentlogs` tokens take), to the end of the log:
every event at that time is in the read, also lines logged meanwhile, and the read's own end
is where following goes on. Counting by `recentlogs` pages back by time could not tell lines
that arrived at that instant after the newest page from the ones before it.
"""

from __future__ import annotations

from datetime import datetime

from runwatch.api.models import LogEvent
from runwatch.follow.log_edges import (
    TokenAnswer,
    classify_token,
    floor_second,
    newest_edge,
    oldest_edge,
)
from runwatch.follow.log_source import LogSource

__all__ = ["MAX_INSTANT_PAGES", "read_instant", "whole_instant"]

# A second holding this many pages (200,000 lines; the engine stores one pipe read, at most
# 64 KiB, at one instant) is not read whole: the follower keeps the page's own count.
MAX_INSTANT_PAGES = 200


async def whole_instant(source: LogSource, page: list[LogEvent]) -> list[LogEvent] | None:
    """The newest page (oldest first) read again with all of its instant before it and all
    logged since, when every event on it shares one time; else None."""
    front, newest = oldest_edge(page, None), newest_edge(page, None)
    if front is None or newest is None or front.time != newest.time:
        return None
    return await read_instant(source, newest.time, newest.count)


async def read_instant(source: LogSource, when: datetime, held: int) -> list[LogEvent] | None:
    """Every event from the start of `when`'s second to the end of the log, oldest first;
    None when the read cannot stand for the newest page that held `held` events at `when`
    (more pages than the bound, or `logs` ending short of what `recentlogs` showed)."""
    start = floor_second(when)
    events: list[LogEvent] = []
    token: str | None = None
    used: set[str] = set()
    for _ in range(MAX_INSTANT_PAGES):
        page = await source.logs(token=token, start=start)
        # A server that ignores start_time reads from earlier on: only the second is kept.
        events.extend(e for e in page.events if e.timestamp is None or e.timestamp >= start)
        answer = classify_token(page.forward, token)
        if answer is not TokenAnswer.USABLE or not page.events or page.forward in used:
            break
        token = page.forward
        used.add(token)
    else:
        return None
    at_when = sum(1 for event in events if event.timestamp == when)
    return events if at_when >= held else None
