"""The dashboard's session with the API: settings, client, local engine, error policy.

One object holds what every pane needs to talk to the API: the client (replaced when the
local engine comes back on another port), the engine handle and the rules for restarting
it, one poll schedule per data source, the remembered view state, and the connection state
the panes report into. `failed()` is the one place that decides what an error means.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runwatch.follow.backoff import failure_delay
from runwatch.follow.schedule import PollSchedule, refused_connection
from runwatch.tui.connection import Block, ConnectionState
from runwatch.tui.state import StateStore, ViewState

if TYPE_CHECKING:
    from textual.app import App

    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.deployment_views import Deployment
    from runwatch.api.errors import ApiError
    from runwatch.config import Settings
    from runwatch.engine.launch import EngineHandle

SOURCES = ("runs", "detail", "logs", "metrics", "latest")

# A log that has printed nothing for LOG_SILENT_AFTER seconds is polled every
# LOG_SILENT_INTERVAL seconds (not every poll interval) until its next line: a run silent for
# hours cost a request and a wake-up of the dashboard each second (tests/bench/bench_soak.py).
LOG_SILENT_AFTER = 30.0
LOG_SILENT_INTERVAL = 2.5
# Likewise a runs list that has not changed for RUNS_SILENT_AFTER seconds is polled every
# RUNS_SILENT_INTERVAL seconds: a run training for hours changes nothing in the list, whose
# poll was the largest part of the dashboard's CPU while nothing happened; a change (a new
# run, a status) still shows within RUNS_SILENT_INTERVAL, and brings the interval back.
RUNS_SILENT_AFTER = 30.0
RUNS_SILENT_INTERVAL = 2.0
SILENT_AFTER = {"logs": LOG_SILENT_AFTER, "runs": RUNS_SILENT_AFTER}
SILENT_INTERVAL = {"logs": LOG_SILENT_INTERVAL, "runs": RUNS_SILENT_INTERVAL}
# A poll that brought this many lines (400 lines/s and more at the busy pace) is followed by
# the next after LOG_FLOOD_INTERVAL seconds: nobody reads such a log line by line, and each
# poll costs a request and a frame of the log pane whatever it holds.
LOG_FLOOD_LINES = 100
LOG_FLOOD_INTERVAL = 0.5
# The least time between two attempts to bring back a local engine that went away.
ENGINE_RESTART_GAP = 3.0
# How long a reused engine (not our child) may be away before the app starts its own.
REUSED_ENGINE_GRACE = 10.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class Verdict(Enum):
    """What a loop does after `Session.failed`."""

    RETRY = "retry"  # wait for the schedule's backoff and try again
    BLOCKED = "blocked"  # polling stopped until the user acts (401/403)
    GONE = "gone"  # the thing asked for is not there (404, 400): the pane says so and stops


class Session:
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
        client_timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.read_only = bool(settings.read_only)
        self.clock: Callable[[], datetime] = clock or utc_now
        self.state_store = state_store or StateStore(None)
        self.export_dir = export_dir or Path.cwd()
        self._api_label = api_label
        self.rng = rng
        self.client_timeout = client_timeout
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
        # Loaded before anything is shown, so nothing typed early saves a blank state over it.
        self.view_state = self.state_store.load(settings.state_key)
        self.connection = ConnectionState()
        busy_intervals = {
            # A log pouring in is fetched (and drawn) 4 times a second at most, not 10:
            # each poll is a frame of the log pane and a request, and at 5,000 lines/s
            # that halved the dashboard's CPU (tests/bench/bench_soak.py).
            "logs": min(settings.poll_interval, 0.25),
            # A changed runs list is polled again at the interval, not sooner.
            "runs": settings.poll_interval,
        }
        self.schedules: dict[str, PollSchedule] = {
            source: PollSchedule(
                interval=settings.poll_interval,
                idle_interval=settings.idle_interval,
                max_backoff=settings.max_backoff,
                rng=rng,
                busy_interval=busy_intervals.get(source),
                # A log is polled twice a second while it floods (LOG_FLOOD_LINES a poll): at
                # 5,000 lines/s that took the dashboard from 16 % to 11 % of a core.
                flood_items=LOG_FLOOD_LINES if source == "logs" else None,
                flood_interval=min(settings.poll_interval, LOG_FLOOD_INTERVAL),
                silent_after=SILENT_AFTER.get(source),
                silent_interval=SILENT_INTERVAL.get(source),
            )
            for source in SOURCES
        }
        self._app: App[Any] | None = None
        self._on_connected: Callable[[], None] = lambda: None
        # Who reads with the client: the main screen (begin), and the metrics screen's panes
        # while they are mounted.
        self.client_listeners: list[Callable[[AsyncAPIClient], None]] = []

    @property
    def api_label(self) -> str:
        return self._api_label or self.api_url

    # -- connecting -----------------------------------------------------------------------

    def begin(
        self,
        app: App[Any],
        *,
        on_connected: Callable[[], None],
        on_client_replaced: Callable[[AsyncAPIClient], None],
    ) -> None:
        """Start the engine or connect; the first frame is already on screen."""
        self._app = app
        self._on_connected = on_connected
        self.client_listeners.append(on_client_replaced)
        if self.engine_starter is not None and self.settings.local_engine:
            self._start_engine()
        else:
            app.call_later(
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
        self._start_engine()

    def _engine_starting(self) -> bool:
        app = self._app
        return app is not None and any(w.group == "engine" and w.is_running for w in app.workers)

    def _start_engine(self) -> None:
        assert self._app is not None
        if self._engine_starting():
            return
        if self.client is None:
            self.connection.starting("starting the local engine…")
        self._app.run_worker(
            self._run_engine(),
            group="engine",
            exclusive=True,
            exit_on_error=False,
            description="start the local engine",
        )

    async def _run_engine(self) -> None:
        assert self.engine_starter is not None and self._app is not None
        restarting = self.client is not None
        try:
            handle = await asyncio.to_thread(self.engine_starter)
        except Exception as error:  # whatever the engine's start raised is shown, not fatal
            if restarting:
                self._app.notify(
                    f"could not start the local engine again: {error}", severity="warning"
                )
            else:
                self.connection.blocked(Block.FAILED, f"could not start the local engine: {error}")
            return
        self.engine_handle = handle
        if restarting:
            self._switch_engine(handle)
        else:
            await self._connect(handle.url, handle.organization_id, {"auth_token": handle.token})

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
            last_ok = self.connection.last_ok
            away = (self.clock() - last_ok).total_seconds() if last_ok else float("inf")
            if away < REUSED_ENGINE_GRACE:
                return
        now = time.monotonic()
        if self._engine_starting() or now - self._engine_tried < ENGINE_RESTART_GAP:
            return
        self._engine_tried = now
        self._start_engine()

    def _switch_engine(self, handle: EngineHandle) -> None:
        client = self.client
        assert client is not None
        if handle.url != self.api_url:
            self._retired_clients.append(client)
            self.api_url = handle.url
            client = self.client = self._make_client(handle.url, {"auth_token": handle.token})
        for listener in list(self.client_listeners):
            listener(client)
        self.poke_all()

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
            # The profile's CA file, as the CLI uses it (the environment's apply by themselves).
            ca_file=self.settings.ca_file,
        )

    async def _connect(
        self, url: str, organization_id: str | None, credential: dict[str, str]
    ) -> None:
        self.api_url = url
        if not organization_id and self.settings.needs_organization_lookup:
            self._look_up_organization(url, credential)
            return
        if not organization_id:
            self.connection.blocked(
                Block.FAILED,
                "no organization id: set ABEJA_ORGANIZATION_ID or organization_id in the profile",
            )
            return
        self.organization_id = organization_id
        self.client = self._make_client(url, credential)
        self.connection.connecting()
        self._on_connected()

    def _look_up_organization(self, url: str, credential: dict[str, str]) -> None:
        assert self._app is not None
        self.connection.starting("looking up the organization's id…")
        self._app.run_worker(
            self._organization_lookup(url, credential),
            group="organization",
            exclusive=True,
            exit_on_error=False,
            description="look up the organization's id",
        )

    async def _organization_lookup(self, url: str, credential: dict[str, str]) -> None:
        """The abeja CLI's configuration names the organization: ask the API for its id."""
        from runwatch.api.errors import ApiError
        from runwatch.api.organizations import resolve_organization_id

        name = self.settings.organization_name or ""
        client = self._make_client(url, credential)
        try:
            organization_id = await resolve_organization_id(client, name)
        except ApiError as error:
            self.connection.blocked(
                Block.FAILED, f"could not look up the organization's id: {error.short_reason}"
            )
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
            self.connection.blocked(Block.FAILED, f"could not read the settings: {error}")
            return
        old, self.client = self.client, None
        if old is not None:
            await old.aclose()
        self.settings = settings
        handle = self.engine_handle
        if settings.local_engine and handle is not None:
            await self._connect(handle.url, handle.organization_id, {"auth_token": handle.token})
            return
        self.read_only = bool(settings.read_only)
        await self._connect(settings.api_url, settings.organization_id, dict(settings.credential))

    async def close(self) -> None:
        for client in [*self._retired_clients, self.client]:
            if client is not None:
                await client.aclose()

    # -- the error policy -----------------------------------------------------------------

    def succeeded(self, source: str) -> None:
        self.schedules[source].succeeded()
        self.connection.succeeded(source, self.clock())

    def failed(self, source: str, error: ApiError, *, delay: float | None = None) -> Verdict:
        """Record a failure of `source`; `delay` when the follow layer already backed off."""
        from runwatch.api.errors import BadRequest, Forbidden, NotFound, TlsRefused, Unauthorized

        if isinstance(error, TlsRefused):
            # Retrying cannot fix a refused certificate: say which URL and how to trust its CA
            # (ctrl+r reads the settings again once the user has set one).
            self.set_paused(True, user=False)
            if self.connection.block is None and self._app is not None:
                # The status line cuts a long reason; the fix must be read whole, once.
                self._app.notify(
                    error.describe(), title="TLS certificate refused", severity="error", timeout=30
                )
            self.connection.blocked(Block.AUTH, f"TLS certificate refused by {self.api_url}")
            return Verdict.BLOCKED
        if isinstance(error, Unauthorized | Forbidden):
            source = self.settings.credential_source
            kind = "401 Unauthorized" if isinstance(error, Unauthorized) else "403 Forbidden"
            self.set_paused(True, user=False)
            self.connection.blocked(Block.AUTH, f"{kind}: check the token of {source}")
            return Verdict.BLOCKED
        if isinstance(error, NotFound | BadRequest):
            return Verdict.GONE
        refused = refused_connection(error)
        if delay is None:
            delay = failure_delay(self.schedules[source], error)
        if refused:
            self.engine_unreachable()
        retry_at = self.clock() + timedelta(seconds=delay)
        self.connection.failing(source, error.short_reason, retry_at)
        return Verdict.RETRY

    def set_paused(self, paused: bool, *, user: bool = True) -> None:
        """Pause every schedule; `user`: the pause key (shown as paused), not a block."""
        for schedule in self.schedules.values():
            schedule.paused = paused
        if user:
            self.connection.set_paused(paused)

    def resume_after_block(self) -> None:
        """The user acted on a block: schedules back to what the pause key says."""
        self.connection.unblock()
        self.set_paused(self.connection.paused, user=False)

    def poke_all(self) -> None:
        for schedule in self.schedules.values():
            schedule.poke()

    # -- remembered view ------------------------------------------------------------------

    def save_view_state(self, state: ViewState | None = None) -> None:
        if state is not None:
            self.view_state = state
        self.state_store.save(self.settings.state_key, self.view_state)
