"""The runwatch Textual app.

The app paints its first frame before any IO: the local engine (when no remote profile is
set) starts in a thread worker while the screen shows a loading state, then the main screen
gets a client and starts its pollers.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen

from runwatch.tui.commands import SafeCommandPalette, main_commands
from runwatch.tui.compositor import install as install_tight_renders
from runwatch.tui.format import inert
from runwatch.tui.screens.main import MainScreen
from runwatch.tui.session import ENGINE_RESTART_GAP, REUSED_ENGINE_GRACE, Session, utc_now

if TYPE_CHECKING:
    from runwatch.config import Settings

__all__ = [
    "ENGINE_RESTART_GAP",
    "REUSED_ENGINE_GRACE",
    "RunwatchApp",
    "freeze_startup_objects",
    "utc_now",
]


def freeze_startup_objects() -> None:
    """Take everything alive after start-up out of the cyclic garbage collector's walks.

    Every full collection walked the ~40,000 long-lived objects of Textual, Rich and httpx
    and the log pane's deque of up to 100,000 lines: a 20-80 ms pause, and a key pressed while
    the pane ingests a flood waited through it (tests/bench/run.py, tui.input_latency_ms_p99).
    Frozen objects are still freed by reference counting; only cycles among them would never
    be collected, so this is for the process's one app, once, after a collection.
    """
    gc.collect()
    gc.freeze()
    # A young collection every 10,000 new container objects, not 700: while a log pours in,
    # each frame makes thousands (Strips and their caches, events, messages) and most die
    # young by reference counting anyway. The collector's share of the dashboard's CPU at
    # 5,000 lines/s fell from ~12 % to ~4 %, a young collection taking ~9 ms
    # (tests/bench/bench_soak.py).
    gc.set_threshold(10_000, 10, 10)


class RunwatchApp(App[None]):
    CSS_PATH = Path(__file__).with_name("runwatch.tcss")
    TITLE = "runwatch"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        max_log_lines: int = 100_000,
        notify_status_changes: bool = True,
        freeze_gc: bool = False,
        **session_options: Any,
    ) -> None:
        """`session_options` are `Session`'s own (engine_starter, settings_loader, clock,
        state_store, export_dir, api_label, rng, client_timeout), passed through as given."""
        super().__init__()
        # Partial updates render only what they draw (see `compositor`).
        install_tight_renders()
        self.session = Session(settings, **session_options)
        self.max_log_lines = max_log_lines
        self.notify_status_changes = notify_status_changes
        # Off by default: tests run many apps in one process, and frozen cycles would pile up.
        self.freeze_gc = freeze_gc

    @property
    def settings(self) -> Settings:
        return self.session.settings

    @property
    def api_url(self) -> str:
        return self.session.api_url

    @property
    def main(self) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise LookupError("main screen not mounted")

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(
            self.session,
            max_log_lines=self.max_log_lines,
            announce=lambda: self.notify_status_changes,
        )

    def on_mount(self) -> None:
        if self.freeze_gc:
            self.call_after_refresh(freeze_startup_objects)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast, from any widget. Its text often quotes a user or the server (a search
        term, a run id, an error holding a path), so it is never parsed as markup and its
        control characters are dropped; its own line breaks are kept."""
        text = "\n".join(inert(line) for line in message.split("\n"))
        super().notify(text, title=inert(title), severity=severity, timeout=timeout, markup=False)

    def action_help_quit(self) -> None:
        # Textual's own hint is written in markup, which toasts here never parse.
        self.notify("Press q to quit the app", title="Do you want to quit?")

    def action_command_palette(self) -> None:
        if self.use_command_palette and not SafeCommandPalette.is_open(self):
            self.push_screen(SafeCommandPalette(id="--command-palette"))

    async def on_unmount(self) -> None:
        await self.session.close()

    def action_help(self) -> None:
        from runwatch.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        if isinstance(screen, MainScreen):
            yield from main_commands(screen, self.action_help, read_only=self.session.read_only)
        yield from super().get_system_commands(screen)
