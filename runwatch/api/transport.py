"""`StreamTransport`: the async client's HTTP/1.1 transport, over plain asyncio streams.

httpx's default (httpcore over h11 and anyio) costs ~1.4 ms of CPU per request on loopback;
the dashboard makes several requests a second all day, so that alone was most of an idle
core budget. This speaks the small part of HTTP/1.1 the Run API needs (keep-alive, Content-
Length, chunked, read-until-close) with a few asyncio calls per request.

The exceptions are httpcore's, type for type, because the retry rules read them: ConnectError
only while no byte of the request has left this machine (so even a POST may be retried);
after that WriteError, ReadError, RemoteProtocolError or a timeout (the outcome is unknown).
The OSError behind a failure stays in the cause chain (the reason shown is worded from its
errno); no header value is ever put into an exception's text.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from typing import Any

import httpx

# Idle keep-alive connections kept per origin; the export's parallel slices open more, and
# those beyond this are closed when they come back rather than held open all day.
MAX_IDLE_PER_ORIGIN = 8
_READ_SIZE = 64 * 1024
# A response head or a chunk-size line longer than this is not an HTTP server talking.
_LINE_LIMIT = 64 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})
_FIELD_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] [0-9]{3}(?: [^\r\n]*)?")

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
            and reader.fed == self.taken
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
            async with asyncio.timeout(seconds):
                data = await self.reader.readuntil(separator)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise httpx.RemoteProtocolError("Server disconnected mid-line.") from None
            return b""
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError("A response line is too long.") from None
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out waiting for the answer") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from exc
        self.taken += len(data)
        return data

    async def some(self, limit: int, seconds: float | None) -> bytes:
        """Up to `limit` bytes; b"" at end of stream. No timer when bytes are already here
        (the usual case: the body came in the same segment as the head)."""
        try:
            if self.reader.fed > self.taken:
                data = await self.reader.read(limit)
            else:
                async with asyncio.timeout(seconds):
                    data = await self.reader.read(limit)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out reading the answer") from exc
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
        conn: _Connection | None,
        length: int | None,
        chunked: bool,
        keep_alive: bool,
        timeout: float | None,
    ) -> None:
        self._pool = pool
        self._origin = origin
        self._conn = conn
        self._length = length  # None: until close (or chunked)
        self._chunked = chunked
        self._keep_alive = keep_alive
        self._timeout = timeout
        self._received = 0
        self._chunk_left = 0
        if conn is not None and length == 0 and not chunked:
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
        cut = (
            "peer closed connection without sending complete message body: incomplete chunked read"
        )
        if not self._chunk_left:
            line = await conn.line(self._timeout)
            size = line.split(b";", 1)[0].strip()
            if not line:
                raise httpx.RemoteProtocolError(cut)
            if not _HEX.fullmatch(size):
                raise httpx.RemoteProtocolError("malformed chunk size in the answer")
            self._chunk_left = int(size, 16)
            if not self._chunk_left:
                while (trailer := await conn.line(self._timeout)) != b"\r\n":  # trailers
                    if not trailer:
                        raise httpx.RemoteProtocolError(cut)
                self._finish()
                return b""
        data = await conn.some(min(self._chunk_left, _READ_SIZE), self._timeout)
        if not data:
            raise httpx.RemoteProtocolError(cut)
        self._chunk_left -= len(data)
        if not self._chunk_left and await conn.line(self._timeout) != b"\r\n":
            raise httpx.RemoteProtocolError("malformed chunk end in the answer")
        return data

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._release(self._origin, conn, self._keep_alive)

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._forget(conn)

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
        head = _request_head(request)
        body = await _request_body(request)
        conn = self._idle_connection(origin) or await self._connect(origin, timeouts.get("connect"))
        try:
            # From here on bytes may have reached the server: no error may say "connect".
            await conn.write(head + body if len(body) < _READ_SIZE else head, timeouts.get("write"))
            if len(body) >= _READ_SIZE:
                await conn.write(body, timeouts.get("write"))
            while True:
                status, version, reason, headers = await _response_head(conn, read_timeout)
                if not 100 <= status < 200 or status == 101:
                    break  # 1xx are interim: the answer follows on the same connection
            keep_alive = _keep_alive(version, headers, request) and status != 101
            length, chunked = _framing(request.method, status, headers)
            if length is None and not chunked:
                keep_alive = False
        except BaseException:
            self._forget(conn)  # failed or cancelled half-way: never back to the pool
            raise
        stream = _Body(self, origin, conn, length, chunked, keep_alive, read_timeout)
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


def _request_head(request: httpx.Request) -> bytes:
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    lines += [b"%s: %s" % pair for pair in request.headers.raw]
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    # A CR, LF or NUL inside a value would split or smuggle a header (a token pasted with its
    # newline, say). Checked by counting, and the value is not quoted: it may be a secret.
    breaks = len(lines) + 1
    if head.count(b"\n") != breaks or head.count(b"\r") != breaks or b"\0" in head:
        raise httpx.LocalProtocolError("a request header holds a line break or NUL")
    return head


async def _request_body(request: httpx.Request) -> bytes:
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = await request.aread()
    if body and request.headers.get("transfer-encoding", "").lower() == "chunked":
        return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)  # httpx framed it so; one chunk
    if request.headers.get("transfer-encoding", "").lower() == "chunked":
        return b"0\r\n\r\n"
    return body


async def _response_head(
    conn: _Connection, seconds: float | None
) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    raw = await conn.line(seconds, b"\r\n\r\n")
    if not raw:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    status_line, *lines = raw[:-4].split(b"\r\n")
    if not _STATUS_LINE.fullmatch(status_line):
        raise httpx.RemoteProtocolError("malformed status line in the answer")
    version, status, reason = [*status_line.split(b" ", 2), b""][:3]
    headers: list[tuple[bytes, bytes]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding, as h11 accepts it
            name, value = headers.pop()
            headers.append((name, value + b" " + line.strip()))
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            raise httpx.RemoteProtocolError("malformed header line in the answer")
        headers.append((name, value.strip(b" \t")))
    return int(status), version, reason, headers


def _values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [value for key, value in headers if key.lower() == name]


def _framing(
    method: str, status: int, headers: list[tuple[bytes, bytes]]
) -> tuple[int | None, bool]:
    """(Content-Length or None, chunked) of the body that follows this head."""
    if method == "HEAD" or status < 200 or status in _NO_BODY_STATUSES:
        return 0, False
    encodings = b",".join(_values(headers, b"transfer-encoding")).lower()
    if encodings:
        if encodings.strip() != b"chunked":
            raise httpx.RemoteProtocolError("only Transfer-Encoding: chunked is supported")
        return None, True
    lengths = {
        v.strip() for value in _values(headers, b"content-length") for v in value.split(b",")
    }
    if not lengths:
        return None, False  # read until the server closes
    if len(lengths) > 1 or not all(v.isdigit() for v in lengths):
        raise httpx.RemoteProtocolError("malformed Content-Length in the answer")
    return int(lengths.pop()), False


def _keep_alive(version: bytes, headers: list[tuple[bytes, bytes]], request: httpx.Request) -> bool:
    tokens = {t.strip() for v in _values(headers, b"connection") for t in v.lower().split(b",")}
    if b"close" in tokens or request.headers.get("connection", "").lower() == "close":
        return False
    return version == b"HTTP/1.1" or b"keep-alive" in tokens
