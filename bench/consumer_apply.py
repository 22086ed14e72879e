"""Benchmark of the consumers (``shared.events.consumer``) applying other services' events, on real
PostgreSQL.

What is measured, in one run against one server:

1. **Registry ← funds** — a funds log of N single disbursements (``funds.disbursement.posted``),
   nine in ten to households the registry knows (H households inserted directly), appended with
   ``shared.events.append``; read back as envelopes (what the broker and the feed deliver). The
   registry's consumer (its real handlers: a benefit row and a ``registry.benefit.recorded``
   event per household posting) applies them as the broker hands them out — pages of 500, one
   transaction each — into a fresh registry database: events/s. **Peer in the same run**: the
   same consumer fed one event per call (one transaction per event, as before batching) over the
   first ``--single`` events into another fresh registry database.
2. **Projects catch up after a broker outage** — a registry log of 10,000 events (imports of 200
   households each, then procedure steps of those households) served by the registry app in its
   own process (``GET /events``); a projects consumer that has seen none of them runs
   ``catch_up()``: it learns the last seq from the feed and backfills everything, a page (500) per
   transaction. Seconds to apply all (goal < 10 s); the read model is checked.

Server: ``FUPIN_BENCH_DATABASE_URL``, else 127.0.0.1:5432 if it answers, else an embedded
PostgreSQL. Timing is printed, never asserted.

    .venv/bin/python bench/consumer_apply.py [--events N] [--single M] [--registry-events R]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import os
import random
import secrets
import time
from datetime import date, datetime, timezone

import asyncpg

from harness import ServiceProcess, machine, postgres_server
from services.projects.handlers import CONSUMES as PROJECTS_CONSUMES
from services.registry.domain.workflow import DECISIONS
from services.registry.handlers import CONSUMES as REGISTRY_CONSUMES
from services.registry.usecases.imports import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from shared.bulk import uuid7s
from shared.config import libpq_url, settings_for
from shared.db import drop_database, ensure_database, make_engine, make_sessionmaker, migrate
from shared.events import NewEvent, append, store
from shared.events.consumer import FEED_PAGE, Consumer

VILLAGE = "652722101001"
ACTOR = {"sub": "bench", "roles": ["county_finance"], "division": "652722000000"}
PAGE = 1000


class Databases:
    """Fresh migrated databases of the run, dropped at the end."""

    def __init__(self, server_url: str):
        self.server_url, self.names = server_url, []

    async def new(self, service: str, **overrides):
        name = f"fupin_bench_{secrets.token_hex(4)}"
        await ensure_database(self.server_url, name)
        self.names.append(name)
        settings = settings_for(service, database_url=self.server_url, database=name, kafka_bootstrap=None,
                                log_level="WARNING", **overrides)
        engine = make_engine(settings.sqlalchemy_url, pool_size=2)
        await migrate(engine, service)
        return settings, engine, make_sessionmaker(engine, service)

    async def drop(self) -> None:
        for name in self.names:
            await drop_database(self.server_url, name)


async def connect(settings) -> asyncpg.Connection:
    return await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))


async def write_log(sessions, events: list[NewEvent]) -> list[dict]:
    out = []
    for start in range(0, len(events), PAGE):
        async with sessions() as session, session.begin():
            out += await append(session, events[start:start + PAGE])
    return out


# -- 1. registry <- funds ---------------------------------------------------------------------------

async def registry_with_households(dbs: Databases, households: list[str]):
    settings, engine, sessions = await dbs.new("registry")
    conn = await connect(settings)
    now = datetime.now(timezone.utc)
    await conn.copy_records_to_table("households", columns=(
        "id", "number", "division", "status", "poverty_attribute", "main_cause", "created_at", "updated_at"),
        records=[(h, f"N{i:08d}", VILLAGE, "registered", "general", "illness", now, now) for i, h in enumerate(households)])
    await conn.close()
    return settings, engine, sessions


def disbursements(households: list[str], n: int, rng: random.Random) -> list[NewEvent]:
    out = []
    for k in range(n):
        payee = ({"kind": "household", "household_id": rng.choice(households)} if k % 10 else
                 {"kind": "contractor", "name": "精河县某建筑公司"})
        out.append(NewEvent("funds.disbursement.posted", f"line-{k}", {
            "payee": payee, "amount": f"{rng.randrange(100, 5000)}.00", "on": "2026-09-01",
            "reference": f"精财农〔2026〕{k}号"}, ACTOR))
    return out


async def apply_registry(settings, sessions, events: list[dict], per_call: int, profile=None) -> float:
    consumer = Consumer(settings, sessions, REGISTRY_CONSUMES)
    await consumer.load_positions()
    if profile:
        profile.enable()
    start = time.perf_counter()
    for begin in range(0, len(events), per_call):
        await consumer.apply_many(events[begin:begin + per_call])
    elapsed = time.perf_counter() - start
    if profile:
        profile.disable()
    await consumer.http.aclose()
    return elapsed


async def bench_registry(dbs: Databases, args, rng: random.Random) -> dict:
    households = [str(u) for u in uuid7s(args.households)]
    _, funds_engine, funds_sessions = await dbs.new("funds")
    log = await write_log(funds_sessions, disbursements(households, args.events, rng))
    await funds_engine.dispose()
    results = {}
    for label, events, per_call in (("batched", log, FEED_PAGE), ("one per transaction", log[:args.single], 1)):
        settings, engine, sessions = await registry_with_households(dbs, households)
        profile = cProfile.Profile() if args.profile and per_call > 1 else None
        elapsed = await apply_registry(settings, sessions, events, per_call, profile)
        if profile:
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        conn = await connect(settings)
        benefits = await conn.fetchval("SELECT count(*) FROM benefits")
        chain = await store.verify(conn)
        await conn.close()
        await engine.dispose()
        expected = sum(1 for e in events if e["data"]["payee"]["kind"] == "household")
        results[label] = {"n": len(events), "seconds": elapsed, "rate": len(events) / elapsed,
                          "ok": benefits == expected and chain.ok, "benefits": benefits}
        print(f"registry <- funds, {label}: {len(events) / elapsed:,.0f} events/s ({benefits:,} benefits)")
    return results


# -- 2. projects catch up on the registry's log -----------------------------------------------------

def registry_events(total: int, rng: random.Random) -> tuple[list[NewEvent], dict[str, str]]:
    """Imports of 200 households (one in fifty of the events), then steps of those households."""
    imports = max(total // 50, 1)
    households = [str(u) for u in uuid7s(imports * 200)]
    events, status = [], {}
    head = [None, "652722197001010011", "户主", "head", "1", "1970-01-01", None, None, None, None, "normal_labour"]
    for i in range(imports):
        chunk = households[i * 200:(i + 1) * 200]
        rows = [[h, f"N{i:04d}{k:04d}", VILLAGE, "registered", "general", "illness", 2014, "2014-10-01", None, None,
                 None, [[f"{h[:-4]}ffff", *head[1:]]]] for k, h in enumerate(chunk)]
        events.append(NewEvent("registry.households.imported", f"import-{i}", {
            "import_id": f"import-{i}", "household_fields": HOUSEHOLD_FIELDS, "member_fields": MEMBER_FIELDS,
            "households": rows}, ACTOR))
        status.update(dict.fromkeys(chunk, "registered"))
    actions = [d for d in DECISIONS]
    for _ in range(total - imports):
        h, action = rng.choice(households), rng.choice(actions)
        to = f"bench-{action}"
        events.append(NewEvent(f"registry.household.{action.replace('-', '_')}", h, {"to": to}, ACTOR))
        status[h] = to
    return events, status


async def bench_catch_up(dbs: Databases, args, rng: random.Random) -> dict:
    registry_settings, registry_engine, registry_sessions = await dbs.new("registry")
    new_events, status = registry_events(args.registry_events, rng)
    await write_log(registry_sessions, new_events)
    await registry_engine.dispose()
    feed = ServiceProcess("registry", dbs.server_url, registry_settings.database_name)
    try:
        await feed.ready()
        settings, engine, sessions = await dbs.new("projects", registry_url=feed.url)
        consumer = Consumer(settings, sessions, {"registry": PROJECTS_CONSUMES["registry"]})
        await consumer.load_positions()
        start = time.perf_counter()
        await consumer.catch_up()
        elapsed = time.perf_counter() - start
        await consumer.http.aclose()
    finally:
        feed.stop()
    conn = await connect(settings)
    rows = {str(r["id"]): r["status"] for r in await conn.fetch("SELECT id, status FROM registry_households")}
    await conn.close()
    await engine.dispose()
    ok = rows == status and consumer.positions["registry"].seq == len(new_events)
    print(f"projects caught up on {len(new_events):,} registry events in {elapsed:.2f} s (read model ok={ok})")
    return {"n": len(new_events), "seconds": elapsed, "ok": ok, "households": len(rows)}


async def run(args: argparse.Namespace, server_url: str) -> None:
    dbs = Databases(server_url)
    rng = random.Random(13)
    load_before = os.getloadavg()[0]
    try:
        registry = await bench_registry(dbs, args, rng)
        catch_up = await bench_catch_up(dbs, args, rng)
    finally:
        await dbs.drop()
    load_after = os.getloadavg()[0]
    conn = await asyncpg.connect(libpq_url(server_url))
    pg = await conn.fetchval("SHOW server_version")
    await conn.close()

    batched, single = registry["batched"], registry["one per transaction"]
    m = machine()
    print("\n--- Markdown for bench/RESULTS.md ---\n")
    print(f"## consumer_apply — {date.today().isoformat()}\n")
    print(f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM; load average {load_before:.1f} → "
          f"{load_after:.1f} (other sessions share the machine)")
    print(f"- PostgreSQL {pg}; Python {m['python']}")
    print(f"- Command: `bench/consumer_apply.py --events {args.events} --single {args.single} "
          f"--households {args.households} --registry-events {args.registry_events}`\n")
    print("| measure | figure | notes |\n|---|---:|---|")
    print(f"| registry ← funds disbursements, batched ({batched['n']:,} events, {FEED_PAGE}/transaction) | "
          f"{batched['rate']:,.0f} events/s | {batched['rate'] / single['rate']:.1f}× one per transaction; "
          f"{batched['benefits']:,} benefits, checks ok={batched['ok']} (goal ≥ 5,000 events/s) |")
    print(f"| registry ← funds disbursements, one per transaction ({single['n']:,} events) | "
          f"{single['rate']:,.0f} events/s | the peer: the same consumer fed one event per call; ok={single['ok']} |")
    print(f"| projects catch up on {catch_up['n']:,} registry events from the feed | {catch_up['seconds']:.2f} s | "
          f"{catch_up['n'] / catch_up['seconds']:,.0f} events/s; {catch_up['households']:,} households, "
          f"read model ok={catch_up['ok']} (goal < 10 s) |")
    if not (batched["ok"] and single["ok"] and catch_up["ok"]):
        raise SystemExit("a read model or a chain does not check out")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="funds disbursement events (N)")
    parser.add_argument("--single", type=int, default=2_000, help="events applied one per transaction (M)")
    parser.add_argument("--households", type=int, default=5_000, help="households the registry knows (H)")
    parser.add_argument("--registry-events", type=int, default=10_000, help="registry events to catch up on (R)")
    parser.add_argument("--profile", action="store_true", help="cProfile the batched registry phase")
    args = parser.parse_args()
    with postgres_server() as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
