"""User-input fuzz of the dashboard against a real engine (Pilot, toasts on).

Each episode starts the app on a random deployment, terminal size and log cap, and feeds it
random inputs (tests/tui/fuzz_inputs.py): keys from every binding mounted at the time, typed
and pasted text that looks like markup, regex or broken JSON, control characters, very long
strings, clicks and double clicks, resizes between 60x20 and 200x60, and short waits. In some
episodes the engine is stopped (SIGSTOP) and continued, or killed and restarted, mid-episode.
After every input the app must still run, no worker may have failed, nothing may be logged
as an error, no toast may show a traceback or parse typed text as markup, three escapes must
close a modal screen, and no hidden input may keep the focus. A failure names its seed and
episode and shows the last inputs; the test goes on with the next episode and fails at the
end with every distinct problem found.

CI runs RUNWATCH_FUZZ_EPISODES (default 1) episodes for each of two fixed seeds and a fresh
one (printed), each of RUNWATCH_FUZZ_STEPS inputs (default 20-40, a number drawn per episode:
about 90 inputs per CI run from three different starts, a new one each run; the suite's time
is shared with everything else). By hand, e.g. `RUNWATCH_FUZZ_INPUTS=10000
RUNWATCH_FUZZ_STEPS=50-110 pytest tests/tui/test_fuzz.py -s -k fresh --timeout 0` feeds longer
episodes until 10,000 inputs were fed (the count is printed); RUNWATCH_FUZZ_SEED=S runs seed S only,
RUNWATCH_FUZZ_SEED=S:E only its episode E, with the same RUNWATCH_FUZZ_STEPS as the run that
found it (timing differs between runs, so a replay takes the same choices but may not meet the
same states).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import OutOfBounds
from textual.screen import ModalScreen
from textual.widgets import Footer
from textual.worker import WorkerState

from runwatch.tui.app import RunwatchApp
from runwatch.tui.state import StateStore
from tests.conftest import EngineProcess
from tests.tui.conftest import make_app, settings_for
from tests.tui.fuzz_checks import Finding, Watcher, logged_errors, where_raised
from tests.tui.fuzz_inputs import InputMaker, Step, quit_keys, text_focused
from tests.tui.fuzz_world import EngineFaults, World, build_world

FIXED_SEEDS = (20260101, 7)
EPISODES = max(1, int(os.environ.get("RUNWATCH_FUZZ_EPISODES", "1")))
# When set, episodes go on until this many inputs were fed (EPISODES is then ignored).
TOTAL_INPUTS = int(os.environ.get("RUNWATCH_FUZZ_INPUTS", "0"))
# Inputs per episode, "LOW-HIGH" (drawn per episode) or one number; long runs by hand set more.
_LOW, _, _HIGH = os.environ.get("RUNWATCH_FUZZ_STEPS", "20-40").strip().partition("-")
STEPS = (max(1, int(_LOW)), max(1, int(_HIGH or _LOW)))
# A step that takes this long means the UI is blocked (pilot waits for the app to be idle).
STEP_TIMEOUT = 30.0


@pytest.fixture
def engine(restartable_engine: EngineProcess) -> EngineProcess:
    """The engine restarts on its own port: the app is not told of a new address."""
    return restartable_engine


# -- one episode ----------------------------------------------------------------------------


@dataclass
class Tally:
    episodes: int = 0
    inputs: Counter[str] = field(default_factory=Counter)
    quits: int = 0
    slowest: float = 0.0

    def line(self) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.inputs.items()))
        return (
            f"{self.episodes} episodes, {sum(self.inputs.values())} inputs ({kinds});"
            f" {self.quits} quits; slowest input {self.slowest:.2f}s"
        )


async def perform(app: RunwatchApp, pilot: Any, step: Step) -> None:
    kind, args = step.kind, step.args
    if kind == "press":
        await pilot.press(*args)
    elif kind == "type":
        await pilot.press(*args[0])
    elif kind == "paste":
        app.post_message(events.Paste(args[0]))
        await pilot.pause()
    elif kind in ("click", "double_click"):
        with contextlib.suppress(OutOfBounds):
            await getattr(pilot, kind)(None, offset=args)
    elif kind == "resize":
        await pilot.resize_terminal(*args)
        await pilot.pause()
    elif kind == "wait":
        await pilot.pause(args[0])


def where_focus(app: RunwatchApp) -> str:
    """The top screen and the focused widget, shown next to each input in a failure."""
    focused = app.focused
    name = f"{type(focused).__name__}#{focused.id}" if focused is not None else "nothing"
    return f"{type(app.screen).__name__} / {name}"


def next_step(maker: InputMaker, app: RunwatchApp) -> Step:
    step = maker.next(app)
    if step.kind == "type" and not text_focused(app):
        # Outside an input every character is a key: leave out the ones that quit.
        banned = quit_keys(app)
        text = "".join(ch for ch in step.args[0] if ch not in banned)
        step = Step("type", (text,), step.note)
    return step


class Episode:
    def __init__(self, world: World, tmp_path: Path, seed: int, index: int, tally: Tally) -> None:
        self.world = world
        self.tmp_path = tmp_path
        self.seed_text = f"{seed}:{index}"
        self.rng = random.Random(self.seed_text)
        self.tally = tally
        self.inputs: list[str] = []
        self.watcher = Watcher()
        self.findings: list[Finding] = []
        self.hidden_focus = 0
        self.last: Step | None = None

    def found(self, what: str, detail: str, where: str) -> None:
        self.findings.append(Finding(what, detail, where, self.seed_text, list(self.inputs)))

    def make_app(self) -> RunwatchApp:
        rng, world = self.rng, self.world
        settings = settings_for(
            world.engine,
            deployment_id=rng.choice([world.fuzz, world.fuzz, world.many, world.empty, None]),
            poll_interval=rng.choice([0.1, 0.3]),
            idle_interval=0.5,
            max_backoff=0.5,
            timeout=2.0,
        )
        return make_app(
            world.engine,
            self.tmp_path,
            settings=settings,
            state_store=StateStore(self.tmp_path / "state"),
            export_dir=self.tmp_path / "exports",
            max_log_lines=rng.choice([100_000, 100_000, 150]),
        )

    async def run(self) -> None:
        rng = self.rng
        steps = rng.randint(*STEPS)
        faults = EngineFaults(self.world.engine, rng, steps)
        size = (rng.randint(60, 200), rng.randint(20, 60))
        app = self.make_app()
        self.tally.episodes += 1
        try:
            with logged_errors(self.watcher):
                async with app.run_test(
                    size=size, notifications=True, message_hook=self.watcher.hook
                ) as pilot:
                    deployment = app.settings.deployment_id
                    self.inputs.append(f"start(size={size}, deployment={deployment})")
                    await pilot.pause(rng.choice([0.0, 0.3, 1.0]))
                    await self.drive(app, pilot, faults, steps)
        except Exception as error:  # the app's unhandled exception, re-raised by run_test
            self.watcher.problems.clear()  # its toasts and logs, if any, are the crash's
            self.found(
                "app crashed", f"{type(error).__name__}: {str(error)[:300]}", where_raised(error)
            )
        finally:
            await asyncio.to_thread(faults.heal)
        self.collect_watched()
        if app.return_code == 0 and not self.findings:
            self.tally.quits += 1
            last = self.last
            if last is not None and "click" in last.kind and not self._footer_click(last):
                self.found("a click quit the app", last.describe(), last.note)

    async def drive(self, app: RunwatchApp, pilot: Any, faults: EngineFaults, steps: int) -> None:
        """Input after input until `steps`, a problem, or the app has gone."""
        maker = InputMaker(self.rng)
        for index in range(steps + 1):
            if index in faults.plan:
                what = faults.plan[index]
                self.inputs.append(f"engine({what})")
                self.tally.inputs["engine"] += 1
                await asyncio.to_thread(faults.run, what)
            if index == steps or not self.check(app):
                return
            maker.learn(app)
            step = self.last = next_step(maker, app)
            if step.kind in ("type", "paste"):
                self.watcher.typed.add(step.args[0])
            self.inputs.append(f"{step.describe():<60} @ {where_focus(app)}")
            self.tally.inputs[step.kind] += 1
            modal = app.screen if isinstance(app.screen, ModalScreen) else None
            began = time.monotonic()
            try:
                await asyncio.wait_for(perform(app, pilot, step), STEP_TIMEOUT)
            except TimeoutError:
                self.found("UI blocked", f"{step.describe()} took over {STEP_TIMEOUT}s", "")
                return
            self.tally.slowest = max(self.tally.slowest, time.monotonic() - began)
            if step.note == "escape burst" and modal is not None and self.still_on(app, modal):
                name = type(modal).__name__
                self.found("escape does not close a modal screen", f"{name} open after 3", name)
                return

    @staticmethod
    def still_on(app: RunwatchApp, screen: Any) -> bool:
        return app.is_running and app.return_code is None and app.screen is screen

    @staticmethod
    def _footer_click(step: Step) -> bool:
        return Footer.__name__ in step.note or "FooterKey" in step.note

    def collect_watched(self) -> None:
        # One failure shows up several ways (a failed worker is also logged and toasted, a
        # crash may follow): the first seen is the cause, the rest are counted with it.
        problems = self.watcher.problems
        if problems and not self.findings:
            what, detail, where = problems[0]
            more = f" (+{len(problems) - 1} more reports at the same time)" if problems[1:] else ""
            self.found(what, detail + more, where)
        problems.clear()

    def check(self, app: RunwatchApp) -> bool:
        """After an input: True if the app is fine and the episode goes on."""
        if app.return_code is not None or not app.is_running:
            return False
        for worker in app.workers:
            if worker.state == WorkerState.ERROR and worker.error is not None:
                self.watcher.problems.append(
                    (
                        "worker failed",
                        f"{worker.description!r}: {worker.error!r}"[:300],
                        where_raised(worker.error),
                    )
                )
        focused = app.focused
        hidden = focused is not None and text_focused(app) and focused.region.area == 0
        self.hidden_focus = self.hidden_focus + 1 if hidden else 0
        if self.hidden_focus >= 3:
            self.watcher.problems.append(
                (
                    "a hidden input has the focus",
                    f"{type(focused).__name__}#{focused.id} takes the keys while not shown",
                    f"{type(focused).__name__}#{focused.id}",
                )
            )
        if self.watcher.problems:
            self.collect_watched()
            return False
        return True


# -- the test -------------------------------------------------------------------------------


def seeds_for(which: str) -> tuple[int, Iterator[int]]:
    """(seed, episode indexes) for this parametrization, honouring RUNWATCH_FUZZ_SEED."""
    episodes: Iterator[int] = itertools.count() if TOTAL_INPUTS else iter(range(EPISODES))
    chosen = os.environ.get("RUNWATCH_FUZZ_SEED", "").strip()
    if chosen:
        if which != "fresh":
            pytest.skip("RUNWATCH_FUZZ_SEED runs the chosen seed only (as the fresh one)")
        seed_text, _, episode = chosen.partition(":")
        return int(seed_text), iter([int(episode)]) if episode else episodes
    if which == "fresh":
        return random.SystemRandom().randrange(1 << 30), episodes
    return FIXED_SEEDS[int(which[-1]) - 1], episodes


@pytest.mark.slow
@pytest.mark.timeout(120 + max(90 * EPISODES, 2 * TOTAL_INPUTS))
@pytest.mark.parametrize(
    "which",
    [
        # Long form (RUNWATCH_LONG=1): CI's budget has no room for them.
        pytest.param("fixed-1", marks=pytest.mark.long),
        pytest.param("fixed-2", marks=pytest.mark.long),
        pytest.param("fresh", marks=pytest.mark.long),
    ],
)
async def test_random_user_input_never_breaks_the_dashboard(
    engine: EngineProcess, tmp_path: Path, which: str
) -> None:
    seed, episodes = seeds_for(which)
    replay = f"RUNWATCH_FUZZ_SEED={seed} RUNWATCH_FUZZ_STEPS={STEPS[0]}-{STEPS[1]}"
    print(f"\ndashboard fuzz: seed {seed} ({replay} replays it)")
    world = build_world(engine, tmp_path)
    tally = Tally()
    findings: dict[tuple[str, str], Finding] = {}
    repeats: Counter[tuple[str, str]] = Counter()
    began = time.monotonic()
    for index in episodes:
        if TOTAL_INPUTS and sum(tally.inputs.values()) >= TOTAL_INPUTS:
            break
        episode = Episode(world, tmp_path, seed, index, tally)
        await episode.run()
        for finding in episode.findings:
            findings.setdefault(finding.key, finding)
            repeats[finding.key] += 1
    summary = f"seed {seed}: {tally.line()}; {time.monotonic() - began:.0f}s ({replay})"
    print(f"dashboard fuzz {summary}")
    if findings:
        reports = "\n\n".join(
            f"[{repeats[key]}x] {finding.report()}" for key, finding in findings.items()
        )
        pytest.fail(f"{len(findings)} distinct problems; {summary}\n\n{reports}", pytrace=False)
