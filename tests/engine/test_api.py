"""The Run API contract as the engine serves it: shapes, paging, tokens, errors, auth."""

from __future__ import annotations

import base64
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import EngineProcess, start_engine

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
RUN_KEYS = {
    "deployment_id",
    "models",
    "model_version",
    "model_version_id",
    "input_data",
    "output_template",
    "retry_count",
    "run_id",
    "status",
    "user_env_vars",
    "distribution",
    "created_at",
    "modified_at",
}
PRINT_N = """
def handler(input_data, context):
    for i in range(int(input_data["n"])):
        print(f"line {i}")
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One engine for this module's tests (each uses its own deployment): starts cost seconds."""
    proc = start_engine(tmp_path_factory.mktemp("api") / "engine")
    try:
        yield proc
    finally:
        proc.close()


def base(engine: EngineProcess) -> str:
    return f"/organizations/{engine.organization_id}/deployments"


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["error_description"], str) and body["error_description"]
    if field is not None:
        assert field in body["error_description"], body
    return dict(body)


def noop(engine: EngineProcess) -> tuple[str, str]:
    return engine.deploy_source("def handler(input_data, context):\n    pass\n", name="noop")


def finished_run(engine: EngineProcess, n: int) -> tuple[str, str]:
    dep, ver = engine.deploy_source(PRINT_N)
    run = engine.create_run(dep, ver, input_data={"n": n}, retry_count=0)
    assert engine.wait_for_status(dep, run["run_id"], "SUCCEEDED")["status"] == "SUCCEEDED"
    return dep, run["run_id"]


def test_engine_env_and_ids(engine: EngineProcess) -> None:
    env_file = engine.data_dir / "engine.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    lines = env_file.read_text().splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [
        "ABEJA_API_URL",
        "ABEJA_ORGANIZATION_ID",
        "PLATFORM_AUTH_TOKEN",
    ]
    assert engine.url.startswith("http://127.0.0.1:")
    assert engine.organization_id == "1000000000001"
    assert engine.demo_deployment_id == "2000000000001"
    assert engine.demo_versions == {
        "train": "ver-0000000000000001",
        "flaky": "ver-0000000000000002",
        "broken": "ver-0000000000000003",
        "flood": "ver-0000000000000004",
    }
    assert httpx.get(engine.url + "/healthz").json() == {"status": "ok"}


def test_random_ids_have_platform_shapes(tmp_path: Path) -> None:
    proc = start_engine(tmp_path / "engine", env={"RUNWATCH_ENGINE_IDS": "random"})
    try:
        assert re.fullmatch(r"\d{13}", proc.organization_id)
        assert re.fullmatch(r"\d{13}", proc.demo_deployment_id)
        for version_id in proc.demo_versions.values():
            assert re.fullmatch(r"ver-[0-9a-f]{16}", version_id)
        dep, ver = noop(proc)
        assert re.fullmatch(r"\d{13}", dep)
        run = proc.create_run(dep, ver)
        assert re.fullmatch(r"run-\d{16}", run["run_id"])
    finally:
        proc.close()


def test_deployments_and_versions(engine: EngineProcess) -> None:
    with engine.client() as client:
        deployments = client.get(base(engine)).json()["entries"]
        assert deployments[0]["name"] == "demo"
        demo = deployments[0]
        assert TIME_RE.match(demo["created_at"]) and TIME_RE.match(demo["modified_at"])
        one = client.get(f"{base(engine)}/{demo['deployment_id']}").json()
        assert one == demo
        versions = client.get(f"{base(engine)}/{demo['deployment_id']}/versions").json()
        for version in versions["entries"]:
            assert {"version", "version_id", "handler", "image", "user_parameters"} <= set(version)
            assert TIME_RE.match(version["created_at"])


def test_create_run_shape_and_defaults(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source("def handler(i, c):\n    pass\n")
    run = engine.create_run(dep, ver)
    assert set(run) == RUN_KEYS
    assert run["status"] == "SUBMITTED"
    assert run["retry_count"] == 5
    assert run["input_data"] == {} and run["models"] == {} and run["user_env_vars"] == {}
    assert run["output_template"] is None and run["distribution"] is None
    assert run["model_version_id"] == ver and run["deployment_id"] == dep
    assert TIME_RE.match(run["created_at"]) and TIME_RE.match(run["modified_at"])
    full = engine.create_run(
        dep,
        ver,
        input_data={"$datalake:1": "x"},
        models={"alias": "3333333333333"},
        output_template={"$datalake:1": "y"},
        retry_count=0,
        distribution=3,
        environment={"EXAMPLE_ENV": "example"},
    )
    assert full["models"] == {"alias": "3333333333333"}
    assert full["user_env_vars"] == {"EXAMPLE_ENV": "example"}
    assert full["retry_count"] == 0 and full["distribution"] == 3
    assert engine.get_run(dep, full["run_id"])["input_data"] == {"$datalake:1": "x"}


def test_runs_paging_both_directions(tmp_path: Path) -> None:
    engine = start_engine(tmp_path / "engine")
    try:
        check_runs_paging(engine)
    finally:
        engine.close()


def check_runs_paging(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source("import time\ndef handler(i, c):\n    time.sleep(60)\n")
    # All on queue 0 behind the first (which sleeps): paging does not need 55 processes.
    created = [engine.create_run(dep, ver, distribution=0)["run_id"] for _ in range(55)]
    with engine.client() as client:
        for scan_forward, expected in (("False", created[::-1]), ("True", created)):
            seen: list[str] = []
            params: dict[str, str] = {"scan_forward": scan_forward}
            pages = 0
            while True:
                body = client.get(f"{base(engine)}/{dep}/runs", params=params).json()
                pages += 1
                seen.extend(run["run_id"] for run in body["entries"])
                if "next_page_token" not in body:
                    break
                assert len(body["entries"]) == 50
                params = {"scan_forward": scan_forward, "next_page_token": body["next_page_token"]}
            assert seen == expected
            assert pages == 2
        default = client.get(f"{base(engine)}/{dep}/runs").json()
        assert default["entries"][0]["run_id"] == created[-1]
        lower = client.get(f"{base(engine)}/{dep}/runs", params={"scan_forward": "true"}).json()
        assert lower["entries"][0]["run_id"] == created[0]


def test_logs_paging_whole_log_in_order(engine: EngineProcess) -> None:
    dep, run_id = finished_run(engine, 2500)
    messages = [m for m in engine.all_log_messages(dep, run_id) if not m.startswith("[engine]")]
    assert messages == [f"line {i}" for i in range(2500)]
    with engine.client() as client:
        first = client.get(f"{base(engine)}/{dep}/runs/{run_id}/logs").json()
        assert len(first["events"]) == 1000 and "next_token" in first
        assert TIME_RE.match(first["events"][0]["timestamp"])


@pytest.fixture
def cloudwatch_engine(tmp_path: Path) -> Iterator[EngineProcess]:
    proc = start_engine(tmp_path / "cw-engine", extra_args=["--log-tokens", "cloudwatch"])
    try:
        yield proc
    finally:
        proc.close()


def test_recentlogs_seed_tokens(engine: EngineProcess) -> None:
    """The default: [] whenever no more logs lie that way, on pages with events too."""
    dep, run_id = finished_run(engine, 2500)
    path = f"{base(engine)}/{dep}/runs/{run_id}/recentlogs"
    with engine.client() as client:
        newest = client.get(path).json()
        assert len(newest["events"]) == 1000
        assert newest["next_forward_token"] == [] and isinstance(newest["next_backward_token"], str)
        older: list[str] = []
        token = newest["next_backward_token"]
        while token != []:
            page = client.get(path, params={"next_backward_token": token}).json()
            assert page["events"] and isinstance(page["next_forward_token"], str)
            older.extend(e["message"] for e in page["events"])
            token = page["next_backward_token"]
        everything = ([e["message"] for e in newest["events"]] + older)[::-1]
        assert everything == engine.all_log_messages(dep, run_id)
        # A forward page that reaches the end says so with [] too, on a page with events.
        back = client.get(path, params={"next_backward_token": newest["next_backward_token"]})
        forward = client.get(path, params={"next_forward_token": back.json()["next_forward_token"]})
        assert len(forward.json()["events"]) == 1000 and forward.json()["next_forward_token"] == []
        # Within start_time..end_time, "no more" is about that window.
        window = client.get(path, params={"start_time": "2999-01-01T00:00:00"}).json()
        assert window == {"events": [], "next_backward_token": [], "next_forward_token": []}


def test_recentlogs_tokens(cloudwatch_engine: EngineProcess) -> None:
    engine = cloudwatch_engine
    dep, run_id = finished_run(engine, 2500)
    path = f"{base(engine)}/{dep}/runs/{run_id}/recentlogs"
    with engine.client() as client:
        newest = client.get(path).json()
        messages = [e["message"] for e in newest["events"]]
        assert len(messages) == 1000
        assert messages[0].startswith("[engine]")  # the exit line is the newest event
        stamps = [e["timestamp"] for e in newest["events"]]
        assert stamps == sorted(stamps, reverse=True)
        # End of stream: empty events and the same forward token back.
        tail = client.get(path, params={"next_forward_token": newest["next_forward_token"]}).json()
        assert tail["events"] == []
        assert tail["next_forward_token"] == newest["next_forward_token"]
        # Backward paging down to the start, then empty with the same backward token.
        older: list[str] = []
        token = newest["next_backward_token"]
        while True:
            page = client.get(path, params={"next_backward_token": token}).json()
            if not page["events"]:
                assert page["next_backward_token"] == token
                break
            older.extend(e["message"] for e in page["events"])
            token = page["next_backward_token"]
        everything = (messages + older)[::-1]
        assert everything == engine.all_log_messages(dep, run_id)


def test_forward_token_returns_oldest_first_chosen(cloudwatch_engine: EngineProcess) -> None:
    engine = cloudwatch_engine
    dep, run_id = finished_run(engine, 10)
    path = f"{base(engine)}/{dep}/runs/{run_id}/recentlogs"
    with engine.client() as client:
        start = client.get(path).json()
        # A backward page from the very start gives a forward token pointing before line 0.
        back = start["next_backward_token"]
        first = client.get(path, params={"next_backward_token": back}).json()
        assert first["events"] == []
        forward = client.get(path, params={"next_forward_token": first["next_forward_token"]})
        events = forward.json()["events"]
        assert [e["message"] for e in events][::-1] == engine.all_log_messages(dep, run_id)


def test_time_filters(engine: EngineProcess) -> None:
    dep, run_id = finished_run(engine, 5)
    path = f"{base(engine)}/{dep}/runs/{run_id}/logs"
    with engine.client() as client:
        assert (
            len(client.get(path, params={"start_time": "2000-01-01T00:00:00"}).json()["events"])
            == 7
        )
        assert client.get(path, params={"end_time": "2000-01-01T00:00:00Z"}).json()["events"] == []
        assert client.get(path, params={"start_time": "2999-01-01T00:00:00+00:00"}).json() == {
            "events": []
        }
        recent = client.get(
            f"{base(engine)}/{dep}/runs/{run_id}/recentlogs",
            params={"start_time": "2999-01-01T00:00:00"},
        ).json()
        assert recent["events"] == [] and recent["next_forward_token"] == []


BAD_CREATE_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"retry_count": 10}, "retry_count"),
    ({"retry_count": -1}, "retry_count"),
    ({"retry_count": "3"}, "retry_count"),
    ({"distribution": -1}, "distribution"),
    ({"environment": {"A": 1}}, "environment"),
    ({"environment": {"BAD=NAME": "x"}}, "environment"),
    ({"input_data": "not an object"}, "input_data"),
    ({"input_data": [1, 2]}, "input_data"),
    ({"version_id": "ver-ffffffffffffffff"}, "version_id"),
    ({"version_id": "../../etc"}, "version_id"),
    ({"version_id": 5}, "version_id"),
]


def test_create_run_bad_input_is_400_naming_the_field(engine: EngineProcess) -> None:
    dep, ver = noop(engine)
    with engine.client() as client:
        for body, field in BAD_CREATE_BODIES:
            payload = {"version_id": ver, "environment": {}, **body}
            response = client.post(f"{base(engine)}/{dep}/runs", json=payload)
            assert_error(response, 400, field)


def test_create_run_bad_bodies(engine: EngineProcess) -> None:
    dep, ver = noop(engine)
    path = f"{base(engine)}/{dep}/runs"
    with engine.client() as client:
        assert_error(client.post(path, content=b"{not json"), 400, "body")
        assert_error(client.post(path, content=b"[1]"), 400, "body")
        assert_error(client.post(path, json={}), 400, "version_id")
        big = {"version_id": ver, "input_data": {"x": "a" * (1 << 20)}}
        assert_error(client.post(path, json=big), 413)
        # curl -d sends a form content type: the JSON body is still accepted.
        ok = client.post(
            path,
            content=b'{"version_id": "%s"}' % ver.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert ok.status_code == 200, ok.text


def test_unknown_ids_are_404(engine: EngineProcess) -> None:
    org = engine.organization_id
    dep, ver = noop(engine)
    run = engine.create_run(dep, ver)["run_id"]
    with engine.client() as client:
        for path in (
            "/organizations/9999999999999/deployments",
            f"/organizations/9999999999999/deployments/{dep}/runs",
            f"/organizations/{org}/deployments/2999999999999",
            f"/organizations/{org}/deployments/2999999999999/versions",
            f"/organizations/{org}/deployments/2999999999999/runs",
            f"/organizations/{org}/deployments/2999999999999/runs/{run}",
            f"/organizations/{org}/deployments/{dep}/runs/run-9999999999999999",
            f"/organizations/{org}/deployments/{dep}/runs/run-9999999999999999/logs",
            f"/organizations/{org}/deployments/{dep}/runs/run-9999999999999999/recentlogs",
            f"/organizations/{org}/deployments/{dep}/runs/..%2F..%2Fengine.db",
            f"/organizations/{org}/deployments/{dep}/runs/1%20OR%201=1",
            f"/organizations/{org}/deployments/abc'--/runs",
            f"/organizations/{org}/nothing-here",
        ):
            assert_error(client.get(path), 404)
        post = client.post(
            f"/organizations/{org}/deployments/2999999999999/runs",
            json={"version_id": ver},
        )
        assert_error(post, 404)


def test_bad_tokens_and_params_are_400(cloudwatch_engine: EngineProcess) -> None:
    # The CloudWatch style, so that every answer carries position tokens to misuse.
    engine = cloudwatch_engine
    dep, run_id = finished_run(engine, 3)
    other_dep, other_run = finished_run(engine, 3)
    runs = f"{base(engine)}/{dep}/runs"
    with engine.client() as client:
        recent = client.get(f"{runs}/{run_id}/recentlogs").json()
        other = client.get(f"{base(engine)}/{other_dep}/runs/{other_run}/recentlogs").json()
        cases = [
            (f"{runs}/{run_id}/logs", {"next_token": "garbage!!"}, "next_token"),
            (f"{runs}/{run_id}/logs", {"next_token": recent["next_forward_token"]}, "next_token"),
            (f"{runs}/{run_id}/logs", {"start_time": "yesterday"}, "start_time"),
            (f"{runs}/{run_id}/logs", {"end_time": "2020-13-45T00:00:00"}, "end_time"),
            (
                f"{runs}/{run_id}/recentlogs",
                {"next_forward_token": "x" * 500},
                "next_forward_token",
            ),
            (
                f"{runs}/{run_id}/recentlogs",
                {"next_forward_token": other["next_forward_token"]},
                "next_forward_token",
            ),
            (
                f"{runs}/{run_id}/recentlogs",
                {"next_backward_token": recent["next_forward_token"]},
                "next_backward_token",
            ),
            (
                f"{runs}/{run_id}/recentlogs",
                {"next_backward_token": base64.urlsafe_b64encode(b"b.x.-5").decode()},
                "next_backward_token",
            ),
            (runs, {"next_page_token": "abc"}, "next_page_token"),
            (runs, {"scan_forward": "maybe"}, "scan_forward"),
        ]
        for path, params, field in cases:
            assert_error(client.get(path, params=params), 400, field)


ENDPOINTS = [
    ("GET", "/organizations/{org}/deployments"),
    ("GET", "/organizations/{org}/deployments/{dep}"),
    ("GET", "/organizations/{org}/deployments/{dep}/versions"),
    ("GET", "/organizations/{org}/deployments/{dep}/runs"),
    ("POST", "/organizations/{org}/deployments/{dep}/runs"),
    ("GET", "/organizations/{org}/deployments/{dep}/runs/{run}"),
    ("GET", "/organizations/{org}/deployments/{dep}/runs/{run}/logs"),
    ("GET", "/organizations/{org}/deployments/{dep}/runs/{run}/recentlogs"),
]


def test_openapi_schema_documents_errors(engine: EngineProcess) -> None:
    schema = httpx.get(engine.url + "/openapi.json").json()
    paths = schema["paths"]
    for method, template in ENDPOINTS:
        path = template.format(org="{organization_id}", dep="{deployment_id}", run="{run_id}")
        operation = paths[path][method.lower()]
        codes = set(operation["responses"])
        assert {"200", "400", "401", "404"} <= codes, (path, codes)
        assert "422" not in codes
    post = paths["/organizations/{organization_id}/deployments/{deployment_id}/runs"]["post"]
    assert "413" in post["responses"]
    assert (
        "version_id" in post["requestBody"]["content"]["application/json"]["schema"]["properties"]
    )


def test_pages_stay_under_a_mebibyte(engine: EngineProcess) -> None:
    dep, ver = engine.deploy_source(
        "def handler(i, c):\n    for n in range(40):\n        print((str(n) * 60000)[:60000])\n"
    )
    run_id = engine.create_run(dep, ver, retry_count=0)["run_id"]
    engine.wait_for_status(dep, run_id, "SUCCEEDED")
    path = f"{base(engine)}/{dep}/runs/{run_id}"
    with engine.client() as client:
        first = client.get(f"{path}/logs")
        assert len(first.content) <= (1 << 20) + 4096
        assert 0 < len(first.json()["events"]) < 40 and "next_token" in first.json()
        recent = client.get(f"{path}/recentlogs")
        assert len(recent.content) <= (1 << 20) + 4096
    lines = [m for m in engine.all_log_messages(dep, run_id) if not m.startswith("[engine]")]
    assert lines == [(str(n) * 60000)[:60000] for n in range(40)]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    name=st.sampled_from(
        ["next_token", "next_forward_token", "next_backward_token", "start_time", "end_time"]
    ),
    value=st.text(max_size=300)
    | st.binary(max_size=120).map(lambda b: base64.b64encode(b).decode()),
)
@pytest.mark.long
def test_fuzzed_query_values_never_5xx(
    engine: EngineProcess, fuzz_run: tuple[str, str], name: str, value: str
) -> None:
    dep, run_id = fuzz_run
    endpoint = "logs" if name in ("next_token", "start_time", "end_time") else "recentlogs"
    with engine.client() as client:
        response = client.get(
            f"{base(engine)}/{dep}/runs/{run_id}/{endpoint}", params={name: value}
        )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_error(response, 400, name)


@pytest.fixture(scope="module")
def fuzz_run(engine: EngineProcess) -> tuple[str, str]:
    return finished_run(engine, 3)
