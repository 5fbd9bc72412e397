"""`runwatch runs`: the runs of a deployment as a table or JSON lines; `runs get RUN_ID`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from runwatch.cli import command_setup, common, formats, terminal_output

if TYPE_CHECKING:
    from runwatch.api.models import Run
    from runwatch.config import Settings

HEADER = ("RUN ID", "STATUS", "VERSION", "CREATED", "DURATION", "RETRIES")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "runs",
        help="list the runs of a deployment (runs get RUN_ID: one run)",
        description="List the runs of a deployment, newest first: a table on a terminal, "
        "one JSON object per line with --json.",
    )
    parser.add_argument("--all", action="store_true", help="page through every run")
    parser.add_argument("--oldest-first", action="store_true", help="oldest runs first")
    parser.add_argument(
        "--reason",
        action="store_true",
        help="a REASON column: why each FAILED run failed (its exception or last error line, "
        "read from the newest page of its log: one request per failed run listed)",
    )
    common.add_common_flags(parser, json_help="one JSON object (the API's run) per line")
    parser.set_defaults(command_module=__name__, runs_action="list")
    actions = parser.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
    get = actions.add_parser(
        "get",
        help="show one run",
        description="Show one run: its fields laid out for reading, or the API's JSON.",
    )
    common.add_run_flags(get)
    common.add_common_flags(get, json_help="print the run as the API returns it")
    get.set_defaults(command_module=__name__, runs_action="get")


def run(args: argparse.Namespace) -> int:
    if args.runs_action == "get":
        return command_setup.run_command(args, lambda settings: _get(args, settings))
    return command_setup.run_command(args, lambda settings: _list(args, settings))


async def _list(args: argparse.Namespace, settings: Settings) -> int:
    from runwatch.follow.runs import RunsPoller

    as_json = bool(getattr(args, "json", False))
    color = terminal_output.use_color()
    organization = command_setup.organization_of(settings)
    async with command_setup.make_client(settings) as client:
        deployment_id, _ = await command_setup.find_deployment(client, settings)
        poller = RunsPoller(client, organization, deployment_id, scan_forward=args.oldest_first)
        await poller.poll()
        want_reasons = bool(getattr(args, "reason", False))
        if as_json:
            # Streamed page by page so `--all` on a long history starts printing at once.
            printed = 0
            while True:
                found = None
                if want_reasons:
                    found = await _reasons(client, organization, deployment_id, poller, printed)
                printed = _print_json(poller, printed, found)
                if not (args.all and poller.has_more):
                    break
                await poller.load_more()
            return common.EXIT_OK
        while args.all and poller.has_more:
            await poller.load_more()
        runs = [poller.runs[run_id] for run_id in poller.order]
        found = None
        if want_reasons:
            found = await _reasons(client, organization, deployment_id, poller, 0)
    writer = terminal_output.LineWriter(sanitize=False)
    if not runs:
        common.note(f"no runs in deployment {deployment_id}")
        return common.EXIT_OK
    writer.write_lines([table(runs, color=color, reasons=found)])
    if poller.has_more:
        common.note("more runs: --all lists every one")
    return common.EXIT_OK


async def _reasons(
    client: Any, organization: str, deployment_id: str, poller: Any, start: int
) -> dict[str, str]:
    """The reasons of the failed runs from `start` on in the poller's order."""
    from runwatch.cli.failure_report import reasons

    failed = [run_id for run_id in poller.order[start:] if poller.runs[run_id].status == "FAILED"]
    return await reasons(client, organization, deployment_id, failed) if failed else {}


def _print_json(poller: Any, start: int, reasons: dict[str, str] | None = None) -> int:
    order = poller.order
    lines = []
    for run_id in order[start:]:
        data = dict(poller.runs[run_id].raw)
        if reasons is not None and run_id in reasons:
            # Not the API's: added only when asked for with --reason.
            data["reason"] = reasons[run_id]
        lines.append(terminal_output.dump_json(data))
    terminal_output.LineWriter(sanitize=False).write_lines(lines)
    return len(order)


def table(runs: list[Run], *, color: bool, reasons: dict[str, str] | None = None) -> str:
    rows = [
        (
            terminal_output.inert(run.run_id),
            terminal_output.inert(run.status or "-"),
            terminal_output.inert(run.model_version or run.version_id or "-"),
            formats.show_time(run.created_at),
            formats.show_duration(formats.run_duration(run)),
            "-" if run.retry_count is None else str(run.retry_count),
            *(() if reasons is None else (reasons.get(run.run_id, ""),)),
        )
        for run in runs
    ]
    header = HEADER if reasons is None else (*HEADER, "REASON")

    def paint(column: int, cell: str, padded: str) -> str:
        if column != 1 or not color:
            return padded
        return terminal_output.paint_status(cell, color=True) + padded[len(cell) :]

    return formats.format_table(rows, header, paint=paint)


def describe(run: Run, *, color: bool = False) -> str:
    from runwatch.config import looks_secret, mask_secret

    version = run.model_version or "-"
    if run.version_id:
        version = f"{version} ({run.version_id})" if run.model_version else run.version_id
    models = ", ".join(f"{alias}={model}" for alias, model in run.models.items()) or "-"
    env = ", ".join(
        f"{name}={mask_secret(value) if looks_secret(name) else value}"
        for name, value in run.user_env_vars.items()
    )
    fields = [
        ("run id", run.run_id),
        ("status", run.status or "-"),
        ("deployment", run.deployment_id or "-"),
        ("version", version),
        ("created", formats.show_time(run.created_at)),
        ("modified", formats.show_time(run.modified_at)),
        ("duration", formats.show_duration(formats.run_duration(run))),
        ("retry count", "-" if run.retry_count is None else str(run.retry_count)),
        ("distribution", "-" if run.distribution is None else str(run.distribution)),
        ("models", models),
        ("input data", terminal_output.dump_json(run.input_data)),
        ("output template", terminal_output.dump_json(run.output_template)),
        ("environment", env or "-"),
    ]
    width = max(len(name) for name, _ in fields)
    lines = [f"{name.ljust(width)}  {terminal_output.inert(value)}" for name, value in fields]
    if color and run.status:
        lines[1] = f"{'status'.ljust(width)}  " + terminal_output.paint_status(
            run.status, terminal_output.inert(run.status), color=True
        )
    return "\n".join(lines)


async def _get(args: argparse.Namespace, settings: Settings) -> int:
    from runwatch.api.models import Run

    organization = command_setup.organization_of(settings)
    async with command_setup.make_client(settings) as client:
        deployment_id, data = await command_setup.find_deployment(
            client, settings, run_id=args.run_id
        )
        if data is None:
            data = await client.get_run(organization, deployment_id, args.run_id)
    writer = terminal_output.LineWriter(sanitize=False)
    if getattr(args, "json", False):
        writer.write_lines([terminal_output.dump_json(data)])
        return common.EXIT_OK
    run = Run.from_wire(data)
    text = describe(run)
    if terminal_output.use_color():
        text = text.replace(
            f"  {run.status}\n", f"  {terminal_output.paint_status(run.status, color=True)}\n", 1
        )
    writer.write_lines([text])
    return common.EXIT_OK
