"""The guard in front of every route: token auth, repeated query parameters, 1 MiB bodies."""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runwatch.engine.responses import bad_request_response, error_response

MAX_BODY = 1 << 20
# Answered without the token: the health probe and the API description (no data in either).
PUBLIC_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


class GuardMiddleware:
    """Token auth for the API paths and the 1 MiB request body limit, before any routing."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    def authorized(self, header: bytes | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.strip().partition(b" ")
        value = value.strip()
        scheme = scheme.lower()
        if scheme == b"bearer":
            return hmac.compare_digest(value, self.token)
        if scheme == b"basic":
            try:
                decoded = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return False
            _user, sep, password = decoded.partition(b":")
            return bool(sep) and hmac.compare_digest(password, self.token)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        # Deny by default: an endpoint added later needs the token unless it is listed here.
        if scope["path"] not in PUBLIC_PATHS and not self.authorized(headers.get(b"authorization")):
            await error_response(401, "missing or invalid credentials")(scope, receive, send)
            return
        public = scope["path"] in PUBLIC_PATHS
        repeated = None if public else _repeated_parameter(scope.get("query_string", b""))
        if repeated is not None:
            # `?next_token=a&next_token=b` would silently use one of them: refuse instead.
            await bad_request_response(repeated)(scope, receive, send)
            return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > MAX_BODY
            except ValueError:
                too_big = False
            if too_big:
                await error_response(413, "request body larger than 1 MiB")(scope, receive, send)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await error_response(413, "request body larger than 1 MiB")(scope, receive, send)


class _TooLarge(Exception):
    pass


def _repeated_parameter(query: bytes) -> str | None:
    """The first query parameter given more than once, if any."""
    if b"&" not in query:
        return None
    names = [name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None
