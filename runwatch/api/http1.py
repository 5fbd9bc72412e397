"""HTTP/1.1 messages as bytes, for `StreamTransport`: the request head it writes, and the
response head it reads with the framing and keep-alive that head implies. No I/O here.

Every error is httpx.RemoteProtocolError (a server that does not speak HTTP) or, for a request
that cannot be written, httpx.LocalProtocolError; none quotes a header value (it may be a
credential, the server may echo one).
"""

from __future__ import annotations

import re
from typing import TypeAlias

import httpx

Headers: TypeAlias = list[tuple[bytes, bytes]]

_NO_BODY_STATUSES = frozenset({204, 304})
_FIELD_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] [0-9]{3}(?: [^\r\n]*)?")


def request_head(request: httpx.Request) -> bytes:
    """The request line and the headers as httpx built them (Host, Content-Length, ...)."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    lines += [b"%s: %s" % pair for pair in request.headers.raw]
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    # A CR, LF or NUL inside a value would split or smuggle a header (a token pasted with its
    # newline, say). Checked by counting, and the value is not quoted: it may be a secret.
    breaks = len(lines) + 1
    if head.count(b"\n") != breaks or head.count(b"\r") != breaks or b"\0" in head:
        raise httpx.LocalProtocolError("a request header holds a line break or NUL")
    return head


async def request_body(request: httpx.Request) -> bytes:
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = await request.aread()
    if request.headers.get("transfer-encoding", "").lower() != "chunked":
        return body
    # httpx frames a streamed body of unknown length so: it goes as one chunk (or none).
    return (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"


def parse_head(raw: bytes) -> tuple[int, bytes, bytes, Headers]:
    """(status, version, reason phrase, headers in order, repeats kept) of a response head
    ending in a blank line."""
    status_line, *lines = raw[:-4].split(b"\r\n")
    if not _STATUS_LINE.fullmatch(status_line):
        raise httpx.RemoteProtocolError("malformed status line in the answer")
    version, status, reason = [*status_line.split(b" ", 2), b""][:3]
    headers: Headers = []
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


def chunk_size(line: bytes) -> int:
    size = line.split(b";", 1)[0].strip()  # chunk extensions: nothing here uses them
    if not _HEX.fullmatch(size):
        raise httpx.RemoteProtocolError("malformed chunk size in the answer")
    return int(size, 16)


def _values(headers: Headers, name: bytes) -> list[bytes]:
    return [value for key, value in headers if key.lower() == name]


def framing(method: str, status: int, headers: Headers) -> tuple[int | None, bool]:
    """(Content-Length, chunked) of the body after this head; (None, False): until close."""
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
        return None, False
    if len(lengths) > 1 or not all(v.isdigit() for v in lengths):
        raise httpx.RemoteProtocolError("malformed Content-Length in the answer")
    return int(lengths.pop()), False


def keep_alive(version: bytes, headers: Headers, request: httpx.Request) -> bool:
    """Whether the connection may carry another request after this answer's body."""
    tokens = {t.strip() for v in _values(headers, b"connection") for t in v.lower().split(b",")}
    if b"close" in tokens or request.headers.get("connection", "").lower() == "close":
        return False
    return version == b"HTTP/1.1" or b"keep-alive" in tokens
