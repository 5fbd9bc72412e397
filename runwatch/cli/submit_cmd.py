"""`runwatch submit --version VERSION_ID ...`: create a run, print its id, optionally follow it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runwatch.cli import command_setup, common, terminal_output

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.config import Settings

NEWEST_SHOWN = 5
# Far above any request body a Run API takes: the cap only stops an endless file (/dev/zero)
# from filling the memory.
MAX_FILE_BYTES = 16 << 20

OUTCOME_UNKNOWN = (
    "outcome unknown: the request may have reached the server; check `runwatch runs` "
    "before submitting again"
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "submit",
        help="submit a run of a deployment version",
        description="Submit a run and print its id (with --json: the run). With --follow, then "
        "follow its log like `logs -f` and exit 0 if it SUCCEEDED, 1 if it FAILED.",
    )
    parser.add_argument(
        "--version",
        required=True,
        metavar="VERSION_ID",
        dest="version_id",
        type=common.nonempty_arg,
    )
    parser.add_argument(
        "--input", metavar="JSON|@FILE", help="input data: a JSON object, or @file holding one"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment variable for the run (repeatable)",
    )
    parser.add_argument("--retry-count", type=int, metavar="N", help="attempts, 0 to 9")
    parser.add_argument("--distribution", type=int, metavar="N", help="queue distribution id")
    parser.add_argument(
        "--model",
        metavar="MODEL_ID",
        type=common.nonempty_arg,
        help="model id to attach to the run",
    )
    parser.add_argument(
        "--output-template", metavar="JSON|@FILE", help="output template: a JSON object"
    )
    parser.add_argument(
        "--follow", action="store_true", help="then follow the run's log until it ends"
    )
    common.add_common_flags(parser, json_help="print the created run as JSON")
    parser.set_defaults(command_module=__name__)


def load_json_object(text: str, what: str) -> dict[str, Any]:
    """`text`, or the file `@PATH` names, as a JSON object by the dashboard form's strict rule."""
    from runwatch.json_text import JsonTextError, parse_strict_json

    if text.startswith("@"):
        text = _read_text_file(text[1:], what)
    if not text.strip():
        # An empty value is a mistake (an unset shell variable), not "no input": that is
        # leaving the flag out.
        raise common.UsageError(f"{what} is empty: give a JSON object, or leave {what} out")
    try:
        value = parse_strict_json(text)
    except JsonTextError as exc:
        raise common.UsageError(f"{what}: {exc}") from None
    if not isinstance(value, dict):
        raise common.UsageError(f"{what} must be a JSON object")
    return value


def _read_text_file(name: str, what: str) -> str:
    if not name:
        raise common.UsageError(f"{what}: @ must be followed by a file name")
    try:
        path = Path(name).expanduser()
    except RuntimeError:  # ~user of no such user
        raise common.UsageError(f"{what}: cannot read {name}: no such user") from None
    try:
        with path.open("rb") as handle:
            # One more byte than the limit tells a file that is too big (or endless, like
            # /dev/zero) without reading it all.
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise common.UsageError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise common.UsageError(f"{what}: {path} is larger than {MAX_FILE_BYTES >> 20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise common.UsageError(
            f"{what}: {path} is not UTF-8 text (byte {exc.start + 1})"
        ) from None


def parse_env(pairs: list[str]) -> dict[str, str]:
    from runwatch.api.models import ENV_NAME

    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise common.UsageError(f"--env takes KEY=VALUE, got {pair!r}")
        if not ENV_NAME.match(name):
            raise common.UsageError(f"--env: {name!r} is not a valid variable name")
        if name in env:
            # Which one was meant? Silently keeping the last hides a typo in a script.
            raise common.UsageError(f"--env: {name} is given twice")
        env[name] = value
    return env


async def _show_newest_runs(client: AsyncAPIClient, organization: str, deployment_id: str) -> None:
    """The newest runs of the deployment on stderr (stdout carries only a created run's id)."""
    import sys

    from runwatch.api.errors import ApiError
    from runwatch.cli.runs_cmd import table
    from runwatch.follow.runs import RunsPoller

    poller = RunsPoller(client, organization, deployment_id)
    try:
        await poller.poll()
    except ApiError as error:
        common.note(f"could not list the runs to check: {common.describe_error(error)}")
        return
    runs = [poller.runs[run_id] for run_id in poller.order[:NEWEST_SHOWN]]
    if not runs:
        common.note(f"deployment {deployment_id} lists no runs so far")
        return
    common.note(f"the newest runs of deployment {deployment_id}, refreshed just now:")
    sys.stderr.write(table(runs, color=False) + "\n")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    return command_setup.run_command(args, lambda settings: _main(args, settings))


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    from runwatch.api.errors import OutcomeUnknown, ResponseShapeError
    from runwatch.cli.logs_cmd import follow_logs

    input_data = None if args.input is None else load_json_object(args.input, "--input")
    template = (
        None
        if args.output_template is None
        else load_json_object(args.output_template, "--output-template")
    )
    environment = parse_env(args.env)
    if args.retry_count is not None and not 0 <= args.retry_count <= 9:
        raise common.UsageError("--retry-count must be between 0 and 9")
    if args.distribution is not None and args.distribution < 0:
        raise common.UsageError("--distribution must be >= 0")
    if settings.read_only:
        raise common.UsageError(
            f"profile {settings.profile or '?'} is read-only: submitting runs is disabled"
        )
    organization = command_setup.organization_of(settings)
    async with command_setup.make_client(settings) as client:
        deployment_id, _ = await command_setup.find_deployment(
            client, settings, version_id=args.version_id
        )
        try:
            data = await client.create_run(
                organization,
                deployment_id,
                args.version_id,
                input_data=input_data,
                output_template=template,
                distribution=args.distribution,
                retry_count=args.retry_count,
                environment=environment or None,
                model_id=args.model,
            )
        except (OutcomeUnknown, ResponseShapeError):
            # Never resubmit on our own: that could start the same (costly) run twice. List
            # the newest runs instead: the user sees whether this one was created. A 2xx
            # whose body cannot be read most likely did create it.
            await _show_newest_runs(client, organization, deployment_id)
            raise common.UsageError(OUTCOME_UNKNOWN) from None
        run_id = data.get("run_id")
        if not isinstance(run_id, str) or not run_id:
            await _show_newest_runs(client, organization, deployment_id)
            raise common.UsageError(f"the server's answer has no run_id; {OUTCOME_UNKNOWN}")
        writer = terminal_output.LineWriter(sanitize=False)
        # The id is the server's choice: made inert, a piped one too (a real id never changes).
        shown = (
            terminal_output.dump_json(data)
            if getattr(args, "json", False)
            else terminal_output.inert(run_id)
        )
        writer.write_lines([shown])
        if not args.follow:
            return common.EXIT_OK
    # The client of the submit keeps the SDK's retries; following uses its own schedule.
    async with command_setup.make_client(settings, max_retry_count=0) as client:
        return await follow_logs(
            client,
            settings,
            organization,
            deployment_id,
            run_id,
            reconnect=command_setup.engine_reconnector(args, settings),
        )
