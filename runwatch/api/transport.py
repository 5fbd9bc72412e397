"""`StreamTransport`: the async client's HTTP/1.1 transport, over plain asyncio streams.

httpx's default (httpcore over h11 and anyio) costs ~1.4 ms of CPU per request on loopback;
the dashboard makes several requests a second all day, so that alone was most of an idle
core budget. This speaks the small part of HTTP/1.1 the Run API needs (keep-alive, Content-
Length, chunked, read-until-close) with a few asyncio calls per request.

Exceptions are httpcore's, type for type (the retry rules read them): ConnectError only while
no byte of the request has left this machine, then WriteError, ReadError, RemoteProtocolError
or a timeout. The OSError stays the cause (its errno words the reason shown); no header value
is ever put into an exception's text.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable
from typing import Any

import httpx

from runwatch.api.http1 import (
    Headers,
    chunk_size,
    framing,
    keep_alive,
    parse_head,
    request_body,
    request_head,
)

# Idle keep-alive connections kept per origin; the export's parallel slices open more, and
# those beyond this are closed when they come back rather than held open all day.
MAX_IDLE_PER_ORIGIN = 8
_READ_SIZE = 64 * 1024
# A response head or a chunk-size line longer than this is not an HTTP server talking.
_LINE_LIMIT = 64 * 1024
# h11's words for a body cut short, which the client's error text recognises.
_CHUNKED_CUT = (
    "peer closed connection without sending complete message body: incomplete chunked read"
)

Origin = tuple[bytes, bytes, int]


class _Reader(asyncio.StreamReader):
    """A StreamReader that counts the bytes fed to it: with the bytes the connection took
    out, that says whether anything is waiting unread (a server that spoke out of turn)."""

    fed = 0

    def feed_data(self, data: Any) -> None:
        self.fed += len(data)
        super().feed_data(data)


class _Connection:
    __slots__ = ("loop", "reader", "taken", "writer")

    def __init__(self, reader: _Reader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.taken = 0
        # Streams belong to the loop that opened them; a client reused under a new loop
        # (a second asyncio.run) must not pick them up.
        self.loop = asyncio.get_running_loop()

    def reusable(self) -> bool:
        """Idle and still usable: open both ways, nothing buffered, same loop (the check
        httpcore makes, so a connection the server dropped while idle is never written to)."""
        reader = self.reader
        return (
            self.loop is asyncio.get_running_loop()
            and not self.writer.is_closing()
            and not reader.at_eof()
            and reader.exception() is None
            and not self.buffered
        )

    def close(self) -> None:
        # abort, not close: nothing is waited for (no TLS close_notify round trip that a
        # dead server never answers), so a cancelled request leaves nothing behind.
        self.writer.transport.abort()

    async def write(self, data: bytes, seconds: float | None) -> None:
        try:
            self.writer.write(data)
            if self.writer.transport.get_write_buffer_size():
                async with asyncio.timeout(seconds):
                    await self.writer.drain()
        except TimeoutError as exc:
            raise httpx.WriteTimeout("timed out sending the request") from exc
        except (OSError, RuntimeError) as exc:
            raise httpx.WriteError(str(exc)) from exc

    async def line(self, seconds: float | None, separator: bytes = b"\r\n") -> bytes:
        """Up to and including `separator`; b"" at a clean end of stream."""
        try:
            return await self._take(self.reader.readuntil(separator), seconds)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise httpx.RemoteProtocolError("Server disconnected mid-line.") from None
            return b""
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError("A response line is too long.") from None

    async def some(self, limit: int, seconds: float | None) -> bytes:
        """Up to `limit` bytes; b"" at end of stream. No timer when bytes are already here
        (the usual case: the body came in the same segment as the head)."""
        return await self._take(self.reader.read(limit), None if self.buffered else seconds)

    @property
    def buffered(self) -> int:
        return self.reader.fed - self.taken

    async def _take(self, read: Awaitable[bytes], seconds: float | None) -> bytes:
        try:
            if seconds is None:
                data = await read
            else:
                async with asyncio.timeout(seconds):
                    data = await read
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out waiting for the answer") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from exc
        self.taken += len(data)
        return data


class _Body(httpx.AsyncByteStream):
    """The response body, read off the connection as the caller iterates.

    The connection goes back to the pool the moment the last byte is read (if keep-alive
    holds); closed early, or failing, or cancelled, it is closed instead.
    """

    def __init__(
        self,
        pool: StreamTransport,
        origin: Origin,
        conn: _Connection,
        length: int | None,
        chunked: bool,
        keep_alive: bool,
        timeout: float | None,
    ) -> None:
        self._pool = pool
        self._origin = origin
        self._conn: _Connection | None = conn
        self._length = length  # None: until close (or chunked)
        self._chunked = chunked
        self._keep_alive = keep_alive
        self._timeout = timeout
        self._received = 0
        self._chunk_left = 0
        if length == 0:  # HEAD, 204, 304, Content-Length: 0
            self._finish()

    def __aiter__(self) -> _Body:  # type: ignore[override]
        return self

    async def __anext__(self) -> bytes:
        conn = self._conn
        if conn is None:
            raise StopAsyncIteration
        try:
            data = await self._read(conn)
        except BaseException:
            self._discard()
            raise
        if not data:
            raise StopAsyncIteration
        return data

    async def _read(self, conn: _Connection) -> bytes:
        if self._chunked:
            return await self._read_chunked(conn)
        if self._length is None:
            data = await conn.some(_READ_SIZE, self._timeout)
            if not data:
                self._keep_alive = False
                self._finish()
            return data
        left = self._length - self._received
        data = await conn.some(min(left, _READ_SIZE), self._timeout)
        if not data:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body: "
                f"received {self._received} bytes, expected {self._length}"
            )
        self._received += len(data)
        if self._received == self._length:
            self._finish()
        return data

    async def _read_chunked(self, conn: _Connection) -> bytes:
        if not self._chunk_left:
            self._chunk_left = chunk_size(await self._chunk_line(conn))
            if not self._chunk_left:
                while await self._chunk_line(conn) != b"\r\n":
                    pass  # trailers: nothing here uses them
                self._finish()
                return b""
        data = await conn.some(min(self._chunk_left, _READ_SIZE), self._timeout)
        if not data:
            raise httpx.RemoteProtocolError(_CHUNKED_CUT)
        self._chunk_left -= len(data)
        if not self._chunk_left and await self._chunk_line(conn) != b"\r\n":
            raise httpx.RemoteProtocolError("malformed chunk end in the answer")
        return data

    async def _chunk_line(self, conn: _Connection) -> bytes:
        line = await conn.line(self._timeout)
        if not line:
            raise httpx.RemoteProtocolError(_CHUNKED_CUT)
        return line

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._release(self._origin, conn, self._keep_alive)

    def _discard(self) -> None:
        self._keep_alive = False
        self._finish()

    async def aclose(self) -> None:
        self._discard()  # a body not read to its end leaves the connection unusable


class StreamTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive over asyncio streams, for http and https origins.

    `verify` as httpx takes it (the client passes its own context: the CA settings apply to
    every URL); `trust_env` only for httpx's reading of SSL_CERT_FILE when verify is True.
    """

    def __init__(self, verify: ssl.SSLContext | str | bool = True, trust_env: bool = True) -> None:
        self._verify = verify
        self._trust_env = trust_env
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.raw_scheme
        if scheme not in (b"http", b"https"):
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{url.scheme}://'."
            )
        origin = (scheme, url.raw_host, url.port or (443 if scheme == b"https" else 80))
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        head = request_head(request)
        body = await request_body(request)
        conn = self._idle_connection(origin) or await self._connect(origin, timeouts.get("connect"))
        try:
            # From here on bytes may have reached the server: no error may say "connect".
            await conn.write(head + body, timeouts.get("write"))  # one segment when small
            while True:
                status, version, reason, headers = await _response_head(conn, read_timeout)
                if not 100 <= status < 200 or status == 101:
                    break  # 1xx are interim: the answer follows on the same connection
            reuse = keep_alive(version, headers, request) and status != 101
            length, chunked = framing(request.method, status, headers)
            reuse = reuse and (length is not None or chunked)  # else the body ends at close
        except BaseException:
            self._forget(conn)  # failed or cancelled half-way: never back to the pool
            raise
        stream = _Body(self, origin, conn, length, chunked, reuse, read_timeout)
        return httpx.Response(
            status,
            headers=headers,
            stream=stream,
            extensions={"http_version": version, "reason_phrase": reason},
        )

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.reusable():
                return conn
            self._forget(conn)
        return None

    async def _connect(self, origin: Origin, seconds: float | None) -> _Connection:
        scheme, raw_host, port = origin
        host = raw_host.decode("ascii")
        context = self._ssl_context() if scheme == b"https" else None
        loop = asyncio.get_running_loop()
        reader = _Reader(limit=_LINE_LIMIT)
        try:
            async with asyncio.timeout(seconds):
                sock = await _open_socket(loop, host, port)
                transport, protocol = await loop.create_connection(
                    lambda: asyncio.StreamReaderProtocol(reader),
                    sock=sock,
                    ssl=context,
                    server_hostname=host if context else None,
                    ssl_handshake_timeout=seconds if context and seconds else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("timed out connecting") from exc
        except OSError as exc:  # refused, unreachable, no such host, TLS refused or failed
            # ssl.SSLCertVerificationError stays the cause: the message names the CA settings.
            raise httpx.ConnectError(str(exc) or "All connection attempts failed") from exc
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        conn = _Connection(reader, writer)
        self._open.add(conn)
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = (
                self._verify
                if isinstance(self._verify, ssl.SSLContext)
                else httpx.create_ssl_context(verify=self._verify, trust_env=self._trust_env)
            )
            context.set_alpn_protocols(["http/1.1"])  # as httpcore does for an HTTP/1.1 pool
            self._ssl = context
        return self._ssl

    def _release(self, origin: Origin, conn: _Connection, keep_alive: bool) -> None:
        idle = self._idle.setdefault(origin, [])
        if keep_alive and len(idle) < MAX_IDLE_PER_ORIGIN and conn.reusable():
            idle.append(conn)
        else:
            self._forget(conn)

    def _forget(self, conn: _Connection) -> None:
        self._open.discard(conn)
        conn.close()

    async def aclose(self) -> None:
        for conn in list(self._open):
            self._forget(conn)
        self._idle.clear()
        await asyncio.sleep(0)  # lets the aborted transports close their sockets


async def _open_socket(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    """A connected socket, trying each address in turn. Resolved here rather than by
    create_connection so a refusal keeps its errno ("connection refused") when a name has
    several addresses (asyncio would merge the errors into one errno-less OSError)."""
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    first: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            first = first or exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise first or OSError(f"no address for {host}")


async def _response_head(
    conn: _Connection, seconds: float | None
) -> tuple[int, bytes, bytes, Headers]:
    raw = await conn.line(seconds, b"\r\n\r\n")
    if not raw:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    return parse_head(raw)
