"""What every command starts from: its settings (flags > the contract's environment variables >
the profile > the local engine of the default data dir), the client, the organization and the
deployment; and `run_command`, which runs a command's main with them.

Only the standard library at module level (see common.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runwatch.cli.common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    NO_ENGINE,
    UsageError,
    describe_error,
    error_line,
    flag,
    note,
)

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.config import Settings
    from runwatch.follow.schedule import PollSchedule


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
        if settings.deployment_id.isdigit():
            # The platform's ids are digits and names rarely are: an id is used as given,
            # with no request (a wrong one is a 404 where it is used); a name is looked up.
            return settings.deployment_id, None
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
