"""What goes on the wire and what comes back, shared by the sync and async clients.

Nothing here does I/O. `exchange()` is a generator that yields `Send` and `Sleep` actions and
is fed back the response (or the transport exception); the sync and async clients only carry
those actions out. So the request building, the retry policy and the response/error handling
exist exactly once.
"""

from __future__ import annotations

import base64
import email.utils
import errno
import html
import http.client
import ipaddress
import json
import os
import random
import re
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeAlias
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from runwatch import __version__
from runwatch.api.errors import (
    ApiError,
    ConnectionFailed,
    HttpError,
    OutcomeUnknown,
    RequestTimeout,
    ResponseShapeError,
    error_class_for_status,
)
from runwatch.api.models import MAX_JSON_DEPTH, json_type, nested_deeper_than

DEFAULT_BASE_URL = "https://api.abeja.io"
DEFAULT_CONNECTION_TIMEOUT = 30.0
DEFAULT_MAX_RETRY_COUNT = 5
API_URL_ENV = "ABEJA_API_URL"
TIMEOUT_ENV = "ABEJA_SDK_CONNECTION_TIMEOUT"
MAX_RETRY_ENV = "ABEJA_SDK_MAX_RETRY_COUNT"
USER_AGENT = f"runwatch/{__version__} (+abeja-platform-sdk compatible)"

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# An error page is shown to a person; a proxy's 50 kB HTML page is not useful in a status bar.
MAX_ERROR_TEXT = 500

JsonDict: TypeAlias = dict[str, Any]


# ---------------------------------------------------------------- configuration


def credential_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The SDK's `get_credential()`: token, else user id + PAT, else datasource id + secret."""
    token = environ.get("PLATFORM_AUTH_TOKEN")
    if token:
        return {"auth_token": token}
    user_id = environ.get("ABEJA_PLATFORM_USER_ID")
    pat = environ.get("ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN")
    if user_id and pat:
        return {"user_id": user_id, "personal_access_token": pat}
    ds_id = environ.get("ABEJA_PLATFORM_DATASOURCE_ID")
    ds_secret = environ.get("ABEJA_PLATFORM_DATASOURCE_SECRET")
    if ds_id and ds_secret:
        return {"datasource_id": ds_id, "datasource_secret": ds_secret}
    return {}


def auth_header(credential: Mapping[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """The SDK's Authorization header for `credential`, and the secret strings it contains.

    Like the SDK, a user id gets the `user-` prefix (and a datasource id `datasource-`) when it
    lacks one; unlike the SDK, the caller's dict is left alone.
    """
    token = credential.get("auth_token")
    if token:
        value = f"Bearer {token}"
        return {"Authorization": value}, (token, value)
    for id_key, secret_key, prefix in (
        ("user_id", "personal_access_token", "user-"),
        ("datasource_id", "datasource_secret", "datasource-"),
    ):
        ident, secret = credential.get(id_key), credential.get(secret_key)
        if ident and secret:
            if not ident.startswith(prefix):
                ident = prefix + ident
            encoded = base64.b64encode(f"{ident}:{secret}".encode()).decode()
            return {"Authorization": f"Basic {encoded}"}, (secret, encoded)
    return {}, ()


def resolve_timeout(timeout: float | None, environ: Mapping[str, str]) -> float:
    """`timeout or $ABEJA_SDK_CONNECTION_TIMEOUT or 30`, as the SDK does (so 0 means default)."""
    if timeout:
        return float(timeout)
    raw = environ.get(TIMEOUT_ENV)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
        if value > 0:
            return value
    return DEFAULT_CONNECTION_TIMEOUT


def resolve_max_retry_count(max_retry_count: int | None, environ: Mapping[str, str]) -> int:
    """`max_retry_count`, else $ABEJA_SDK_MAX_RETRY_COUNT, else 5. Here 0 means no retries."""
    if max_retry_count is not None:
        if max_retry_count < 0:
            raise ValueError("max_retry_count must be >= 0")
        return int(max_retry_count)
    raw = environ.get(MAX_RETRY_ENV)
    if raw:
        try:
            return max(0, int(raw))
        except ValueError:
            raise ValueError(f"{MAX_RETRY_ENV} must be an integer, got {raw!r}") from None
    return DEFAULT_MAX_RETRY_COUNT


def safe_url(url: str | httpx.URL) -> str:
    """The URL without userinfo, query or fragment: fit for an exception message or a log."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One API call, before it meets a base URL or a credential."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Mapping[str, Any] | None = None
    # False for create_run: resending a POST that may have arrived could submit the run twice.
    idempotent: bool = True


def path_segment(value: object) -> str:
    """An id inside a path. Characters `requests` would leave alone stay as they are, so normal
    ids go out byte for byte as the SDK sends them; `/ ? # %` are escaped (the SDK would let
    them change the path)."""
    return quote(str(value), safe="!$&'()*+,:;=@[]~")


def sdk_time(value: datetime) -> str:
    """`strftime('%Y-%m-%dT%H:%M:%S')` as the SDK sends it. An aware datetime is first
    converted to UTC (the API's zone); the SDK would send its wall-clock time instead."""
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # strftime, not isoformat: a plain `date` works too, as it does with the SDK.
    return value.strftime("%Y-%m-%dT%H:%M:%S")


# ---------------------------------------------------------------- retries


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRY_COUNT
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A longer Retry-After is handed to the caller (HttpError.retry_after) rather than slept on.
    max_retry_after: float = 60.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), or None if absent/unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds == float("inf"):
        return None
    return max(0.0, seconds)


def is_retryable_error(error: Exception, *, idempotent: bool) -> bool:
    if isinstance(error, httpx.ConnectError):
        # No connection, so no byte of the request left this machine: safe even for a POST.
        return True
    if not idempotent:
        return False
    if isinstance(error, httpx.UnsupportedProtocol | httpx.ProxyError):
        return False
    return isinstance(error, httpx.TimeoutException | httpx.NetworkError | httpx.ProtocolError)


def retry_delay(
    policy: RetryPolicy,
    *,
    attempt: int,
    idempotent: bool,
    status_code: int | None = None,
    error: Exception | None = None,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up.

    `attempt` is how many attempts have been made (1 after the first). Backoff is exponential
    with "equal jitter" (half fixed, half random); a Retry-After the server sent is a floor.
    """
    if attempt > policy.max_retries:
        return None
    if error is not None:
        if not is_retryable_error(error, idempotent=idempotent):
            return None
    elif status_code is None or not idempotent or status_code not in RETRY_STATUSES:
        return None
    backoff = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    delay: float = backoff / 2 + (rng or random.Random()).uniform(0, backoff / 2)
    if retry_after is not None:
        if retry_after > policy.max_retry_after:
            return None
        delay = max(delay, retry_after)
    return delay


# ---------------------------------------------------------------- responses


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            # A secret of a few characters would turn every message into asterisks.
            if len(secret) >= 4:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, Mapping):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets) for v in value]
    return value


_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)


def text_excerpt(text: str, content_type: str = "") -> str:
    """A short, single-line version of an error body (HTML tags dropped)."""
    if "html" in content_type.lower() or text.lstrip()[:1] == "<":
        text = html.unescape(_TAG.sub(" ", text))
    text = " ".join(text.split())
    if len(text) > MAX_ERROR_TEXT:
        text = text[: MAX_ERROR_TEXT - 1] + "…"
    return text


def body_text(response: httpx.Response) -> str:
    """The body as text for a message. The server names the charset, and a wrong one (utf-16
    without a BOM, a codec Python lacks) must not turn an error page into a crash."""
    try:
        return response.text
    except (UnicodeError, LookupError):
        return response.content.decode("utf-8", "replace")


def http_error(response: httpx.Response, secrets: tuple[str, ...] = ()) -> HttpError:
    """The SDK's `http_error_handler`: the JSON error body, else the status name and text."""
    status = response.status_code
    cls = error_class_for_status(status)
    name = http.client.responses.get(status, "unknown")
    text = text_excerpt(body_text(response), response.headers.get("content-type", ""))
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    if nested_deeper_than(body, MAX_JSON_DEPTH):
        body = None
    error: Any = name
    description: Any = text
    detail: Any = None
    if isinstance(body, dict):
        error = body.get("error", name)
        description = body.get("error_description")
        if description is None:
            # FastAPI-style and other common shapes, before falling back to the raw text.
            description = body.get("message", body.get("detail", text))
        detail = body.get("error_detail")
    if not isinstance(error, str):
        error = json.dumps(error) if error is not None else name
    if not isinstance(description, str):
        description = json.dumps(description, ensure_ascii=False)
    description = text_excerpt(description)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return cls(
        _scrub(error, secrets),
        _scrub(description, secrets),
        error_detail=_scrub(detail, secrets),
        status_code=status,
        url=safe_url(response.request.url),
        retry_after=retry_after,
    )


def decode_body(response: httpx.Response, secrets: tuple[str, ...] = ()) -> JsonDict:
    """A 2xx body as the dict the API promises, or ResponseShapeError."""
    url = safe_url(response.request.url)
    try:
        body = response.json()
    except RecursionError:
        raise ResponseShapeError(
            f"HTTP {response.status_code} from {url}: JSON nested too deeply", url=url
        ) from None
    except (ValueError, UnicodeDecodeError):
        excerpt = _scrub(
            text_excerpt(body_text(response), response.headers.get("content-type", "")), secrets
        )
        raise ResponseShapeError(
            f"HTTP {response.status_code} from {url} is not JSON: {excerpt!r}", url=url
        ) from None
    if not isinstance(body, dict):
        raise ResponseShapeError(
            f"HTTP {response.status_code} from {url}: expected a JSON object, "
            f"got {json_type(body)}",
            url=url,
        )
    if nested_deeper_than(body, MAX_JSON_DEPTH):
        raise ResponseShapeError(
            f"HTTP {response.status_code} from {url}: JSON nested deeper than "
            f"{MAX_JSON_DEPTH} levels",
            url=url,
        )
    return body


_ERRNO_REASONS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ECONNABORTED: "connection reset",
    errno.EPIPE: "connection dropped",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTDOWN: "host unreachable",
}
# Words the transports use, in the order they are looked for; the first match names the case.
_TEXT_REASONS = (
    ("refused", "connection refused"),
    ("name or service not known", "host not found"),
    ("nodename nor servname", "host not found"),
    ("getaddrinfo", "host not found"),
    ("name resolution", "host not found"),
    ("no address associated", "host not found"),
    ("certificate", "TLS certificate refused"),
    ("ssl", "TLS handshake failed"),
    ("reset by peer", "connection reset"),
    ("network is unreachable", "network unreachable"),
    ("no route to host", "host unreachable"),
    ("without sending a response", "connection dropped"),
    ("complete message body", "answer cut off"),
    ("incomplete chunked read", "answer cut off"),
)


# What transport_reason says when no fixed words fit.
_FALLBACK_REASONS = ("cannot connect", "connection dropped")


def transport_reason(error: Exception) -> str:
    """What went wrong with the transport, in a few fixed words that are safe to show anywhere.

    Built from the exception's type, the errno of anything in its cause chain and a list of
    known phrases; never from the transport's free text, which may echo a URL or a header.
    """
    if isinstance(error, httpx.ConnectTimeout):
        return "timed out connecting"
    if isinstance(error, httpx.PoolTimeout):
        return "timed out waiting for a connection"
    if isinstance(error, httpx.WriteTimeout):
        return "timed out sending"
    if isinstance(error, httpx.TimeoutException):
        return "timed out waiting for an answer"
    if isinstance(error, httpx.UnsupportedProtocol):
        return "unsupported URL"
    if isinstance(error, httpx.ProxyError):
        return "proxy error"
    if isinstance(error, httpx.DecodingError):
        return "undecodable answer"
    if isinstance(error, httpx.TooManyRedirects):
        return "too many redirects"
    seen: set[int] = set()
    link: BaseException | None = error
    texts: list[str] = []
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, OSError) and link.errno in _ERRNO_REASONS:
            return _ERRNO_REASONS[link.errno]
        texts.append(str(link).lower())
        link = link.__cause__ or link.__context__
    text = " ".join(texts)
    for phrase, reason in _TEXT_REASONS:
        if phrase in text:
            return reason
    if isinstance(error, httpx.ConnectError):
        return "cannot connect"
    return "connection dropped"


def transport_error(
    error: Exception,
    spec: RequestSpec,
    url: str,
    attempts: int,
    timeout: float,
    secrets: tuple[str, ...] = (),
) -> ApiError:
    summary = transport_reason(error)
    detail = summary
    if summary in _FALLBACK_REASONS:
        # Not a case the fixed words name: the transport's own text (scrubbed) says more.
        text = " ".join(str(error).split())
        text = _scrub(text if len(text) <= 200 else text[:199] + "…", secrets)
        detail = f"{summary}: {type(error).__name__}: {text}" if text else summary
    where = f"{spec.method} {url}"
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    # Only a refused connection or an unusable URL proves a POST never left this machine.
    never_sent = isinstance(error, httpx.ConnectError | httpx.UnsupportedProtocol)
    if not spec.idempotent and not never_sent:
        return OutcomeUnknown(
            f"{where}: {detail} before an answer came back; the run may or may not have been "
            "created, so it was not sent again. Check the deployment's runs before resubmitting.",
            url=url,
        )
    if isinstance(error, httpx.TimeoutException):
        return RequestTimeout(
            f"{where}: no answer within {timeout:g} s ({detail}){tries}", url=url, reason=summary
        )
    if isinstance(error, httpx.ConnectError | httpx.UnsupportedProtocol):
        return ConnectionFailed(
            f"{where}: could not reach the server ({detail}){tries}", url=url, reason=summary
        )
    return ConnectionFailed(
        f"{where}: the connection failed before a complete answer came ({detail}){tries}",
        url=url,
        reason=summary,
    )


# ---------------------------------------------------------------- the exchange


@dataclass(frozen=True, slots=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


Action: TypeAlias = Send | Sleep
Exchange: TypeAlias = Generator[Action, "httpx.Response | httpx.RequestError | None", JsonDict]


class Core:
    """Everything both clients hold: base URL, headers, timeout, retry policy, secrets."""

    def __init__(
        self,
        credential: Mapping[str, str] | None,
        timeout: float | None,
        max_retry_count: int | None,
        *,
        base_url: str | None = None,
        environ: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        if credential is None:
            credential = credential_from_env(env)
        auth, secrets = auth_header(credential)
        self.headers = {"User-Agent": USER_AGENT, **auth}
        self.base_url = (base_url or env.get(API_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        password = urlsplit(self.base_url).password
        self.secrets = (*secrets, password) if password else secrets
        # Proxy variables apply (as with the SDK's requests), except to a loopback engine: a
        # corporate HTTP_PROXY without NO_PROXY=127.0.0.1 would otherwise break the local engine.
        self.trust_env = not is_loopback(self.base_url)
        self.timeout = resolve_timeout(timeout, env)
        self.policy = RetryPolicy(max_retries=resolve_max_retry_count(max_retry_count, env))
        self.rng = rng or random.Random()
        # Told (one safe line) before each retry: a command line user waiting through
        # timeouts and retries would otherwise see nothing for minutes.
        self.on_retry = on_retry

    def build(self, spec: RequestSpec) -> httpx.Request:
        url = self.base_url + spec.path
        if spec.params:
            # `requests` encodes params with urlencode (quote_plus); so do we, byte for byte.
            url += "?" + urlencode(list(spec.params.items()))
        headers = dict(self.headers)
        content: bytes | None = None
        if spec.json is not None:
            # The same serialisation `requests` uses for `json=`.
            content = json.dumps(spec.json, allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        try:
            return httpx.Request(
                spec.method,
                url,
                headers=headers,
                content=content,
                extensions={"timeout": httpx.Timeout(self.timeout).as_dict()},
            )
        except httpx.InvalidURL as error:
            # An id no server could accept (a hostile server's 300 kB run id, say).
            where = safe_url(self.base_url) + text_excerpt(spec.path)[:80]
            raise ApiError(f"cannot send {spec.method} {where}: {error}") from None

    def exchange(self, spec: RequestSpec) -> Exchange:
        request = self.build(spec)
        url = safe_url(request.url)
        attempt = 0
        while True:
            attempt += 1
            outcome = yield Send(request)
            if isinstance(outcome, httpx.Response):
                if outcome.is_success:
                    return decode_body(outcome, self.secrets)
                error = http_error(outcome, self.secrets)
                delay = retry_delay(
                    self.policy,
                    attempt=attempt,
                    idempotent=spec.idempotent,
                    status_code=outcome.status_code,
                    retry_after=error.retry_after,
                    rng=self.rng,
                )
                if delay is None:
                    raise error
            elif isinstance(outcome, httpx.RequestError):
                delay = retry_delay(
                    self.policy,
                    attempt=attempt,
                    idempotent=spec.idempotent,
                    error=outcome,
                    rng=self.rng,
                )
                if delay is None:
                    raise transport_error(outcome, spec, url, attempt, self.timeout, self.secrets)
            else:
                raise TypeError(f"unexpected outcome {outcome!r}")
            if self.on_retry is not None:
                what = (
                    f"HTTP {outcome.status_code}"
                    if isinstance(outcome, httpx.Response)
                    else transport_reason(outcome)
                )
                self.on_retry(
                    f"{spec.method} {url}: {what}; retry {attempt} of "
                    f"{self.policy.max_retries} in {delay:.1f}s"
                )
            yield Sleep(delay)
