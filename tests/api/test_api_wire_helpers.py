"""The pure parts of the wire layer: retry decisions, Retry-After, URLs, auth headers."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime

import httpx
import pytest

from runwatch.api.connection_config import auth_header, credential_from_env, is_loopback, safe_url
from runwatch.api.request_spec import sdk_time
from runwatch.api.responses import text_excerpt
from runwatch.api.retries import RetryPolicy, parse_retry_after, retry_delay

POLICY = RetryPolicy(max_retries=5, base_delay=0.5, max_delay=30.0, max_retry_after=60.0)


def delay(**kwargs: object) -> float | None:
    return retry_delay(POLICY, rng=random.Random(1), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_for_gets(status: int) -> None:
    assert delay(attempt=1, idempotent=True, status_code=status) is not None
    assert delay(attempt=1, idempotent=False, status_code=status) is None


@pytest.mark.parametrize("status", [200, 400, 401, 404, 409, 501, 505])
def test_other_statuses_give_up(status: int) -> None:
    assert delay(attempt=1, idempotent=True, status_code=status) is None


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_retries=20, base_delay=0.5, max_delay=4.0)
    for attempt in range(1, 12):
        expected = min(4.0, 0.5 * 2 ** (attempt - 1))
        seen = {
            retry_delay(
                policy, attempt=attempt, idempotent=True, status_code=503, rng=random.Random(s)
            )
            for s in range(20)
        }
        assert all(d is not None and expected / 2 <= d <= expected for d in seen)
        assert len(seen) > 1  # jittered


def test_gives_up_after_max_retries() -> None:
    assert delay(attempt=5, idempotent=True, status_code=503) is not None
    assert delay(attempt=6, idempotent=True, status_code=503) is None


def test_retry_after_is_a_floor_and_is_capped() -> None:
    assert delay(attempt=1, idempotent=True, status_code=429, retry_after=12.0) == 12.0
    assert delay(attempt=1, idempotent=True, status_code=429, retry_after=61.0) is None


@pytest.mark.parametrize(
    ("error", "get", "post"),
    [
        (httpx.ConnectError("refused"), True, True),
        (httpx.ConnectTimeout("slow"), True, False),
        (httpx.ReadTimeout("slow"), True, False),
        (httpx.PoolTimeout("busy"), True, False),
        (httpx.RemoteProtocolError("dropped"), True, False),
        (httpx.ReadError("reset"), True, False),
        (httpx.UnsupportedProtocol("ftp"), False, False),
        (httpx.TooManyRedirects("loop"), False, False),
    ],
)
def test_transport_errors(error: Exception, get: bool, post: bool) -> None:
    assert (delay(attempt=1, idempotent=True, error=error) is not None) is get
    assert (delay(attempt=1, idempotent=False, error=error) is not None) is post


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now) == 0.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(bad, now) is None


def test_safe_url() -> None:
    assert safe_url("https://u:p@h.example:8443/a/b?next_token=x#f") == "https://h.example:8443/a/b"
    assert safe_url("http://[::1]:80/x?y") == "http://[::1]:80/x"


def test_auth_header_like_the_sdk() -> None:
    assert auth_header({"auth_token": "t"})[0] == {"Authorization": "Bearer t"}
    header, secrets = auth_header({"user_id": "12", "personal_access_token": "p"})
    assert header == {"Authorization": "Basic " + base64.b64encode(b"user-12:p").decode()}
    assert "p" in secrets
    assert auth_header({"user_id": "user-12", "personal_access_token": "p"})[0] == header
    assert (
        auth_header({"auth_token": "", "user_id": "12", "personal_access_token": "p"})[0] == header
    )
    assert auth_header({"user_id": "12"}) == ({}, ())
    assert auth_header({}) == ({}, ())
    caller = {"user_id": "12", "personal_access_token": "p"}
    auth_header(caller)
    assert caller["user_id"] == "12"  # the SDK mutates the caller's dict; we do not


def test_credential_from_env_order() -> None:
    env = {
        "PLATFORM_AUTH_TOKEN": "t",
        "ABEJA_PLATFORM_USER_ID": "u",
        "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN": "p",
    }
    assert credential_from_env(env) == {"auth_token": "t"}
    del env["PLATFORM_AUTH_TOKEN"]
    assert credential_from_env(env) == {"user_id": "u", "personal_access_token": "p"}
    del env["ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN"]
    assert credential_from_env(env) == {}


def test_text_excerpt() -> None:
    assert text_excerpt("<h1>Bad &amp; Gateway</h1>\n\n<p>nginx</p>", "text/html") == (
        "Bad & Gateway nginx"
    )
    assert len(text_excerpt("y" * 10_000)) == 500


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://127.1.2.3", True),
        ("http://[::1]:80", True),
        ("http://localhost:5000/x", True),
        ("https://api.abeja.io", False),
        ("http://10.0.0.1", False),
    ],
)
def test_is_loopback(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_sdk_time() -> None:
    from datetime import date, timedelta, timezone

    assert sdk_time(datetime(2020, 1, 2, 3, 4, 5, 678)) == "2020-01-02T03:04:05"
    assert sdk_time(datetime(2020, 1, 2, 12, tzinfo=timezone(timedelta(hours=9)))) == (
        "2020-01-02T03:00:00"
    )
    assert sdk_time(date(2020, 1, 2)) == "2020-01-02T00:00:00"  # type: ignore[arg-type]
