"""`runwatch logs RUN_ID [-f]`: print a run's log, or follow it until the run ends.

Exit status: 0 when the run SUCCEEDED (or is still going, without -f), 1 when it FAILED,
2 for usage and connection errors, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from runwatch.cli import command_setup, common, failure_report, formats, terminal_output
from runwatch.cli.outage import OutageNotes

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.errors import ApiError
    from runwatch.api.models import LogEvent
    from runwatch.config import Settings
    from runwatch.follow.logs import LogFollower


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "logs",
        help="print or follow the log of a run",
        description="Print the log of a run. With -f, print it and then follow new lines "
        f"until the run has finished and its log is drained; {common.RUN_END_STATUS}. "
        "A failed run ends with its last traceback or error lines on stderr.",
    )
    common.add_run_flags(parser, follow="follow new lines until the run ends")
    parser.add_argument(
        "--tail",
        type=int,
        metavar="N",
        help="only the newest N lines (with -f: then follow new ones)",
    )
    parser.add_argument("--since", metavar="10m|ISO", help="lines at or after this time")
    parser.add_argument("--until", metavar="ISO", help="lines before this time (not with -f)")
    parser.add_argument(
        "--timestamps", action="store_true", help="prefix each line with its timestamp"
    )
    common.add_common_flags(parser, json_help="one JSON object per event")
    parser.set_defaults(command_module=__name__)


def run(args: argparse.Namespace) -> int:
    return command_setup.run_command(args, lambda settings: _main(args, settings))


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    from runwatch.api.models import Run

    since = formats.parse_when(args.since) if args.since else None
    until = formats.parse_when(args.until) if args.until else None
    if args.follow and until is not None:
        raise common.UsageError("--until cannot be combined with --follow")
    if args.tail is not None and args.tail < 0:
        raise common.UsageError("--tail must be >= 0")
    if args.tail is not None and since is not None:
        raise common.UsageError("--tail cannot be combined with --since")
    async with open_run(args, settings) as (client, organization, deployment_id, data):
        if args.follow:
            return await follow_logs(
                client,
                settings,
                organization,
                deployment_id,
                args.run_id,
                tail=args.tail,
                since=since,
                timestamps=args.timestamps,
                as_json=bool(getattr(args, "json", False)),
                reconnect=command_setup.engine_reconnector(args, settings),
            )
        if data is None:
            data = await client.get_run(organization, deployment_id, args.run_id)
        run = Run.from_wire(data)
        await _print_all(
            client,
            organization,
            deployment_id,
            args.run_id,
            since=since,
            until=until,
            tail=args.tail,
            timestamps=args.timestamps,
            as_json=bool(getattr(args, "json", False)),
        )
        return formats.exit_status_for(run.status)


@asynccontextmanager
async def open_run(
    args: argparse.Namespace, settings: Settings
) -> AsyncIterator[tuple[AsyncAPIClient, str, str, dict[str, Any] | None]]:
    """The client, organization, deployment and (when the lookup gave it) the run of
    `args.run_id`: what `logs` and `metrics` start from."""
    organization = command_setup.organization_of(settings)
    # Following retries on its own schedule (with a note on stderr); the client's silent
    # retries would only make an outage look like a hang.
    retries = 0 if args.follow else None
    async with command_setup.make_client(settings, max_retry_count=retries) as client:
        deployment_id, data = await command_setup.find_deployment(
            client, settings, run_id=args.run_id
        )
        yield client, organization, deployment_id, data


async def _print_all(
    client: AsyncAPIClient,
    organization: str,
    deployment_id: str,
    run_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    tail: int | None,
    timestamps: bool,
    as_json: bool,
) -> None:
    from runwatch.follow.log_read import messages, read_log, read_log_wire

    writer = terminal_output.LineWriter()
    if tail is None and not timestamps and not as_json and not writer.sanitize:
        # Piped messages only: no event objects, no parsed times (the cost of a page, with
        # the round trips read in parallel).
        async for wire in read_log_wire(
            client, organization, deployment_id, run_id, since=since, until=until
        ):
            writer.write_lines(messages(wire))
        return
    async for batch in read_log(
        client, organization, deployment_id, run_id, since=since, until=until, tail=tail
    ):
        _write(writer, batch, timestamps, as_json)
    writer.finish()


async def follow_logs(
    client: AsyncAPIClient,
    settings: Settings,
    organization: str,
    deployment_id: str,
    run_id: str,
    *,
    tail: int | None = None,
    since: datetime | None = None,
    timestamps: bool = False,
    as_json: bool = False,
    reconnect: command_setup.Reconnect | None = None,
    emit: Callable[[list[LogEvent]], None] | None = None,
) -> int:
    """Print the log from the start (or `tail`/`since`) and follow it until the run is done.

    `reconnect` (see `command_setup.engine_reconnector`) is tried when the server cannot be reached.
    `emit`, when given, receives each batch instead of it being printed (`runwatch metrics -f`
    follows the same way and prints points). Returns the exit status for the run's end.
    """
    from runwatch.api.errors import ConnectionFailed
    from runwatch.follow.backoff import back_off
    from runwatch.follow.logs import LogFollower

    follower = LogFollower(
        client,
        organization,
        deployment_id,
        run_id,
        from_start=tail is None and since is None,
        tail=tail,
        since=since,
    )
    schedule = command_setup.make_schedule(settings)
    writer = terminal_output.LineWriter()
    outage = OutageNotes("reconnected; following again")
    opened: list[AsyncAPIClient] = []

    def on_error(exc: ApiError, delay: float) -> None:
        outage.failed(exc, delay)
        moved = reconnect() if reconnect is not None and isinstance(exc, ConnectionFailed) else None
        if moved is not None:
            # The tokens are positions in the run's log, so they stay valid at the new address.
            opened.append(moved)
            follower.client = moved
            common.note(f"the local engine now answers at {moved.base_url}")

    try:
        if tail is None:
            await _print_history(
                follower,
                writer,
                emit,
                timestamps=timestamps,
                as_json=as_json,
                retry=lambda exc: back_off(exc, schedule, on_error),
            )
        async for batch in follower.follow(schedule, on_error=on_error):
            outage.answered()
            if not batch:
                continue
            if emit is not None:
                emit(batch)
            else:
                _write(writer, batch, timestamps, as_json)
        if formats.exit_status_for(follower.status) == common.EXIT_FAILED:
            # The end of the log again (one request when it holds the failure): the lines
            # printed are not kept, and a failure can begin far above the newest page. A
            # live progress line ends first: the summary is the last thing said.
            writer.finish()
            await failure_report.report_failure(follower.source)
    finally:
        writer.finish()
        for extra in opened:
            await extra.aclose()
    return formats.exit_status_for(follower.status)


async def _print_history(
    follower: LogFollower,
    writer: terminal_output.LineWriter,
    emit: Callable[[list[LogEvent]], None] | None,
    *,
    timestamps: bool,
    as_json: bool,
    retry: Callable[[ApiError], Awaitable[None]],
) -> None:
    """The log so far, read in parallel slices; `follower` then goes on from its last line.
    A failure goes to `retry` (the follow loop's backoff: noted, waited, or raised when
    fatal), and the follower then reads on from the last line printed."""
    from runwatch.api.errors import ApiError
    from runwatch.follow.log_read import messages, read_history
    from runwatch.follow.log_source import events_oldest_first

    try:
        async for wire in read_history(follower):
            if emit is None and not (timestamps or as_json or writer.sanitize):
                writer.write_lines(messages(wire))
                continue
            events = events_oldest_first(wire, newest_first=False)
            if emit is not None:
                emit(events)
            else:
                _write(writer, events, timestamps, as_json)
    except ApiError as exc:
        await retry(exc)


def _write(
    writer: terminal_output.LineWriter, batch: list[LogEvent], timestamps: bool, as_json: bool
) -> None:
    if as_json:
        writer.write_lines([_event_json(event) for event in batch])
    else:
        writer.write_events(batch, timestamps=timestamps)


def _event_json(event: LogEvent) -> str:
    return terminal_output.dump_json({"message": event.message, "timestamp": event.raw_timestamp})
