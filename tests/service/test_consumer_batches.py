"""Consumers apply in batches (shared/events/consumer.py, the registry's and projects' handlers):
one transaction per batch, each event exactly once under redelivery, nothing of a batch that fails.
"""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest
import uuid6

from services.registry.handlers import CONSUMES, on_disbursements
from services.projects.handlers import CONSUMES as PROJECTS_CONSUMES
from services.registry.usecases.imports import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker
from shared.events import NewEvent, append
from shared.events.consumer import Consumer, one_handler_each, run_handlers, takes_many
from tests.service.registry_support import COUNTY, family, identify

ACTOR = {"sub": "finance", "roles": ["county_finance"], "division": COUNTY}


async def funds_log(databases, households: list[str], n: int) -> list[dict]:
    """``n`` disbursements in the funds service's own log: households' payments, a contractor's
    (not a benefit) and one for a household the registry does not know (ignored)."""
    settings = await databases.new("funds")
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    payees = [{"kind": "household", "household_id": h} for h in households]
    payees += [{"kind": "contractor", "name": "某公司"}, {"kind": "household", "household_id": str(uuid6.uuid7())}]
    try:
        async with make_sessionmaker(engine, "funds")() as session, session.begin():
            return await append(session, [NewEvent("funds.disbursement.posted", f"line-{k}", {
                "payee": payees[k % len(payees)], "amount": f"{k + 1}.00", "on": "2016-09-01",
                "reference": f"精财农〔2016〕{k}号"}, ACTOR) for k in range(n)])
    finally:
        await engine.dispose()


async def registry_rows(r, sql: str) -> list:
    conn = await asyncpg.connect(libpq_url(r.settings.database_url, r.settings.database_name))
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def consume(r, events: list[dict], handlers=CONSUMES) -> Consumer:
    engine = make_engine(r.settings.sqlalchemy_url, pool_size=2)
    consumer = Consumer(r.settings, make_sessionmaker(engine, "registry"), handlers)
    try:
        await consumer.load_positions()
        await consumer.apply_many(events)
    finally:
        await consumer.http.aclose()
        await engine.dispose()
    return consumer


async def test_a_fetched_batch_is_one_transaction_and_a_redelivery_applies_each_event_once(registry, databases):
    r = registry
    households = [await identify(r, family(70 + n)) for n in range(2)]
    log = await funds_log(databases, households, 40)
    shuffled = random.Random(13).sample(log, len(log))  # partitions interleave: the consumer sorts by seq
    await consume(r, shuffled)
    expected = [e for e in log if e["data"]["payee"].get("household_id") in households]
    benefits = await registry_rows(r, "SELECT source_event FROM benefits ORDER BY source_event")
    assert sorted(b["source_event"] for b in benefits) == sorted(e["id"] for e in expected)
    # one transaction: every inbox row and every benefit event carries the same transaction time
    assert (await registry_rows(r, "SELECT count(DISTINCT received_at) AS n, count(*) AS rows FROM inbox"))[0][:] == (1, 40)
    recorded = await registry_rows(r, "SELECT causation_id, time FROM events WHERE type = 'registry.benefit.recorded' "
                                      "ORDER BY seq")
    assert [row["causation_id"] for row in recorded] == [e["id"] for e in expected]  # in the source's order
    assert len({row["time"] for row in recorded}) == 1

    await consume(r, log[10:] + log[:5])  # redelivered, overlapping
    await registry_rows(r, "DELETE FROM consumer_positions")  # the position lost: only the inbox is left
    await consume(r, log)
    assert len(await registry_rows(r, "SELECT 1 FROM benefits")) == len(expected)
    assert len(await registry_rows(r, "SELECT 1 FROM events WHERE type = 'registry.benefit.recorded'")) == len(expected)
    position = await registry_rows(r, "SELECT last_seq, last_hash FROM consumer_positions WHERE source = 'funds'")
    assert [tuple(p) for p in position] == [(log[-1]["seq"], log[-1]["hash"])]


async def test_two_consumers_of_one_service_share_a_source_without_applying_anything_twice(registry, databases):
    """Worker processes, or members of one group holding different partitions: overlapping batches
    applied at the same time are applied once, and the position only moves forward."""
    r = registry
    households = [await identify(r, family(75))]
    log = await funds_log(databases, households, 30)
    engine = make_engine(r.settings.sqlalchemy_url, pool_size=4)
    try:
        consumers = [Consumer(r.settings, make_sessionmaker(engine, "registry"), CONSUMES) for _ in range(2)]
        await asyncio.gather(*(c.load_positions() for c in consumers))
        await asyncio.gather(consumers[0].apply_many(log[:20]), consumers[1].apply_many(log[:25]))
        await asyncio.gather(consumers[0].apply_many(log[15:]), consumers[1].apply_many(log[20:]))
        stale = Consumer(r.settings, make_sessionmaker(engine, "registry"), CONSUMES)  # its position read long ago
        await stale.apply_many(log[:10])
        consumers.append(stale)
        for consumer in consumers:
            await consumer.http.aclose()
    finally:
        await engine.dispose()
    expected = [e["id"] for e in log if e["data"]["payee"].get("household_id") in households]
    recorded = await registry_rows(r, "SELECT causation_id FROM events WHERE type = 'registry.benefit.recorded' "
                                      "ORDER BY seq")
    assert [row["causation_id"] for row in recorded] == expected  # once each, in the source's order
    assert len(await registry_rows(r, "SELECT 1 FROM inbox")) == 30
    position = await registry_rows(r, "SELECT last_seq FROM consumer_positions WHERE source = 'funds'")
    assert position[0]["last_seq"] == log[-1]["seq"]  # not moved back by the stale one
    assert stale.positions["funds"].seq == log[-1]["seq"]


async def test_a_batch_that_fails_midway_applies_nothing_and_is_applied_whole_later(registry, databases):
    r = registry
    households = [await identify(r, family(80))]
    log = await funds_log(databases, households, 12)

    @takes_many
    async def crashing(session, events):
        await on_disbursements(session, events)  # writes benefits and their events, then the process dies
        raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError, match="crash mid-batch"):
        await consume(r, log, {"funds": {"funds.disbursement.posted": crashing}})
    for table in ("inbox", "benefits", "consumer_positions"):
        assert await registry_rows(r, f"SELECT 1 FROM {table}") == [], table
    assert await registry_rows(r, "SELECT 1 FROM events WHERE type = 'registry.benefit.recorded'") == []

    consumer = await consume(r, log)
    assert consumer.positions["funds"].seq == log[-1]["seq"]
    assert len(await registry_rows(r, "SELECT 1 FROM benefits")) == len(
        [e for e in log if e["data"]["payee"].get("household_id") == households[0]])


async def test_a_batch_handler_sees_runs_in_order_and_plain_handlers_one_event_each():
    calls = []

    @takes_many
    async def many(session, events):
        calls.append(("many", [e["seq"] for e in events]))

    async def one(session, event):
        calls.append(("one", [event["seq"]]))

    events = [{"id": str(uuid6.uuid7()), "correlation_id": "c", "type": t, "seq": seq}
              for seq, t in enumerate(["a", "a", "b", "b", "x", "a"], start=1)]
    await run_handlers(None, {"a": many, "b": one}, events)
    assert calls == [("many", [1, 2]), ("one", [3]), ("one", [4]), ("many", [6])]


def test_a_batch_is_cut_so_that_each_transaction_calls_one_handler():
    @takes_many
    async def many(session, events): ...

    async def one(session, event): ...

    events = [{"type": t, "seq": seq} for seq, t in enumerate(["a", "x", "a", "b", "b", "x", "a", "a"], start=1)]
    parts = one_handler_each(events, {"a": many, "b": one})
    assert [[e["seq"] for e in part] for part in parts] == [[1, 2, 3], [4], [5, 6], [7, 8]]


async def test_imports_in_one_batch_upsert_their_households_in_order(databases):
    settings = await databases.new("projects")
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    hid, other = str(uuid6.uuid7()), str(uuid6.uuid7())

    def imported(status: str, *ids: str) -> dict:
        members = [[str(uuid6.uuid7()), "652722197001010011", "户主", "head", "1", "1970-01-01", None, None, None, None,
                    "normal_labour"]]
        households = [[h, f"NO-{h[-4:]}", "652722101001", status, "general", "illness", 2014, "2014-10-01", None,
                       None, None, members] for h in ids]
        event_id = str(uuid6.uuid7())
        return {"id": event_id, "correlation_id": event_id, "type": "registry.households.imported", "subject": "i",
                "data": {"import_id": "i", "household_fields": HOUSEHOLD_FIELDS, "member_fields": MEMBER_FIELDS,
                         "households": households}}

    step_id = str(uuid6.uuid7())
    step = {"id": step_id, "correlation_id": step_id, "type": "registry.household.exit_confirm", "subject": hid,
            "data": {"to": "exited"}}
    try:
        async with make_sessionmaker(engine, "projects")() as session, session.begin():
            await run_handlers(session, PROJECTS_CONSUMES["registry"],
                               [imported("proposed", hid, other), imported("registered", hid), step,
                                imported("registered", other)])
        conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
        try:
            rows = {str(row["id"]): row["status"] for row in await conn.fetch("SELECT id, status FROM registry_households")}
        finally:
            await conn.close()
    finally:
        await engine.dispose()
    assert rows == {hid: "exited", other: "registered"}
