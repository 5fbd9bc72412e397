"""`runwatch deploy`: copy a code dir into the data dir as a new version.

Works whether the engine is running or not: it writes to the same SQLite database (WAL mode lets
it commit while the engine reads and writes).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runwatch.engine import db, store, store_format
from runwatch.engine.common import HANDLER_RE, Clock
from runwatch.engine.isolation import make_read_only, make_writable

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".git", ".venv", "venv", ".mypy_cache")


def _ignore_for(data_dir: Path) -> Callable[[str, list[str]], set[str]]:
    """Caches and VCS dirs, and the data dir itself if it lives inside the code dir."""
    skip = data_dir.resolve()

    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = set(_IGNORE(directory, names))
        ignored.update(name for name in names if (Path(directory) / name).resolve() == skip)
        return ignored

    return ignore


class DeployError(Exception):
    """A deploy that cannot be done; the message is for the user."""


@dataclass(frozen=True, slots=True)
class DeployResult:
    deployment_id: str
    version_id: str
    version: str


def check_handler(code_dir: Path, handler: str) -> None:
    """The handler must be `module[.sub]:function` naming a module file inside `code_dir`."""
    if not HANDLER_RE.match(handler):
        raise DeployError(f"bad handler {handler!r}: expected module:function, e.g. main:handler")
    module = handler.split(":", 1)[0]
    base = code_dir.joinpath(*module.split("."))
    candidates = (base.with_suffix(".py"), base / "__init__.py")
    root = code_dir.resolve()
    for candidate in candidates:
        if candidate.is_file() and candidate.resolve().is_relative_to(root):
            return
    raise DeployError(f"handler module {module!r} not found in {code_dir}")


def check_links(code_dir: Path, ignore: Callable[[str, list[str]], set[str]]) -> None:
    """Every symlink the copy would follow must stay inside `code_dir` and not loop.

    The copy follows links (freezing their content), so a link out of the dir would copy a
    file or a whole tree from elsewhere (`lib -> /`) into the version, and a link to an
    ancestor would copy forever. The ignored dirs (venvs, caches) are not copied, so not
    checked.
    """
    root = code_dir.resolve()
    for directory, dirs, files in os.walk(code_dir):
        skipped = ignore(directory, dirs + files)
        dirs[:] = [name for name in dirs if name not in skipped]
        for name in [*dirs, *files]:
            path = Path(directory) / name
            if name in skipped or not path.is_symlink():
                continue
            shown = path.relative_to(code_dir)
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                raise DeployError(f"symlink {shown} is broken or loops") from None
            if not target.is_relative_to(root):
                raise DeployError(f"symlink {shown} points outside {code_dir}: {target}")
            if target.is_dir() and path.parent.resolve().is_relative_to(target):
                raise DeployError(f"symlink {shown} points to a directory that contains it")


def _named(conn: sqlite3.Connection, name: str) -> str:
    """The id of the only deployment called `name` (as the API clients look names up)."""
    ids = store.deployments_named(conn, name)
    if len(ids) > 1:
        raise DeployError(
            f"{len(ids)} deployments are named {name!r}: {', '.join(ids)}; give one of these ids"
        )
    if not ids:
        raise DeployError(f"no deployment named {name!r} or with that id")
    return ids[0]


def deploy(
    data_dir: Path,
    code_dir: Path,
    *,
    name: str,
    handler: str = "main:handler",
    deployment_id: str | None = None,
    version: str | None = None,
    clock: Clock | None = None,
) -> DeployResult:
    """Copy `code_dir` as a new version of `deployment_id` (or of a new deployment `name`)."""
    if not code_dir.is_dir():
        raise DeployError(f"{code_dir} is not a directory")
    check_handler(code_dir, handler)
    ignore = _ignore_for(data_dir)
    check_links(code_dir, ignore)
    if not name.strip() and deployment_id is None:
        raise DeployError("a deployment name is required")
    clock = clock or Clock()
    conn, meta = store_format.init_store(data_dir)
    try:
        versions_root = data_dir / "versions"
        versions_root.mkdir(exist_ok=True)
        # Copy first, outside the transaction (a big tree must not hold the database's write
        # lock), then rename into place under the id the transaction allocates. Copying
        # (following symlinks) freezes the code: later edits of DIR do not change what a
        # version runs, like an image on the platform.
        staging = Path(tempfile.mkdtemp(prefix=".deploy-", dir=versions_root))
        try:
            shutil.copytree(code_dir, staging / "code", ignore=ignore)
            with db.Transaction(conn):
                now = clock.now_us()
                if deployment_id is None:
                    deployment_id = store.insert_deployment(conn, meta.ids_mode, name.strip(), now)
                elif store.get_deployment(conn, deployment_id) is None:
                    deployment_id = _named(conn, deployment_id)
                version_id = store.new_version_id(conn, meta.ids_mode)
                label = version or f"0.0.{store.count_versions(conn, deployment_id) + 1}"
                target = versions_root / version_id
                if target.exists():
                    make_writable(target)  # a leftover of a crash, read-only like any version
                    shutil.rmtree(target)
                os.replace(staging / "code", target)
                store.insert_version(
                    conn,
                    version_id=version_id,
                    deployment_id=deployment_id,
                    version=label,
                    handler=handler,
                    code_dir=str(target),
                    now_us=now,
                )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        # Runs read the code from here and must not change it for the runs after them.
        make_read_only(target)
        return DeployResult(deployment_id, version_id, label)
    finally:
        conn.close()
