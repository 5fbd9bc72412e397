"""Hostile input to the engine: oversized and malformed bodies, traversal, SQL and unicode in
every path and query parameter, and code dirs whose links or handler reach out of the version.

Requests that matter byte for byte (`../` unnormalised, chunked bodies) go over a raw socket:
httpx would normalise or frame them itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from runwatch.engine.deploy import DeployError, deploy
from tests.security.conftest import Seeded, assert_canary, fuzz_examples

MIB = 1 << 20

# Raw (already percent-encoded where needed) values for one path segment or query value.
HOSTILE = [
    "..",
    "..%2F..%2Fengine.db",
    "%2e%2e%2f%2e%2e%2fengine.env",
    "%252e%252e%252fengine.env",
    "..%5C..%5Cengine.db",
    "%2F..%2F..%2F..%2Fetc%2Fpasswd",
    quote("1' OR '1'='1"),
    quote("1; DROP TABLE zz_canary;--"),
    quote('" OR 1=1 --'),
    quote("2000000000002' UNION SELECT value FROM zz_canary --"),
    quote("%"),
    quote("_"),
    quote("*"),
    quote("💥\u202e\u200b"),
    quote("\uff11" + "\uff10" * 11 + "\uff11"),  # fullwidth digits: not [0-9]
    quote("\u0661" + "\u0660" * 11 + "\u0661"),  # Arabic-Indic digits
    "%00",
    "run-0000000000000001%00",
    "run-0000000000000001%0A",
    "2000000000002%0A",
    "%FF%FE",
    "%ED%A0%80",  # a UTF-8-encoded lone surrogate
    "%C0%AE%C0%AE%C0%AF",  # overlong ../
    "A" * 5000,
]


def raw_request(
    url: str, method: str, target: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 exchange over a socket, the request target sent exactly as given."""
    parts = urlsplit(url)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return parse_response(b"".join(chunks))


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def assert_json_error(status: int, headers: dict[str, str], body: bytes, allowed: set[int]) -> None:
    assert status in allowed, (status, body[:300])
    if headers.get("content-type", "").startswith("application/json"):
        error = json.loads(body)
        assert isinstance(error["error"], str) and isinstance(error["error_description"], str)


@pytest.fixture(scope="module")
def schema(seeded: Seeded) -> dict[str, Any]:
    return dict(httpx.get(f"{seeded.engine.url}/openapi.json").json())


@pytest.fixture
def runs_before(seeded: Seeded) -> Iterator[list[str]]:
    """The runs of the seeded deployment; no hostile request may add, drop or change one."""
    engine = seeded.engine
    path = f"/organizations/{engine.organization_id}/deployments/{seeded.deployment_id}/runs"
    with engine.client() as client:
        before = client.get(path).json()["entries"]
    yield [json.dumps(run, sort_keys=True) for run in before]
    with engine.client() as client:
        after = client.get(path).json()["entries"]
    assert [json.dumps(run, sort_keys=True) for run in after] == [
        json.dumps(run, sort_keys=True) for run in before
    ]
    assert_canary(engine.data_dir)


def _valid(seeded: Seeded) -> dict[str, str]:
    return {
        "organization_id": seeded.engine.organization_id,
        "deployment_id": seeded.deployment_id,
        "version_id": seeded.version_id,
        "run_id": seeded.run_id,
    }


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_path_parameter_refuses_hostile_ids(
    seeded: Seeded, schema: dict[str, Any], runs_before: list[str]
) -> None:
    engine = seeded.engine
    valid = _valid(seeded)
    tried = 0
    for method, path, _operation in operations(schema):
        names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        for name in names:
            for value in HOSTILE:
                target = path
                for other in names:
                    target = target.replace(
                        f"{{{other}}}", value if other == name else valid[other]
                    )
                body = (
                    b'{"version_id": "%s"}' % seeded.version_id.encode()
                    if method == "POST"
                    else None
                )
                status, headers, raw = raw_request(
                    engine.url, method, target, engine.headers, body if method == "POST" else None
                )
                # 400 is also what the HTTP parser answers for a target it cannot parse.
                assert_json_error(status, headers, raw, {400, 404})
                tried += 1
    assert tried >= 14 * len(HOSTILE)


def test_every_query_parameter_refuses_or_ignores_hostile_values(
    seeded: Seeded, schema: dict[str, Any], runs_before: list[str]
) -> None:
    engine = seeded.engine
    valid = _valid(seeded)
    tried = 0
    for method, path, operation in operations(schema):
        target = path.format(**{k: v for k, v in valid.items() if f"{{{k}}}" in path})
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            for value in HOSTILE:
                query = f"?{parameter['name']}={value}"
                status, headers, raw = raw_request(
                    engine.url, method, target + query, engine.headers
                )
                assert_json_error(status, headers, raw, {400})
                tried += 1
    assert tried == 9 * len(HOSTILE)  # the runs listing has 2, the log pages 3 and 4


def post_runs(seeded: Seeded, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    engine = seeded.engine
    path = f"/organizations/{engine.organization_id}/deployments/{seeded.deployment_id}/runs"
    with engine.client() as client:
        return client.post(path, content=body, headers=headers or {})


def test_a_chunked_body_over_a_mebibyte_is_413(seeded: Seeded) -> None:
    """No Content-Length to check up front: the limit holds while the body streams in."""
    head = b'{"version_id": "%s", "input_data": {"x": "' % seeded.version_id.encode()

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(12):
            yield b"a" * 100_000
        yield b'"}}'

    response = post_runs(seeded, chunks())  # type: ignore[arg-type]
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "payload_too_large"


def test_a_declared_length_over_a_mebibyte_is_413_before_the_body(seeded: Seeded) -> None:
    engine = seeded.engine
    target = f"/organizations/{engine.organization_id}/deployments/{seeded.deployment_id}/runs"
    parts = urlsplit(engine.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        head = [
            f"POST {target} HTTP/1.1",
            f"Host: {parts.netloc}",
            f"Authorization: Bearer {engine.token}",
            f"Content-Length: {8 * MIB}",
            "Connection: close",
        ]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())  # and never the body
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    status, _, body = parse_response(raw)
    assert status == 413, body


def test_a_body_just_under_the_limit_is_read(seeded: Seeded) -> None:
    prefix = b'{"version_id": "%s", "input_data": {"x": "' % seeded.version_id.encode()
    body = prefix + b"a" * (MIB - len(prefix) - 4) + b'"}}'
    assert len(body) < MIB
    response = post_runs(seeded, body)
    assert response.status_code == 200, response.text[:300]


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE_BODIES = [
    ('"input_data": {"x": NaN}', "NaN is not JSON"),
    ('"input_data": {"x": -Infinity}', "nor is Infinity"),
    ('"input_data": {"x": 1e400}', "a float that overflows to inf"),
    ('"input_data": {"x": "\\ud800"}', "a lone surrogate cannot be encoded in the answer"),
    ('"input_data": {"\\udfff": 1}', "nor as a key"),
    ('"environment": {"A": "\\udbff"}', "nor in the environment"),
    ('"input_data": {"x": ' + _nested(64) + "}", "64 nested arrays inside the body"),
    ('"input_data": {"x": ' + _nested(2_000) + "}", "past the recursion limit"),
    ('"input_data": {"x": ' + _nested(400_000) + "}", "a mebibyte of brackets"),
    ('"input_data": {"x": ' + "9" * 5000 + "}", "an integer too long to convert"),
    ('"environment": {"A": "x\\u0000y"}', "NUL cannot be in a process environment"),
    ('"environment": {"../../A": "x"}', "not a variable name"),
]


@pytest.mark.parametrize(("fragment", "why"), HOSTILE_BODIES, ids=[w for _, w in HOSTILE_BODIES])
def test_hostile_json_bodies_are_400(seeded: Seeded, fragment: str, why: str) -> None:
    body = f'{{"version_id": "{seeded.version_id}", {fragment}}}'
    response = post_runs(seeded, body.encode())
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"] == "bad_request"


def test_odd_but_valid_json_is_stored_and_served_back_as_json(seeded: Seeded) -> None:
    odd = {
        "deep": json.loads(_nested(62)),
        "unicode": "\U0001f4a5 \u202e \u0661\u0662 \uff21\uff22",
        "nul": "a\u0000b",
        "big": 2**70,
        "sql": "'; DROP TABLE zz_canary; --",
        "tiny": 5e-324,
    }
    body = json.dumps({"version_id": seeded.version_id, "input_data": odd, "retry_count": 0})
    response = post_runs(seeded, body.encode())
    assert response.status_code == 200, response.text[:300]
    engine = seeded.engine
    run = engine.get_run(seeded.deployment_id, response.json()["run_id"])
    assert run["input_data"] == odd
    assert_canary(engine.data_dir)


def test_wrong_content_types_and_empty_bodies_are_400(seeded: Seeded) -> None:
    for body, headers in (
        (b"", {}),
        (b"   ", {"Content-Type": "application/json"}),
        (b"\xff\xfe{}", {"Content-Type": "application/json"}),
        (b"version_id=ver-0000000000000001", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b'"just a string"', {}),
        (b"null", {}),
    ):
        response = post_runs(seeded, body, headers)
        assert response.status_code == 400, (body, response.text)


# -- runwatch deploy: nothing outside the code dir gets into a version ---------------------


@pytest.fixture
def code(tmp_path: Path) -> Path:
    directory = tmp_path / "code"
    directory.mkdir()
    (directory / "main.py").write_text("def handler(i, c):\n    print('ok')\n")
    return directory


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    directory = tmp_path / "outside"
    (directory / "sub").mkdir(parents=True)
    (directory / "secret.py").write_text("SECRET = 'from outside'\ndef handler(i, c):\n    pass\n")
    (directory / "sub" / "more.txt").write_text("outside")
    return directory


def _deploy_refused(data_dir: Path, code: Path, handler: str = "main:handler") -> str:
    with pytest.raises(DeployError) as raised:
        deploy(data_dir, code, name="x", handler=handler)
    versions = data_dir / "versions"
    assert not versions.exists() or not [p for p in versions.iterdir() if p.is_dir()]
    return str(raised.value)


@pytest.mark.parametrize(
    "handler",
    [
        "../main:handler",
        "..main:handler",
        "/etc/passwd:x",
        "main/../../x:handler",
        "%2e%2e/main:handler",
        "main:handler:extra",
        "main:",
        ":handler",
        "main.:handler",
        "os:system",
        "main\x00:handler",
        "m\uff41in:handler",
    ],
)
def test_handler_paths_cannot_leave_the_code_dir(tmp_path: Path, code: Path, handler: str) -> None:
    assert "handler" in _deploy_refused(tmp_path / "data", code, handler)


def test_a_handler_module_linked_from_outside_is_refused(
    tmp_path: Path, code: Path, outside: Path
) -> None:
    (code / "evil.py").symlink_to(outside / "secret.py")
    message = _deploy_refused(tmp_path / "data", code, "evil:handler")
    assert "evil" in message


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("lib", "outside_dir"),
        ("root", "/"),
        ("note.txt", "outside_file"),
        ("up", ".."),
        ("loop", "."),
        ("dangling.py", "does-not-exist"),
    ],
)
def test_links_out_of_the_code_dir_or_in_a_loop_are_refused(
    tmp_path: Path, code: Path, outside: Path, name: str, target: str
) -> None:
    real = {"outside_dir": outside, "outside_file": outside / "secret.py"}.get(target, target)
    (code / name).symlink_to(real)
    message = _deploy_refused(tmp_path / "data", code)
    assert name in message


def test_a_nested_link_to_an_ancestor_is_refused(tmp_path: Path, code: Path) -> None:
    (code / "pkg" / "deeper").mkdir(parents=True)
    (code / "pkg" / "deeper" / "back").symlink_to("../..")
    assert "back" in _deploy_refused(tmp_path / "data", code)


def test_links_inside_the_code_dir_are_copied_as_content(tmp_path: Path, code: Path) -> None:
    (code / "shared").mkdir()
    (code / "shared" / "util.py").write_text("VALUE = 1\n")
    (code / "util.py").symlink_to("shared/util.py")
    (code / "alias").symlink_to("shared")
    venv = code / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(sys.executable)  # ignored dirs are neither copied nor checked
    data_dir = tmp_path / "data"
    result = deploy(data_dir, code, name="x")
    version = data_dir / "versions" / result.version_id
    copied = sorted(str(p.relative_to(version)) for p in version.rglob("*"))
    assert copied == ["alias", "alias/util.py", "main.py", "shared", "shared/util.py", "util.py"]
    assert not [p for p in version.rglob("*") if p.is_symlink()]
    assert (version / "util.py").read_text() == "VALUE = 1\n"


def test_the_deploy_command_reports_a_link_out_as_one_line(
    tmp_path: Path, code: Path, outside: Path
) -> None:
    (code / "lib").symlink_to(outside)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABEJA_", "PLATFORM_"))}
    data = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "runwatch", "deploy", str(code), "--name", "x", "--data-dir", data],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("runwatch deploy: symlink lib points outside")
    assert "Traceback" not in result.stderr


# -- any JSON value the client can send: 200 and served back unchanged, or 400 --------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
)
_keys = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=30,
)


@pytest.fixture(scope="module")
def parked(seeded: Seeded) -> tuple[str, str]:
    """A deployment whose queue 0 is held by a run that sleeps: runs submitted to queue 0 wait
    behind it, so a hundred fuzzed submits start no process."""
    engine = seeded.engine
    dep, ver = engine.deploy_source("import time\ndef handler(i, c):\n    time.sleep(600)\n")
    engine.create_run(dep, ver, distribution=0)
    return dep, ver


@pytest.mark.slow
@pytest.mark.long
@settings(max_examples=fuzz_examples(40), deadline=None, suppress_health_check=list(HealthCheck))
@given(input_data=st.dictionaries(_keys, _values, max_size=5), nesting=st.integers(0, 70))
def test_any_json_body_is_stored_exactly_or_refused(
    seeded: Seeded, parked: tuple[str, str], input_data: dict[str, Any], nesting: int
) -> None:
    engine = seeded.engine
    dep, ver = parked
    for _ in range(nesting):
        input_data = {"n": input_data}
    # ensure_ascii: lone surrogates go out as \ud800 escapes, as a JavaScript client sends them.
    body = json.dumps(
        {"version_id": ver, "input_data": input_data, "distribution": 0}, allow_nan=True
    )
    path = f"/organizations/{engine.organization_id}/deployments/{dep}/runs"
    with engine.client() as client:
        response = client.post(path, content=body.encode())
        assert response.status_code in (200, 400), response.text[:300]
        event(f"status {response.status_code}")
        if response.status_code == 400:
            assert response.json()["error"] == "bad_request"
            return
        run_id = json.loads(response.content, parse_constant=_not_json)["run_id"]
        again = client.get(f"{path}/{run_id}")
    assert again.status_code == 200
    stored = json.loads(again.content, parse_constant=_not_json)["input_data"]
    assert json.dumps(stored, sort_keys=True) == json.dumps(input_data, sort_keys=True)


def _not_json(name: str) -> Any:
    raise AssertionError(f"the engine answered {name}, which is not JSON")


def test_runs_pages_stay_under_a_mebibyte_with_huge_inputs(seeded: Seeded) -> None:
    """Each run may carry ~1 MiB of input data; a page of 50 would be 50 MiB, polled every
    second by the TUI. Pages stop before 1 MiB (at least one run) and the token goes on."""
    engine = seeded.engine
    dep, ver = engine.deploy_source("import time\ndef handler(i, c):\n    time.sleep(600)\n")
    engine.create_run(dep, ver, distribution=0)  # holds queue 0: the big runs start nothing
    big = "x" * 450_000
    created = [
        engine.create_run(dep, ver, distribution=0, input_data={"n": n, "pad": big})["run_id"]
        for n in range(5)
    ]
    path = f"/organizations/{engine.organization_id}/deployments/{dep}/runs"
    seen: list[str] = []
    pages = 0
    params: dict[str, str] = {"scan_forward": "True"}
    with engine.client() as client:
        while True:
            response = client.get(path, params=params)
            assert response.status_code == 200
            assert len(response.content) <= MIB + 4096
            page = response.json()
            pages += 1
            seen.extend(run["run_id"] for run in page["entries"])
            if "next_page_token" not in page:
                break
            params = {"scan_forward": "True", "next_page_token": page["next_page_token"]}
    assert seen[1:] == created
    assert pages >= 3


def test_a_repeated_query_parameter_is_400(seeded: Seeded, schema: dict[str, Any]) -> None:
    """Which of two values a server uses is up to its framework: refuse both instead."""
    engine = seeded.engine
    valid = _valid(seeded)
    tried = 0
    for method, path, operation in operations(schema):
        target = path.format(**{k: v for k, v in valid.items() if f"{{{k}}}" in path})
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            name = parameter["name"]
            spelled = f"%{ord(name[0]):02X}{name[1:]}"  # the same name, percent-encoded
            for query in (
                f"{name}=&{name}=",
                f"{name}=True&{name}=False",
                f"{name}=1&{spelled}=1",
            ):
                url = f"{target}?{query}"
                status, _, body = raw_request(engine.url, method, url, engine.headers)
                assert status == 400, (query, body)
                assert name in json.loads(body)["error_description"]
                tried += 1
    assert tried == 27
    ok = raw_request(engine.url, "GET", "/healthz?a=1&a=2", {})
    assert ok[0] == 200
