"""Paging back for a jump (`e`, `g`, `:`, a mark) to a line before the loaded ones.

Pages are fetched without being shown: putting each one in the view cost a frame a page, far
more than the page itself, and most of a long seek's pages would only pass through the
bounded window. They wait here until one may hold the line sought (`Seek.may_hold`) or the
log's start is reached; then they go into the view at once and the view looks for the line
among them (`LogView.seek_step`). At most half the view's bound waits: beyond it the newest
pages waiting are dropped (none may hold the line), and the view then holds only the pages
kept (`replace_lines`), as after paging back that far. The view stops following meanwhile,
so nothing leaves its top, where the pages join.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runwatch.api.models import LogEvent
    from runwatch.follow.log_backward import BackwardPager
    from runwatch.follow.logs import LogFollower
    from runwatch.tui.widgets.log_jumps import Seek
    from runwatch.tui.widgets.log_view import LogView

    Source = LogFollower | BackwardPager

# The marker says how far back the seek is at most this often (each change is a frame).
PROGRESS_EVERY = 0.5
# Pages that hand out nothing before the seek gives up (a pager that cannot move).
MAX_IDLE = 20


async def page_back(
    view: LogView,
    seek: Seek,
    source_of: Callable[[], Source | None],
    progress: Callable[[], None],
) -> bool:
    """Load older pages until `seek` is over (found, given up, or cancelled).

    False when it ended with pages fetched but not handed to the view (another seek
    replaced it): the source has moved past them, so the caller must page from the
    oldest line held again."""
    from runwatch.api.errors import ApiError

    pages: list[list[LogEvent]] = []
    held = 0
    detached = False  # pages between the view's lines and those waiting were dropped
    idle = 0
    front = view.dropped_front
    shown_at = time.monotonic()
    limit = max(1, view.max_lines // 2)
    while view.seeking is seek:
        source = source_of()
        if source is None or idle > MAX_IDLE:
            view.seek_failed("Could not page back through the log")
            return True
        try:
            events = await source.older()
        except ApiError as error:
            view.seek_failed(f"Could not load older lines: {error.short_reason}")
            return not pages
        if view.dropped_front != front or source is not source_of():
            # Lines left the top (or the pager was replaced) while the page was on its way:
            # it no longer joins what is held. Start again from the oldest line held.
            pages, held, detached, front = [], 0, False, view.dropped_front
            idle += 1
            continue
        idle = 0 if events else idle + 1
        if events:
            # (An empty page must not count as a page kept: the bound below drops the pages
            # before it, and a seek that ended on an empty page at the log's start showed an
            # empty pane.)
            pages.append(events)
        held += len(events)
        seek.lines += len(events)
        while held > limit and len(pages) > 1:
            held -= len(pages.pop(0))
            detached = True
        if source.at_start or seek.may_hold(events):
            older_first = [event for page in reversed(pages) for event in page]
            if detached:
                view.replace_lines(older_first, at_start=source.at_start)
            else:
                view.prepend(older_first)
                view.at_start = source.at_start
            pages, held, detached, front = [], 0, False, view.dropped_front
            if view.seek_step(0):
                return True
        if time.monotonic() - shown_at >= PROGRESS_EVERY:
            shown_at = time.monotonic()
            progress()
    # Replaced by another seek: what was fetched and not shown is lost to the source.
    return not pages
