"""`runwatch deployments`: the organization's deployments by name, with who created them.

With `--deployment NAME` (a name or an id, looked up as every command does): that deployment
and its versions.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from runwatch.cli import command_setup, common, formats, terminal_output

if TYPE_CHECKING:
    from runwatch.api.deployment_views import Creator, Deployment, Version
    from runwatch.config import Settings

HEADER = ("NAME", "DEPLOYMENT ID", "CREATOR", "CREATED")
VERSION_HEADER = ("VERSION", "VERSION ID", "HANDLER", "IMAGE", "CREATED")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "deployments",
        help="list the deployments (names, ids, creators); one with its versions",
        description="List the organization's deployments: a table, or one JSON object (the "
        "API's deployment) per line with --json. With --deployment NAME: that deployment "
        "and its versions.",
    )
    common.add_common_flags(parser, json_help="one JSON object (the API's object) per line")
    parser.set_defaults(command_module=__name__)


def run(args: argparse.Namespace) -> int:
    return command_setup.run_command(args, lambda settings: _main(args, settings))


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    from runwatch.api.deployment_views import Version
    from runwatch.api.deployments import list_deployments, resolve_deployment

    as_json = bool(getattr(args, "json", False))
    organization = command_setup.organization_of(settings)
    writer = terminal_output.LineWriter(sanitize=False)
    async with command_setup.make_client(settings) as client:
        if not settings.deployment_id:
            deployments = await list_deployments(client, organization)
            if as_json:
                writer.write_lines([terminal_output.dump_json(dict(d.raw)) for d in deployments])
            elif deployments:
                writer.write_lines([table(deployments)])
            else:
                common.note(f"organization {organization} has no deployments")
            return common.EXIT_OK
        chosen = await resolve_deployment(client, organization, settings.deployment_id)
        data = await client.get_deployment_versions(organization, chosen.deployment_id)
    versions = Version.list_from_wire(data)
    if as_json:
        listed = [dict(v.raw) for v in versions]
        writer.write_lines([terminal_output.dump_json({**chosen.raw, "versions": listed})])
        return common.EXIT_OK
    listing = version_table(versions) if versions else "no versions"
    writer.write_lines([table([chosen]), "", listing])
    return common.EXIT_OK


def creator_text(creator: Creator | None) -> str:
    return "-" if creator is None else creator.label


def table(deployments: list[Deployment]) -> str:
    rows = [
        (
            terminal_output.inert(d.name or "-"),
            terminal_output.inert(d.deployment_id),
            terminal_output.inert(creator_text(d.creator)),
            formats.show_time(d.created_at),
        )
        for d in deployments
    ]
    return formats.format_table(rows, HEADER)


def version_table(versions: list[Version]) -> str:
    rows = [
        (
            terminal_output.inert(v.version or "-"),
            terminal_output.inert(v.version_id),
            terminal_output.inert(v.handler or "-"),
            terminal_output.inert(v.image or "-"),
            formats.show_time(v.created_at),
        )
        for v in versions
    ]
    return formats.format_table(rows, VERSION_HEADER)
