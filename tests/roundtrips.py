"""A wire proxy between an application and PostgreSQL that counts round trips.

Every byte is passed on unchanged in both directions; the client's side of the stream is parsed as
PostgreSQL frontend messages, and each message after which the client waits for the server is
counted: ``Sync`` (the end of an extended-protocol exchange: a prepared statement's execution, a
statement's preparation, an ``executemany`` pipeline) and ``Query`` (a simple-protocol statement
or script: ``BEGIN``, ``COMMIT``). Each of them is answered by one ``ReadyForQuery``. (A ``COPY …
FROM STDIN`` waits twice — for ``CopyInResponse``, then for the end — and is counted once.)

The start-up of a connection (``SSLRequest``, ``StartupMessage``, the password exchange) is not
counted; the server must not accept TLS (the proxy could not read the stream), which is the case of
the test server. Counts are kept per connection and in total; :meth:`RoundTrips.reset` starts a
measurement.

    async with RoundTrips(server_url) as proxy:
        settings = settings_for(..., database_url=proxy.url)
        ...
        proxy.reset()
        ...  # the work measured
        assert proxy.count <= 7
"""

from __future__ import annotations

import asyncio
import struct
from collections import Counter

from sqlalchemy.engine import make_url

#: untyped start-up messages (their first int32 after the length): SSLRequest, GSSENCRequest, CancelRequest
_SSL_REQUEST, _GSSENC_REQUEST, _CANCEL_REQUEST = 80877103, 80877104, 80877102
#: the frontend messages after which the client waits for ReadyForQuery
WAITING = frozenset(b"SQ")


class _Frontend:
    """The client→server stream of one connection, parsed as far as it has arrived."""

    def __init__(self, counted: RoundTrips, connection: int):
        self.proxy, self.connection = counted, connection
        self.buffer = bytearray()
        self.started = False  # the StartupMessage was seen: every message from now on has a type byte

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return
                length, code = struct.unpack("!ii", self.buffer[:8])
                if len(self.buffer) < length:
                    return
                del self.buffer[:length]
                if code not in (_SSL_REQUEST, _GSSENC_REQUEST, _CANCEL_REQUEST):
                    self.started = True  # the StartupMessage (protocol 3.0)
                continue
            if len(self.buffer) < 5:
                return
            kind = self.buffer[0]
            (length,) = struct.unpack("!i", self.buffer[1:5])
            if len(self.buffer) < 1 + length:
                return
            message = bytes(self.buffer[:1 + length])
            del self.buffer[:1 + length]
            self.proxy._message(self.connection, kind, message)


class RoundTrips:
    """An asyncio TCP proxy to the PostgreSQL server of ``server_url`` that counts round trips."""

    def __init__(self, server_url: str):
        url = make_url(server_url)
        self.server_url = server_url
        self.upstream = (url.host or "127.0.0.1", url.port or 5432)
        self.server: asyncio.base_events.Server | None = None
        self.count = 0  # round trips since the last reset, all connections
        self.by_connection: Counter[int] = Counter()
        self.statements: list[tuple[int, str]] = []  # (connection, SQL) of every statement run since the reset
        self._prepared: dict[tuple[int, bytes], str] = {}  # (connection, statement name) → SQL
        self.connections = 0
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        """``server_url`` with the proxy's address instead of the server's."""
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return make_url(self.server_url).set(host=host, port=port).render_as_string(hide_password=False)

    def reset(self) -> None:
        self.count = 0
        self.by_connection.clear()
        self.statements.clear()

    def _message(self, connection: int, kind: int, message: bytes) -> None:
        if kind in WAITING:
            self.count += 1
            self.by_connection[connection] += 1
        if kind == ord("Q"):
            self.statements.append((connection, message[5:-1].decode(errors="replace")))
        elif kind == ord("P"):  # Parse: the statement's name, then its SQL, each NUL-terminated
            name_end = message.index(b"\0", 5)
            sql = message[name_end + 1:message.index(b"\0", name_end + 1)].decode(errors="replace")
            self._prepared[connection, message[5:name_end]] = sql
        elif kind == ord("B"):  # Bind: the portal's name, then the statement's
            portal_end = message.index(b"\0", 5)
            name = message[portal_end + 1:message.index(b"\0", portal_end + 1)]
            self.statements.append((connection, self._prepared.get((connection, name), "?")))

    async def __aenter__(self) -> RoundTrips:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        frontend = _Frontend(self, self.connections)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        to_server = asyncio.create_task(self._pipe(reader, up_writer, frontend))
        to_client = asyncio.create_task(self._pipe(up_reader, writer, None))
        self._tasks |= {to_server, to_client}
        try:
            await asyncio.wait((to_server, to_client), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (to_server, to_client):
                task.cancel()
                self._tasks.discard(task)
            for w in (writer, up_writer):
                w.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, frontend: _Frontend | None) -> None:
        while data := await reader.read(65536):
            if frontend is not None:
                frontend.feed(data)  # counted before it is passed on: the count is complete once answered
            writer.write(data)
            await writer.drain()
