"""Exceptions raised by the Run API client.

The HTTP error classes mirror the official SDK's (`abeja.exceptions`): same names, same
attributes (`error`, `error_description`, `error_detail`, `status_code`, `url`). Unlike the
SDK, the text of every exception here is built only from values the client has already
scrubbed: the URL never carries userinfo or a query string, and the client replaces any
credential it knows of with `***` before an exception is constructed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AmbiguousDeployment",
    "ApiError",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "HttpError",
    "InternalServerError",
    "MethodNotAllowed",
    "NotFound",
    "OutcomeUnknown",
    "RequestTimeout",
    "ResponseShapeError",
    "TlsRefused",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "UnknownDeployment",
    "error_class_for_status",
]


class ApiError(Exception):
    """Base of everything the client raises. Its text never holds a credential."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.url = url

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    # The wording of an error, once, for the command line and the dashboard alike.

    @property
    def short_reason(self) -> str:
        """What went wrong in a few words, without the URL: for a one-line status."""
        return _clip(self.message or type(self).__name__)

    def describe(self) -> str:
        """What went wrong and where: for a command's error line."""
        text = self.message or type(self).__name__
        if self.url and self.url not in text:
            text += f" ({self.url})"
        return text


class HttpError(ApiError):
    """The server answered with a non-2xx status."""

    def __init__(
        self,
        error: str,
        error_description: str,
        error_detail: Any = None,
        status_code: int | None = None,
        url: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.error = error
        self.error_description = error_description
        self.error_detail = error_detail
        self.status_code = status_code
        # Seconds the server asked us to wait (Retry-After), when it said so.
        self.retry_after = retry_after
        super().__init__(self._describe(), url=url)

    def _describe(self) -> str:
        text = f"{self.error}: {self.error_description}" if self.error_description else self.error
        if self.status_code is not None:
            text = f"HTTP {self.status_code} {text}"
        if self.error_detail:
            text += f" ({self.error_detail})"
        return text

    def __str__(self) -> str:
        if self.url:
            return f"{self.message} [{self.url}]"
        return self.message

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"

    @property
    def short_reason(self) -> str:
        return _clip(f"{self.status_code or ''} {self.error_description or self.error}".strip())

    def describe(self) -> str:
        where = f"HTTP {self.status_code}" if self.status_code else "HTTP error"
        if self.url:
            where += f" from {self.url}"
        return f"{self.error_description or self.error or 'error'} ({where})"

    def _asdict(self) -> dict[str, Any]:
        """Same shape as the SDK's `HttpError._asdict`."""
        data: dict[str, Any] = {"error": self.error, "error_description": self.error_description}
        if self.error_detail:
            data["error_detail"] = self.error_detail
        if self.status_code:
            data["status_code"] = self.status_code
        if self.url:
            data["url"] = self.url
        return data


class BadRequest(HttpError):
    """400."""


class Unauthorized(HttpError):
    """401: the credential was refused."""


class Forbidden(HttpError):
    """403."""


class NotFound(HttpError):
    """404."""


class MethodNotAllowed(HttpError):
    """405."""


class Conflict(HttpError):
    """409."""


class TooManyRequests(HttpError):
    """429, after the client's own retries (if any) gave up. `retry_after` says when to retry."""


class InternalServerError(HttpError):
    """500."""


class TransportError(ApiError):
    """No HTTP answer: `reason` says what happened in a few fixed words chosen by the client,
    never the transport's own text, so it is safe to show as is."""

    default_reason = "cannot connect"

    def __init__(self, message: str, *, url: str | None = None, reason: str = "") -> None:
        super().__init__(message, url=url)
        self.reason = reason or self.default_reason

    @property
    def short_reason(self) -> str:
        return self.reason


class ConnectionFailed(TransportError):
    """Could not reach the server, or the connection dropped mid-request (safe requests only).

    `reason`: "connection refused", "host not found", "connection dropped", ...
    """


class TlsRefused(TransportError):
    """The server's TLS certificate was refused (unknown CA, wrong host name, expired).

    Retrying cannot fix it: the message says which URL and how to trust a private CA."""

    default_reason = "TLS certificate refused"


class RequestTimeout(TransportError):
    """The server did not answer within the timeout (safe requests only). See `reason`."""

    default_reason = "request timed out"


class OutcomeUnknown(ApiError):
    """create_run may or may not have reached the server; it was deliberately not resent.

    Look at the deployment's runs before submitting again.
    """


class ResponseShapeError(ApiError):
    """A 2xx response whose body is not JSON, or not the shape the API documents."""

    @property
    def short_reason(self) -> str:
        text = self.message.replace(f" from {self.url}", "") if self.url else self.message
        return _clip(f"bad answer: {text}")


def _clip(text: str, limit: int = 120) -> str:
    # A status line is one line: an error page's whole text would push out the rest.
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AmbiguousDeployment(ApiError):
    """A deployment name that several deployments carry: the user must give an id."""

    # A one-line message: past this many ids the rest are counted, not listed.
    SHOWN_IDS = 20

    def __init__(self, name: str, ids: Sequence[str]) -> None:
        self.name = name
        self.ids = tuple(ids)
        listed = ", ".join(self.ids[: self.SHOWN_IDS])
        if len(self.ids) > self.SHOWN_IDS:
            listed += f" and {len(self.ids) - self.SHOWN_IDS} more"
        super().__init__(
            f"{len(self.ids)} deployments are named {name!r}: {listed}; give one of these ids"
        )


class UnknownDeployment(NotFound):
    """No deployment has this id or this name (the server said 404 to it as an id too)."""

    def __init__(self, wanted: str, organization_id: str, *, url: str | None = None) -> None:
        self.wanted = wanted
        super().__init__(
            "not_found",
            f"no deployment named {wanted!r} or with that id in organization {organization_id}",
            status_code=404,
            url=url,
        )


_STATUS_CLASSES: dict[int, type[HttpError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    429: TooManyRequests,
    500: InternalServerError,
}


def error_class_for_status(status_code: int) -> type[HttpError]:
    """The SDK's status -> class map, plus 429; anything else is the base `HttpError`."""
    return _STATUS_CLASSES.get(status_code, HttpError)
