"""`runwatch watch RUN_ID`: print each status change of a run until it finishes.

Exit status: 0 when the run SUCCEEDED, 1 when it FAILED, 2 for usage and connection errors,
130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from runwatch.cli import command_setup, common, failure_report, formats, terminal_output
from runwatch.cli.outage import OutageNotes

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.models import Run
    from runwatch.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "watch",
        help="print each status change of a run until it finishes",
        description="Print each status change of a run, with its time, until the run has "
        "finished. Exit status 0 if it SUCCEEDED, 1 if it FAILED, 2 on usage or connection "
        "errors, 130 on Ctrl-C. A failed run ends with its last traceback or error lines on "
        "stderr.",
    )
    parser.add_argument("run_id", metavar="RUN_ID", type=common.run_id_arg)
    common.add_common_flags(parser, json_help="print the run as JSON at each change")
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
) -> int:
    """Print the run's status at each change; retry with backoff while the server is away.

    `reconnect` (see `command_setup.engine_reconnector`) is tried when the server cannot be reached.
    """
    from runwatch.api.errors import ApiError, ConnectionFailed
    from runwatch.follow.run_watch import RunWatcher

    schedule = command_setup.make_schedule(settings)
    writer = terminal_output.LineWriter(sanitize=False)
    color = terminal_output.use_color()
    watcher = RunWatcher(client, organization, deployment_id, run_id, first=first)
    opened: list[AsyncAPIClient] = []
    outage = OutageNotes("reconnected; watching again")

    def on_error(exc: ApiError, delay: float) -> None:
        outage.failed(exc, delay)
        moved = reconnect() if reconnect is not None and isinstance(exc, ConnectionFailed) else None
        if moved is not None:
            opened.append(moved)
            watcher.client = moved
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
        status = formats.exit_status_for(last)
        if status == common.EXIT_FAILED:
            await failure_report.report_failure(
                client=watcher.client,
                organization=organization,
                deployment_id=deployment_id,
                run_id=run_id,
            )
        return status
    finally:
        for extra in opened:
            await extra.aclose()
