"""`runwatch watch RUN_ID`: print each status change of a run until it finishes, with the
latest value of each metric its log shows and its latest progress.

The metrics line is read by `runwatch.follow.metrics` from the run's log, followed along the
way. On a terminal it is one line rewritten in place; on a pipe it is printed when it has
changed, at most every `PIPE_EVERY` seconds, and once more at the end.

Exit status: 0 when the run SUCCEEDED, 1 when it FAILED, 2 for usage and connection errors,
130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from runwatch.cli import (
    command_setup,
    common,
    failure_report,
    formats,
    metrics_cmd,
    terminal_output,
)
from runwatch.cli.outage import OutageNotes

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.models import LogEvent, Run
    from runwatch.config import Settings
    from runwatch.follow.logs import LogFollower
    from runwatch.follow.metrics import MetricParser, Point
    from runwatch.follow.progress import Progress

# On a pipe, the metrics line at most this often (seconds), so a log stays readable.
PIPE_EVERY = 10.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "watch",
        help="print each status change of a run until it finishes",
        description="Print each status change of a run, with its time, until the run has "
        "finished. Exit status 0 if it SUCCEEDED, 1 if it FAILED, 2 on usage or connection "
        "errors, 130 on Ctrl-C. A failed run ends with its last traceback or error lines on "
        "stderr.",
    )
    common.add_run_flags(parser)
    metrics_cmd.add_pattern_flag(parser)
    common.add_common_flags(
        parser, json_help="print the run as JSON at each change (no metrics line)"
    )
    parser.set_defaults(command_module=__name__)


def run(args: argparse.Namespace) -> int:
    return command_setup.run_command(args, lambda settings: _main(args, settings))


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    organization = command_setup.organization_of(settings)
    async with command_setup.make_client(settings, max_retry_count=0) as client:
        deployment_id, data = await command_setup.find_deployment(
            client, settings, run_id=args.run_id
        )
        return await watch_run(
            client,
            settings,
            organization,
            deployment_id,
            args.run_id,
            first=data,
            as_json=bool(getattr(args, "json", False)),
            reconnect=command_setup.engine_reconnector(args, settings),
            pattern=metrics_cmd.metric_pattern(args, settings),
        )


def status_line(run: Run, *, color: bool) -> str:
    when = formats.show_time(run.modified_at or run.created_at)
    status = terminal_output.inert(run.status or "-")
    return f"{when}  {terminal_output.paint_status(run.status, status, color=color)}"


async def watch_run(
    client: AsyncAPIClient,
    settings: Settings,
    organization: str,
    deployment_id: str,
    run_id: str,
    *,
    first: dict[str, object] | None = None,
    as_json: bool = False,
    reconnect: command_setup.Reconnect | None = None,
    pattern: str | None = None,
) -> int:
    """Print the run's status at each change; retry with backoff while the server is away.

    Without `as_json`, also the latest metrics and progress of its log (`LatestMetrics`).
    `reconnect` (see `command_setup.engine_reconnector`) is tried when the server cannot be reached.
    """
    from runwatch.api.errors import ApiError, ConnectionFailed
    from runwatch.follow.logs import LogFollower
    from runwatch.follow.metrics import MetricParser
    from runwatch.follow.run_watch import RunWatcher

    schedule = command_setup.make_schedule(settings)
    writer = terminal_output.LineWriter(sanitize=False)
    color = terminal_output.use_color()
    watcher = RunWatcher(client, organization, deployment_id, run_id, first=first)
    latest: LatestMetrics | None = None
    if not as_json:
        follower = LogFollower(client, organization, deployment_id, run_id, from_start=True)
        latest = LatestMetrics(follower, MetricParser.for_pattern(pattern), writer)
    opened: list[AsyncAPIClient] = []
    outage = OutageNotes("reconnected; watching again")

    def on_error(exc: ApiError, delay: float) -> None:
        outage.failed(exc, delay)
        moved = reconnect() if reconnect is not None and isinstance(exc, ConnectionFailed) else None
        if moved is not None:
            opened.append(moved)
            watcher.client = moved
            if latest is not None:
                latest.follower.client = moved
            common.note(f"the local engine now answers at {moved.base_url}")

    last: str | None = None
    try:
        async for run in watcher.watch(schedule, on_error=on_error):
            outage.answered()
            if run.status != last:
                last = run.status
                if as_json:
                    writer.write_lines([terminal_output.dump_json(dict(run.raw))])
                else:
                    writer.write_lines([status_line(run, color=color)])
                    if latest is not None:
                        latest.shown = ""  # shown again under the new status
            if latest is not None:
                await latest.update(run.status, final=run.terminal)
        status = formats.exit_status_for(last)
        if status == common.EXIT_FAILED:
            # The live metrics line ends first: the summary is the last thing said.
            writer.finish()
            await failure_report.report_failure(
                client=watcher.client,
                organization=organization,
                deployment_id=deployment_id,
                run_id=run_id,
            )
        return status
    finally:
        writer.finish()
        for extra in opened:
            await extra.aclose()


class LatestMetrics:
    """The latest value of each metric and the latest progress of a run's log, as one line.

    `update` reads what the log has gained since (the follower's pages, errors left to the
    run watcher's retries) and prints the line when it has changed.
    """

    def __init__(
        self, follower: LogFollower, parser: MetricParser, writer: terminal_output.LineWriter
    ) -> None:
        self.follower = follower
        self.parser = parser
        self.writer = writer
        self.values: dict[str, Point] = {}
        self.progress: Progress | None = None
        self.shown = ""
        self._pending = ""
        self._printed_at = float("-inf")

    async def update(self, status: str | None, *, final: bool) -> None:
        from runwatch.api.errors import ApiError

        if status:
            self.follower.set_run_status(status)
        # A finished run's log is read to its end (bounded: a log of a few million lines).
        for _ in range(1000 if final else 1):
            try:
                self.take(await self.follower.poll())
            except ApiError:
                break  # the status poll reports an outage; the log is read again next time
            if self.follower.done or (self.follower.caught_up and not final):
                break
        self.show(final=final)

    def take(self, events: list[LogEvent]) -> None:
        from runwatch.follow.progress import parse_progress

        for point in self.parser.feed_events(events):
            self.values[point.name] = point
        for event in reversed(events):
            progress = parse_progress(event.message)
            if progress is not None:
                self.progress = progress
                break

    def line(self) -> str:
        parts = [
            f"{terminal_output.inert(p.name)}={metrics_cmd.show_value(p.value)}"
            for p in self.values.values()
        ]
        if self.progress is not None and self.progress.short():
            parts.append(f"[{self.progress.short()}]")
        return "  " + "  ".join(parts) if parts else ""

    def show(self, *, final: bool) -> None:
        import time

        text = self.line()
        if not text or text == self.shown:
            return
        now = time.monotonic()
        if self.writer.live or final or now - self._printed_at >= PIPE_EVERY:
            self.writer.write_live(text, final=final)
            self.shown = text
            self._printed_at = now
