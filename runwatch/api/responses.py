"""Reading what comes back: JSON bodies strictly, HTTP errors and transport failures as
ApiErrors whose text is short, readable and free of secrets.
"""

from __future__ import annotations

import errno
import html
import http.client
import json
import re
import ssl
from collections.abc import Mapping
from typing import Any, TypeAlias

import httpx

from runwatch.api.connection_config import safe_url
from runwatch.api.errors import (
    ApiError,
    ConnectionFailed,
    HttpError,
    OutcomeUnknown,
    RequestTimeout,
    ResponseShapeError,
    TlsRefused,
    error_class_for_status,
)
from runwatch.api.request_spec import RequestSpec
from runwatch.api.retries import parse_retry_after
from runwatch.api.wire_values import MAX_JSON_DEPTH, json_type, nested_deeper_than

# An error page is shown to a person; a proxy's 50 kB HTML page is not useful in a status bar.
MAX_ERROR_TEXT = 500

JsonDict: TypeAlias = dict[str, Any]


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


# Transport exceptions that say what happened by their type alone; the first match wins, so
# the specific timeouts come before TimeoutException.
_TYPE_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (httpx.ConnectTimeout, "timed out connecting"),
    (httpx.PoolTimeout, "timed out waiting for a connection"),
    (httpx.WriteTimeout, "timed out sending"),
    (httpx.TimeoutException, "timed out waiting for an answer"),
    (httpx.UnsupportedProtocol, "unsupported URL"),
    (httpx.ProxyError, "proxy error"),
    (httpx.DecodingError, "undecodable answer"),
    (httpx.TooManyRedirects, "too many redirects"),
)


def transport_reason(error: Exception) -> str:
    """What went wrong with the transport, in a few fixed words that are safe to show anywhere.

    Built from the exception's type, the errno of anything in its cause chain and a list of
    known phrases; never from the transport's free text, which may echo a URL or a header.
    """
    for kind, words in _TYPE_REASONS:
        if isinstance(error, kind):
            return words
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


def tls_refusal(error: Exception, spec: RequestSpec, url: str) -> ApiError | None:
    """A `TlsRefused` when `error` is a certificate that failed verification, else None."""
    link: BaseException | None = error
    seen: set[int] = set()
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, ssl.SSLCertVerificationError):
            # OpenSSL's fixed words ("self-signed certificate in certificate chain", ...).
            why = _scrub(str(link.verify_message or "verification failed"), ())[:120]
            return TlsRefused(
                f"{spec.method} {url}: the server's TLS certificate was refused ({why}). "
                "If a private CA signed it, point SSL_CERT_FILE or REQUESTS_CA_BUNDLE (or the "
                "profile's ca_file) at that CA's certificate (PEM).",
                url=url,
            )
        link = link.__cause__ or link.__context__
    return None


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
