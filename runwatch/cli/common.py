"""What the headless commands (runs, logs, watch, submit) share.

Exit statuses, the usage error, the flags every command shares, and error and note lines.
Settings and the client are in command_setup.py, output in terminal_output.py, times and tables
in formats.py.

Only the standard library is imported at module level: the command modules import this one
while `runwatch --help` builds its parser. httpx, the client and the follow layer are imported
inside the functions that need them.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from runwatch.cli.terminal_output import inert

if TYPE_CHECKING:
    pass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

NO_ENGINE = "no engine running; start one with `runwatch serve` or set ABEJA_API_URL"


class UsageError(Exception):
    """A problem with what the user asked for: one line on stderr, exit status 2."""


# ---------------------------------------------------------------- flags


# The connection flags that take a value: (flag, metavar, help).
CONNECTION_FLAGS = (
    ("--profile", "NAME", "profile of the config file, or an abeja CLI configuration's name"),
    (
        "--deployment",
        "NAME",
        "deployment name or id (default: $ABEJA_DEPLOYMENT_ID, the profile's, or the only one)",
    ),
    (
        "--api-url",
        "URL",
        "Run API base URL (default: $ABEJA_API_URL, the profile's, or the local engine)",
    ),
    ("--organization", "ID", "organization id (default: $ABEJA_ORGANIZATION_ID or the profile's)"),
)


def add_common_flags(parser: argparse.ArgumentParser, *, json_help: str | None = None) -> None:
    """The flags every headless command takes.

    Their default is SUPPRESS so that a value given before the command name (`runwatch
    --profile prod runs`, parsed by the root parser) is not overwritten by the subparser.
    """
    group = parser.add_argument_group("connection")
    for name, metavar, help_text in CONNECTION_FLAGS:
        group.add_argument(name, metavar=metavar, default=argparse.SUPPRESS, help=help_text)
    group.add_argument(
        "--local",
        action="store_true",
        default=argparse.SUPPRESS,
        help="use the local engine, whatever the environment and the configs say",
    )
    switches = (
        ("--json", json_help or "print JSON instead of text"),
        ("--debug", "show tracebacks on errors"),
    )
    for name, help_text in switches:
        parser.add_argument(name, action="store_true", default=argparse.SUPPRESS, help=help_text)


# What a command that follows a run to its end says of its exit status.
RUN_END_STATUS = (
    "the exit status is then 0 if the run SUCCEEDED and 1 if it FAILED (2: usage or "
    "connection error, 130: Ctrl-C)"
)


def add_run_flags(parser: argparse.ArgumentParser, *, follow: str | None = None) -> None:
    """RUN_ID, and `-f/--follow` (with `follow` as its help) for a command that can follow."""
    parser.add_argument("run_id", metavar="RUN_ID", type=run_id_arg)
    if follow is not None:
        parser.add_argument("-f", "--follow", action="store_true", help=follow)


def run_id_arg(text: str) -> str:
    """argparse type of RUN_ID: an empty id would ask for the runs list instead of a run."""
    if not text.strip():
        raise argparse.ArgumentTypeError("RUN_ID must not be empty")
    return text


def nonempty_arg(text: str) -> str:
    """argparse type of an id: an empty one is a mistake (an unset shell variable), refused
    before anything is sent rather than dropped or looked up."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def flag(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    value = getattr(args, name, default)
    return default if value is None else value


# ---------------------------------------------------------------- running a command


def describe_error(exc: BaseException) -> str:
    """One line for stderr. The client's exceptions never hold a secret (see api.errors)."""
    from runwatch.api.errors import ApiError

    # The wording is the error's own (`ApiError.describe`), shared with the dashboard.
    return inert(exc.describe() if isinstance(exc, ApiError) else str(exc) or type(exc).__name__)


def error_line(text: str) -> None:
    sys.stderr.write(f"runwatch: error: {text}\n")
    sys.stderr.flush()


def note(text: str) -> None:
    sys.stderr.write(f"runwatch: {text}\n")
    sys.stderr.flush()
