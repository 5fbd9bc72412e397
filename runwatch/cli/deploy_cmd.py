"""`runwatch deploy`: copy a code dir into the local engine as a new version."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    from runwatch.engine.commands import add_deploy_arguments

    parser = subparsers.add_parser(
        "deploy",
        help="deploy a code dir to the local engine",
        description="Copy DIR into the engine's data dir as a new version (of a new deployment, "
        "or of --deployment). Works whether the engine is running or not.",
    )
    add_deploy_arguments(parser)
    parser.set_defaults(command_module=__name__)


def run(args: argparse.Namespace) -> int:
    from runwatch.engine.commands import run_deploy

    return run_deploy(args)
