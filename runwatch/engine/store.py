"""SQLite storage, the rows: ids, deployments, versions, runs and their status history."""

from __future__ import annotations

import functools
import getpass
import json
import secrets
import sqlite3
from collections.abc import Sequence
from typing import Any

from runwatch.engine.common import format_us, random_digits
from runwatch.engine.db import get_meta, set_meta

TERMINAL = ("SUCCEEDED", "FAILED")

RUN_COLUMNS = (
    "rseq, run_id, deployment_id, version_id, model_version, status, input_data, output_template,"
    " models, environment, retry_count, distribution, created_us, modified_us"
)


# -- ids ---------------------------------------------------------------------------------------


def _next_seq(conn: sqlite3.Connection, table: str) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    return (row[0] if row else 0) + 1


def new_deployment_id(conn: sqlite3.Connection, ids_mode: str) -> str:
    if ids_mode == "seq":
        return str(2_000_000_000_000 + _next_seq(conn, "deployments"))
    while True:
        candidate = random_digits(13)
        if not conn.execute(
            "SELECT 1 FROM deployments WHERE deployment_id = ?", (candidate,)
        ).fetchone():
            return candidate


def new_version_id(conn: sqlite3.Connection, ids_mode: str) -> str:
    if ids_mode == "seq":
        return f"ver-{_next_seq(conn, 'versions'):016x}"
    while True:
        candidate = "ver-" + secrets.token_hex(8)
        if not conn.execute("SELECT 1 FROM versions WHERE version_id = ?", (candidate,)).fetchone():
            return candidate


def new_run_id(conn: sqlite3.Connection, ids_mode: str) -> str:
    if ids_mode == "seq":
        return f"run-{_next_seq(conn, 'runs'):016d}"
    while True:
        candidate = "run-" + random_digits(16)
        if not conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (candidate,)).fetchone():
            return candidate


# -- deployments and versions ------------------------------------------------------------------


def local_user(conn: sqlite3.Connection, organization_id: str) -> dict[str, Any]:
    """The engine's one user, as the platform shows a deployment's or a version's creator.

    The engine has no accounts: whoever holds its token is the organization's admin, so the
    creator of everything is the account that runs the engine, with the organization's id
    and the organization's creation time.
    """
    row = conn.execute(
        "SELECT created_us FROM organizations WHERE organization_id = ?", (organization_id,)
    ).fetchone()
    created = format_us(int(row[0]) if row else 0)
    name = _os_user()
    return {
        "display_name": name,
        "email": f"{name}@localhost",
        "id": organization_id,
        "is_registered": True,
        "role": "admin",
        "created_at": created,
        "updated_at": created,
    }


@functools.cache
def _os_user() -> str:
    try:
        return getpass.getuser() or "local"
    except (KeyError, OSError):
        # No login name and no passwd entry (some containers).
        return "local"


def deployment_json(row: Sequence[Any], creator: dict[str, Any]) -> dict[str, Any]:
    """A deployment with the fields of the SDK's `abeja.deployments` samples."""
    deployment_id, name, created_us, modified_us = row
    return {
        "deployment_id": deployment_id,
        "name": name,
        "creator": creator,
        "default_environment": {},
        "runs": [],
        "services": [],
        "triggers": [],
        "created_at": format_us(created_us),
        "modified_at": format_us(modified_us),
    }


def list_deployments(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT deployment_id, name, created_us, modified_us FROM deployments ORDER BY dseq"
    ).fetchall()


def get_deployment(conn: sqlite3.Connection, deployment_id: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        "SELECT deployment_id, name, created_us, modified_us FROM deployments"
        " WHERE deployment_id = ?",
        (deployment_id,),
    ).fetchone()
    return row


def deployments_named(conn: sqlite3.Connection, name: str) -> list[str]:
    """The ids of the deployments called `name`, oldest first."""
    rows = conn.execute(
        "SELECT deployment_id FROM deployments WHERE name = ? ORDER BY dseq", (name,)
    ).fetchall()
    return [str(row[0]) for row in rows]


def version_json(row: Sequence[Any], creator: dict[str, Any]) -> dict[str, Any]:
    """A version with the fields of the SDK's `abeja.deployments` samples."""
    version_id, deployment_id, version, handler, created_us, modified_us = row
    return {
        "deployment_id": deployment_id,
        "version": version,
        "version_id": version_id,
        "handler": handler,
        "image": "runwatch/local-python:3",
        "user_parameters": {},
        "creator": creator,
        "created_at": format_us(created_us),
        "modified_at": format_us(modified_us),
    }


_VERSION_COLUMNS = "version_id, deployment_id, version, handler, created_us, modified_us"


def list_versions(conn: sqlite3.Connection, deployment_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM versions WHERE deployment_id = ? ORDER BY vseq",  # noqa: S608
        (deployment_id,),
    ).fetchall()


def get_version(
    conn: sqlite3.Connection, deployment_id: str, version_id: str
) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM versions"  # noqa: S608
        " WHERE version_id = ? AND deployment_id = ?",
        (version_id, deployment_id),
    ).fetchone()
    return row


def get_version_for_run(
    conn: sqlite3.Connection, deployment_id: str, version_id: str
) -> tuple[str, str, str] | None:
    """(version, handler, code_dir) of a version of that deployment, or None."""
    row = conn.execute(
        "SELECT version, handler, code_dir FROM versions"
        " WHERE version_id = ? AND deployment_id = ?",
        (version_id, deployment_id),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def insert_deployment(conn: sqlite3.Connection, ids_mode: str, name: str, now_us: int) -> str:
    deployment_id = new_deployment_id(conn, ids_mode)
    conn.execute(
        "INSERT INTO deployments (deployment_id, name, created_us, modified_us)"
        " VALUES (?, ?, ?, ?)",
        (deployment_id, name, now_us, now_us),
    )
    return deployment_id


def insert_version(
    conn: sqlite3.Connection,
    *,
    version_id: str,
    deployment_id: str,
    version: str,
    handler: str,
    code_dir: str,
    now_us: int,
) -> None:
    conn.execute(
        "INSERT INTO versions (version_id, deployment_id, version, handler, code_dir, created_us,"
        " modified_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (version_id, deployment_id, version, handler, code_dir, now_us, now_us),
    )
    conn.execute(
        "UPDATE deployments SET modified_us = ? WHERE deployment_id = ?", (now_us, deployment_id)
    )


def count_versions(conn: sqlite3.Connection, deployment_id: str) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM versions WHERE deployment_id = ?", (deployment_id,)
        ).fetchone()[0]
    )


# -- runs --------------------------------------------------------------------------------------


def run_json(row: Sequence[Any]) -> dict[str, Any]:
    (
        _rseq,
        run_id,
        deployment_id,
        version_id,
        model_version,
        status,
        input_data,
        output_template,
        models,
        environment,
        retry_count,
        distribution,
        created_us,
        modified_us,
    ) = row
    return {
        "deployment_id": deployment_id,
        "models": json.loads(models),
        "model_version": model_version,
        "model_version_id": version_id,
        "input_data": json.loads(input_data),
        "output_template": None if output_template is None else json.loads(output_template),
        "retry_count": retry_count,
        "run_id": run_id,
        "status": status,
        "user_env_vars": json.loads(environment),
        "distribution": distribution,
        "created_at": format_us(created_us),
        "modified_at": format_us(modified_us),
    }


def get_run(conn: sqlite3.Connection, deployment_id: str, run_id: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ? AND deployment_id = ?",  # noqa: S608
        (run_id, deployment_id),
    ).fetchone()
    return row


def get_run_rseq(conn: sqlite3.Connection, deployment_id: str, run_id: str) -> int | None:
    row = conn.execute(
        "SELECT rseq FROM runs WHERE run_id = ? AND deployment_id = ?", (run_id, deployment_id)
    ).fetchone()
    return None if row is None else int(row[0])


def list_runs(
    conn: sqlite3.Connection, deployment_id: str, *, forward: bool, after: int | None, limit: int
) -> list[tuple[Any, ...]]:
    """One page of a deployment's runs: oldest first when forward, else newest first."""
    if forward:
        bound = -1 if after is None else after
        sql = (
            f"SELECT {RUN_COLUMNS} FROM runs WHERE deployment_id = ? AND rseq > ?"  # noqa: S608
            " ORDER BY rseq ASC LIMIT ?"
        )
    else:
        bound = 2**62 if after is None else after
        sql = (
            f"SELECT {RUN_COLUMNS} FROM runs WHERE deployment_id = ? AND rseq < ?"  # noqa: S608
            " ORDER BY rseq DESC LIMIT ?"
        )
    return conn.execute(sql, (deployment_id, bound, limit)).fetchall()


def insert_run(
    conn: sqlite3.Connection,
    *,
    ids_mode: str,
    deployment_id: str,
    version_id: str,
    model_version: str,
    input_data: Any,
    output_template: Any,
    models: dict[str, str],
    environment: dict[str, str],
    retry_count: int,
    distribution: int | None,
    now_us: int,
) -> tuple[Any, ...]:
    """Insert a SUBMITTED run (inside the caller's transaction); returns its row."""
    run_id = new_run_id(conn, ids_mode)
    rr = int(get_meta(conn, "round_robin") or "0")
    set_meta(conn, "round_robin", str(rr + 1))
    queue_key = distribution if distribution is not None else rr
    cursor = conn.execute(
        "INSERT INTO runs (run_id, deployment_id, version_id, model_version, status, input_data,"
        " output_template, models, environment, retry_count, distribution, queue_key, created_us,"
        " modified_us) VALUES (?, ?, ?, ?, 'SUBMITTED', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            deployment_id,
            version_id,
            model_version,
            json.dumps(input_data),
            None if output_template is None else json.dumps(output_template),
            json.dumps(models),
            json.dumps(environment),
            retry_count,
            distribution,
            queue_key,
            now_us,
            now_us,
        ),
    )
    rseq = cursor.lastrowid
    conn.execute(
        "INSERT INTO status_history (rseq, n, status, at_us) VALUES (?, 1, 'SUBMITTED', ?)",
        (rseq, now_us),
    )
    row: tuple[Any, ...] = conn.execute(
        f"SELECT {RUN_COLUMNS} FROM runs WHERE rseq = ?",  # noqa: S608
        (rseq,),
    ).fetchone()
    return row


def set_status(conn: sqlite3.Connection, rseq: int, status: str, now_us: int) -> None:
    """Change a run's status and append it to the history (inside the caller's transaction)."""
    conn.execute(
        "UPDATE runs SET status = ?, modified_us = ? WHERE rseq = ?", (status, now_us, rseq)
    )
    conn.execute(
        "INSERT INTO status_history (rseq, n, status, at_us) VALUES (?, (SELECT coalesce(max(n), 0)"
        " + 1 FROM status_history WHERE rseq = ?), ?, ?)",
        (rseq, rseq, status, now_us),
    )


def status_history(conn: sqlite3.Connection, rseq: int) -> list[tuple[str, int]]:
    return conn.execute(
        "SELECT status, at_us FROM status_history WHERE rseq = ? ORDER BY n", (rseq,)
    ).fetchall()
