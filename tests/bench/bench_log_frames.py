"""The log pane's CPU per appended batch and per frame while it follows a flood.

    python tests/bench/bench_log_frames.py [--batches N] [--size 1250] [--width 120 --height 40]
        [--textual]

A screen laid out like the dashboard's (a status line, a bordered table above, a bordered
detail box and the log pane side by side below, the footer) at 120x40; the log follows
batches of `--size` lines (1,250: 5,000 lines/s polled 4 times a second, as the dashboard
does while lines pour in), its border title and marker set after each batch as the pane sets
them, then a frame is rendered. Prints the main thread's CPU time per batch: in
`LogView.append`, in the frame (`Screen._compositor_refresh`), and in all (messages, timers,
the frame). The pane is first filled to its bounds (in batches of 5,000 lines at least) and
that is not counted.
Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from textual.app import App, ComposeResult  # noqa: E402
from textual.containers import Horizontal, Vertical  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.widgets import DataTable, Footer, Static  # noqa: E402

from runwatch.tui.app import freeze_startup_objects  # noqa: E402
from runwatch.tui.compositor import install  # noqa: E402
from runwatch.tui.panes.log_marker import log_marker, log_title  # noqa: E402
from runwatch.tui.widgets.log_view import LogView  # noqa: E402
from runwatch.tui.widgets.repaint import set_border_titles  # noqa: E402

LINE = "epoch={} step={} loss=0.{:04d} accuracy=0.9876 soak line"
TS = "2026-01-01T00:00:{:02d}.{:06d}Z"
CSS = """
#status { height: 1; }
#table { height: 45%; border: round $panel-lighten-2; }
#bottom { height: 1fr; }
#detail { width: 48; border: round $panel-lighten-2; padding: 0 1; }
#log { height: 1fr; border: round $panel-lighten-2; border-subtitle-color: $text-muted; }
"""


class Event(NamedTuple):
    message: str
    raw_timestamp: str


class FrameClock:
    """Main-thread CPU time spent in the compositor's refreshes, and how many there were."""

    def __init__(self) -> None:
        self.spent = 0.0
        self.frames = 0
        self._original = Screen._compositor_refresh

        def timed(screen: Screen[object]) -> None:
            start = time.thread_time()
            self._original(screen)
            self.spent += time.thread_time() - start
            self.frames += 1

        Screen._compositor_refresh = timed  # type: ignore[method-assign]

    def close(self) -> None:
        Screen._compositor_refresh = self._original  # type: ignore[method-assign]


class FloodApp(App[None]):
    CSS = CSS

    def __init__(self, textuals_renders: bool = False) -> None:
        super().__init__()
        if not textuals_renders:
            install()  # what RunwatchApp does

    def on_mount(self) -> None:
        # What `runwatch` does once its main screen is up (RunwatchApp(freeze_gc=True)).
        self.call_after_refresh(freeze_startup_objects)

    def on_unmount(self) -> None:
        gc.unfreeze()

    def compose(self) -> ComposeResult:
        yield Static("● live · updated 0 s ago", id="status")
        table: DataTable[str] = DataTable(id="table")
        table.add_columns("run id", "status", "created", "duration")
        table.add_row("run-3628791751867374", "▶ RUNNING", "1m ago", "1m08s")
        yield table
        with Horizontal(id="bottom"):
            yield Static("run  run-3628791751867374\nstatus  ▶ RUNNING\n" * 5, id="detail")
            with Vertical():
                yield LogView(id="log")
        yield Footer()


def batch(offset: int, size: int) -> list[Event]:
    return [
        Event(LINE.format(i // 10_000, i, i % 9973), TS.format(i // 5000 % 60, i % 5000 * 200))
        for i in range(offset, offset + size)
    ]


async def flood(
    batches: int, size: int, width: int, height: int, textuals: bool = False
) -> dict[str, float]:
    app = FloodApp(textuals)
    clock = FrameClock()
    try:
        async with app.run_test(size=(width, height)) as pilot:
            view = app.query_one(LogView)
            offset = 0
            making = 0.0  # building the batches: not the pane's

            async def one(size: int = size) -> float:
                nonlocal offset, making
                start = time.thread_time()
                lines = batch(offset, size)  # new strings each time, as from the wire
                offset += size
                making += time.thread_time() - start
                start = time.thread_time()
                view.append(lines)
                spent = time.thread_time() - start
                title = log_title(view, "run-1", False)
                set_border_titles(view, title, log_marker(view, "run-1", done=False, stale=False))
                await asyncio.sleep(0.04)  # the screen's update timer: one frame
                await pilot.pause()
                return spent

            while view.line_count < view.max_lines and not view.dropped_front:
                # Filled in large batches whatever `size` is: a size of 1 would take hours.
                await one(max(size, 5000))
            clock.spent, clock.frames, making = 0.0, 0, 0.0
            appending = 0.0
            start = time.thread_time()
            for _ in range(batches):
                appending += await one()
            total = time.thread_time() - start - making
            return {
                "append_ms": 1000 * appending / batches,
                "frame_ms": 1000 * clock.spent / max(1, clock.frames),
                "frames_per_batch": clock.frames / batches,
                "total_ms": 1000 * total / batches,
            }
    finally:
        clock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--size", type=int, default=1250)
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument(
        "--textual",
        action="store_true",
        help="partial updates rendered by Textual's own code (no runwatch.tui.compositor)",
    )
    args = parser.parse_args()
    result = asyncio.run(flood(args.batches, args.size, args.width, args.height, args.textual))
    print(
        f"{args.batches} batches of {args.size:,} lines at {args.width}x{args.height}:"
        f" append {result['append_ms']:.2f} ms a batch,"
        f" frame {result['frame_ms']:.2f} ms ({result['frames_per_batch']:.2f} a batch),"
        f" all {result['total_ms']:.2f} ms a batch"
        f" (at 4 batches/s: {result['total_ms'] * 4 / 10:.1f}% of a core)"
    )


if __name__ == "__main__":
    main()
