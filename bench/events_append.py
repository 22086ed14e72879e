"""Benchmark of the event store's append path (``shared.events.append``) on real PostgreSQL.

What is measured, in one run against one server and one fresh, migrated ``funds`` database:

1. **COPY baseline** — the N rows an append would write (same columns, same kind of data: funds
   allocation payloads, actor JSON, random hex hashes), written with asyncpg's
   ``copy_records_to_table`` into a scratch table ``(LIKE events INCLUDING ALL)`` — same
   indexes and constraints, no trigger — in chunks of B rows, one transaction per chunk. Every
   row is prepared beforehand, so this is the raw cost of getting the rows into PostgreSQL.
   COPY is the fastest way in; ``append`` itself uses it for large batches, so the ratio to it
   is what the append path (advisory lock, reading the chain head, canonical JSON, SHA-256,
   SQLAlchemy session, pg_notify) costs on top of the bare write.
2. **Batched append** — the same N events through ``append`` in batches of B per transaction
   (events/s and the ratio to the baseline; the goal is >= 25%).
3. **Single events, grouped** — M events from W concurrent writers (asyncio tasks), each calling
   ``EventWriter.append`` with one event and waiting for its answer (durable: after the commit),
   the store's group commit (``shared/events/writer.py``): events/s, latency percentiles per call,
   and the mean group size.
4. **Single-event transactions** — the same from W writers each with its own session and one
   ``append`` of one event per transaction (the in-transaction path a write with business rows
   takes): the advisory lock serialises them, each waits for its own WAL flush.
5. **Verify** — ``shared.events.store.verify`` over the whole log (it must verify).
6. **Peer: the ``eventsourcing`` library** (its PostgreSQL application recorder, ``pip install
   fupin[bench]``) on the same database, in its own table: the same events (data and actor as
   JSON bytes, serialised before the clock starts — the recorder's own cost only), batched
   (``insert_events`` of B per call) and single (one event per ``insert_events`` from W threads,
   its pool of W connections). Its recorder serialises writers with a table lock, as ours does
   with an advisory lock. Each shape runs ours then the peer's back to back (the machine's load
   drifts); the ratios ours / peer are printed (goals: batched ≥ 1.2×, single ≥ 2×).

For every phase the script prints wall time and CPU seconds: this process's (``process_time``:
the store's Python, or the peer's) and the PostgreSQL backends' serving the benchmark's database
(from /proc via psutil; WAL writer and checkpointer not included).

Server: ``FUPIN_BENCH_DATABASE_URL``, else 127.0.0.1:5432 if it answers, else an embedded
PostgreSQL in a temporary folder (stopped at the end). Timing is printed, never asserted.

    .venv/bin/python bench/events_append.py [--events N] [--batch B] [--single M] [--writers W]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone

import asyncpg
import psutil
import uuid6

from harness import machine, percentiles, postgres_server
from shared.config import libpq_url, settings_for
from shared.db import drop_database, ensure_database, make_engine, make_sessionmaker, migrate
from shared.events import EventWriter, NewEvent, append, store
from shared.events.chain import canonical_json

DIVISIONS = ("652722000000", "652723000000", "533324000000", "522633000000", "513436000000")
PURPOSES = ("产业发展", "基础设施", "教育扶贫", "健康扶贫", "易地扶贫搬迁")


def make_event(i: int, rng: random.Random) -> NewEvent:
    """A realistic funds event: an allocation (下达) with its 文号, division and amount in fen."""
    division = rng.choice(DIVISIONS)
    allocation = str(uuid.UUID(int=rng.getrandbits(128)))
    return NewEvent(
        type="funds.allocation.issued",
        subject=f"allocation-{allocation}",
        data={
            "allocation_id": allocation,
            "amount_fen": str(rng.randrange(100_000, 5_000_000_000)),
            "doc_no": f"新财农〔2024〕{i % 997 + 1}号",
            "division": division,
            "fund_code": f"2130{rng.randrange(100, 999)}",
            "purpose": rng.choice(PURPOSES),
            "year": 2024,
            "remarks": "中央财政衔接推进乡村振兴补助资金",
        },
        actor={"sub": f"user-{i % 50}", "roles": ["county_finance"], "division": division},
    )


def copy_row(seq: int, new: NewEvent, now: datetime) -> tuple:
    """The row ``append`` would insert for ``new``, with random hex in place of the chain."""
    event_id = str(uuid6.uuid7())
    return (seq, event_id, "funds", new.type, new.subject, now, canonical_json(dict(new.actor)),
            event_id, None, canonical_json(dict(new.data)), secrets.token_hex(32), secrets.token_hex(32))


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


async def bench_copy(conn: asyncpg.Connection, rows: list[tuple], batch: int) -> float:
    await conn.execute("CREATE TABLE events_copy_baseline (LIKE events INCLUDING ALL)")
    start = time.perf_counter()
    for chunk in chunks(rows, batch):
        async with conn.transaction():
            await conn.copy_records_to_table("events_copy_baseline", records=chunk, columns=store.COLUMNS)
    return time.perf_counter() - start


async def bench_batched(sessions, events: list[NewEvent], batch: int) -> float:
    start = time.perf_counter()
    for chunk in chunks(events, batch):
        async with sessions() as session, session.begin():
            await append(session, chunk)
    return time.perf_counter() - start


async def bench_grouped(writer: EventWriter, events: list[NewEvent], writers: int) -> tuple[float, list[float]]:
    queue = iter(events)
    latencies: list[float] = []

    async def one_writer() -> None:
        for new in queue:
            t0 = time.perf_counter()
            await writer.append([new])
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(one_writer() for _ in range(writers)))
    return time.perf_counter() - start, latencies


async def bench_single(sessions, events: list[NewEvent], writers: int) -> tuple[float, list[float]]:
    queue = iter(events)  # shared by the writers; asyncio is single-threaded, so next() is safe
    latencies: list[float] = []

    async def writer() -> None:
        async with sessions() as session:
            for new in queue:
                t0 = time.perf_counter()
                async with session.begin():
                    await append(session, [new])
                latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return time.perf_counter() - start, latencies


class Peer:
    """The ``eventsourcing`` library's PostgreSQL application recorder on the benchmark's database."""

    def __init__(self, server_url: str, database: str, pool_size: int):
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
        from sqlalchemy.engine import make_url

        url = make_url(server_url)
        self.datastore = PostgresDatastore(database, url.host or "127.0.0.1", url.port or 5432, url.username or "postgres",
                                           url.password or "", pool_size=pool_size)
        self.recorder = PostgresApplicationRecorder(self.datastore, events_table_name="peer_stored_events")
        self.recorder.create_table()

    @staticmethod
    def stored(events: list[NewEvent]) -> list:
        from eventsourcing.persistence import StoredEvent

        return [StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic=new.type,
                            state=json.dumps({"data": dict(new.data), "actor": dict(new.actor)},
                                             separators=(",", ":"), ensure_ascii=False).encode())
                for new in events]

    def batched(self, events: list[NewEvent], batch: int) -> float:
        stored = [self.stored(chunk) for chunk in chunks(events, batch)]  # serialised before the clock
        start = time.perf_counter()
        for chunk in stored:
            self.recorder.insert_events(chunk)
        return time.perf_counter() - start

    def single(self, events: list[NewEvent], writers: int) -> tuple[float, list[float]]:
        latencies: list[float] = []

        def one(stored: list) -> None:
            t0 = time.perf_counter()
            self.recorder.insert_events(stored)
            latencies.append(time.perf_counter() - t0)

        stored = [self.stored([new]) for new in events]
        start = time.perf_counter()
        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(one, stored))
        return time.perf_counter() - start, latencies

    def close(self) -> None:
        self.datastore.close()


def python_cost(events: list[NewEvent], rounds: int = 7) -> float:
    """CPU seconds per event of an append's Python part — prepare (canonical JSON) and
    number/link/hash (``store._link``) — best of ``rounds`` over 1,000 events, no I/O."""
    sample = events[:1000]
    info = type("Info", (), {"info": {"service": "funds"}})()
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _row in store._link("funds", store.prepare(info, sample), store.LogTail(0, store.GENESIS), []):
            pass
        best = min(best, time.process_time() - start)
    return best / len(sample)


class Cpu:
    """CPU seconds of this process and of the PostgreSQL backends serving ``database``."""

    def __init__(self, conn: asyncpg.Connection, database: str):
        self.conn, self.database = conn, database

    async def _backends(self) -> dict[int, float]:
        pids = await self.conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database)
        out = {}
        for row in pids:
            try:
                out[row["pid"]] = sum(psutil.Process(row["pid"]).cpu_times()[:2])
            except (psutil.Error, OSError):  # gone, or not readable (another host)
                pass
        return out

    async def start(self) -> None:
        self.process, self.pg = time.process_time(), await self._backends()

    async def stop(self) -> tuple[float, float]:
        pg = await self._backends()
        return (time.process_time() - self.process,
                sum(total - self.pg.get(pid, 0.0) for pid, total in pg.items()))


async def phase(cpu: Cpu, label: str, work) -> tuple:
    await cpu.start()
    out = await work
    process_s, pg_s = await cpu.stop()
    wall = out[0] if isinstance(out, tuple) else out
    print(f"{label} done in {wall:.2f} s (CPU: process {process_s:.2f} s, PostgreSQL {pg_s:.2f} s)")
    return (out if isinstance(out, tuple) else (out,)) + (process_s, pg_s)


async def run(args: argparse.Namespace, server_url: str) -> None:
    name = f"fupin_bench_{secrets.token_hex(4)}"
    await ensure_database(server_url, name)
    settings = settings_for("funds", database_url=server_url, database=name)
    engine = make_engine(settings.sqlalchemy_url, pool_size=args.writers)
    try:
        await migrate(engine, "funds")
        sessions = make_sessionmaker(engine, "funds")
        conn = await asyncpg.connect(libpq_url(server_url, name))
        try:
            pg = await conn.fetchval("SHOW server_version")
            pg_settings = ", ".join([
                f"{k}={await conn.fetchval(f'SHOW {k}')}" for k in ("fsync", "synchronous_commit", "shared_buffers")])
            rng = random.Random(2024)
            events = [make_event(i, rng) for i in range(args.events)]
            grouped = [make_event(args.events + i, rng) for i in range(args.single)]
            singles = [make_event(args.events + args.single + i, rng) for i in range(args.single)]
            now = datetime.now(timezone.utc)
            rows = [copy_row(i + 1, new, now) for i, new in enumerate(events)]
            print(f"server: PostgreSQL {pg} ({pg_settings}), database {name}")
            cpu = Cpu(conn, name)
            peer = Peer(server_url, name, args.writers)
            writer = EventWriter(sessions)
            try:
                copy_s, *copy_cpu = await phase(cpu, "COPY baseline", bench_copy(conn, rows, args.batch))
                batched_s, *batched_cpu = await phase(cpu, "batched append", bench_batched(sessions, events, args.batch))
                peer_batched_s, *peer_batched_cpu = await phase(
                    cpu, "peer batched", asyncio.to_thread(peer.batched, events, args.batch))
                grouped_s, latencies, *grouped_cpu = await phase(
                    cpu, "single events, grouped", bench_grouped(writer, grouped, args.writers))
                peer_single_s, peer_latencies, *peer_single_cpu = await phase(
                    cpu, "peer single", asyncio.to_thread(peer.single, singles, args.writers))
                single_s, tx_latencies, *single_cpu = await phase(
                    cpu, "single-event transactions", bench_single(sessions, singles, args.writers))
            finally:
                peer.close()
            python_s = python_cost(events)
            start = time.perf_counter()
            report = await store.verify(conn)
            verify_s = time.perf_counter() - start
        finally:
            await conn.close()
    finally:
        await engine.dispose()
        await drop_database(server_url, name)

    def per_event(cpu_s: list[float], n: int) -> str:
        return f"CPU/event: process {cpu_s[0] / n * 1e6:,.0f} µs, PostgreSQL {cpu_s[1] / n * 1e6:,.0f} µs"

    copy_rate, batched_rate = args.events / copy_s, args.events / batched_s
    peer_batched_rate, peer_single_rate = args.events / peer_batched_s, args.single / peer_single_s
    grouped_rate, single_rate = args.single / grouped_s, args.single / single_s
    p50, p95, p99 = percentiles(latencies)
    q50, q95, q99 = percentiles(peer_latencies)
    t50, t95, t99 = percentiles(tx_latencies)
    figures = [
        (f"COPY baseline ({args.events} rows, {args.batch}/tx)", f"{copy_rate:,.0f} rows/s",
         per_event(copy_cpu, args.events)),
        (f"batched append ({args.events} events, {args.batch}/tx)", f"{batched_rate:,.0f} events/s",
         f"**{batched_rate / peer_batched_rate:.2f}× eventsourcing** (goal ≥ 1.2×); {batched_rate / copy_rate:.0%} of "
         f"COPY; {per_event(batched_cpu, args.events)}"),
        (f"eventsourcing batched ({args.events} events, {args.batch}/insert_events)",
         f"{peer_batched_rate:,.0f} events/s",
         f"{peer_batched_rate / copy_rate:.0%} of COPY; {per_event(peer_batched_cpu, args.events)}"),
        (f"single events, grouped (EventWriter, {args.single} events, {args.writers} writers)",
         f"{grouped_rate:,.0f} events/s",
         f"**{grouped_rate / peer_single_rate:.2f}× eventsourcing** (goal ≥ 2×); p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
         f"p99 {p99:.2f} ms; {writer.events / max(writer.groups, 1):.1f} events/transaction; "
         f"{per_event(grouped_cpu, args.single)}"),
        (f"eventsourcing single ({args.single} events, {args.writers} threads)", f"{peer_single_rate:,.0f} events/s",
         f"p50 {q50:.2f} ms, p95 {q95:.2f} ms, p99 {q99:.2f} ms; {per_event(peer_single_cpu, args.single)}"),
        (f"single-event transactions ({args.single} events, {args.writers} writers, own tx each)",
         f"{single_rate:,.0f} events/s",
         f"{single_rate / peer_single_rate:.2f}× eventsourcing; p50 {t50:.2f} ms, p95 {t95:.2f} ms, p99 {t99:.2f} ms; "
         f"{per_event(single_cpu, args.single)}"),
        ("append's Python part (prepare + link + hash), no I/O", f"{python_s * 1e6:.1f} µs/event",
         f"best of 7 × 1,000 events; {1 / python_s:,.0f} events/s of one core"),
        (f"verify ({report.checked} events)", f"{report.checked / verify_s:,.0f} events/s",
         f"ok={report.ok}" + (f" first_bad_seq={report.first_bad_seq}: {report.reason}" if not report.ok else "")),
    ]
    width = max(len(f[0]) for f in figures)
    print()
    print(f"{'measure':<{width}}  {'rate':>16}  notes")
    print(f"{'-' * width}  {'-' * 16}  {'-' * 40}")
    for label, rate, note in figures:
        print(f"{label:<{width}}  {rate:>16}  {note}")

    m = machine()
    print("\n--- Markdown for bench/RESULTS.md ---\n")
    print(f"## events_append — {date.today().isoformat()}\n")
    print(f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM")
    print(f"- PostgreSQL {pg} ({pg_settings}); Python {m['python']}; load average "
          f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min) at the end (other sessions share the machine)")
    print(f"- Command: `bench/events_append.py --events {args.events} --batch {args.batch} "
          f"--single {args.single} --writers {args.writers}`\n")
    print("| measure | rate | notes |\n|---|---:|---|")
    for label, rate, note in figures:
        print(f"| {label} | {rate} | {note} |")
    if not report.ok:
        raise SystemExit("the event log does not verify")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events for COPY and batched append")
    parser.add_argument("--batch", type=int, default=1000, help="events per transaction when batched")
    parser.add_argument("--single", type=int, default=5000, help="events appended one per transaction")
    parser.add_argument("--writers", type=int, default=16, help="concurrent single-event writers")
    args = parser.parse_args()

    with postgres_server() as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
