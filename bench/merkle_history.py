"""Benchmark of verifiable history (issue #11) on real PostgreSQL: what the Merkle tree and the
signed checkpoints cost a write, and how fast proofs are served at a million events.

What is measured, in one run against one server:

1. **Appends with and without the tree** — two fresh ``funds`` databases, the same writers and
   events. In one, the :class:`~shared.events.checkpoints.Checkpointer` follows the log (grows the
   tree after each commit, signs a checkpoint every 1,000 events or second, checks the tail);
   in the other nothing does. Rounds alternate between them (``--rounds``), so drift on these
   shared cores falls on both alike; each round is W concurrent writers of single-event
   transactions, then the same number of events in batches of B per transaction. Reported:
   events/s of each, and the ratio (goal: with the tree ≥ 95% of without).
2. **Tree build** — a log of ``--log`` events (1M by default; rows written with COPY, a linked
   chain of random hashes — the tree reads only seq, hash and prev_hash) grown into its tree by
   :meth:`TreeState.grow` in batches as the follower does: leaves/s.
3. **Proofs over HTTP** — the funds app served by uvicorn on a local port, an httpx client
   asking ``GET /events/{seq}/proof?size=N`` for random seqs and ``GET /checkpoints/proof?from=&to=N``
   for random ``from`` (``--proofs`` of each): p50/p95/p99 latency per request (goal: p99 < 2 ms),
   and a sample of the proofs verified with :mod:`shared.events.merkle`; interleaved with them, the
   same client's ``GET /healthz`` and ``GET /checkpoints/latest`` as the floor of this machine.

Server: ``FUPIN_BENCH_DATABASE_URL``, else 127.0.0.1:5432 if it answers, else an embedded
PostgreSQL. Timing is printed, never asserted.

    .venv/bin/python bench/merkle_history.py [--rounds R] [--single M] [--writers W] [--batch B]
                                             [--log N] [--proofs P]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import secrets
import socket
import tempfile
import time
from datetime import date, datetime, timezone

import asyncpg
import httpx
import uuid6
import uvicorn

from events_append import chunks, make_event
from harness import machine, percentiles, postgres_server
from services.funds.app import create_app
from shared.config import libpq_url, settings_for
from shared.db import drop_database, ensure_database, make_engine, make_sessionmaker, migrate
from shared.events import append, merkle, store
from shared.events.chain import GENESIS
from shared.events.checkpoints import Checkpointer, log_signer, sign
from shared.events.tail import LogGuard
from shared.events.tree import TreeState


async def new_database(server_url: str, **overrides):
    name = f"fupin_bench_{secrets.token_hex(4)}"
    await ensure_database(server_url, name)
    settings = settings_for("funds", database_url=server_url, database=name, log_level="WARNING",
                            data_dir=tempfile.gettempdir() + "/fupin-bench", **overrides)
    engine = make_engine(settings.sqlalchemy_url, pool_size=20)
    await migrate(engine, "funds")
    return settings, engine


async def write_round(sessions, events, writers: int, batch: int) -> tuple[float, float]:
    """(single-event seconds, batched seconds) for half the events each."""
    half = len(events) // 2
    queue = iter(events[:half])

    async def writer() -> None:
        async with sessions() as session:
            for new in queue:
                async with session.begin():
                    await append(session, [new])

    start = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    single = time.perf_counter() - start
    start = time.perf_counter()
    for chunk in chunks(events[half:], batch):
        async with sessions() as session, session.begin():
            await append(session, chunk)
    return single, time.perf_counter() - start


async def bench_appends(server_url: str, args) -> dict[str, dict[str, float]]:
    rng = random.Random(11)
    totals = {mode: {"single": 0.0, "batched": 0.0, "events": 0} for mode in ("without", "with")}
    dbs = {mode: await new_database(server_url, checkpoint_every_events=1000, checkpoint_every_seconds=1.0,
                                    relay_poll_seconds=0.5)
           for mode in ("without", "with")}
    settings = dbs["with"][0]
    follower = Checkpointer(settings, log_signer(settings), LogGuard("funds"))
    follower.start()
    try:
        for round_no in range(args.rounds):
            for mode in (("without", "with") if round_no % 2 == 0 else ("with", "without")):
                events = [make_event(i, rng) for i in range(args.single * 2)]
                single, batched = await write_round(make_sessionmaker(dbs[mode][1], "funds"), events,
                                                    args.writers, args.batch)
                totals[mode]["single"] += single
                totals[mode]["batched"] += batched
                totals[mode]["events"] += args.single
        conn = await asyncpg.connect(libpq_url(server_url, settings.database_name))
        try:
            log_last = await store.last_seq(conn)
            deadline = time.perf_counter() + 120
            while time.perf_counter() < deadline and (await conn.fetchval(
                    "SELECT coalesce(max(size), 0) FROM checkpoints")) < log_last:
                await asyncio.sleep(0.5)
            signed = await conn.fetchval("SELECT count(*) FROM checkpoints")
            tree_size = await conn.fetchval("SELECT count(*) FROM merkle_nodes WHERE level = 0")
        finally:
            await conn.close()
        print(f"with the tree: {log_last} events, tree of {tree_size} leaves, {signed} checkpoints signed")
    finally:
        await follower.stop()
        for s, engine in dbs.values():
            await engine.dispose()
            await drop_database(server_url, s.database_name)
    return totals


def chain_rows(n: int):
    """``n`` event rows whose chain links (random hashes): enough for the tree, written by COPY."""
    now, prev, rows = datetime.now(timezone.utc), GENESIS, []
    for seq in range(1, n + 1):
        digest = secrets.token_hex(32)
        event_id = str(uuid6.uuid7())
        rows.append((seq, event_id, "funds", "bench.x", "s", now, "{}", event_id, None, "{}", prev, digest))
        prev = digest
    return rows


async def build_log(settings, n: int) -> tuple[float, list[bytes] | None]:
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        for part in chunks(chain_rows(n), 100_000):
            await conn.copy_records_to_table("events", records=part, columns=store.COLUMNS)
        tree = TreeState()
        start = time.perf_counter()
        while await tree.grow(conn, 10_000):
            pass
        built = time.perf_counter() - start
        await sign(conn, log_signer(settings), tree.size, tree.root)
    finally:
        await conn.close()
    return built, tree.root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def bench_proofs(settings, n: int, count: int, root: bytes) -> dict[str, list[float]]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, run_background=False), host="127.0.0.1",
                                           port=port, log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    rng = random.Random(7)
    latencies: dict[str, list[float]] = {"healthz": [], "checkpoint": [], "inclusion": [], "consistency": []}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(50):  # warm up connections and plans
                await client.get(f"/events/{rng.randrange(1, n + 1)}/proof", params={"size": n})
            for i in range(count):
                for kind, path in (("healthz", "/healthz"), ("checkpoint", "/checkpoints/latest")):
                    t0 = time.perf_counter()
                    await client.get(path)
                    latencies[kind].append(time.perf_counter() - t0)
                seq = rng.randrange(1, n + 1)
                t0 = time.perf_counter()
                r = await client.get(f"/events/{seq}/proof", params={"size": n})
                latencies["inclusion"].append(time.perf_counter() - t0)
                body = r.json()
                if i % 100 == 0:
                    merkle.verify_inclusion(base64.b64decode(body["leaf_hash"]), seq - 1, n,
                                            [base64.b64decode(h) for h in body["hashes"]], root)
                first = rng.randrange(1, n + 1)
                t0 = time.perf_counter()
                r = await client.get("/checkpoints/proof", params={"from": first, "to": n})
                latencies["consistency"].append(time.perf_counter() - t0)
                if i % 100 == 0:
                    body = r.json()
                    merkle.verify_consistency(first, n, base64.b64decode(body["from_root"]), root,
                                              [base64.b64decode(h) for h in body["hashes"]])
    finally:
        server.should_exit = True
        await task
    return latencies


async def run(args, server_url: str) -> None:
    totals = await bench_appends(server_url, args)
    settings, engine = await new_database(server_url)
    try:
        built, root = await build_log(settings, args.log)
        print(f"tree of {args.log} events built in {built:.1f} s")
        latencies = await bench_proofs(settings, args.log, args.proofs, root)
    finally:
        await engine.dispose()
        await drop_database(server_url, settings.database_name)

    rate = {m: {k: totals[m]["events"] / totals[m][k] for k in ("single", "batched")} for m in totals}
    figures = []
    for kind, label in (("single", f"single-event tx, {args.writers} writers"), ("batched", f"batches of {args.batch}")):
        figures.append((f"append without the tree ({label})", f"{rate['without'][kind]:,.0f} events/s", ""))
        figures.append((f"append with tree + checkpoints ({label})", f"{rate['with'][kind]:,.0f} events/s",
                        f"{rate['with'][kind] / rate['without'][kind]:.1%} of without (goal >= 95%)"))
    figures.append((f"tree build ({args.log:,} events, 10,000 per grow)", f"{args.log / built:,.0f} leaves/s", ""))
    labels = {"healthz": "baseline: GET /healthz (no database)",
              "checkpoint": "baseline: GET /checkpoints/latest (one query)",
              "inclusion": f"inclusion proof over HTTP at {args.log:,} events",
              "consistency": f"consistency proof over HTTP at {args.log:,} events"}
    for kind, label in labels.items():
        p50, p95, p99 = percentiles(latencies[kind])
        goal = " (goal p99 < 2 ms)" if kind in ("inclusion", "consistency") else ""
        figures.append((f"{label} ({args.proofs} requests)", f"{len(latencies[kind]) / sum(latencies[kind]):,.0f} req/s",
                        f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms{goal}"))
    m = machine()
    print(f"\n## merkle_history — {date.today().isoformat()}\n")
    print(f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM; Python {m['python']}")
    print(f"- Command: `bench/merkle_history.py --rounds {args.rounds} --single {args.single} --writers "
          f"{args.writers} --batch {args.batch} --log {args.log} --proofs {args.proofs}`\n")
    print("| measure | rate | notes |\n|---|---:|---|")
    for label, value, note in figures:
        print(f"| {label} | {value} | {note} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds per mode")
    parser.add_argument("--single", type=int, default=1000, help="events per round, each way (single and batched)")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--log", type=int, default=1_000_000, help="events in the log the proofs are served from")
    parser.add_argument("--proofs", type=int, default=2000, help="requests of each proof kind")
    args = parser.parse_args()
    with postgres_server() as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
