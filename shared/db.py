"""Database plumbing: one PostgreSQL database per service, async SQLAlchemy on asyncpg, Alembic.

A service's sessions carry the service name in ``session.info["service"]``; the event store reads
it from there, so ``append(session, events)`` needs nothing else.

When the database is unavailable (stopped, restarting, unreachable, out of connections):

1. :func:`is_unavailable` recognises it in any exception chain — asyncpg's connection and
   shutdown errors (``CannotConnectNowError``, ``ConnectionDoesNotExistError``, admin/crash
   shutdown, too many connections), a closed or busy connection, ``OSError`` on connect, a connect
   or pool timeout — so the web layer answers 503 with ``Retry-After``, never 500.
2. A connection on which such an error happened is **discarded** (terminated, never returned to
   the pool) — whether the statement ran through SQLAlchemy or on the driver connection of
   :func:`raw_connection` (for errors SQLAlchemy sees, the pool's older connections with it). A
   connection found stuck mid-operation after the outage ("cannot switch to state 12; another
   operation is in progress") counts as unavailable too: that request is answered 503 and the
   connection terminated, so it never fails a second request.
3. Connecting gives up after ``CONNECT_TIMEOUT_SECONDS``, so a request during an outage is answered
   promptly instead of waiting for the driver's default minute.
"""

from __future__ import annotations

import socket
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.config import Settings, libpq_url

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


#: A pooled connection idle for longer than this is pinged before it is handed out again.
PING_AFTER_IDLE_SECONDS = 2.0
#: How long opening a connection may take before the database counts as unavailable.
CONNECT_TIMEOUT_SECONDS = 5.0

#: asyncpg errors that mean "the server is not there (now)", not "the statement is wrong"
_UNAVAILABLE_ERRORS = (
    asyncpg.PostgresConnectionError,  # class 08, incl. ConnectionDoesNotExistError
    asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    ConnectionError, TimeoutError, socket.gaierror,  # OSError on connect, connect/pool timeouts
    PoolTimeout,
)
#: messages of a connection that can no longer be used (asyncpg's InterfaceError, InternalClientError)
_BROKEN_CONNECTION = ("connection is closed", "connection was closed", "another operation", "cannot switch to state")


def unavailable_cause(exc: BaseException | None) -> BaseException | None:
    """The exception in ``exc``'s chain that means the database is unavailable (guarantee 1), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, _UNAVAILABLE_ERRORS):
            return exc
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return exc
        if isinstance(exc, (asyncpg.InterfaceError, asyncpg.InternalClientError)) and any(
                m in str(exc) for m in _BROKEN_CONNECTION):
            return exc
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return None


def is_unavailable(exc: BaseException | None) -> bool:
    return unavailable_cause(exc) is not None


def is_stale_statement(exc: BaseException | None) -> bool:
    """A prepared statement cached before a migration changed its result type (``cached plan must
    not change result type``: asyncpg's ``InvalidCachedStatementError``, bare or wrapped by
    SQLAlchemy), anywhere in ``exc``'s chain. The transaction it ran in failed, and the driver has
    forgotten that connection's cached statements: the same work run again prepares them anew."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, asyncpg.InvalidCachedStatementError) or type(exc).__name__ == "InvalidCachedStatementError":
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


#: SQLSTATEs of a transaction PostgreSQL aborted because of another one: run again, it may well pass
_CONTENTION = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def is_contention(exc: BaseException | None) -> bool:
    """A deadlock or serialization failure anywhere in ``exc``'s chain (asyncpg's error, bare or
    wrapped by SQLAlchemy): PostgreSQL rolled the transaction back — nothing of it was written —
    because of a concurrent one; the same work in a new transaction may well succeed."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "sqlstate", None) in _CONTENTION or getattr(exc, "pgcode", None) in _CONTENTION:
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


def make_engine(url: str, *, pool_size: int = 10, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> AsyncEngine:
    """The service's engine. A connection that sat in the pool for more than ``ping_after_idle``
    seconds is pinged on checkout and replaced if the server dropped it (restart, idle timeout,
    network). SQLAlchemy's ``pool_pre_ping`` pings on *every* checkout — three round trips (BEGIN,
    ``;``, ROLLBACK) and ~0.4 ms of CPU each time, twice per write request (idempotency claim and
    business transaction) — although a connection that was in use a moment ago is all but never
    the stale one; and if one is, the error invalidates the whole pool at once, as with any
    disconnect."""
    # hide_parameters: a failing statement's error message must not carry the row (ID numbers)
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=False, hide_parameters=True,
                                 connect_args={"timeout": CONNECT_TIMEOUT_SECONDS})
    _ping_when_idle(engine, ping_after_idle)
    _discard_broken_connections(engine)
    return engine


def _discard_broken_connections(engine: AsyncEngine) -> None:
    """Guarantee 2: an error that means the server is gone marks the connection as disconnected,
    so SQLAlchemy terminates it and invalidates the pool's older connections, whatever asyncpg
    says of the connection itself (it may still look open while stuck mid-operation)."""

    @sa_event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context) -> None:
        if not context.is_disconnect and is_unavailable(context.original_exception):
            context.is_disconnect = True


def _ping_when_idle(engine: AsyncEngine, after: float) -> None:
    @sa_event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        record.info["fupin_idle_since"] = time.monotonic()

    @sa_event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        since = record.info.pop("fupin_idle_since", None)
        if since is None or time.monotonic() - since <= after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)  # as pool_pre_ping does (runs in the pool's greenlet)
        except Exception as exc:
            # the pool discards this connection and checks out (or opens) another
            raise DisconnectionError(f"pooled connection failed its ping after {after} s idle") from exc


def make_sessionmaker(engine: AsyncEngine, service: str, clock=None) -> async_sessionmaker[AsyncSession]:
    """Sessions that know their service (and clock) — what ``append`` needs."""
    info = {"service": service}
    if clock is not None:
        info["clock"] = clock
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


async def ensure_database(server_url: str, name: str, *, template: str | None = None) -> bool:
    """Create database ``name`` on the server if it does not exist. Returns True if created."""
    conn = await asyncpg.connect(libpq_url(server_url, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        ident = '"' + name.replace('"', '""') + '"'
        clause = f' TEMPLATE "{template}"' if template else ""
        try:
            await conn.execute(f"CREATE DATABASE {ident}{clause}")
        except asyncpg.DuplicateDatabaseError:  # created by a concurrent runner
            return False
        return True
    finally:
        await conn.close()


async def drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(libpq_url(server_url, "postgres"))
    try:
        ident = '"' + name.replace('"', '""') + '"'
        await conn.execute(f"DROP DATABASE IF EXISTS {ident} WITH (FORCE)")
    finally:
        await conn.close()


def alembic_config(service: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("version_table", "alembic_version")
    return cfg


async def migrate(engine: AsyncEngine, service: str, revision: str = "head") -> None:
    """Run the service's Alembic migrations up to ``revision`` on ``engine``'s database.

    The connection is handed to Alembic's env.py (config attribute ``connection``), which is how
    Alembic documents programmatic use from asyncio code.
    """
    cfg = alembic_config(service)

    def upgrade(sync_conn) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)


async def prepare_database(settings: Settings) -> None:
    """Create the service's database if missing and migrate it to head (runner, compose, tests)."""
    await ensure_database(settings.database_server, settings.database_name)
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        await migrate(engine, settings.service)
    finally:
        await engine.dispose()


@asynccontextmanager
async def raw_connection(session: AsyncSession) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection under a session (for COPY and fast reads).

    Note: SQLAlchemy begins the transaction on its first statement; run one through the session
    before writing on the raw connection, or the raw statements run outside the transaction.
    """
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    try:
        yield raw.driver_connection
    except Exception as exc:
        # statements on the driver connection bypass SQLAlchemy's error handling: guarantee 2 here
        if is_unavailable(exc) and not conn.invalidated:
            await conn.invalidate(exc)
        raise


async def fetch(session: AsyncSession, sql: str, *args: Any, many: bool = False) -> Sequence[Sequence[Any]]:
    """Rows of ``sql`` (``$n`` parameters) in the session's transaction, run on the asyncpg
    connection under it: asyncpg's statement cache prepares each statement once per connection,
    and the rows are asyncpg records (positional and by name) — no SQLAlchemy compilation, cursor
    or row objects per call (the hot statements of a write path; thousands of rows at once).

    If this is the session's first statement, SQLAlchemy's adapter must run one to begin the
    transaction: this one (through SQLAlchemy, rows positional only), unless ``many`` rows are
    expected (then a ``SELECT 1`` first — a round trip is cheaper than thousands of rows through
    SQLAlchemy).

    A prepared statement whose result type a migration changed (``cached plan must not change
    result type``) fails its transaction with asyncpg's ``InvalidCachedStatementError``, and
    asyncpg forgets its cached statements: :func:`is_stale_statement` recognises the error, and
    the transaction may simply be run again (the web layer does, see ``shared.web.problems``)."""
    async with raw_connection(session) as conn:
        if conn.is_in_transaction():
            return await conn.fetch(sql, *args)
    if many:
        async with raw_connection(session) as conn:
            if not conn.is_in_transaction():
                await session.execute(text("SELECT 1"))
            return await conn.fetch(sql, *args)
    return (await (await session.connection()).exec_driver_sql(sql, args)).all()
