"""What the headless commands (runs, logs, watch, submit) share.

Flags, settings resolution (flags > the contract's environment variables > the profile > the
local engine of the default data dir), the client, error reporting, and terminal-safe output.

Only the standard library is imported at module level: the command modules import this one
while `runwatch --help` builds its parser. httpx, the client and the follow layer are imported
inside the functions that need them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.errors import ApiError
    from runwatch.api.models import LogEvent, Run
    from runwatch.config import Settings
    from runwatch.follow.schedule import PollSchedule

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

NO_ENGINE = "no engine running; start one with `runwatch serve` or set ABEJA_API_URL"


class UsageError(Exception):
    """A problem with what the user asked for: one line on stderr, exit status 2."""


# ---------------------------------------------------------------- flags


def add_common_flags(parser: argparse.ArgumentParser, *, json_help: str | None = None) -> None:
    """The flags every headless command takes.

    Their default is SUPPRESS so that a value given before the command name (`runwatch
    --profile prod runs`, parsed by the root parser) is not overwritten by the subparser.
    """
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--profile",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="profile of the config file, or an abeja CLI configuration's name",
    )
    group.add_argument(
        "--deployment",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="deployment name or id (default: $ABEJA_DEPLOYMENT_ID, the profile's, or the only "
        "one)",
    )
    group.add_argument(
        "--api-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="Run API base URL (default: $ABEJA_API_URL, the profile's, or the local engine)",
    )
    group.add_argument(
        "--organization",
        metavar="ID",
        default=argparse.SUPPRESS,
        help="organization id (default: $ABEJA_ORGANIZATION_ID or the profile's)",
    )
    group.add_argument(
        "--local",
        action="store_true",
        default=argparse.SUPPRESS,
        help="use the local engine, whatever the environment and the configs say",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help=json_help or "print JSON instead of text",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks on errors",
    )


def run_id_arg(text: str) -> str:
    """argparse type of RUN_ID: an empty id would ask for the runs list instead of a run."""
    if not text.strip():
        raise argparse.ArgumentTypeError("RUN_ID must not be empty")
    return text


def nonempty_arg(text: str) -> str:
    """argparse type of an id: an empty one is a mistake (an unset shell variable), refused
    before anything is sent rather than dropped or looked up."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def flag(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    value = getattr(args, name, default)
    return default if value is None else value


# ---------------------------------------------------------------- settings and client


def resolve(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """Effective settings for a command; a local engine is looked up, never started."""
    from runwatch.config import ConfigError, read_engine_env, resolve_settings

    env = os.environ if environ is None else environ
    try:
        settings = resolve_settings(
            profile=flag(args, "profile"),
            api_url=flag(args, "api_url"),
            organization_id=flag(args, "organization"),
            deployment_id=flag(args, "deployment"),
            local=bool(flag(args, "local")),
            environ=env,
        )
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if not settings.local_engine:
        return settings
    directory = local_engine_dir(args)
    check_data_dir(directory)
    values = read_engine_env(directory)
    url = (values or {}).get("ABEJA_API_URL", "")
    token = (values or {}).get("PLATFORM_AUTH_TOKEN", "")
    organization = (values or {}).get("ABEJA_ORGANIZATION_ID", "")
    if not (url and token and organization) or not _engine_answers(url):
        raise UsageError(NO_ENGINE)
    return settings.with_engine(url.rstrip("/"), organization, token)


def check_data_dir(directory: Path, *, writable: bool = False) -> None:
    """UsageError naming the data dir when it cannot be read (or written, or created).

    A missing dir is fine for reading: no engine was ever started there.
    """
    from runwatch.engine.data_dir import DataDirError, check_readable_data_dir, writable_data_dir

    try:
        check_readable_data_dir(directory)
        if writable:
            writable_data_dir(directory)
    except DataDirError as exc:
        raise UsageError(str(exc)) from None


def local_engine_dir(args: argparse.Namespace) -> Path:
    from runwatch.config import engine_data_dir

    data_dir = flag(args, "data_dir")
    return Path(data_dir).expanduser() if data_dir else engine_data_dir()


Reconnect = Callable[[], "AsyncAPIClient | None"]


def engine_reconnector(args: argparse.Namespace, settings: Settings) -> Reconnect | None:
    """For settings that came from the local engine: a way to find it again after a restart.

    `runwatch serve` picks a free port each time it starts, so an engine that was restarted
    while a command was following it answers somewhere else; its engine.env says where. The
    returned function gives a client for the new address, or None when nothing moved.
    """
    if not settings.local_engine:
        return None
    from runwatch.config import read_engine_env

    directory = local_engine_dir(args)
    current = (settings.api_url, settings.credential.get("auth_token", ""))

    def reconnect() -> AsyncAPIClient | None:
        nonlocal current
        values = read_engine_env(directory) or {}
        url = values.get("ABEJA_API_URL", "").rstrip("/")
        token = values.get("PLATFORM_AUTH_TOKEN", "")
        organization = values.get("ABEJA_ORGANIZATION_ID", "")
        if not (url and token and organization) or (url, token) == current:
            return None
        current = (url, token)
        return make_client(settings.with_engine(url, organization, token), max_retry_count=0)

    return reconnect


def _engine_answers(url: str) -> bool:
    import httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/healthz", timeout=2.0, trust_env=False)
    except (httpx.HTTPError, httpx.InvalidURL):
        # A hand-edited or corrupt engine.env: no engine can be answering there.
        return False
    return response.status_code == 200


def organization_of(settings: Settings) -> str:
    if not settings.organization_id:
        raise UsageError(
            "no organization id: pass --organization, set ABEJA_ORGANIZATION_ID, "
            "or set organization_id in the profile"
        )
    return settings.organization_id


def make_client(settings: Settings, *, max_retry_count: int | None = None) -> AsyncAPIClient:
    from runwatch.api.client import AsyncAPIClient

    kwargs = settings.client_kwargs()
    if max_retry_count is not None:
        kwargs["max_retry_count"] = max_retry_count
    return AsyncAPIClient(**kwargs, on_retry=note)


def make_schedule(settings: Settings) -> PollSchedule:
    from runwatch.follow.schedule import PollSchedule

    return PollSchedule(
        interval=settings.poll_interval,
        idle_interval=settings.idle_interval,
        max_backoff=settings.max_backoff,
        busy_interval=min(settings.poll_interval, 0.2),
    )


async def find_deployment(
    client: AsyncAPIClient,
    settings: Settings,
    *,
    run_id: str | None = None,
    version_id: str | None = None,
) -> tuple[str, dict[str, Any] | None]:
    """The id of the deployment to use, and the run when finding it meant fetching it.

    A configured deployment is a name or an id (`api.deployments.resolve_deployment`). With
    none configured: the one holding `run_id` (or `version_id`), else the only deployment of
    the organization.
    """
    from runwatch.api.deployment_views import Version
    from runwatch.api.deployments import list_deployments, resolve_deployment
    from runwatch.api.errors import NotFound

    organization = organization_of(settings)
    if settings.deployment_id:
        chosen = await resolve_deployment(client, organization, settings.deployment_id)
        return chosen.deployment_id, None
    deployments = await list_deployments(client, organization)
    ids = [d.deployment_id for d in deployments]
    if run_id is not None:
        for deployment_id in ids:
            try:
                run = await client.get_run(organization, deployment_id, run_id)
            except NotFound:
                continue
            return deployment_id, run
        raise UsageError(f"run {run_id} not found in any deployment of organization {organization}")
    if version_id is not None:
        for deployment_id in ids:
            data = await client.get_deployment_versions(organization, deployment_id)
            if any(v.version_id == version_id for v in Version.list_from_wire(data)):
                return deployment_id, None
        raise UsageError(
            f"version {version_id} not found in any deployment of organization {organization}"
        )
    if len(ids) == 1:
        return ids[0], None
    if not ids:
        raise UsageError(f"organization {organization} has no deployments")
    listing = ", ".join(d.label for d in deployments[:10])
    raise UsageError(f"several deployments, choose one with --deployment NAME: {listing}")


# ---------------------------------------------------------------- running a command


def describe_error(exc: BaseException) -> str:
    """One line for stderr. The client's exceptions never hold a secret (see api.errors)."""
    from runwatch.api.errors import ApiError

    # The wording is the error's own (`ApiError.describe`), shared with the dashboard.
    return inert(exc.describe() if isinstance(exc, ApiError) else str(exc) or type(exc).__name__)


def error_line(text: str) -> None:
    sys.stderr.write(f"runwatch: error: {text}\n")
    sys.stderr.flush()


def note(text: str) -> None:
    sys.stderr.write(f"runwatch: {text}\n")
    sys.stderr.flush()


def run_command(args: argparse.Namespace, main: Callable[[Settings], Awaitable[int]]) -> int:
    """Resolve the settings and run a command's async main with them.

    Every failure becomes one line on stderr and an exit status; a traceback only with --debug.
    """
    import asyncio

    from runwatch.api.errors import ApiError

    debug = bool(getattr(args, "debug", False))
    try:
        settings = resolve(args)
        return asyncio.run(_guarded(main, settings))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep the interpreter's final
        # flush of stdout from failing again.
        _silence_stdout()
        return EXIT_OK
    except UsageError as exc:
        if debug:
            traceback.print_exc()
        error_line(str(exc))
        return EXIT_ERROR
    except ApiError as exc:
        if debug:
            traceback.print_exc()
        error_line(describe_error(exc))
        return EXIT_ERROR


async def _guarded(main: Callable[[Settings], Awaitable[int]], settings: Settings) -> int:
    if settings.needs_organization_lookup:
        settings = await with_organization_id(settings)
    return await main(settings)


async def with_organization_id(settings: Settings) -> Settings:
    """Settings that know their organization only by name (the abeja CLI's), with its id."""
    from runwatch.api.organizations import resolve_organization_id

    assert settings.organization_name is not None
    client = make_client(settings)
    try:
        organization_id = await resolve_organization_id(client, settings.organization_name)
    finally:
        await client.aclose()
    return settings.with_organization(organization_id)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


# ---------------------------------------------------------------- output


def stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def use_color(stream: IO[str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    target = stream if stream is not None else sys.stdout
    try:
        return target.isatty()
    except (AttributeError, ValueError):
        return False


# The colour words of the shared status table (api.models.STATUS_STYLES) as ANSI codes.
_ANSI_COLORS = {"green": "32", "red": "31", "cyan": "36", "yellow": "33", "magenta": "35"}


def paint_status(status: str, text: str | None = None, *, color: bool) -> str:
    from runwatch.api.models import status_style

    shown = status if text is None else text
    if not color:
        return shown
    words = status_style(status)[1].split()
    code = next((_ANSI_COLORS[word] for word in words if word in _ANSI_COLORS), "2")
    return f"\x1b[{code}m{shown}\x1b[0m"


# CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings, the two-byte escapes, and 8-bit CSI.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# Every C0/C1 control but TAB, DEL, and the bidi overrides that can reorder what is shown.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_control(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """`text` made safe for a terminal: escape sequences removed, other controls escaped.

    A log line is written by whatever code the run executes; on a terminal it must not be able
    to move the cursor, retitle the window, rewrite the clipboard (OSC 52) or hide itself.
    """
    if text.isprintable():
        return text
    return _CONTROLS.sub(_escape_control, _ESCAPES.sub("", text))


class LineWriter:
    """Writes batches of lines with one write and one flush per batch.

    On a terminal the lines are made inert; piped output is left byte-for-byte as the run
    wrote it. Text that cannot be encoded is replaced rather than crashing the follow.
    """

    def __init__(self, stream: IO[str] | None = None, *, sanitize: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        if sanitize is None:
            try:
                sanitize = self.stream.isatty()
            except (AttributeError, ValueError):
                sanitize = False
        self.sanitize = sanitize
        self._buffer: IO[bytes] | None = getattr(self.stream, "buffer", None)
        self._encoding = getattr(self.stream, "encoding", None) or "utf-8"

    def write_lines(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        if self.sanitize:
            lines = [inert(line) for line in lines]
        text = "\n".join(lines)
        text += "\n"
        if self._buffer is not None:
            self.stream.flush()
            self._buffer.write(text.encode(self._encoding, "replace"))
            self._buffer.flush()
        else:
            self.stream.write(text)
            self.stream.flush()

    def write_events(self, events: Sequence[LogEvent], *, timestamps: bool = False) -> None:
        if timestamps:
            self.write_lines([f"{e.raw_timestamp or '-'} {e.message}" for e in events])
        else:
            self.write_lines([e.message for e in events])


def dump_json(value: Any) -> str:
    """JSON for stdout: readable unicode, but no character a terminal would act on.

    json.dumps escapes the C0 controls itself; the rest (DEL, C1 such as the one-byte CSI,
    bidi) get `\\uXXXX` escapes, so a parser still reads exactly what the server sent.
    """
    from runwatch.json_text import escape_json_controls

    return escape_json_controls(json.dumps(value, ensure_ascii=False, default=str))


# ---------------------------------------------------------------- time and runs


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """`10m`, `2h`, `30s`, `1d` (ago), or an ISO 8601 time (no zone = UTC)."""
    from runwatch.api.wire_values import parse_time

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if match:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
        try:
            return (now or datetime.now(UTC)) - timedelta(seconds=float(match.group(1)) * unit)
        except OverflowError:
            raise UsageError(f"{text.strip()} ago is before the year 1") from None
    parsed = parse_time(text.strip().replace(" ", "T", 1))
    if parsed is None:
        raise UsageError(f"not a duration (10m, 2h) or an ISO time: {text!r}")
    return parsed


def show_time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def show_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def run_duration(run: Run, *, now: datetime | None = None) -> float | None:
    """The run's duration (`Run.duration`, the one rule), measured now unless told."""
    return run.duration(now or datetime.now(UTC))


def exit_status_for(status: str | None) -> int:
    return EXIT_FAILED if status == "FAILED" else EXIT_OK


def format_table(
    rows: Iterable[Sequence[str]],
    header: Sequence[str],
    *,
    paint: Callable[[int, str, str], str] | None = None,
) -> str:
    """Left-aligned columns two spaces apart; `paint(column, cell, padded)` may colour a cell."""
    table = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines: list[str] = []
    for index, row in enumerate(table):
        cells: list[str] = []
        for column, cell in enumerate(row):
            padded = cell.ljust(widths[column]) if column < len(row) - 1 else cell
            if paint is not None and index > 0:
                padded = paint(column, cell, padded)
            cells.append(padded)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def retry_note(exc: ApiError, delay: float) -> str:
    return f"{describe_error(exc)}; retrying in {delay:.1f}s"
