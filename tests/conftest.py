"""Test infrastructure: real PostgreSQL and the real broker, started once per session.

PostgreSQL: ``FUPIN_TEST_DATABASE_URL`` if set; else the server on 127.0.0.1:5432 if one answers
(set ``FUPIN_TEST_EMBEDDED=1`` to skip it); else embedded PostgreSQL in a temporary folder.
The broker is always an embedded Tansu (tests kill and restart it).

Each test that needs a service database gets a fresh one, cloned from a template that was
migrated once per session with the service's Alembic migrations.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import sys
import tempfile
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic import command
from hypothesis import HealthCheck, settings

from deploy.embedded import EmbeddedBroker, EmbeddedPostgres
from shared.auth import issue_token
from shared.config import Settings, libpq_url, settings_for
from shared.db import alembic_config, drop_database, ensure_database, make_engine, migrate

RUN_ID = uuid.uuid4().hex[:8]

# Property tests judge behaviour, not speed: on a loaded 2-core CI machine Hypothesis' default
# 200 ms deadline and its too-slow health check fail correct code (speed lives in bench/).
settings.register_profile("fupin", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fupin")


def _local_postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def pg_url():
    if os.environ.get("FUPIN_TEST_DATABASE_URL"):
        yield os.environ["FUPIN_TEST_DATABASE_URL"]
        return
    if os.environ.get("FUPIN_TEST_EMBEDDED") != "1" and _local_postgres_answers():
        yield "postgresql://postgres@127.0.0.1:5432/postgres"
        return
    server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="fupin-pg-")) / "data").start()
    try:
        yield server.url
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def broker():
    log = Path(tempfile.gettempdir()) / f"fupin-test-broker-{RUN_ID}.log"
    embedded = EmbeddedBroker(log_path=log).start()
    try:
        yield embedded
    finally:
        embedded.stop()


class Databases:
    """Fresh, migrated service databases for tests."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.templates: dict[str, str] = {}
        self.created: list[str] = []
        self.counter = itertools.count(1)

    async def template(self, service: str) -> str:
        if service not in self.templates:
            name = f"fupint_{RUN_ID}_{service}_tpl"
            await ensure_database(self.server_url, name)
            engine = make_engine(settings_for(service, database_url=self.server_url, database=name).sqlalchemy_url)
            try:
                await migrate(engine, service)
            finally:
                await engine.dispose()
            self.templates[service] = name
            self.created.append(name)
        return self.templates[service]

    async def new(self, service: str, **overrides) -> Settings:
        """A fresh migrated database for ``service`` and settings pointing at it."""
        name = f"fupint_{RUN_ID}_{service}_{next(self.counter)}"
        await ensure_database(self.server_url, name, template=await self.template(service))
        self.created.append(name)
        options = dict(database_url=self.server_url, database=name, kafka_bootstrap=None,
                       relay_poll_seconds=0.2, log_level="WARNING")
        options.update(overrides)
        return settings_for(service, **options)

    async def drop_all(self) -> None:
        clones = [name for name in self.created if name not in self.templates.values()]
        limit = asyncio.Semaphore(8)  # a few at a time: the server's connection slots are shared

        async def drop(name: str) -> None:
            async with limit:
                await drop_database(self.server_url, name)

        await asyncio.gather(*(drop(name) for name in clones))
        for template in self.templates.values():
            await drop_database(self.server_url, template)


@pytest.fixture(scope="session")
async def databases(pg_url):
    dbs = Databases(pg_url)
    yield dbs
    await dbs.drop_all()


def bearer(settings: Settings, role: str, division: str = "000000000000", **kwargs) -> dict[str, str]:
    token = issue_token(settings, sub=kwargs.pop("sub", f"test-{role}"), roles=[role], division=division, **kwargs)
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def serving(app):
    """Run an app's lifespan and give an httpx client talking to it in-process."""
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client


async def downgrade(engine, service: str, revision: str) -> None:
    """Take the service's database on ``engine`` down to Alembic ``revision`` (the way back of
    ``shared.db.migrate``, for the tests of a revision's downgrade)."""
    cfg = alembic_config(service)

    def down(sync_conn) -> None:
        cfg.attributes["connection"] = sync_conn
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(down)


async def fetch(settings: Settings, sql: str, *args) -> list:
    """Rows of a query on a service's own database, straight through asyncpg (behind the API)."""
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``fupin ARGS`` as a real process; returns (exit code, stdout + stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deploy.cli", *args,
        env={**os.environ, **(env or {})}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode, output.decode()
