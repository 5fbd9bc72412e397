"""An https front for a plain-http server on 127.0.0.1, signed by a private CA made on the spot,
with an optional network delay: what users reach the platform through, on loopback.

    python -m tests.tls_proxy --target http://127.0.0.1:PORT --delay-ms 20 --dir DIR

prints `https://127.0.0.1:PORT` and the CA file on its first line, then serves until killed.
Tests use `TlsProxy` in a thread instead.

The delay (`delay` seconds of round trip) is added where the network adds it: each chunk of
bytes is held `delay / 2` in each direction, in order, so a request and its answer on a kept
connection pay one round trip; and a new connection's first bytes are held one more round
trip, the TCP handshake's (the TLS handshake then pays its own on the way). The certificates
come from the `openssl` command line tool, so the tests need no extra package.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CHUNK = 256 * 1024


@dataclass(frozen=True)
class Certificates:
    ca_file: Path  # the private CA's certificate: what SSL_CERT_FILE points at
    cert_file: Path  # the server's certificate, for 127.0.0.1 and localhost
    key_file: Path


def make_certificates(directory: Path) -> Certificates:
    """A private CA and a server certificate it signed, by the `openssl` tool."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_file = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
    )
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca = ["-subj", "/CN=runwatch test CA", "-addext", "basicConstraints=critical,CA:TRUE"]
    ca += ["-addext", "keyUsage=critical,keyCertSign,cRLSign", "-days", "2"]
    sign = ["-CA", ca_file, "-CAkey", ca_key, "-CAcreateserial", "-days", "2", "-extfile", ext]
    for command in (
        ["req", "-x509", *curve, "-keyout", ca_key, "-out", ca_file, *ca],
        ["req", *curve, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-out", cert, *sign],
    ):
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return Certificates(ca_file, cert, key)


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    delay: float,
    first_extra: float = 0.0,
) -> None:
    """Copies bytes one way, each chunk held `delay` seconds (the first `first_extra` more)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        extra = first_extra
        while True:
            try:
                data = await reader.read(CHUNK)
            except (ConnectionError, OSError):
                data = b""
            await queue.put((loop.time() + delay + extra, data))
            extra = 0.0
            if not data:
                return

    async def write() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                # The other side closed (a server drops an idle kept connection): pass it on,
                # or the client would send its next request into a connection nobody reads.
                with contextlib.suppress(OSError, RuntimeError):
                    if writer.can_write_eof():
                        writer.write_eof()
                    else:
                        writer.close()  # TLS has no half-close
                return
            try:
                writer.write(data)
                await writer.drain()
            except (ConnectionError, OSError):
                return

    await asyncio.gather(read(), write())


async def _join(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    delay: float = 0.0,
) -> None:
    try:
        await asyncio.gather(
            _pipe(client[0], server[1], delay / 2, first_extra=delay),
            _pipe(server[0], client[1], delay / 2),
        )
    finally:
        for writer in (client[1], server[1]):
            writer.close()


class TlsProxy:
    """Serves https on 127.0.0.1 in front of `target` (an http URL), in a thread of its own.

    `accepted`: connections accepted so far (a client that retried would show more than one).
    """

    def __init__(self, target: str, certificates: Certificates, *, delay: float = 0.0) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.certificates = certificates
        self.delay = delay
        self.accepted = 0
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TlsProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the TLS proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.serve(self._ready.set))
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            self._loop.close()

    async def serve(self, ready: object = None) -> None:
        self._stop = asyncio.Event()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificates.cert_file, self.certificates.key_file)

        def hold() -> None:
            # asyncio keeps only a weak reference to a connection's task: one waiting on its
            # pipes could be collected mid-answer (a request that never gets its answer).
            task = asyncio.current_task()
            if task is not None:
                connections.add(task)
                task.add_done_callback(connections.discard)

        async def terminate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # TLS ends here; the target is spoken to in plain http.
            hold()
            try:
                upstream = await asyncio.open_connection(*self.target)
            except OSError:
                writer.close()
                return
            await _join((reader, writer), upstream)

        connections: set[asyncio.Task[None]] = set()
        tls = await asyncio.start_server(terminate, "127.0.0.1", 0, ssl=context)

        async def delayed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # The raw bytes of the TLS connection, held on their way like a network's.
            self.accepted += 1
            hold()
            upstream = await asyncio.open_connection("127.0.0.1", tls.sockets[0].getsockname()[1])
            await _join((reader, writer), upstream, self.delay)

        # In front, the raw TCP connections: counted (a failed TLS handshake never reaches
        # the TLS server's handler) and, with a delay, held.
        front = await asyncio.start_server(delayed, "127.0.0.1", 0)
        self.url = f"https://127.0.0.1:{front.sockets[0].getsockname()[1]}"
        if callable(ready):
            ready()
        try:
            await self._stop.wait()
        finally:
            front.close()
            tls.close()
            for task in list(connections):
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)
            # Their TLS ends (the handlers the TLS server runs) go with their raw sides.
            await asyncio.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="the http URL to front")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="round trip to add")
    parser.add_argument("--dir", type=Path, required=True, help="where the certificates go")
    args = parser.parse_args()
    certificates = make_certificates(args.dir)
    proxy = TlsProxy(args.target, certificates, delay=args.delay_ms / 1000)

    def ready() -> None:
        print(proxy.url, certificates.ca_file, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(proxy.serve(ready))


if __name__ == "__main__":
    sys.exit(main())
