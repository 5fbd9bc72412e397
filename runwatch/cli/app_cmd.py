"""`runwatch` with no command: open the dashboard.

Only the standard library is imported at module level (`runwatch --help` must stay fast);
Textual, httpx and the engine launcher are imported inside `run`. The local engine is started
by the app in a worker thread after its first frame, and stopped here when the app exits
(only if this process started it: a `runwatch serve` already running is reused and left up).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runwatch.config import Settings
    from runwatch.engine.launch import EngineHandle


def register_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="use this profile of the config file, or this abeja CLI configuration (remote API)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="watch only: hide and refuse every way to submit a run",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="data directory of the local engine (default: the user data dir)",
    )
    parser.add_argument(
        "--deployment", metavar="NAME", help="open on this deployment (a name or an id)"
    )
    parser.add_argument(
        "--local",
        action="store_true",
        default=None,
        help="open the local engine, whatever the environment and the configs say",
    )
    parser.add_argument(
        "--quiet-after",
        metavar="DURATION",
        help="show a running run as quiet once it has printed nothing this long, and say so "
        "once (seconds or 90s/10m/1h; 0: never; default: $RUNWATCH_QUIET_AFTER, the "
        "profile's quiet_after, or 10m)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="write a debug log to the user log dir"
    )


class _EngineStarter:
    """Runs in the app's worker thread; remembers the handle even if the app has already quit."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.handle: EngineHandle | None = None
        self.done = threading.Event()

    def __call__(self) -> EngineHandle:
        from runwatch.engine.launch import ensure_engine

        try:
            self.handle = ensure_engine(self.data_dir)
            return self.handle
        finally:
            self.done.set()


def _setup_debug_log() -> Path | None:
    from runwatch.config import log_dir

    directory = log_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    path = directory / "runwatch.log"
    logging.basicConfig(
        filename=path,
        level=logging.DEBUG,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return path


def settings_for(args: argparse.Namespace) -> Settings:
    """The dashboard's settings for these flags (read again by ctrl+r after a 401)."""
    from runwatch import config

    return config.resolve_settings(
        profile=getattr(args, "profile", None),
        deployment_id=getattr(args, "deployment", None),
        read_only=True if getattr(args, "read_only", None) else None,
        local=bool(getattr(args, "local", None)),
        quiet_after=getattr(args, "quiet_after", None),
    )


def run(args: argparse.Namespace) -> int:
    from runwatch import config

    debug_log = _setup_debug_log() if getattr(args, "debug", False) else None

    def load_settings() -> config.Settings:
        return settings_for(args)

    try:
        settings = load_settings()
    except config.ConfigError as error:
        print(f"runwatch: {error}", file=sys.stderr)
        return 2
    for warning in settings.warnings:
        print(f"runwatch: warning: {warning}", file=sys.stderr)

    data_dir_arg: Any = getattr(args, "data_dir", None)
    data_dir = Path(data_dir_arg).expanduser() if data_dir_arg else config.engine_data_dir()
    starter = None
    if settings.local_engine:
        from runwatch.cli.command_setup import check_data_dir
        from runwatch.cli.common import UsageError

        # Before the dashboard takes the screen. Writing matters only when an engine must be
        # started (no engine.env yet): a running engine in a dir this user may only read is used.
        try:
            check_data_dir(data_dir, writable=not (data_dir / "engine.env").exists())
        except UsageError as error:
            print(f"runwatch: error: {error}", file=sys.stderr)
            return 2
        starter = _EngineStarter(data_dir)

    from runwatch.tui.app import RunwatchApp
    from runwatch.tui.state import StateStore

    app = RunwatchApp(
        settings,
        engine_starter=starter,
        settings_loader=load_settings,
        state_store=StateStore(config.state_dir()),
        freeze_gc=True,
    )
    try:
        app.run()
    finally:
        if starter is not None:
            # Quitting while the engine was still starting: wait for it, then stop it too.
            starter.done.wait(timeout=15)
            if starter.handle is not None:
                starter.handle.stop()
    if debug_log is not None:
        print(f"runwatch: debug log in {debug_log}", file=sys.stderr)
    return app.return_code or 0
