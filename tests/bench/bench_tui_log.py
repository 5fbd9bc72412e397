"""The log pane under a flood: ingest rate, memory, and key latency while lines pour in.

    python tests/bench/bench_tui_log.py [--lines N]

- ingest: lines per second of CPU time `LogView.append` takes when a follower hands it
  batches of 5,000 lines, with a frame rendered after every batch (so it stays responsive:
  the frames are part of the cost); run in a fresh process, which then reports its RSS;
- input latency: a thread plays the terminal driver and posts key presses (up, f, t, t) onto
  the app's loop at 10-40 ms gaps (a held key repeats at ~30/s) while batches of 2,000 lines
  arrive every 0.1 s (the follower's busy interval: 20,000 lines/s); latency is from the post
  to the end of the key's action, so it includes waiting for whatever the loop was doing (an
  append, a frame, a garbage collection).
Both apps freeze the garbage collector's start-up objects as `runwatch` does.
Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from textual import events
from textual.app import App, ComposeResult

from runwatch.tui.app import freeze_startup_objects
from runwatch.tui.widgets.log_view import LogView

LINE = "epoch=1 step={} loss=0.1234 accuracy=0.9876 some more text to make it longer"
TS = "2026-01-01T00:00:00.000000Z"


class Event(NamedTuple):
    message: str
    raw_timestamp: str


class TimedLogView(LogView):
    """Records when each key's action finished (what the user waits for)."""

    handled: list[float]

    def on_mount(self) -> None:
        self.handled = []

    def _done(self) -> None:
        self.handled.append(time.perf_counter())

    def action_scroll_up(self) -> None:
        super().action_scroll_up()
        self._done()

    def action_follow(self) -> None:
        super().action_follow()
        self._done()

    def action_toggle_timestamps(self) -> None:
        super().action_toggle_timestamps()
        self._done()


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TimedLogView()

    def on_mount(self) -> None:
        # What `runwatch` does once its main screen is up (RunwatchApp(freeze_gc=True)).
        self.call_after_refresh(freeze_startup_objects)

    def on_unmount(self) -> None:
        gc.unfreeze()  # the next app of this process starts from a clean slate


def _batch(offset: int, size: int) -> list[Event]:
    return [Event(LINE.format(i), TS) for i in range(offset, offset + size)]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def ingest(total: int, batch: int = 5_000) -> dict[str, float]:
    """Stream `total` lines through a fresh pane: lines per second of the process's CPU time
    (the pane's cost, not how busy a shared machine is) and the RSS after."""
    app = LogApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(LogView)
        spent = 0.0
        for offset in range(0, total, batch):
            lines = _batch(offset, batch)  # new strings each time, as from the wire; not timed
            start = time.process_time()
            view.append(lines)
            await pilot.pause()  # a frame after every batch, as when following a real run
            spent += time.process_time() - start
        model = view.model
        assert model.end == total and model.size <= model.max_bytes
        assert view.line_count <= view.max_lines
        del lines
        gc.collect()
        return {"lines_per_s": total / spent, "rss_mb": rss_mb()}


def ingest_in_subprocess(total: int) -> dict[str, float]:
    """`ingest` in a new Python process, so its RSS is the pane's and not the runner's."""
    out = subprocess.run(
        [sys.executable, __file__, "--lines", str(total), "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


KEYS = ("up", "f", "t", "t")


class KeyDriver:
    """The terminal driver's thread: presses `keys` (key, character) in turn onto the app's
    loop at 10-40 ms gaps (a held key repeats at ~30/s), whenever the user would."""

    def __init__(self, app: App[Any], keys: list[tuple[str, str | None]], seed: int = 7) -> None:
        self.app = app
        self.keys = keys
        self.seed = seed
        self.pressed: list[float] = []
        self._stop = threading.Event()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        rng = random.Random(self.seed)
        i = 0
        while not self._stop.wait(rng.uniform(0.01, 0.04)):
            key, character = self.keys[i % len(self.keys)]
            self.pressed.append(time.perf_counter())
            self._loop.call_soon_threadsafe(self.app.post_message, events.Key(key, character))
            i += 1

    def latencies(self, handled: list[float]) -> list[float]:
        """Milliseconds from each press to the end of its action (`handled`, in order)."""
        assert len(handled) == len(self.pressed), f"{len(handled)} of {len(self.pressed)} keys"
        return [(done - press) * 1000 for press, done in zip(self.pressed, handled, strict=True)]


async def input_latency(
    seconds: float,
    rate: int = 20_000,
    interval: float = 0.1,
    seed: int = 7,
    prepare: Callable[[LogView], object] | None = None,
) -> list[float]:
    """Milliseconds from a key press (posted from another thread) to its action's end;
    `prepare` sets the view up first (a filter, say)."""
    app = LogApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(TimedLogView)
        view.focus()
        if prepare is not None:
            prepare(view)
        await pilot.pause()
        per_batch = int(rate * interval)
        driver = KeyDriver(app, [(key, key if len(key) == 1 else None) for key in KEYS], seed)
        offset = 0
        deadline = time.perf_counter() + seconds
        next_batch = time.perf_counter()
        driver.start()
        try:
            while time.perf_counter() < deadline:
                view.append(_batch(offset, per_batch))
                offset += per_batch
                next_batch += interval
                await asyncio.sleep(max(0.0, next_batch - time.perf_counter()))
        finally:
            driver.stop()
        await pilot.pause()
        await pilot.pause()
        return driver.latencies(view.handled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true", help="ingest only, one JSON line")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(asyncio.run(ingest(args.lines))))
        return
    result = ingest_in_subprocess(args.lines)
    print(
        f"ingest: {args.lines:,} lines at {result['lines_per_s']:,.0f} lines/s,"
        f" RSS after {result['rss_mb']:.0f} MB"
    )
    latencies = sorted(asyncio.run(input_latency(5.0)))
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"input latency at 20,000 lines/s: {len(latencies)} keys, median"
        f" {latencies[len(latencies) // 2]:.1f} ms, p99 {p99:.1f} ms"
    )


if __name__ == "__main__":
    main()
