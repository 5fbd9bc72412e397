"""Access to the engine: the token on every endpoint, compared in constant time; private files;
loopback only unless told otherwise.

The endpoints come from the engine's own OpenAPI schema, so an endpoint added later is checked
without touching this file; only the public ones are listed here.
"""

from __future__ import annotations

import ast
import base64
import hmac
import inspect
import os
import stat
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runwatch.engine import guard
from tests.conftest import EngineProcess, start_engine
from tests.security.conftest import Seeded
from tests.security.test_security_hostile_input import raw_request

PUBLIC = {("GET", "/healthz")}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def wrong_credentials(token: str) -> list[dict[str, str]]:
    return [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {token[:-1]}"},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": f"Bearer x{token}"},
        {"Authorization": f"Bearer {token.upper()}"},
        {"Authorization": f"Bearer {token} {token}"},
        {"Authorization": token},  # no scheme
        {"Authorization": f"Token {token}"},  # a wrong scheme
        {"Authorization": f"Digest {token}"},
        {"Authorization": f"Bearer{token}"},
        {"Authorization": _basic("user-1", "wrong")},
        {"Authorization": _basic("user-1", token[:-1])},
        {"Authorization": _basic(token, "")},  # the token as the user name
        {"Authorization": _basic("user-1", token).replace("Basic", "Bearer")},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(token.encode()).decode()},  # no colon
        {"Cookie": f"token={token}"},
        {"X-Api-Key": token},
    ]


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for path, item in schema["paths"].items():
        for method in item:
            yield method.upper(), path


@pytest.fixture(scope="module")
def schema(seeded: Seeded) -> dict[str, Any]:
    return dict(httpx.get(f"{seeded.engine.url}/openapi.json").json())


def _url(seeded: Seeded, path: str) -> str:
    return seeded.engine.url + path.format(
        organization_id=seeded.engine.organization_id,
        deployment_id=seeded.deployment_id,
        version_id=seeded.version_id,
        run_id=seeded.run_id,
    )


def test_every_operation_answers_401_without_the_right_token(
    seeded: Seeded, schema: dict[str, Any]
) -> None:
    engine = seeded.engine
    protected = [op for op in operations(schema) if op not in PUBLIC]
    assert len(protected) >= 8
    body = {"version_id": seeded.version_id}
    with httpx.Client(timeout=10) as client:
        for method, path in protected:
            # The schema says so too: clients and generated docs send the token.
            declared = schema["paths"][path][method.lower()].get("security")
            assert declared == [{"bearer": []}, {"basic": []}], (method, path)
            url = _url(seeded, path)
            for headers in wrong_credentials(engine.token):
                response = client.request(
                    method, url, headers=headers, json=body if method == "POST" else None
                )
                assert response.status_code == 401, (method, path, headers, response.text)
                assert response.json()["error"] == "unauthorized"
                assert response.headers["www-authenticate"].startswith("Bearer")
            for params in ({"token": engine.token}, {"access_token": engine.token}):
                response = client.request(method, url, params=params)
                assert response.status_code == 401, (method, path, params)
            for good in (
                {"Authorization": f"Bearer {engine.token}"},
                {"Authorization": f"bearer  {engine.token}"},
                {"Authorization": _basic("user-1", engine.token)},
            ):
                response = client.request(
                    method, url, headers=good, json=body if method == "POST" else None
                )
                assert response.status_code == 200, (method, path, response.text)


def test_bytes_that_are_not_text_in_the_header_are_401(seeded: Seeded) -> None:
    engine = seeded.engine
    path = f"/organizations/{engine.organization_id}/deployments"
    for value in ("Bearer ", "Bearer \xff\xfe", "Bearer " + engine.token + "\xe9", "Basic \xff"):
        status, _, body = raw_request(engine.url, "GET", path, {"Authorization": value})
        assert status in (400, 401), body


def test_paths_outside_the_schema_need_the_token_too(seeded: Seeded) -> None:
    """Deny by default: unknown paths and methods do not tell an anonymous caller anything."""
    engine = seeded.engine
    with httpx.Client(base_url=engine.url, timeout=10) as client:
        for method, path in (
            ("GET", "/admin"),
            ("GET", "/organizations"),
            ("DELETE", f"/organizations/{engine.organization_id}/deployments"),
            ("GET", "/healthz/../organizations"),
            ("GET", "//organizations/x/deployments"),
        ):
            response = client.request(method, path)
            assert response.status_code == 401, (method, path, response.text)
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/openapi.json").status_code == 200


def test_the_token_is_only_compared_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Constant time: every check goes through hmac.compare_digest, and the guard has no
    `==` or `!=` next to the token (which would leak the matching prefix length in timing)."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(guard.hmac, "compare_digest", recording)
    middleware = guard.GuardMiddleware(app=None, token="s3cret-token")  # type: ignore[arg-type]
    cases = {
        b"Bearer s3cret-token": True,
        b"Bearer s3cret-tokeX": False,
        b"Bearer nope": False,
        b"Basic " + base64.b64encode(b"u:s3cret-token"): True,
        b"Basic " + base64.b64encode(b"u:s3cret"): False,
    }
    for header, expected in cases.items():
        assert middleware.authorized(header) is expected
    assert len(calls) == len(cases)
    assert all(b == b"s3cret-token" for _, b in calls)

    tree = ast.parse(textwrap.dedent(inspect.getsource(guard.GuardMiddleware)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            names = {ast.unparse(part) for part in [node.left, *node.comparators]}
            assert not any("token" in name for name in names), ast.unparse(node)


def _listening_addresses(port: int) -> set[str]:
    """The local addresses with a listening TCP socket on `port`, from /proc/net/tcp{,6}."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.add(address)
    return found


def test_the_engine_listens_on_loopback_only(seeded: Seeded) -> None:
    engine = seeded.engine
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp on this system")
    assert engine.url.startswith("http://127.0.0.1:")
    assert _listening_addresses(engine.port) == {"0100007F"}  # 127.0.0.1, little-endian hex


SECRET_ENV = {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"}


def test_files_holding_secrets_are_owner_only_in_a_shared_data_dir(tmp_path: Path) -> None:
    """A data dir the user named keeps its (here: world-readable) mode, so every file in it
    that holds the token or a run's secret environment must be 0600 itself."""
    data_dir = tmp_path / "shared"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)  # noqa: S103 - the point of the test
    engine: EngineProcess = start_engine(data_dir)
    try:
        dep, ver = engine.deploy_source("def handler(i, c):\n    print('hi')\n")
        run = engine.create_run(dep, ver, environment=SECRET_ENV, retry_count=0)
        engine.wait_for_status(dep, run["run_id"], "SUCCEEDED")
        secrets = [engine.token.encode(), SECRET_ENV["AWS_SECRET_ACCESS_KEY"].encode()]
        holders: list[Path] = []
        for path in sorted(data_dir.rglob("*")):
            if path.is_file() and not path.is_symlink():
                content = path.read_bytes()
                if any(secret in content for secret in secrets):
                    holders.append(path)
                    mode = stat.S_IMODE(path.stat().st_mode)
                    assert mode & 0o077 == 0, f"{path} is {oct(mode)} and holds a secret"
        names = {p.name for p in holders}
        assert {"engine.env", "spec.json"} <= names, names
        assert names & {"engine.db", "engine.db-wal"}, names
        assert stat.S_IMODE((data_dir / "engine.env").stat().st_mode) == 0o600
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o755  # not ours to change
    finally:
        engine.close()


def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "engine"
    engine = start_engine(data_dir)
    engine.close()
    for name in ("engine.db", "engine.db-wal", "engine.db-shm"):
        if (data_dir / name).exists():
            os.chmod(data_dir / name, 0o644)
    engine.start()
    try:
        for name in ("engine.db", "engine.db-wal", "engine.db-shm"):
            if (data_dir / name).exists():
                assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
        with engine.client() as client:
            deployments = f"/organizations/{engine.organization_id}/deployments"
            assert client.get(deployments).status_code == 200
    finally:
        engine.close()
