"""Paging back for a jump (`e`, `g`, `:`, a mark) to a line before the loaded ones.

Pages are fetched without being shown: putting each one in the view cost a frame a page, far
more than the page itself (a 900,000-line seek took minutes). They wait here until one may
hold the line sought (`Seek.may_hold`), the log's start is reached, or they make half the
view's bound; then they go into the view at once and the view looks for the line among them
(`LogView.seek_step`). The view stops following meanwhile, so nothing leaves its top, where
the pages join.
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
) -> None:
    """Load older pages until `seek` is over (found, given up, or cancelled)."""
    from runwatch.api.errors import ApiError

    pages: list[list[LogEvent]] = []
    held = 0
    idle = 0
    front = view.dropped_front
    shown_at = time.monotonic()
    limit = max(1, view.max_lines // 2)
    while view.seeking is seek:
        source = source_of()
        if source is None or idle > MAX_IDLE:
            view.seek_failed("Could not page back through the log")
            return
        try:
            events = await source.older()
        except ApiError as error:
            view.seek_failed(f"Could not load older lines: {error.short_reason}")
            return
        if view.dropped_front != front or source is not source_of():
            # Lines left the top (or the pager was replaced) while the page was on its way:
            # it no longer joins what is held. Start again from the oldest line held.
            pages, held, front = [], 0, view.dropped_front
            idle += 1
            continue
        idle = 0 if events else idle + 1
        pages.append(events)
        held += len(events)
        seek.lines += len(events)
        if source.at_start or seek.may_hold(events) or held >= limit:
            older_first = [event for page in reversed(pages) for event in page]
            pages, held = [], 0
            view.prepend(older_first)
            view.at_start = source.at_start
            if view.seek_step(0):
                return
        if time.monotonic() - shown_at >= PROGRESS_EVERY:
            shown_at = time.monotonic()
            progress()
