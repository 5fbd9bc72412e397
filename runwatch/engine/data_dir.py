"""Whether a data dir can be used, said in one line naming it (stdlib only).

`serve` and `deploy` write to the data dir; the headless commands and the dashboard read its
engine.env to find a running engine. A file, a path that cannot be created (under /proc), or a
dir the user may not enter is refused up front with the path and the reason, rather than
failing deep inside with a traceback.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

ENV_FILE = "engine.env"


class DataDirError(Exception):
    """A data dir that cannot be used; the message names it and says why, on one line."""


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def writable_data_dir(data_dir: Path) -> Path:
    """`data_dir` made absolute, created (owner-only) if missing, and checked writable."""
    data_dir = data_dir.expanduser().absolute()
    try:
        # Private: it will hold the token, the runs' environments and their logs.
        data_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    except OSError as error:
        # mkdir says "File exists" for a file in the way; say what is wrong with it.
        reason = "Not a directory" if data_dir.exists() else _reason(error)
        raise DataDirError(f"cannot use data dir {data_dir}: {reason}") from None
    try:
        # Really creating a file: permission bits do not tell it for root, a read-only mount
        # or /proc.
        with tempfile.TemporaryFile(dir=data_dir, prefix=".probe-"):
            pass
    except OSError as error:
        raise DataDirError(f"cannot write to data dir {data_dir}: {_reason(error)}") from None
    return data_dir


def check_readable_data_dir(data_dir: Path) -> None:
    """Raise DataDirError unless `data_dir` holds a readable engine.env or none at all.

    A missing dir or engine.env is not an error here: it means no engine was started there.
    """
    path = data_dir.expanduser() / ENV_FILE
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        return
    except OSError as error:
        raise DataDirError(f"cannot read data dir {data_dir}: {_reason(error)}") from None
