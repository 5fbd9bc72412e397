"""Faults injected with httpx.MockTransport (and two real sockets): retries, errors, secrets.

Every scenario runs against both clients: the sync one with a recording `sleep`, the async one
with an async recording `sleep`, so no test waits for a backoff.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from runwatch.api import (
    APIClient,
    ApiError,
    AsyncAPIClient,
    BadRequest,
    ConnectionFailed,
    HttpError,
    InternalServerError,
    NotFound,
    OutcomeUnknown,
    RequestTimeout,
    ResponseShapeError,
    TooManyRequests,
    Unauthorized,
)

ORG, DEP, RUN, VER = "1234567890123", "1111111111111", "run-1", "ver-1"
TOKEN = "tok-SECRET-0123456789abcdef"
PAT = "pat-SECRET-fedcba9876543210"
RUN_BODY = {"run_id": RUN, "status": "SUBMITTED"}

Step = httpx.Response | Exception


@dataclass
class Script:
    """A MockTransport handler that plays `steps` in order (the last one repeats)."""

    steps: list[Step]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        if isinstance(step, Exception):
            raise step
        # A fresh copy: a parametrized Response is shared by the sync and the async run.
        return httpx.Response(step.status_code, headers=step.headers, content=step.content)


@dataclass
class Harness:
    """Runs one client call synchronously or asynchronously and records the sleeps."""

    mode: str
    sleeps: list[float] = field(default_factory=list)

    def call(
        self,
        script: Script,
        method: str,
        *args: Any,
        credential: dict[str, str] | None = None,
        base_url: str = "https://api.example.test",
        max_retry_count: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        credential = {"auth_token": TOKEN} if credential is None else credential
        if self.mode == "sync":
            with APIClient(
                credential,
                max_retry_count=max_retry_count,
                base_url=base_url,
                transport=httpx.MockTransport(script),
                sleep=self.sleeps.append,
            ) as client:
                result: dict[str, Any] = getattr(client, method)(*args, **kwargs)
                return result

        async def record(seconds: float) -> None:
            self.sleeps.append(seconds)

        async def main() -> dict[str, Any]:
            async with AsyncAPIClient(
                credential,
                max_retry_count=max_retry_count,
                base_url=base_url,
                transport=httpx.MockTransport(script),
                sleep=record,
            ) as client:
                result: dict[str, Any] = await getattr(client, method)(*args, **kwargs)
                return result

        return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def harness(request: pytest.FixtureRequest) -> Harness:
    return Harness(request.param)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


# ---------------------------------------------------------------- retries of GETs


def test_503_then_200_is_retried(harness: Harness) -> None:
    script = Script([json_response(503, {"error": "unavailable"}), json_response(200, RUN_BODY)])
    assert harness.call(script, "get_run", ORG, DEP, RUN) == RUN_BODY
    assert len(script.requests) == 2
    assert len(harness.sleeps) == 1 and 0 < harness.sleeps[0] <= 1.0


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses(harness: Harness, status: int) -> None:
    script = Script([httpx.Response(status, text="busy"), json_response(200, {"entries": []})])
    assert harness.call(script, "get_runs", ORG, DEP) == {"entries": []}
    assert len(script.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 501])
def test_other_statuses_are_not_retried(harness: Harness, status: int) -> None:
    script = Script([json_response(status, {"error": "e", "error_description": "d"})])
    with pytest.raises(HttpError) as info:
        harness.call(script, "get_runs", ORG, DEP)
    assert info.value.status_code == status
    assert len(script.requests) == 1 and harness.sleeps == []


def test_429_retry_after_is_honoured(harness: Harness) -> None:
    script = Script(
        [
            httpx.Response(429, json={"error": "slow down"}, headers={"Retry-After": "7"}),
            json_response(200, RUN_BODY),
        ]
    )
    assert harness.call(script, "get_run", ORG, DEP, RUN) == RUN_BODY
    assert harness.sleeps == [7.0]


def test_retry_after_as_http_date(harness: Harness) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    script = Script([httpx.Response(503, headers={"Retry-After": when}), json_response(200, {})])
    harness.call(script, "get_runs", ORG, DEP)
    assert 15 <= harness.sleeps[0] <= 21


def test_a_very_long_retry_after_is_handed_to_the_caller(harness: Harness) -> None:
    script = Script([httpx.Response(429, headers={"Retry-After": "3600"}, json={"error": "x"})])
    with pytest.raises(TooManyRequests) as info:
        harness.call(script, "get_runs", ORG, DEP)
    assert info.value.retry_after == 3600
    assert len(script.requests) == 1 and harness.sleeps == []


def test_retries_stop_at_max_retry_count(harness: Harness) -> None:
    script = Script([httpx.Response(503, text="down")])
    with pytest.raises(HttpError) as info:
        harness.call(script, "get_run", ORG, DEP, RUN, max_retry_count=3)
    assert info.value.status_code == 503
    assert len(script.requests) == 4
    # Exponential: each wait at least half of 0.5 * 2**n, at most the full value.
    for n, slept in enumerate(harness.sleeps):
        assert 0.25 * 2**n <= slept <= 0.5 * 2**n


def test_default_max_retry_count_is_five(harness: Harness) -> None:
    script = Script([httpx.Response(500, text="boom")])
    with pytest.raises(InternalServerError):
        harness.call(script, "get_run", ORG, DEP, RUN)
    assert len(script.requests) == 6


def test_max_retry_count_from_the_environment(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABEJA_SDK_MAX_RETRY_COUNT", "1")
    script = Script([httpx.Response(502, text="bad gateway")])
    with pytest.raises(HttpError):
        harness.call(script, "get_runs", ORG, DEP)
    assert len(script.requests) == 2


def test_zero_retries(harness: Harness) -> None:
    script = Script([httpx.Response(503, text="down")])
    with pytest.raises(HttpError):
        harness.call(script, "get_runs", ORG, DEP, max_retry_count=0)
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectError("refused"), ConnectionFailed),
        (httpx.ReadTimeout("slow"), RequestTimeout),
        (httpx.ConnectTimeout("slow"), RequestTimeout),
        (httpx.RemoteProtocolError("dropped"), ConnectionFailed),
        (httpx.ReadError("reset"), ConnectionFailed),
    ],
)
def test_get_transport_errors_are_retried_then_raised(
    harness: Harness, error: Exception, expected: type[ApiError]
) -> None:
    script = Script([error])
    with pytest.raises(expected) as info:
        harness.call(script, "get_run_logs", ORG, DEP, RUN, max_retry_count=2)
    assert len(script.requests) == 3
    assert "after 3 attempts" in str(info.value)


def test_get_recovers_after_a_dropped_connection(harness: Harness) -> None:
    script = Script([httpx.RemoteProtocolError("dropped"), json_response(200, {"events": []})])
    assert harness.call(script, "get_run_recent_logs", ORG, DEP, RUN) == {"events": []}


# ---------------------------------------------------------------- create_run is never sent twice


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.TimeoutException("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        httpx.WriteError("broken pipe"),
    ],
)
def test_create_run_outcome_unknown_after_exactly_one_request(
    harness: Harness, error: Exception
) -> None:
    script = Script([error, json_response(200, RUN_BODY)])
    with pytest.raises(OutcomeUnknown) as info:
        harness.call(script, "create_run", ORG, DEP, VER)
    assert len(script.requests) == 1
    assert harness.sleeps == []
    assert "may or may not have been created" in str(info.value)


def test_create_run_is_retried_when_the_connection_was_refused(harness: Harness) -> None:
    script = Script(
        [httpx.ConnectError("[Errno 111] Connection refused"), json_response(200, RUN_BODY)]
    )
    assert harness.call(script, "create_run", ORG, DEP, VER) == RUN_BODY
    assert len(script.requests) == 2
    assert len(harness.sleeps) == 1


def test_create_run_connection_refused_for_good(harness: Harness) -> None:
    script = Script([httpx.ConnectError("refused")])
    with pytest.raises(ConnectionFailed):
        harness.call(script, "create_run", ORG, DEP, VER, max_retry_count=2)
    assert len(script.requests) == 3


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_create_run_is_not_retried_on_a_status(harness: Harness, status: int) -> None:
    script = Script([httpx.Response(status, text="x"), json_response(200, RUN_BODY)])
    with pytest.raises(HttpError) as info:
        harness.call(script, "create_run", ORG, DEP, VER)
    assert info.value.status_code == status
    assert len(script.requests) == 1


# ---------------------------------------------------------------- error bodies


def test_401_raises_unauthorized_with_the_servers_description(harness: Harness) -> None:
    body = {"error": "unauthorized", "error_description": "The access token has expired."}
    script = Script([json_response(401, body)])
    with pytest.raises(Unauthorized) as info:
        harness.call(script, "get_run", ORG, DEP, RUN)
    exc = info.value
    assert exc.error == "unauthorized"
    assert exc.error_description == "The access token has expired."
    assert exc.status_code == 401
    assert exc.url == f"https://api.example.test/organizations/{ORG}/deployments/{DEP}/runs/{RUN}"
    assert "The access token has expired." in str(exc)


def test_error_detail_is_kept(harness: Harness) -> None:
    body = {
        "error": "bad_request",
        "error_description": "retry_count must be between 0 and 9",
        "error_detail": {"retry_count": ["out of range"]},
    }
    script = Script([json_response(400, body)])
    with pytest.raises(BadRequest) as info:
        harness.call(script, "create_run", ORG, DEP, VER, retry_count=10)
    assert info.value.error_detail == {"retry_count": ["out of range"]}
    assert info.value._asdict()["error_detail"] == {"retry_count": ["out of range"]}


def test_html_502_raises_a_clear_http_error(harness: Harness) -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title><style>body{}</style></head>"
        "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
    )
    script = Script([httpx.Response(502, text=page, headers={"Content-Type": "text/html"})])
    with pytest.raises(HttpError) as info:
        harness.call(script, "get_runs", ORG, DEP, max_retry_count=1)
    exc = info.value
    assert type(exc) is HttpError
    assert exc.status_code == 502
    assert exc.error == "Bad Gateway"
    assert exc.error_description == "502 Bad Gateway 502 Bad Gateway nginx"
    assert "<" not in str(exc)
    assert str(exc).startswith("HTTP 502 Bad Gateway: 502 Bad Gateway")


def test_a_huge_non_json_error_body_is_truncated(harness: Harness) -> None:
    script = Script([httpx.Response(404, text="x" * 1_000_000)])
    with pytest.raises(NotFound) as info:
        harness.call(script, "get_run", ORG, DEP, RUN)
    assert len(info.value.error_description) <= 500
    assert len(str(info.value)) < 800


def test_json_error_without_the_usual_keys(harness: Harness) -> None:
    script = Script([json_response(404, {"detail": "Not Found"})])
    with pytest.raises(NotFound) as info:
        harness.call(script, "get_run", ORG, DEP, RUN)
    assert info.value.error == "Not Found"
    assert info.value.error_description == "Not Found"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, text=""),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json="just a string"),
        httpx.Response(200, content=b"\xff\xfe\x00garbage"),
    ],
    ids=["html", "empty", "list", "string", "binary"],
)
def test_a_2xx_that_is_not_a_json_object(harness: Harness, response: httpx.Response) -> None:
    script = Script([response])
    with pytest.raises(ResponseShapeError):
        harness.call(script, "get_runs", ORG, DEP)
    assert len(script.requests) == 1


# ---------------------------------------------------------------- secrets


def _all_errors(harness: Harness, credential: dict[str, str], base_url: str) -> Iterator[ApiError]:
    basic = base64.b64encode(f"user-1234567890123:{PAT}".encode()).decode()
    echo = f"token {TOKEN} / pat {PAT} / basic {basic} / url password hunter2-SECRET"
    scenarios: list[tuple[str, list[Step]]] = [
        ("get_run", [json_response(401, {"error": "unauthorized", "error_description": echo})]),
        ("get_run", [json_response(403, {"error": echo, "error_detail": {"echo": [echo]}})]),
        ("get_run", [httpx.Response(502, text=f"<p>{echo}</p>")]),
        ("get_run", [httpx.ConnectError(echo)]),
        ("get_run", [httpx.ReadTimeout(echo)]),
        ("create_run", [httpx.ReadTimeout(echo)]),
        ("get_run", [httpx.Response(200, text=echo)]),
    ]
    for method, steps in scenarios:
        args = (ORG, DEP, VER) if method == "create_run" else (ORG, DEP, RUN)
        try:
            harness.call(
                Script(steps),
                method,
                *args,
                credential=credential,
                base_url=base_url,
                max_retry_count=0,
            )
        except ApiError as exc:
            yield exc
        else:  # pragma: no cover - every scenario fails
            raise AssertionError(f"{method} {steps} did not raise")


@pytest.mark.parametrize(
    "credential",
    [
        {"auth_token": TOKEN},
        {"user_id": "1234567890123", "personal_access_token": PAT},
    ],
    ids=["bearer", "basic"],
)
def test_secrets_never_appear_in_exception_text(
    harness: Harness, credential: dict[str, str]
) -> None:
    base_url = "https://someone:hunter2-SECRET@api.example.test/prefix"
    basic = base64.b64encode(f"user-1234567890123:{PAT}".encode()).decode()
    errors = list(_all_errors(harness, credential, base_url))
    assert len(errors) == 7
    for exc in errors:
        for text in (str(exc), repr(exc), str(exc.args), str(getattr(exc, "url", ""))):
            # The server echoes every secret; the client scrubs those it knows: its own.
            own = (TOKEN,) if "auth_token" in credential else (PAT, basic)
            for secret in (*own, "hunter2"):
                assert secret not in text, (type(exc).__name__, text)
        # Nothing chained that a traceback would print (an httpx error carries the request).
        assert exc.__cause__ is None
        assert exc.__context__ is None or exc.__suppress_context__


def test_the_error_url_has_no_query_string(harness: Harness) -> None:
    script = Script([json_response(400, {"error": "bad token"})])
    with pytest.raises(BadRequest) as info:
        harness.call(script, "get_run_logs", ORG, DEP, RUN, next_token="opaque")
    assert info.value.url is not None and "?" not in info.value.url
    assert info.value.url.endswith(f"/runs/{RUN}/logs")


# ---------------------------------------------------------------- real sockets


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and reads, but never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_real_timeout_on_create_run_is_outcome_unknown(silent_server: str) -> None:
    sleeps: list[float] = []
    with (
        APIClient(
            {"auth_token": TOKEN}, timeout=0.2, base_url=silent_server, sleep=sleeps.append
        ) as client,
        pytest.raises(OutcomeUnknown),
    ):
        client.create_run(ORG, DEP, VER)
    assert sleeps == []


async def test_a_real_timeout_on_a_get_is_request_timeout(silent_server: str) -> None:
    async def no_sleep(seconds: float) -> None:
        pass

    async with AsyncAPIClient(
        {"auth_token": TOKEN},
        timeout=0.2,
        max_retry_count=1,
        base_url=silent_server,
        sleep=no_sleep,
    ) as client:
        with pytest.raises(RequestTimeout, match=r"no answer within 0\.2 s"):
            await client.get_runs(ORG, DEP)


def test_a_refused_connection_is_connection_failed() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    with APIClient(
        {"auth_token": TOKEN}, base_url=f"http://127.0.0.1:{port}", sleep=sleeps.append
    ) as client:
        with pytest.raises(ConnectionFailed):
            client.get_run(ORG, DEP, RUN)
        with pytest.raises(ConnectionFailed):  # not OutcomeUnknown: it never left
            client.create_run(ORG, DEP, VER)
    assert len(sleeps) == 10


def test_one_pooled_connection_is_reused(recording_server: Any) -> None:
    with APIClient({"auth_token": TOKEN}, base_url=recording_server.url) as client:
        for _ in range(3):
            client.get_runs(ORG, DEP)
        client.create_run(ORG, DEP, VER)
    ports = {r.client_port for r in recording_server.take()}
    assert len(ports) == 1


# ---------------------------------------------------------------- timeouts and defaults


def _timeout_of(client: APIClient | AsyncAPIClient) -> float:
    return client.timeout


def test_timeout_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    make: Callable[..., APIClient] = lambda *a: APIClient({}, *a, base_url="http://x")  # noqa: E731
    assert _timeout_of(make()) == 30
    assert _timeout_of(make(7)) == 7
    monkeypatch.setenv("ABEJA_SDK_CONNECTION_TIMEOUT", "5")
    assert _timeout_of(make()) == 5
    assert _timeout_of(make(7)) == 7
    monkeypatch.setenv("ABEJA_SDK_CONNECTION_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="ABEJA_SDK_CONNECTION_TIMEOUT"):
        make()


def test_the_timeout_is_applied_to_each_request(harness: Harness) -> None:
    script = Script([json_response(200, {})])
    harness.call(script, "get_runs", ORG, DEP)
    assert script.requests[0].extensions["timeout"] == httpx.Timeout(30).as_dict()


def test_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABEJA_API_URL", "http://engine.local:8080/")
    assert APIClient({}).base_url == "http://engine.local:8080"
    monkeypatch.delenv("ABEJA_API_URL")
    assert APIClient({}).base_url == "https://api.abeja.io"
    assert "tok" not in repr(APIClient({"auth_token": "tok"}))


def test_proxy_variables_do_not_apply_to_a_loopback_engine(
    recording_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    with APIClient({"auth_token": TOKEN}, base_url=recording_server.url, max_retry_count=0) as c:
        assert c.get_runs(ORG, DEP)["method"] == "GET"
