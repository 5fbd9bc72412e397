"""The `runwatch` console script.

Each subcommand lives in its own module exposing `register(subparsers)` and `run(args) -> int`.
Those modules import only the standard library at module level so that `runwatch --help`
stays fast; the heavy imports (Textual, httpx, FastAPI) happen inside `run`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from runwatch import __version__

# Order here is the order `runwatch --help` lists them in.
_SUBCOMMAND_MODULES = (
    "runwatch.cli.runs_cmd",
    "runwatch.cli.logs_cmd",
    "runwatch.cli.metrics_cmd",
    "runwatch.cli.watch_cmd",
    "runwatch.cli.submit_cmd",
    "runwatch.cli.deployments_cmd",
    "runwatch.cli.serve_cmd",
    "runwatch.cli.deploy_cmd",
    "runwatch.cli.config_cmd",
)
_APP_MODULE = "runwatch.cli.app_cmd"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runwatch",
        description="Watch ML runs on the ABEJA Platform Run API. "
        "With no command, opens the dashboard (starting the local engine if no profile is set).",
    )
    parser.add_argument("--version", action="version", version=f"runwatch {__version__}")
    app_module = importlib.import_module(_APP_MODULE)
    app_module.register_root(parser)
    parser.set_defaults(command_module=_APP_MODULE)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(args.command_module)
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
