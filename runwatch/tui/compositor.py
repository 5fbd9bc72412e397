"""A partial screen update renders only what it draws.

Textual's compositor answers a partial update (one widget repainted) by asking every widget
whose *clip* overlaps the changed area for its lines, and each for all of its visible rows.
A widget placed on the screen itself is clipped by the whole screen, so it always overlaps:
one new line in the log pane had the status line, the runs table, the detail pane and the
footer render every row again, only for `_render_chops` to throw those rows away (it draws
the changed rows and columns alone). Those renders were about a third of a frame of the log
pane (tests/bench/bench_log_frames.py), at every line of a log that prints one a second.

`install()` replaces `Compositor._get_renders` for partial updates: a widget is rendered
only when the part of it on screen overlaps the changed area, and only its rows in that
area. The rows and columns drawn are the same; full updates (no crop) are left to Textual's
own code. Checked against Textual 8.2 (`textual>=8.2,<9`): read `_get_renders` and
`_render_chops` again before an upgrade (tests/tui/test_compositor.py compares a partial
update with the full render).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip

__all__ = ["install", "installed"]

_TEXTUALS = Compositor._get_renders


def _get_renders(
    self: Compositor, crop: Region | None = None
) -> Iterable[tuple[Region, Region, list[Strip]]]:
    if crop is None:
        yield from _TEXTUALS(self, crop)
        return
    crop_top, crop_bottom = crop.y, crop.bottom
    overlaps = crop.overlaps
    intersection = Region.intersection
    for widget, (region, clip) in self.visible_widgets.items():
        shown = intersection(region, clip)
        if not overlaps(shown):
            continue
        # The rows of it the update draws: `_render_chops` pairs the strips with the rows of
        # region ∩ (this clip), so narrowing the clip to them keeps strips and rows in step.
        # Columns are not narrowed: chops are cut at widgets' edges, not at the crop's.
        top = max(shown.y, crop_top)
        rows = Region(shown.x, top, shown.width, min(shown.bottom, crop_bottom) - top)
        yield (
            region,
            rows,
            widget.render_lines(Region(rows.x - region.x, top - region.y, rows.width, rows.height)),
        )


def install() -> None:
    """Use `_get_renders` above in this process (idempotent)."""
    Compositor._get_renders = _get_renders  # type: ignore[method-assign]


def installed() -> bool:
    return Compositor._get_renders is _get_renders
