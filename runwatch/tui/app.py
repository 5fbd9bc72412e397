"""The runwatch Textual app.

The app paints its first frame before any IO: the local engine (when no remote profile is
set) starts in a thread worker while the screen shows a loading state, then the main screen
gets a client and starts its pollers.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from runwatch.tui.state import StateStore, ViewState

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.models import Deployment
    from runwatch.config import Settings
    from runwatch.engine.launch import EngineHandle
    from runwatch.tui.screens.main import MainScreen


# The least time between two attempts to bring back a local engine that went away.
ENGINE_RESTART_GAP = 3.0
# How long a reused engine (not our child) may be away before the app starts its own.
REUSED_ENGINE_GRACE = 10.0


def utc_now() -> datetime:
    return datetime.now(UTC)


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
        engine_starter: Callable[[], EngineHandle] | None = None,
        settings_loader: Callable[[], Settings] | None = None,
        clock: Callable[[], datetime] | None = None,
        state_store: StateStore | None = None,
        export_dir: Path | None = None,
        api_label: str | None = None,
        rng: random.Random | None = None,
        max_log_lines: int = 100_000,
        notify_status_changes: bool = True,
        client_timeout: float = 10.0,
        freeze_gc: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.read_only = bool(settings.read_only)
        self.clock: Callable[[], datetime] = clock or utc_now
        self.state_store = state_store or StateStore(None)
        self.export_dir = export_dir or Path.cwd()
        self._api_label = api_label
        self.rng = rng
        self.max_log_lines = max_log_lines
        self.notify_status_changes = notify_status_changes
        self.client_timeout = client_timeout
        # Off by default: tests run many apps in one process, and frozen cycles would pile up.
        self.freeze_gc = freeze_gc
        self.engine_starter = engine_starter
        self.settings_loader = settings_loader
        self.engine_handle: EngineHandle | None = None
        self._engine_tried = float("-inf")
        self.client: AsyncAPIClient | None = None
        # Clients replaced when the local engine came back on another port. Closed at exit,
        # not at once: an open form or export may still hold one for its last request.
        self._retired_clients: list[AsyncAPIClient] = []
        self.api_url: str = settings.api_url
        self.organization_id: str | None = settings.organization_id
        self.deployments: list[Deployment] = []
        self.view_state = self.state_store.load(settings.state_key)

    @property
    def api_label(self) -> str:
        return self._api_label or self.api_url

    @property
    def main(self) -> MainScreen:
        from runwatch.tui.screens.main import MainScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise LookupError("main screen not mounted")

    def get_default_screen(self) -> Screen[Any]:
        from runwatch.tui.screens.main import MainScreen

        return MainScreen()

    def main_ready(self) -> None:
        """The main screen is mounted: start the engine or connect (first frame is already up)."""
        if self.freeze_gc:
            self.call_after_refresh(freeze_startup_objects)
        if self.engine_starter is not None and self.settings.local_engine:
            self.main.show_starting("starting the local engine…")
            self._start_engine()
        else:
            self.call_later(
                self._connect,
                self.settings.api_url,
                self.settings.organization_id,
                dict(self.settings.credential),
            )

    def retry_start(self) -> None:
        """ctrl+r before any connection: start the engine again after a failed start, or look
        the organization up again after a failed look-up."""
        if self.client is not None:
            return
        if self.engine_starter is None:
            if self.settings.needs_organization_lookup:
                self._look_up_organization(self.settings.api_url, dict(self.settings.credential))
            return
        if any(w.group == "engine" and w.is_running for w in self.workers):
            return
        self.main.show_starting("starting the local engine…")
        self._start_engine()

    @work(
        thread=True,
        group="engine",
        exclusive=True,
        exit_on_error=False,
        description="start the local engine",
    )
    def _start_engine(self) -> EngineHandle:
        assert self.engine_starter is not None
        return self.engine_starter()

    def engine_unreachable(self) -> None:
        """A poll found nothing listening: if the local engine has gone, bring it back.

        A dashboard kept open all day outlives its engine (killed, crashed, out of memory).
        Rather than probe a dead port for ever, do what start-up did: reuse a live engine of
        the data dir (say, a `runwatch serve` restarted on another port) or start one, then
        switch to it. The pollers keep their place, so nothing shown is lost or repeated.
        """
        handle = self.engine_handle
        if self.engine_starter is None or handle is None or self.client is None:
            return
        if handle.process is not None and handle.process.poll() is None:
            return  # our child is still running: it will answer again
        if handle.process is None:
            # An engine someone else started (`runwatch serve`) may just be restarting: give
            # it time before taking its data dir over with one of ours.
            last_ok = self.main.last_ok
            away = (self.clock() - last_ok).total_seconds() if last_ok else float("inf")
            if away < REUSED_ENGINE_GRACE:
                return
        if any(w.group == "engine" and w.is_running for w in self.workers):
            return
        now = time.monotonic()
        if now - self._engine_tried < ENGINE_RESTART_GAP:
            return
        self._engine_tried = now
        self._start_engine()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "engine":
            return
        restarting = self.client is not None
        if event.state == WorkerState.SUCCESS:
            handle = worker.result
            assert handle is not None
            self.engine_handle = handle
            if restarting:
                self._switch_engine(handle)
            else:
                self.call_later(
                    self._connect, handle.url, handle.organization_id, {"auth_token": handle.token}
                )
        elif event.state == WorkerState.ERROR:
            if restarting:
                self.notify(
                    f"could not start the local engine again: {worker.error}",
                    severity="warning",
                )
            else:
                self.main.show_failed(f"could not start the local engine: {worker.error}")

    def _switch_engine(self, handle: EngineHandle) -> None:
        client = self.client
        assert client is not None
        if handle.url != self.api_url:
            self._retired_clients.append(client)
            self.api_url = handle.url
            client = self.client = self._make_client(handle.url, {"auth_token": handle.token})
        self.main.replace_client(client)

    def _make_client(self, url: str, credential: dict[str, str]) -> AsyncAPIClient:
        from runwatch.api.client import AsyncAPIClient

        # The follow layer's schedule owns retrying (with a visible countdown), so the client
        # makes one attempt per poll instead of retrying silently behind the status bar.
        timeout = self.settings.timeout
        return AsyncAPIClient(
            credential=credential or None,
            timeout=timeout if timeout else self.client_timeout,
            max_retry_count=0,
            base_url=url,
        )

    async def _connect(
        self, url: str, organization_id: str | None, credential: dict[str, str]
    ) -> None:
        self.api_url = url
        if not organization_id and self.settings.needs_organization_lookup:
            self.main.show_starting("looking up the organization's id…")
            self._look_up_organization(url, credential)
            return
        if not organization_id:
            self.main.show_failed(
                "no organization id: set ABEJA_ORGANIZATION_ID or organization_id in the profile"
            )
            return
        self.organization_id = organization_id
        self.client = self._make_client(url, credential)
        self.main.start(self.client, organization_id, self.view_state)

    @work(
        group="organization",
        exclusive=True,
        exit_on_error=False,
        description="look up the organization's id",
    )
    async def _look_up_organization(self, url: str, credential: dict[str, str]) -> None:
        """The abeja CLI's configuration names the organization: ask the API for its id."""
        from runwatch.api.errors import ApiError
        from runwatch.api.organizations import resolve_organization_id

        name = self.settings.organization_name or ""
        client = self._make_client(url, credential)
        try:
            organization_id = await resolve_organization_id(client, name)
        except ApiError as error:
            self.main.show_failed(f"could not look up the organization's id: {error}")
            return
        finally:
            await client.aclose()
        self.settings = self.settings.with_organization(organization_id)
        await self._connect(url, organization_id, credential)

    async def reload_settings(self) -> None:
        """After a 401/403: read the profile again (the user fixed the token) and reconnect."""
        if self.settings_loader is None:
            return
        try:
            settings = self.settings_loader()
        except Exception as error:  # a broken config file must not take the app down
            self.main.show_failed(f"could not read the settings: {error}")
            return
        old, self.client = self.client, None
        if old is not None:
            await old.aclose()
        if settings.local_engine and self.engine_handle is not None:
            handle = self.engine_handle
            self.settings = settings
            await self._connect(handle.url, handle.organization_id, {"auth_token": handle.token})
            return
        self.settings = settings
        self.read_only = bool(settings.read_only)
        await self._connect(settings.api_url, settings.organization_id, dict(settings.credential))

    async def on_unmount(self) -> None:
        for client in [*self._retired_clients, self.client]:
            if client is not None:
                await client.aclose()

    def save_view_state(self, state: ViewState) -> None:
        self.view_state = state
        self.state_store.save(self.settings.state_key, state)

    def remember_log_view(self, *, show_timestamps: bool, wrap: bool) -> None:
        self.view_state.show_timestamps = show_timestamps
        self.view_state.wrap = wrap
        self.save_view_state(self.view_state)

    def action_help(self) -> None:
        from runwatch.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from runwatch.tui.commands import main_commands
        from runwatch.tui.screens.main import MainScreen

        if isinstance(screen, MainScreen):
            yield from main_commands(screen, read_only=self.read_only)
        yield from super().get_system_commands(screen)
