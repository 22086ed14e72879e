"""A PostgreSQL outage under concurrent writes, on a private embedded server (the machine's shared
server is not ours to stop): every answer is a 201 or a 503 problem with ``Retry-After``, every
201 is in the ledger exactly once, and once the server is back every connection works."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone

import httpx
import pytest

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from deploy.embedded import EmbeddedPostgres, free_port
from services.funds.app import create_app as funds_app
from shared.clock import SettableClock
from shared.db import is_unavailable, make_engine, make_sessionmaker, raw_connection
from shared.web.problems import PROBLEM_JSON
from tests.conftest import Databases, bearer, fetch
from tests.service.funds_support import CENTRAL

WRITERS = 6


@pytest.fixture
async def private_postgres(tmp_path):
    server = EmbeddedPostgres(tmp_path / "pg", port=free_port()).start()
    try:
        yield server
    finally:
        await asyncio.to_thread(server.destroy)


async def test_writes_during_an_outage_get_201_or_503_and_nothing_is_lost_or_doubled(private_postgres):
    settings = await Databases(private_postgres.url).new("funds")
    clock = SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc))
    answers: list[tuple[str, int, dict, str]] = []  # (document_no, status, headers, content-type)
    numbers = itertools.count(1)
    stop = asyncio.Event()
    headers = bearer(settings, "central_finance", CENTRAL)

    async def appropriate(client) -> int:
        number = next(numbers)
        document_no = f"财预〔2017〕{number}号"
        response = await client.post("/appropriations", headers={**headers, "Idempotency-Key": f"k-{number}"}, json={
            "channel": "central_special", "fiscal_year": 2017, "amount": "1.00", "document_no": document_no,
            "document_date": "2017-03-01"})
        answers.append((document_no, response.status_code, dict(response.headers), response.headers.get("content-type")))
        return response.status_code

    async def writer(client) -> None:
        while not stop.is_set():
            if await appropriate(client) != 201:
                await asyncio.sleep(0.05)  # a client backs off (Retry-After says seconds; the test is impatient)

    app = funds_app(settings, clock=clock, run_background=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(  # a server's 500s answered, not raised
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver") as client:
        tasks = [asyncio.create_task(writer(client)) for _ in range(WRITERS)]
        while len(answers) < 30:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(private_postgres.stop)  # fast shutdown: sessions in flight are cut
        while sum(1 for a in answers if a[1] == 503) < 10:
            await asyncio.sleep(0.05)
        down = await client.get("/readyz")
        assert down.status_code == 503 and down.json()["checks"]["database"].startswith("down")
        assert int(down.headers["retry-after"]) > 0
        for path in ("/balances", "/events", "/deadlines"):  # reads too
            read = await client.get(path, headers=bearer(settings, "admin"))
            assert read.status_code == 503 and read.headers["content-type"] == PROBLEM_JSON, (path, read.text)
            assert int(read.headers["retry-after"]) > 0
        await asyncio.to_thread(private_postgres.start)
        before = len(answers)
        while len(answers) < before + 60:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*tasks)
        # afterwards: no broken connection is left in the pool — every write of a burst succeeds
        assert [await appropriate(client) for _ in range(3 * WRITERS)] == [201] * (3 * WRITERS)
        assert (await client.get("/readyz")).status_code == 200

    statuses = {status for _, status, _, _ in answers}
    assert statuses == {201, 503}, statuses
    for _, status, response_headers, content_type in answers:
        if status == 503:
            assert content_type == PROBLEM_JSON and int(response_headers["retry-after"]) > 0
    created = [doc for doc, status, _, _ in answers if status == 201]
    rows = await fetch(settings, "SELECT document_no, count(*) AS n FROM postings GROUP BY document_no")
    in_ledger = {row["document_no"]: row["n"] for row in rows}
    assert all(in_ledger.get(doc) == 1 for doc in created)
    assert max(in_ledger.values()) == 1  # a 503 whose commit went through is there once, never twice


async def test_a_connection_stuck_mid_operation_is_discarded_not_pooled(databases):
    """The "another operation is in progress" state: the error is an outage (503) and the
    connection is terminated, never handed to the next request."""
    settings = await databases.new("funds")
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            busy = asyncio.create_task(driver.execute("SELECT pg_sleep(0.5)"))
            await asyncio.sleep(0.1)
            with pytest.raises(DBAPIError) as failure:
                await conn.execute(text("SELECT 1"))
            assert is_unavailable(failure.value)
            await asyncio.gather(busy, return_exceptions=True)
        assert driver.is_closed()  # terminated, not returned to the pool
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
            assert (await conn.get_raw_connection()).driver_connection is not driver
    finally:
        await engine.dispose()


async def test_a_driver_connection_that_broke_under_raw_connection_is_discarded(databases):
    settings = await databases.new("funds")
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with make_sessionmaker(engine, "funds")() as session:
            await session.execute(text("SELECT 1"))
            async with raw_connection(session) as driver:
                busy = asyncio.create_task(driver.execute("SELECT pg_sleep(0.5)"))
                await asyncio.sleep(0.1)
            with pytest.raises(Exception) as failure:
                async with raw_connection(session) as again:
                    await again.fetch("SELECT 1")  # the bug of the issue: "another operation is in progress"
            assert is_unavailable(failure.value)
            await asyncio.gather(busy, return_exceptions=True)
        assert driver.is_closed()
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
