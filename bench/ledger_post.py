"""Benchmark of the funds ledger's posting path over real HTTP, on real PostgreSQL.

What is measured, in one run against one server and one fresh, migrated ``funds`` database, with
the funds app served by uvicorn in this process (an asyncio task on a free 127.0.0.1 port) and
requests sent over TCP with ``httpx.AsyncClient``:

0. **Setup** (not timed) — appropriate a large amount (central_finance, 000000000000), allocate it
   中央 → 新疆 (650000000000) → 博州 (652700000000) → 精河县 (652722000000), insert the project
   ``P-BENCH`` into the local read model ``projects_view`` directly, and commit the amount to it.
1. **COPY baseline** — N posting rows like the ones a disbursement line writes (same columns and
   kinds of values: uuid7 ids, account ids, amounts, 文号, payee references, line refs, actor
   JSON, timestamps), prepared beforehand and written with asyncpg's ``copy_records_to_table``
   into a scratch table ``(LIKE postings INCLUDING DEFAULTS)`` in chunks of B rows, one
   transaction per chunk: the raw cost of getting the rows into PostgreSQL. (The endpoint writes
   more than that — the hash-chained events carrying the postings, the payees' accounts, the
   balances, five indexes — so the ratio is what the whole HTTP + validation + ledger +
   event-chain path costs on top of the bare write.)
2. **Batched disbursements** — the same N lines through ``POST /disbursement-batches`` in
   envelopes of B lines, sequentially (lines/s and the ratio to COPY; the goal is >= 20,000
   lines/s). Every line pays a household (payees cycle over ``--payees`` households, so later
   batches pay households that already have an account). Request bodies are serialised before
   the clock starts. Also printed: the CPU time of the phase per 1,000 lines, of this process
   (the app and the thin client) and of the PostgreSQL backends serving the database (from
   /proc, when the server runs on this host) — steadier than wall time on a shared machine.
   The benchmark's own prepared data is frozen out of the cyclic garbage collector first
   (``gc.freeze()``): a server does not hold N line dicts and request bodies besides its own.
   With ``--alternate K``: then K more lines in batches sent the same way, every other batch
   through the path that judges every line and then records them (``batches.CHUNK = None``)
   instead of the overlapped one (:func:`services.funds.usecases.ledger.post_overlapped`): per
   path lines/s, wall and CPU (app, PostgreSQL) per 1,000 lines, and the rate an idle machine
   would give — lines / max(app CPU, PostgreSQL CPU) if the two sides overlapped fully, lines /
   their sum if not. The two paths under the same load, batch by batch.
3. **Single disbursements** — M ``POST /disbursements`` from W concurrent clients (default 16),
   each waiting for its answer before sending the next: requests/s, latency percentiles and CPU
   per request.
4. **Checks** — ``SELECT sum(balance_fen) FROM accounts`` must be 0 and the event chain must
   verify (``shared.events.store.verify``).

Server: ``FUPIN_BENCH_DATABASE_URL``, else 127.0.0.1:5432 if it answers, else an embedded
PostgreSQL in a temporary folder (stopped at the end). Timing is printed, never asserted.
``--profile`` runs cProfile (whole process: the server and the thin client) over the batched
phase and prints the top functions.

    .venv/bin/python bench/ledger_post.py [--lines N] [--batch B] [--single M] [--clients W] [--alternate K]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import random
import secrets
import time
from datetime import date, datetime, timezone

import asyncpg
import httpx
import uuid6
import uvicorn

from deploy.embedded import free_port
from harness import household_id, machine, percentiles, postgres_server, register_households
from services.funds.app import create_app
from services.funds.contract import postings_of
from shared.auth import issue_token
from shared.config import libpq_url, settings_for
from shared.db import drop_database, ensure_database, make_engine, migrate
from shared.events import store
from shared.money import format_fen

CENTRAL, XINJIANG, BOZHOU, JINGHE = "000000000000", "650000000000", "652700000000", "652722000000"
ROLES = {CENTRAL: "central_finance", XINJIANG: "province_finance", BOZHOU: "city_finance", JINGHE: "county_finance"}
PROJECT = "P-BENCH"
CHANNEL = "central_special"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
POSTING_COLUMNS = ("id", "event_seq", "operation", "from_account", "to_account", "amount_fen", "document_no",
                   "document_date", "purpose", "reference", "line_ref", "actor", "posted_at")


class Lines:
    """Synthetic disbursement lines: household payees (cycling over a pool), amounts in fen."""

    def __init__(self, payees: int, rng: random.Random):
        self.payees, self.rng = payees, rng

    def line(self, i: int, prefix: str) -> dict:
        h = i % self.payees
        return {"line_ref": f"{prefix}-{i:07d}", "project_code": PROJECT, "channel": CHANNEL,
                "fiscal_year": 0,  # filled in by the caller
                "payee": {"kind": "household", "name": f"{SURNAMES[h % len(SURNAMES)]}户{h:06d}",
                          "household_id": household_id(h)},
                "amount_fen": self.rng.randrange(10_000, 500_000)}  # 100.00 – 5,000.00 yuan


class Bench:
    def __init__(self, args, settings, base_url: str, year: int, today: date):
        self.args, self.settings, self.year, self.today = args, settings, year, today
        self.client = httpx.AsyncClient(base_url=base_url, timeout=600,
                                        limits=httpx.Limits(max_connections=args.clients + 4))
        self.tokens = {d: issue_token(settings, sub=f"bench-{r}", roles=[r], division=d) for d, r in ROLES.items()}
        self.n = 0

    def headers(self, division: str) -> dict[str, str]:
        self.n += 1
        return {"Authorization": f"Bearer {self.tokens[division]}", "Idempotency-Key": f"bench-{self.n}",
                "Content-Type": "application/json"}

    async def post(self, path: str, division: str, **body) -> dict:
        money = {"channel": CHANNEL, "fiscal_year": self.year, "document_date": self.today.isoformat(), **body}
        response = await self.client.post(path, content=json.dumps(money), headers=self.headers(division))
        if response.status_code != 201:
            raise SystemExit(f"{path} answered {response.status_code}: {response.text[:2000]}")
        return response.json()

    async def setup(self, conn: asyncpg.Connection, amount: str) -> None:
        await self.post("/appropriations", CENTRAL, amount=amount, document_no="财农〔2026〕1号")
        for source, target, doc in ((CENTRAL, XINJIANG, "财农〔2026〕8号"), (XINJIANG, BOZHOU, "新财农〔2026〕21号"),
                                    (BOZHOU, JINGHE, "博州财农〔2026〕5号")):
            await self.post("/allocations", source, amount=amount, to_division=target, document_no=doc)
        await conn.execute("INSERT INTO projects_view (code, division, in_library, publicity_passed, cancelled, last_event) "
                           f"VALUES ('{PROJECT}', '{JINGHE}', true, true, false, 'bench')")
        await register_households(conn, self.args.payees)
        await self.post("/commitments", JINGHE, amount=amount, project_code=PROJECT, source="available",
                        document_no="精财农〔2026〕3号")

    def batch_bodies(self, lines: list[dict]) -> list[bytes]:
        bodies = []
        for number, start in enumerate(range(0, len(lines), self.args.batch)):
            chunk = lines[start:start + self.args.batch]
            wire = [{**{k: v for k, v in line.items() if k != "amount_fen"}, "fiscal_year": self.year,
                     "amount": format_fen(line["amount_fen"])} for line in chunk]
            bodies.append(json.dumps({
                "batch_ref": f"BATCH-{number:05d}", "schedule_date": self.today.isoformat(),
                "document_no": f"精财拨〔2026〕{number + 1}号", "count": len(chunk),
                "total": format_fen(sum(line["amount_fen"] for line in chunk)), "lines": wire}, ensure_ascii=False).encode())
        return bodies

    async def batched(self, bodies: list[bytes], expect: list[int], profile: cProfile.Profile | None) -> float:
        headers = [self.headers(JINGHE) for _ in bodies]
        if profile:
            profile.enable()
        start = time.perf_counter()
        for body, header, count in zip(bodies, headers, expect):
            response = await self.client.post("/disbursement-batches", content=body, headers=header)
            if response.status_code != 201:
                raise SystemExit(f"batch answered {response.status_code}: {response.text[:2000]}")
            answer = response.json()
            if answer["posted"] != count or not answer["settled"]:
                raise SystemExit(f"batch posted {answer['posted']} of {count}: {str(answer)[:2000]}")
        elapsed = time.perf_counter() - start
        if profile:
            profile.disable()
        return elapsed

    async def alternating(self, bodies: list[bytes], expect: list[int], meter: CpuMeter) -> dict[str, list[float]]:
        """The batches sent as in :meth:`batched`, every other one through the path that judges all
        lines and then records them (``batches.CHUNK = None``) instead of the overlapped one: per
        path [lines, wall s, app CPU s, PostgreSQL CPU s] — the two paths side by side under the
        same load, batch by batch."""
        from services.funds.usecases import batches as usecase

        overlapped = usecase.CHUNK
        out = {"overlapped": [0.0] * 4, "sequential": [0.0] * 4}
        try:
            for number, (body, count) in enumerate(zip(bodies, expect)):
                path = ("overlapped", "sequential")[number % 2]
                usecase.CHUNK = overlapped if path == "overlapped" else None
                header = self.headers(JINGHE)
                await meter.start()
                start = time.perf_counter()
                response = await self.client.post("/disbursement-batches", content=body, headers=header)
                elapsed = time.perf_counter() - start
                app_cpu, pg_cpu = await meter.stop()
                if response.status_code != 201 or response.json()["posted"] != count:
                    raise SystemExit(f"batch answered {response.status_code}: {response.text[:2000]}")
                figures = out[path]
                figures[0] += count
                figures[1] += elapsed
                figures[2] += app_cpu
                figures[3] += pg_cpu or 0.0
        finally:
            usecase.CHUNK = overlapped
        return out

    async def singles(self, lines: list[dict]) -> tuple[float, list[float], dict[int, int]]:
        requests = []
        for line in lines:
            body = {"channel": CHANNEL, "fiscal_year": self.year, "document_date": self.today.isoformat(),
                    "amount": format_fen(line["amount_fen"]), "document_no": "精财拨〔2026〕单笔", "project_code": PROJECT,
                    "payee": line["payee"], "line_ref": line["line_ref"]}
            requests.append((json.dumps(body, ensure_ascii=False).encode(), self.headers(JINGHE)))
        queue = iter(requests)  # shared by the clients; asyncio is single-threaded, so next() is safe
        latencies: list[float] = []
        statuses: dict[int, int] = {}

        async def client() -> None:
            for body, header in queue:
                t0 = time.perf_counter()
                response = await self.client.post("/disbursements", content=body, headers=header)
                latencies.append(time.perf_counter() - t0)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(self.args.clients)))
        return time.perf_counter() - start, latencies, statuses


class CpuMeter:
    """CPU seconds spent by this process (the app and the thin client) and by the PostgreSQL
    backends connected to the benchmark's database (from /proc, when the server runs on this host):
    on a shared machine these move much less with other people's work than wall time does."""

    def __init__(self, conn: asyncpg.Connection, database: str):
        self.conn, self.database, self.tick = conn, database, os.sysconf("SC_CLK_TCK")

    async def _backends(self) -> dict[int, float] | None:
        pids = await self.conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database)
        out = {}
        for (pid,) in pids:
            try:
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                return None  # not on this host (or not readable)
            out[pid] = (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime
        return out

    async def start(self) -> None:
        self.own, self.pg = sum(os.times()[:2]), await self._backends()

    async def stop(self) -> tuple[float, float | None]:
        own = sum(os.times()[:2]) - self.own
        pg = await self._backends()
        if pg is None or self.pg is None:
            return own, None
        return own, sum(cpu - self.pg.get(pid, 0.0) for pid, cpu in pg.items())


def copy_rows(lines: list[dict], from_account: int, first_account: int, actor: str, now: datetime,
              today: date) -> list[tuple]:
    """The postings rows the batch endpoint would write for ``lines`` (account ids and event seqs
    made up in the same ranges)."""
    rows = []
    for i, line in enumerate(lines):
        payee = line["payee"]
        rows.append((str(uuid6.uuid7()), 100 + i, "disburse", from_account, first_account + i, line["amount_fen"],
                     f"精财拨〔2026〕{i // 2000 + 1}号", today, None, f"household:{payee['household_id']}",
                     line["line_ref"], actor, now))
    return rows


async def bench_copy(conn: asyncpg.Connection, rows: list[tuple], batch: int) -> float:
    await conn.execute("CREATE TABLE postings_copy_baseline (LIKE postings INCLUDING DEFAULTS)")
    start = time.perf_counter()
    for begin in range(0, len(rows), batch):
        async with conn.transaction():
            await conn.copy_records_to_table("postings_copy_baseline", records=rows[begin:begin + batch],
                                             columns=POSTING_COLUMNS)
    return time.perf_counter() - start


async def serve(settings):
    app = create_app(settings, run_background=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise SystemExit("uvicorn stopped before it started")
        await asyncio.sleep(0.05)
    return server, task, f"http://127.0.0.1:{port}"


async def run(args: argparse.Namespace, server_url: str) -> None:
    name = f"fupin_bench_{secrets.token_hex(4)}"
    await ensure_database(server_url, name)
    settings = settings_for("funds", database_url=server_url, database=name, kafka_bootstrap=None, log_level="WARNING")
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        await migrate(engine, "funds")
    finally:
        await engine.dispose()
    profile = cProfile.Profile() if args.profile else None
    try:
        conn = await asyncpg.connect(libpq_url(server_url, name))
        server, task, base_url = await serve(settings)
        today = datetime.now(timezone.utc).date()
        bench = Bench(args, settings, base_url, today.year, today)
        try:
            pg = await conn.fetchval("SHOW server_version")
            pg_settings = ", ".join([
                f"{k}={await conn.fetchval(f'SHOW {k}')}"
                for k in ("fsync", "synchronous_commit", "shared_buffers", "max_wal_size")])
            print(f"server: PostgreSQL {pg} ({pg_settings}), database {name}, funds app at {base_url}")

            rng = random.Random(2026)
            maker = Lines(args.payees, rng)
            lines = [maker.line(i, "L") for i in range(args.lines)]
            singles = [maker.line(i, "S") for i in range(args.single)]
            needed = sum(line["amount_fen"] for line in lines + singles) + 500_000 * args.alternate
            amount_fen = needed * 2
            await bench.setup(conn, format_fen(amount_fen))
            print(f"setup done: {format_fen(amount_fen)} yuan appropriated, "
                  f"allocated down to {JINGHE} and committed to {PROJECT}")

            from_account = await conn.fetchval("SELECT id FROM accounts WHERE kind = 'committed' AND reference = $1", PROJECT)
            first_account = await conn.fetchval("SELECT max(id) FROM accounts") + 1
            actor = json.dumps({"sub": "bench-county_finance", "roles": ["county_finance"], "division": JINGHE})
            rows = copy_rows(lines, from_account, first_account, actor, datetime.now(timezone.utc), today)
            copy_s = await bench_copy(conn, rows, args.batch)
            print(f"COPY baseline done in {copy_s:.2f} s")

            bodies = bench.batch_bodies(lines)
            expect = [min(args.batch, args.lines - b) for b in range(0, args.lines, args.batch)]
            # the benchmark's own prepared data (N line dicts, COPY rows, request bodies) is not the
            # app's: keep the cyclic GC from walking it again and again in the timed phases
            gc.collect()
            gc.freeze()
            meter = CpuMeter(conn, name)
            await meter.start()
            batched_s = await bench.batched(bodies, expect, profile)
            app_cpu, pg_cpu = await meter.stop()
            print(f"batched disbursements done in {batched_s:.2f} s")
            paths = {}
            if args.alternate:
                more = [maker.line(i, "A") for i in range(args.alternate)]
                paths = await bench.alternating(
                    bench.batch_bodies(more), [min(args.batch, args.alternate - b) for b in
                                               range(0, args.alternate, args.batch)], meter)
                print(f"alternating batches done in {sum(p[1] for p in paths.values()):.2f} s")

            await meter.start()
            single_s, latencies, statuses = await bench.singles(singles)
            single_app_cpu, single_pg_cpu = await meter.stop()
            print(f"single disbursements done in {single_s:.2f} s (statuses {statuses})")

            total = await conn.fetchval("SELECT coalesce(sum(balance_fen), 0) FROM accounts")
            posted = await conn.fetchval("SELECT count(*) FROM postings WHERE operation = 'disburse'")
            disbursed = await conn.fetchval("SELECT count(*) FROM accounts WHERE kind = 'disbursed'")
            start = time.perf_counter()
            report = await store.verify(conn)
            verify_s = time.perf_counter() - start
            # every posting row is carried by the event it names, as the contract reads events
            carried = {(event["seq"], posting["posting_id"]) async for event in store.iter_events(conn)
                       for posting in postings_of(event)}
            rows = {(r["event_seq"], str(r["id"])) for r in await conn.fetch("SELECT id, event_seq FROM postings")}
            uncarried = len(rows - carried)
        finally:
            await bench.client.aclose()
            server.should_exit = True
            await task
            await conn.close()
    finally:
        await drop_database(server_url, name)

    copy_rate, batched_rate, single_rate = args.lines / copy_s, args.lines / batched_s, args.single / single_s
    p50, p95, p99 = percentiles(latencies)
    figures = [
        (f"COPY baseline ({args.lines:,} posting rows, {args.batch:,}/tx, no indexes)", f"{copy_rate:,.0f} rows/s",
         f"{copy_s:.1f} s"),
        (f"POST /disbursement-batches ({args.lines:,} lines, {args.batch:,}/batch, sequential)",
         f"{batched_rate:,.0f} lines/s",
         f"{batched_rate / copy_rate:.1%} of COPY; {batched_s:.1f} s; {batched_s / len(bodies) * 1000:,.0f} ms per batch "
         f"(goal >= 20,000 lines/s)"),
        ("CPU of the batched phase per 1,000 lines",
         f"{app_cpu / args.lines * 1000 * 1000:,.0f} ms app+client",
         f"PostgreSQL backends {pg_cpu / args.lines * 1000 * 1000:,.0f} ms" if pg_cpu is not None else "PostgreSQL: n/a"),
        (f"POST /disbursements ({args.single:,} requests, {args.clients} clients)", f"{single_rate:,.0f} requests/s",
         f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms; statuses {statuses}"),
        ("CPU of the single disbursements per request", f"{single_app_cpu / args.single * 1000:,.1f} ms app+client",
         f"PostgreSQL backends {single_pg_cpu / args.single * 1000:,.1f} ms" if single_pg_cpu is not None
         else "PostgreSQL: n/a"),
        *((f"... every other batch {path} ({int(lines):,} lines)", f"{lines / wall:,.0f} lines/s",
           f"{wall / lines * 1000 * 1000:,.0f} ms wall, {cpu / lines * 1000 * 1000:,.0f} ms app+client, "
           f"{pg / lines * 1000 * 1000:,.0f} ms PostgreSQL per 1,000 lines; "
           f"idle estimate {lines / max(cpu, pg):,.0f} lines/s overlapped, {lines / (cpu + pg):,.0f} one after the other")
          for path, (lines, wall, cpu, pg) in paths.items()),
        ("checks", f"sum(balance_fen) = {total}",
         f"{posted:,} disburse postings, {disbursed:,} payee accounts; chain verify ok={report.ok} "
         f"({report.checked:,} events, {verify_s:.1f} s)"
         + (f" first_bad_seq={report.first_bad_seq}: {report.reason}" if not report.ok else "")
         + f"; postings not in their event: {uncarried}"),
    ]
    width = max(len(f[0]) for f in figures)
    print()
    print(f"{'measure':<{width}}  {'rate':>22}  notes")
    print(f"{'-' * width}  {'-' * 22}  {'-' * 40}")
    for label, rate, note in figures:
        print(f"{label:<{width}}  {rate:>22}  {note}")

    m = machine()
    print("\n--- Markdown for bench/RESULTS.md ---\n")
    print(f"## ledger_post — {date.today().isoformat()}\n")
    print(f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM")
    print(f"- PostgreSQL {pg} ({pg_settings}); Python {m['python']}; funds app on uvicorn in the benchmark's "
          "process (one event loop shared with the httpx client), real HTTP over 127.0.0.1")
    print(f"- Command: `bench/ledger_post.py --lines {args.lines} --batch {args.batch} --single {args.single} "
          f"--clients {args.clients} --payees {args.payees}"
          + (f" --alternate {args.alternate}" if args.alternate else "") + "`\n")
    print("| measure | rate | notes |\n|---|---:|---|")
    for label, rate, note in figures:
        print(f"| {label} | {rate} | {note} |")

    if profile:
        if args.profile_out:
            profile.dump_stats(args.profile_out)
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
        print("\n--- cProfile of the batched phase (whole process) ---\n")
        print(out.getvalue())
    if total != 0 or not report.ok or uncarried:
        raise SystemExit("the ledger is not zero-sum, the event log does not verify or postings are missing from it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="disbursement lines for COPY and the batches (N)")
    parser.add_argument("--batch", type=int, default=2000, help="lines per batch envelope / COPY chunk (B)")
    parser.add_argument("--single", type=int, default=3000, help="single POST /disbursements in all (M)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients for the single disbursements")
    parser.add_argument("--payees", type=int, default=50_000, help="distinct household payees the lines cycle over")
    parser.add_argument("--alternate", type=int, default=0,
                        help="then this many more lines in batches alternating the overlapped path and the "
                        "judge-then-record one (figures per path)")
    parser.add_argument("--profile", action="store_true", help="cProfile the batched phase and print the top costs")
    parser.add_argument("--profile-out", help="also write the cProfile stats to this file (for pstats)")
    args = parser.parse_args()

    with postgres_server() as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
