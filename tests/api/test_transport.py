"""StreamTransport (the async client's transport) against small real asyncio servers on
loopback: framings the engine never sends, connections a server drops, parallel requests,
and the exception types the retry rules depend on.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from runwatch.api import AsyncAPIClient
from runwatch.api.errors import ConnectionFailed, OutcomeUnknown
from runwatch.api.transport import StreamTransport

TOKEN = "transport-test-token"
ORG, DEP, VER = "1234567890123", "2345678901234", "ver-1111111111111"
JSON_OK = b'{"entries": [], "ok": true}'

# Called with (the request head, the connection's writer); returns False to close.
Respond = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]


class Server:
    """A loopback HTTP/1.1 server whose answers a test writes byte for byte."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.connections = 0
        self.closed = 0  # connections the client closed (or the server gave up on)
        self.heads: list[bytes] = []
        self.url = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        await reader.readexactly(int(line.split(b":")[1]))
                self.heads.append(head)
                if not await self.respond(head, writer):
                    break
        finally:
            self.closed += 1
            writer.close()


@asynccontextmanager
async def serving(respond: Respond) -> AsyncIterator[Server]:
    server = Server(respond)
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    async with listener:
        yield server


def answer(body: bytes = JSON_OK, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join([*head, *extra]) + "\r\n\r\n").encode() + body


async def keep_answering(head: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(answer())
    return True


async def until(condition: Callable[[], bool]) -> None:
    """Lets the loop run until the server has seen what the client did (bounded)."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the server never saw it")


def client(base_url: str, **kw: object) -> AsyncAPIClient:
    return AsyncAPIClient({"auth_token": TOKEN}, base_url=base_url, timeout=5, **kw)  # type: ignore[arg-type]


async def test_a_chunked_body_with_trailers_then_the_connection_is_reused() -> None:
    async def chunked(head: bytes, writer: asyncio.StreamWriter) -> bool:
        body = json.dumps({"entries": [{"n": i} for i in range(50)]}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Transfer-Encoding: chunked\r\n\r\n")
        writer.write(b"%x;name=value\r\n%s\r\n" % (100, body[:100]))
        writer.write(b"%X\r\n%s\r\n" % (len(body) - 100, body[100:]))
        writer.write(b"0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n")
        return True

    async with serving(chunked) as server, client(server.url) as api:
        for _ in range(2):
            assert [e["n"] for e in (await api.get_runs(ORG, DEP))["entries"]] == list(range(50))
    assert server.connections == 1


CLOSING_ANSWERS = {
    "read until close": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + JSON_OK,
    "Connection: close": answer(JSON_OK, "Connection: close"),
    "HTTP/1.0": answer(JSON_OK).replace(b"HTTP/1.1", b"HTTP/1.0", 1),
}


@pytest.mark.parametrize("kind", CLOSING_ANSWERS)
async def test_an_answer_that_ends_the_connection_is_not_reused(kind: str) -> None:
    async def closing(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(CLOSING_ANSWERS[kind])
        return kind != "read until close"  # the others stay open: reusing them would work

    async with serving(closing) as server, client(server.url) as api:
        assert (await api.get_runs(ORG, DEP))["ok"] is True
        assert (await api.get_runs(ORG, DEP))["ok"] is True
    assert server.connections == 2


async def test_interim_and_bodiless_answers_keep_the_connection() -> None:
    answers = [
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + answer(),
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        answer()[: -len(JSON_OK)],  # to a HEAD: the length, no body
        answer(),
    ]

    async def scripted(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answers[len(server.heads) - 1])
        return True

    async with serving(scripted) as server, httpx.AsyncClient(transport=StreamTransport()) as h:
        statuses = []
        for method in ("GET", "GET", "GET", "HEAD", "GET"):
            response = await h.request(method, server.url, timeout=5)
            statuses.append((response.status_code, response.content))
    assert statuses == [(200, JSON_OK), (204, b""), (304, b""), (200, b""), (200, JSON_OK)]
    assert server.connections == 1


@pytest.mark.parametrize("idle_event", ["closed", "spoke out of turn"])
async def test_an_idle_connection_the_server_closed_or_wrote_to_is_not_reused(
    idle_event: str,
) -> None:
    first = asyncio.Event()

    async def answer_once(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer())  # keep-alive by every header
        if server.connections == 1:
            if idle_event == "spoke out of turn":
                writer.write(answer())  # an answer to nothing, while the connection sits idle
            first.set()
            return idle_event != "closed"
        return True

    # Straight through httpx: the client's retries would hide a reused dead connection.
    async with (
        serving(answer_once) as server,
        httpx.AsyncClient(transport=StreamTransport()) as http,
    ):
        assert (await http.post(server.url + "/runs", content=b"{}")).json()["ok"]
        await first.wait()
        await until(lambda: server.closed == 1 or idle_event != "closed")
        await asyncio.sleep(0.01)  # the FIN / the stray bytes reach the client's loop
        second = await http.post(server.url + "/runs", content=b"{}")
        assert second.json()["ok"] and second.content == JSON_OK
    assert server.connections == 2


async def test_eof_before_the_status_line_on_a_post_is_outcome_unknown() -> None:
    async def hang_up(head: bytes, writer: asyncio.StreamWriter) -> bool:
        return False  # read the request, close without a byte

    async with serving(hang_up) as server, client(server.url) as api:
        with pytest.raises(OutcomeUnknown, match="connection dropped"):
            await api.create_run(ORG, DEP, VER)
    assert len(server.heads) == 1  # sent once, never again

    async with serving(hang_up) as server, httpx.AsyncClient(transport=StreamTransport()) as h:
        with pytest.raises(httpx.RemoteProtocolError) as raised:
            await h.post(server.url, content=b"{}")
    assert not isinstance(raised.value, httpx.ConnectError)


async def test_a_refused_port_is_connect_error_with_its_reason() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with client(f"http://localhost:{port}", max_retry_count=1, sleep=sleep) as api:
        with pytest.raises(ConnectionFailed, match="connection refused") as raised:
            await api.create_run(ORG, DEP, VER)  # a POST: retried, since nothing left
    assert raised.value.reason == "connection refused" and len(slept) == 1
    async with httpx.AsyncClient(transport=StreamTransport()) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_parallel_requests_use_separate_connections_then_reuse_them() -> None:
    both_in = asyncio.Event()
    waiting = 0

    async def answer_when_both_arrived(head: bytes, writer: asyncio.StreamWriter) -> bool:
        nonlocal waiting
        waiting += 1
        if waiting == 2:
            both_in.set()
        await both_in.wait()  # one connection for both would wait here for ever
        writer.write(answer())
        return True

    async with serving(answer_when_both_arrived) as server, client(server.url) as api:
        calls = [api.get_runs(ORG, DEP), api.get_run_recent_logs(ORG, DEP, "run-1")]
        await asyncio.wait_for(asyncio.gather(*calls), 5)
        for _ in range(3):
            await api.get_runs(ORG, DEP)
    assert server.connections == 2


async def test_a_partly_read_body_closes_its_connection() -> None:
    async def big(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(b" " * 2_000_000))
        return True

    async with serving(big) as server, httpx.AsyncClient(transport=StreamTransport()) as http:
        async with http.stream("GET", server.url) as response:
            async for _chunk in response.aiter_raw():
                break
        await until(lambda: server.closed == 1)
        assert (await http.get(server.url)).content == b" " * 2_000_000
    assert server.connections == 2


async def test_a_cancelled_request_closes_its_connection() -> None:
    arrived = asyncio.Event()

    async def silent_first(head: bytes, writer: asyncio.StreamWriter) -> bool:
        if server.connections == 1:
            arrived.set()
            return True  # and never answer: wait for the next request (or the close)
        writer.write(answer())
        return True

    async with serving(silent_first) as server, client(server.url) as api:
        task = asyncio.create_task(api.get_runs(ORG, DEP))
        await arrived.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(lambda: server.closed == 1)  # closed, not kept for the next request
        assert (await api.get_runs(ORG, DEP))["ok"] is True
    await until(lambda: server.closed == 2)  # aclose() closed the idle one too
    assert server.connections == 2


async def test_a_gzip_answer_is_decoded() -> None:
    packed = gzip.compress(json.dumps({"entries": ["é" * 10] * 100}).encode())

    async def gzipped(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(packed, "Content-Encoding: gzip"))
        return True

    async with serving(gzipped) as server, client(server.url) as api:
        assert (await api.get_runs(ORG, DEP))["entries"] == ["é" * 10] * 100


async def test_proxy_variables_still_apply_to_a_remote_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The transport is the client's default, not `transport=`: httpx drops the proxy
    variables when a transport is passed in."""
    async with serving(keep_answering) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with client("http://api.runwatch.invalid") as api:
            assert (await api.get_runs(ORG, DEP))["ok"] is True
    assert proxy.heads[0].startswith(b"GET http://api.runwatch.invalid/organizations/")


async def test_malformed_answers_are_remote_protocol_errors() -> None:
    answers = [b"HTTP/1.1 2OO OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"]
    answers.append(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")

    async def malformed(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answers[len(server.heads) - 1])
        return False

    async with serving(malformed) as server, httpx.AsyncClient(transport=StreamTransport()) as h:
        for _ in answers:
            with pytest.raises(httpx.RemoteProtocolError):
                await h.get(server.url, headers={"Authorization": "Bearer sekrit-value"})


async def test_a_line_break_in_a_header_value_is_refused_without_quoting_it() -> None:
    async with (
        serving(keep_answering) as server,
        httpx.AsyncClient(transport=StreamTransport()) as h,
    ):
        with pytest.raises(httpx.LocalProtocolError) as raised:
            await h.get(server.url, headers={"Authorization": "Bearer sekrit\r\nX-Admin: 1"})
        assert "sekrit" not in str(raised.value)
        assert (await h.get(server.url)).content == JSON_OK
    assert len(server.heads) == 1 and b"X-Admin" not in server.heads[0]


async def test_a_tls_handshake_that_never_ends_is_a_connect_timeout() -> None:
    async def mute(head: bytes, writer: asyncio.StreamWriter) -> bool:
        return True  # never reached: a ClientHello has no blank line

    async with serving(mute) as server, httpx.AsyncClient(transport=StreamTransport()) as h:
        url = server.url.replace("http://", "https://")
        with pytest.raises(httpx.ConnectTimeout):
            await h.get(url, timeout=httpx.Timeout(5, connect=0.2))


async def test_a_redirected_get_is_followed_and_a_plain_one_skips_httpx_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A GET answered with a redirect goes on where it points (as the SDK's requests does);
    # one answered directly never passes through httpx's client machinery.
    async def respond(head: bytes, writer: asyncio.StreamWriter) -> bool:
        if b" /moved/" in head.split(b"\r\n")[0]:
            writer.write(answer(b'{"entries": [], "moved": true}'))
        else:
            where = head.split(b" ")[1].decode().replace("/organizations/", "/moved/", 1)
            writer.write(
                f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {where}\r\n"
                "Content-Length: 0\r\n\r\n".encode()
            )
        return True

    sent_by_httpx: list[str] = []
    send = httpx.AsyncClient.send

    async def counted(self: httpx.AsyncClient, request: httpx.Request, **kw: object) -> object:
        sent_by_httpx.append(request.url.path)
        return await send(self, request, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.AsyncClient, "send", counted)
    async with serving(respond) as server, client(server.url) as api:
        assert (await api.get_runs(ORG, DEP))["moved"] is True
        assert len(sent_by_httpx) == 1  # the redirect: httpx's path, which follows it
        assert [h.split(b" ")[1].split(b"?")[0].decode() for h in server.heads] == [
            f"/organizations/{ORG}/deployments/{DEP}/runs",  # straight to the transport
            f"/organizations/{ORG}/deployments/{DEP}/runs",  # again, through httpx
            f"/moved/{ORG}/deployments/{DEP}/runs",
        ]

    async def plain(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer())
        return True

    async with serving(plain) as server, client(server.url) as api:
        sent_by_httpx.clear()
        for _ in range(3):
            assert (await api.get_runs(ORG, DEP))["ok"] is True
        assert sent_by_httpx == []
        await api.create_run(ORG, DEP, VER)  # a POST: always httpx's own path
        assert len(sent_by_httpx) == 1
