"""`APIClient` and `AsyncAPIClient`: the official SDK's `abeja.runs.APIClient`, over httpx.

Every API method is written once, in `RunApiMethods` (run_api.py), with the SDK's exact
signature and request building; it returns `self._call(spec)`. The sync client's `_call` carries
out the shared exchange (`wire.Core.exchange`) with a blocking `httpx.Client`, the async one with
an `httpx.AsyncClient` over `StreamTransport` (transport.py: a fraction of httpcore's CPU per
request). Connections are pooled per client instance and kept alive between calls.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from runwatch.api.connection_config import safe_url
from runwatch.api.errors import ResponseShapeError
from runwatch.api.request_spec import RequestSpec
from runwatch.api.responses import JsonDict
from runwatch.api.run_api import API_METHODS, RunApiMethods
from runwatch.api.transport import StreamTransport
from runwatch.api.wire import Core, Exchange, Send

__all__ = ["API_METHODS", "APIClient", "AsyncAPIClient", "Traffic", "counting"]

# No page of the Run API comes near this (the engine's are ~1 MiB at most); anything larger
# is a broken or hostile server, refused before it can exhaust memory.
MAX_BODY_BYTES = 64 * 2**20


@dataclass
class Traffic:
    """Requests sent and body bytes received (decoded) by the calls made under `counting`."""

    requests: int = 0
    bytes: int = 0


# A context variable rather than a counter on the client: the dashboard's panes share one
# client, and each follower wants the cost of its own requests only.
_traffic: ContextVar[Traffic | None] = ContextVar("runwatch_traffic", default=None)


@contextmanager
def counting(traffic: Traffic) -> Iterator[Traffic]:
    """Count every HTTP exchange (retries included) made in this context into `traffic`."""
    token = _traffic.set(traffic)
    try:
        yield traffic
    finally:
        _traffic.reset(token)


def _count(size: int) -> None:
    traffic = _traffic.get()
    if traffic is not None:
        traffic.requests += 1
        traffic.bytes += size


class APIClient(RunApiMethods[JsonDict]):
    """A low-level, blocking client for the Run API (`abeja.runs.APIClient`'s signatures).

    `credential` is the SDK's dict (`{"auth_token": ...}` or `{"user_id": ...,
    "personal_access_token": ...}`); None reads the SDK's environment variables.
    """

    def __init__(
        self,
        credential: dict | None = None,  # type: ignore[type-arg]
        timeout: float | None = None,
        max_retry_count: int | None = None,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        environ: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        on_retry: Callable[[str], None] | None = None,
        ca_file: str | None = None,
    ) -> None:
        self._core = Core(
            credential,
            timeout,
            max_retry_count,
            base_url=base_url,
            environ=environ,
            rng=rng,
            on_retry=on_retry,
            ca_file=ca_file,
        )
        self._sleep = sleep or time.sleep
        # The SDK's requests session follows redirects; keep that.
        self._http = httpx.Client(
            transport=transport,
            follow_redirects=True,
            trust_env=self._core.trust_env,
            verify=self._core.verify,
        )

    def _call(self, spec: RequestSpec) -> JsonDict:
        return _drive(self._core.exchange(spec), self._send, self._sleep)

    def _send(self, request: httpx.Request) -> httpx.Response:
        response = self._http.send(request, stream=True)
        if response.is_stream_consumed:
            return response  # already in memory (a transport that built it from bytes)
        body = _BodyReader(request, self._core.timeout)
        try:
            for chunk in response.iter_bytes():
                body.add(chunk)
        finally:
            response.close()
        return body.response(response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncAPIClient(RunApiMethods[Coroutine[Any, Any, JsonDict]]):
    """The same methods as coroutines, for the TUI. `sleep` is an async callable."""

    def __init__(
        self,
        credential: dict | None = None,  # type: ignore[type-arg]
        timeout: float | None = None,
        max_retry_count: int | None = None,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        environ: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        on_retry: Callable[[str], None] | None = None,
        ca_file: str | None = None,
    ) -> None:
        self._core = Core(
            credential,
            timeout,
            max_retry_count,
            base_url=base_url,
            environ=environ,
            rng=rng,
            on_retry=on_retry,
            ca_file=ca_file,
        )
        self._sleep = sleep or asyncio.sleep
        self._http = _AsyncHttp(
            transport=transport,
            follow_redirects=True,
            trust_env=self._core.trust_env,
            verify=self._core.verify,
        )

    async def _call(self, spec: RequestSpec) -> JsonDict:
        exchange = self._core.exchange(spec)
        action = next(exchange)
        while True:
            outcome: httpx.Response | httpx.RequestError | None = None
            if isinstance(action, Send):
                try:
                    outcome = await self._send(action.request)
                except httpx.RequestError as exc:
                    outcome = exc
            else:
                await self._sleep(action.seconds)
            try:
                action = exchange.send(outcome)
            except StopIteration as stop:
                result: JsonDict = stop.value
                return result

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._send_direct(request) if request.method == "GET" else None
        if response is None:
            response = await self._http.send(request, stream=True)
        if response.is_stream_consumed:
            _count(len(response.content))
            return response  # already in memory (a transport that built it from bytes)
        body = _BodyReader(request, self._core.timeout)
        try:
            async for chunk in response.aiter_bytes():
                body.add(chunk)
        finally:
            await response.aclose()
            _count(body.size)
        return body.response(response)

    async def _send_direct(self, request: httpx.Request) -> httpx.Response | None:
        """A GET that goes to `StreamTransport` (no proxy applies), sent to it straight.

        httpx's client around the transport (auth flow, redirects, cookie jar, hooks, logging)
        cost ~0.45 ms of CPU a request (tests/bench/bench_request_cpu.py), and a Run API GET
        uses none of it: the request is built whole by `Core.build`. None when httpx's own
        path must send it: a proxied URL, or an answer that redirects (the GET is then sent
        again by httpx, which follows the redirect; POSTs always take httpx's path).
        """
        transport = self._http._transport_for_url(request.url)
        if not isinstance(transport, StreamTransport):
            return None
        response = await transport.handle_async_request(request)
        response.request = request
        if response.has_redirect_location:
            await response.aclose()
            return None
        return response

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _AsyncHttp(httpx.AsyncClient):
    """httpx's AsyncClient with `StreamTransport` (a fraction of httpcore's CPU per request)
    as its default transport.

    Made the default here rather than passed as `transport=`: httpx ignores the proxy
    variables when a transport is passed (`allow_env_proxies = trust_env and transport is
    None`, httpx 0.28), and a proxied URL must keep going through httpx's own proxy mounts.
    """

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
        transport: httpx.AsyncBaseTransport | None = kwargs.get("transport")
        if transport is not None:
            return transport
        return StreamTransport(
            verify=kwargs.get("verify", True), trust_env=kwargs.get("trust_env", True)
        )


class _BodyReader:
    """Collects a response body under a deadline for the whole of it and a size cap.

    httpx's timeouts bound each read, so a server that trickles a byte at a time would
    otherwise hold a poll (and the screen waiting on it) for as long as it likes; and a
    body of gigabytes would be read into memory before anything could refuse it. The cap
    counts decoded bytes: 100 kB of gzip can hold gigabytes.
    """

    def __init__(self, request: httpx.Request, timeout: float) -> None:
        self.request = request
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.size += len(chunk)
        if self.size > MAX_BODY_BYTES:
            raise ResponseShapeError(
                f"the answer from {safe_url(self.request.url)} is larger than "
                f"{MAX_BODY_BYTES // 2**20} MiB",
                url=safe_url(self.request.url),
            )
        if time.monotonic() > self.deadline:
            raise httpx.ReadTimeout(
                f"the answer took longer than {self.timeout:g} s to arrive", request=self.request
            )

    def response(self, streamed: httpx.Response) -> httpx.Response:
        # A complete response from the decoded bytes, so without the encoding headers.
        headers = streamed.headers.copy()
        for name in ("content-encoding", "content-length", "transfer-encoding"):
            headers.pop(name, None)
        return httpx.Response(
            streamed.status_code,
            headers=headers,
            content=b"".join(self.chunks),
            request=streamed.request,
        )


def _drive(
    exchange: Exchange,
    send: Callable[[httpx.Request], httpx.Response],
    sleep: Callable[[float], None],
) -> JsonDict:
    action = next(exchange)
    while True:
        outcome: httpx.Response | httpx.RequestError | None = None
        if isinstance(action, Send):
            try:
                outcome = send(action.request)
            except httpx.RequestError as exc:
                outcome = exc
        else:
            sleep(action.seconds)
        try:
            action = exchange.send(outcome)
        except StopIteration as stop:
            result: JsonDict = stop.value
            return result


def _as_coroutine_function(
    method: Callable[..., Coroutine[Any, Any, JsonDict]],
) -> Callable[..., Coroutine[Any, Any, JsonDict]]:
    # Makes `inspect.iscoroutinefunction(AsyncAPIClient.get_run)` true; `wraps` keeps the
    # seed's signature visible to `inspect.signature`.
    @functools.wraps(method)
    async def wrapper(self: AsyncAPIClient, *args: Any, **kwargs: Any) -> JsonDict:
        return await method(self, *args, **kwargs)

    return wrapper


for _name in API_METHODS:
    setattr(AsyncAPIClient, _name, _as_coroutine_function(getattr(RunApiMethods, _name)))
del _name
