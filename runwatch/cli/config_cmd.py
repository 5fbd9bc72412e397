"""`runwatch config`: where the config file is and what the effective settings are.

Secrets are masked. `--save NAME` stores the effective settings (typically taken from the
SDK's environment variables, so no secret has to be typed on a command line) as a profile.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

HELP = "show the config file path and the effective settings (secrets masked)"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "config",
        help=HELP,
        description=HELP + ". Precedence: flags > environment > profile > the abeja CLI's "
        "configuration (~/.abeja/config) > local engine.",
    )
    # Its own dest: a subparser's default would otherwise overwrite the root --profile.
    parser.add_argument(
        "--profile", dest="config_profile", metavar="NAME", help="show this profile's settings"
    )
    parser.add_argument(
        "--save",
        metavar="NAME",
        type=_profile_name,
        help="save the effective settings (e.g. from ABEJA_* variables) as profile NAME",
    )
    parser.add_argument(
        "--make-default",
        action="store_true",
        help="with --save: make NAME the default_profile",
    )
    parser.set_defaults(command_module=__name__)


def _profile_name(text: str) -> str:
    """argparse type of --save: an empty name would silently show instead of saving."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def run(args: argparse.Namespace) -> int:
    from runwatch import config

    profile = getattr(args, "config_profile", None) or getattr(args, "profile", None)
    read_only = getattr(args, "read_only", None)
    try:
        settings = config.resolve_settings(
            profile=profile,
            deployment_id=getattr(args, "deployment", None),
            read_only=True if read_only else None,
            local=bool(getattr(args, "local", None)),
        )
    except config.ConfigError as exc:
        print(f"runwatch config: {exc}", file=sys.stderr)
        return 2
    path = settings.config_path or config.config_path()
    for warning in settings.warnings:
        print(f"warning: {warning}", file=sys.stderr)

    save_as = getattr(args, "save", None)
    if save_as:
        if settings.needs_organization_lookup:
            print(
                "runwatch config: the organization is known only by its name "
                f"{settings.organization_name!r}: set ABEJA_ORGANIZATION_ID to its id first",
                file=sys.stderr,
            )
            return 2
        if settings.local_engine:
            print(
                "runwatch config: nothing to save: no API URL, profile or credential is set "
                "(set ABEJA_API_URL, ABEJA_ORGANIZATION_ID and PLATFORM_AUTH_TOKEN first)",
                file=sys.stderr,
            )
            return 2
        credential = settings.credential
        saved = config.Profile(
            name=save_as,
            api_url=settings.api_url,
            organization_id=settings.organization_id,
            deployment_id=settings.deployment_id,
            auth_token=credential.get("auth_token"),
            user_id=credential.get("user_id"),
            personal_access_token=credential.get("personal_access_token"),
            read_only=settings.read_only,
            poll_interval=settings.poll_interval,
            idle_interval=settings.idle_interval,
            max_backoff=settings.max_backoff,
            bell=settings.bell,
            timeout=settings.timeout,
            max_retry_count=settings.max_retry_count,
            metric_pattern=settings.metric_pattern,
        )
        try:
            config.save_profile(saved, path=path, make_default=args.make_default)
        except OSError as exc:
            print(f"runwatch config: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        except config.ConfigError as exc:
            print(f"runwatch config: {exc}", file=sys.stderr)
            return 2
        print(f"saved profile {save_as!r} to {path} (mode 0600)")
        return 0

    state = "exists" if path.exists() else "not created yet"
    print(f"config file: {path} ({state})")
    print(f"API from:    {settings.api_source.detail}")
    shown = settings.masked()
    width = max(len(key) for key in shown)
    value_width = max(len(value) for value in shown.values())
    for key, value in shown.items():
        source = settings.sources.get(key if key in settings.sources else _group(key), "")
        line = f"  {key:<{width}}  {value:<{value_width}}  {source}".rstrip()
        print(line)
    return 0


def _group(key: str) -> str:
    # Credential fields are reported under one source.
    if key in ("auth_token", "user_id", "personal_access_token"):
        return "credential"
    return key
