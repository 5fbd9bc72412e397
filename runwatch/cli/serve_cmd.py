"""`runwatch serve`: run the local Run API (the engine) in the foreground."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    from runwatch.engine.commands import add_serve_arguments

    parser = subparsers.add_parser(
        "serve",
        help="run the local Run API engine",
        description="Run the local Run API. Writes DATA_DIR/engine.env (mode 0600) with "
        "ABEJA_API_URL, ABEJA_ORGANIZATION_ID and PLATFORM_AUTH_TOKEN for any client.",
    )
    add_serve_arguments(parser)
    parser.set_defaults(command_module=__name__)


def run(args: argparse.Namespace) -> int:
    from runwatch.engine.commands import run_serve

    return run_serve(args)
