"""runwatch's clients put on the wire exactly what the unmodified official SDK sends.

The SDK (`abeja-sdk`, `abeja.runs.APIClient` and `abeja.deployments.APIClient`) runs in a
subprocess, because it reads ABEJA_API_URL when it is imported, against a recording server on
127.0.0.1. Then runwatch's APIClient and AsyncAPIClient make the same calls against another
recording server, and every request is compared: method, path (byte for byte), query string
(byte for byte and parsed), JSON body (byte for byte and parsed), Authorization and
Content-Type, and that both ask for gzip. The one deliberate difference is the User-Agent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest
from api_recording_server import SDK_ENV, Recorded, RecordingServer

from runwatch.api import APIClient, AsyncAPIClient

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("abeja") is None,
    reason="the official SDK (abeja-sdk, Python < 3.12 only) is not installed",
)

ORG = "1234567890123"
DEP = "1111111111111"
RUN = "run-3333333333333333"
VER = "ver-1111111111111111"

# name -> (explicit credential or None, environment)
CREDENTIALS: dict[str, tuple[dict[str, str] | None, dict[str, str]]] = {
    "token": ({"auth_token": "tok-1234567890abcdef"}, {}),
    "pat": ({"user_id": "1234567890123", "personal_access_token": "pat-secret-value"}, {}),
    "pat-prefixed": (
        {"user_id": "user-1234567890123", "personal_access_token": "pat-secret-value"},
        {},
    ),
    "env-token": (None, {"PLATFORM_AUTH_TOKEN": "env-token-value"}),
    "env-pat": (
        None,
        {"ABEJA_PLATFORM_USER_ID": "42", "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN": "env-pat"},
    ),
    "env-both": (
        None,
        {
            "PLATFORM_AUTH_TOKEN": "env-token-wins",
            "ABEJA_PLATFORM_USER_ID": "42",
            "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN": "env-pat",
        },
    ),
    "env-half-pat": (None, {"ABEJA_PLATFORM_USER_ID": "42"}),
    "datasource": ({"datasource_id": "555", "datasource_secret": "ds-secret"}, {}),
    "env-datasource": (
        None,
        {"ABEJA_PLATFORM_DATASOURCE_ID": "datasource-9", "ABEJA_PLATFORM_DATASOURCE_SECRET": "s"},
    ),
    "none": (None, {}),
    "explicit-empty": ({}, {"PLATFORM_AUTH_TOKEN": "ignored-when-a-dict-is-given"}),
}


def dt(text: str) -> dict[str, str]:
    return {"$datetime": text}


@dataclass(frozen=True)
class Call:
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""


CALLS: list[Call] = [
    Call("create_run", (ORG, DEP, VER), label="minimal"),
    Call(
        "create_run",
        (ORG, DEP, VER, {"$datalake:1": "2222222222222/20180101T112233-4444"}),
        {
            "model_id": "3333333333333",
            "distribution": 0,
            "retry_count": 0,
            "environment": {"EXAMPLE_ENV": "example"},
        },
        label="seed-example",
    ),
    Call(
        "create_run",
        (ORG, DEP, VER),
        {
            "input_data": {"a": "1"},
            "output_template": {"$datalake:1": "x"},
            "distribution": 7,
            "retry_count": 9,
            "environment": {"K": "v", "EMPTY": ""},
            "model_id": "m-1",
        },
        label="all-keywords",
    ),
    Call(
        "create_run",
        (ORG, DEP, VER, {}, {}, None, None, {}, ""),
        label="all-falsy-positional",
    ),
    Call(
        "create_run",
        (ORG, DEP, VER),
        {
            "input_data": {"texte": "déjà vu ✓", "nested": {"list": [1, 2.5, None, True]}},
            "environment": {"UNICODE": "日本語"},
        },
        label="unicode-nested",
    ),
    Call("create_run", (ORG, DEP, VER), {"retry_count": 0, "distribution": 0}, label="zeros"),
    Call("get_run", (ORG, DEP, RUN)),
    Call("get_run", (ORG, DEP, "run with space:and@at~tilde"), label="odd-id"),
    Call("get_run_logs", (ORG, DEP, RUN), label="no-args"),
    Call("get_run_logs", (ORG, DEP, RUN, "tok/en+with=chars"), label="token"),
    Call("get_run_logs", (ORG, DEP, RUN), {"next_token": ""}, label="empty-token"),
    Call(
        "get_run_logs",
        (ORG, DEP, RUN),
        {"start_time": dt("2018-01-01T00:00:00.123456")},
        label="start",
    ),
    Call(
        "get_run_logs",
        (ORG, DEP, RUN, "t1", dt("2018-01-01T01:02:03"), dt("2018-12-31T23:59:59+00:00")),
        label="all",
    ),
    Call("get_run_recent_logs", (ORG, DEP, RUN), label="no-args"),
    Call("get_run_recent_logs", (ORG, DEP, RUN), {"next_forward_token": "f/1+2="}, label="fwd"),
    Call("get_run_recent_logs", (ORG, DEP, RUN), {"next_backward_token": "b:9"}, label="back"),
    Call(
        "get_run_recent_logs",
        (ORG, DEP, RUN, "f", "b", dt("2020-02-29T12:00:00"), dt("2020-03-01T00:00:00")),
        label="all",
    ),
    Call(
        "get_run_recent_logs",
        (ORG, DEP, RUN),
        {
            "next_forward_token": "",
            "next_backward_token": "",
            "end_time": dt("2021-01-01T00:00:00"),
        },
        label="empty-tokens",
    ),
    Call("get_runs", (ORG, DEP), label="no-args"),
    Call("get_runs", (ORG, DEP), {"scan_forward": True}, label="forward"),
    Call("get_runs", (ORG, DEP), {"scan_forward": False}, label="backward"),
    Call("get_runs", (ORG, DEP, "page-2"), label="token"),
    Call("get_runs", (ORG, DEP), {"next_page_token": ""}, label="empty-token"),
    Call("get_runs", (ORG, DEP, "eyJrIjoxfQ==", True), label="both"),
    Call("get_deployments", (ORG,)),
    Call("get_deployment", (ORG, DEP)),
    Call("get_deployment_versions", (ORG, DEP)),
    Call("get_deployment_version", (ORG, DEP, VER)),
]


@dataclass(frozen=True)
class Entry:
    call: Call
    credential: str

    @property
    def id(self) -> str:
        label = f"-{self.call.label}" if self.call.label else ""
        return f"{self.call.method}{label}[{self.credential}]"


ENTRIES: list[Entry] = [Entry(call, cred) for call in CALLS for cred in ("token", "pat")]
ENTRIES += [
    Entry(call, cred)
    for cred in CREDENTIALS
    if cred not in ("token", "pat")
    for call in (CALLS[0], CALLS[6], CALLS[19])
]

SDK_SCRIPT = r"""
import json, os, sys
from datetime import datetime
import abeja.deployments
import abeja.runs

def decode(value):
    if isinstance(value, dict) and set(value) == {"$datetime"}:
        return datetime.fromisoformat(value["$datetime"])
    return value

results = []
for call in json.load(open(sys.argv[1])):
    for name in call["clear_env"]:
        os.environ.pop(name, None)
    os.environ.update(call["env"])
    is_deployments = call["method"].startswith("get_deployment")
    cls = abeja.deployments.APIClient if is_deployments else abeja.runs.APIClient
    client = cls() if call["credential"] is None else cls(credential=call["credential"])
    args = [decode(a) for a in call["args"]]
    kwargs = {k: decode(v) for k, v in call["kwargs"].items()}
    results.append(getattr(client, call["method"])(*args, **kwargs))
json.dump(results, sys.stdout)
"""


def decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$datetime"}:
        return datetime.fromisoformat(value["$datetime"])
    return value


@dataclass(frozen=True)
class SdkWire:
    requests: list[Recorded]
    results: list[Any]


@pytest.fixture(scope="module")
def sdk_wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdkWire]:
    table = [
        {
            "method": e.call.method,
            "args": list(e.call.args),
            "kwargs": e.call.kwargs,
            "credential": CREDENTIALS[e.credential][0],
            "env": CREDENTIALS[e.credential][1],
            "clear_env": [n for n in SDK_ENV if n != "ABEJA_API_URL"],
        }
        for e in ENTRIES
    ]
    path = tmp_path_factory.mktemp("sdk") / "calls.json"
    path.write_text(json.dumps(table))
    with RecordingServer() as server:
        env = {k: v for k, v in os.environ.items() if k not in SDK_ENV}
        env["ABEJA_API_URL"] = server.url
        done = subprocess.run(
            [sys.executable, "-c", SDK_SCRIPT, str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        yield SdkWire(requests=server.take(), results=json.loads(done.stdout))


def with_env(monkeypatch: pytest.MonkeyPatch, url: str, env: Mapping[str, str]) -> None:
    for name in SDK_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ABEJA_API_URL", url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def assert_same_request(ours: Recorded, sdk: Recorded, who: str) -> None:
    assert ours.method == sdk.method, who
    assert ours.path == sdk.path, who
    assert parse_qsl(ours.query, keep_blank_values=True) == parse_qsl(
        sdk.query, keep_blank_values=True
    ), who
    assert ours.query == sdk.query, f"{who}: same parameters, differently encoded"
    assert ours.headers.get("authorization") == sdk.headers.get("authorization"), who
    if sdk.body:
        assert json.loads(ours.body) == json.loads(sdk.body), who
        assert ours.body == sdk.body, f"{who}: same JSON, different bytes"
        assert ours.headers.get("content-type") == sdk.headers.get("content-type"), who
    else:
        assert ours.body == b"", who
    assert sdk.headers["user-agent"].startswith("abeja-platform-sdk/")
    assert ours.headers["user-agent"].startswith("runwatch/")
    # Both ask for gzip (requests may offer more codings, where brotli is installed).
    assert "gzip" in sdk.headers["accept-encoding"]
    assert ours.headers["accept-encoding"] == "gzip, deflate", who


@pytest.mark.parametrize("index", range(len(ENTRIES)), ids=[e.id for e in ENTRIES])
async def test_same_request_as_the_sdk(
    index: int,
    sdk_wire: SdkWire,
    recording_server: RecordingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = ENTRIES[index]
    credential, env = CREDENTIALS[entry.credential]
    with_env(monkeypatch, recording_server.url, env)
    args = [decode(a) for a in entry.call.args]
    kwargs = {k: decode(v) for k, v in entry.call.kwargs.items()}

    with APIClient(credential) as sync_client:
        sync_result = getattr(sync_client, entry.call.method)(*args, **kwargs)
    async with AsyncAPIClient(credential) as async_client:
        async_result = await getattr(async_client, entry.call.method)(*args, **kwargs)

    sync_request, async_request = recording_server.take()
    sdk_request = sdk_wire.requests[index]
    assert_same_request(sync_request, sdk_request, "APIClient")
    assert_same_request(async_request, sdk_request, "AsyncAPIClient")
    # Same decoded response too (the server echoes a per-request index, so compare shapes).
    assert sync_result.keys() == async_result.keys() == sdk_wire.results[index].keys()


def test_the_table_covers_every_method_and_credential_kind(sdk_wire: SdkWire) -> None:
    methods = {e.call.method for e in ENTRIES}
    assert methods == {
        "create_run",
        "get_run",
        "get_run_logs",
        "get_run_recent_logs",
        "get_runs",
        "get_deployments",
        "get_deployment",
        "get_deployment_versions",
        "get_deployment_version",
    }
    kinds = {r.headers.get("authorization", "none").split(" ")[0] for r in sdk_wire.requests}
    assert kinds == {"Bearer", "Basic", "none"}
    assert len(sdk_wire.requests) == len(ENTRIES)


def test_aware_datetimes_are_sent_in_utc(recording_server: RecordingServer) -> None:
    """A deliberate difference: the SDK strftimes an aware datetime in its own zone."""
    from datetime import timedelta, timezone

    tokyo = timezone(timedelta(hours=9))
    with APIClient({"auth_token": "t"}, base_url=recording_server.url) as client:
        client.get_run_logs(ORG, DEP, RUN, start_time=datetime(2020, 1, 1, 9, 0, tzinfo=tokyo))
        client.get_run_logs(ORG, DEP, RUN, start_time=datetime(2020, 1, 1, 0, 0, tzinfo=UTC))
    first, second = recording_server.take()
    assert first.query == second.query == "start_time=2020-01-01T00%3A00%3A00"
