"""Database plumbing: one PostgreSQL database per service, async SQLAlchemy on asyncpg, Alembic.

A service's sessions carry the service name in ``session.info["service"]``; the event store reads
it from there, so ``append(session, events)`` needs nothing else.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.config import Settings, libpq_url

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    # hide_parameters: a failing statement's error message must not carry the row (ID numbers)
    return create_async_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True, hide_parameters=True)


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
    await ensure_database(settings.database_url, settings.database_name)
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
    yield raw.driver_connection
