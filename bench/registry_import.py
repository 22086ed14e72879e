"""Benchmark of the registry's bulk import (``services.registry.usecases.imports.run_import``) and of the
ID-number lookup at one million persons, on real PostgreSQL.

What is measured, in one run against one server and one fresh, migrated ``registry`` database:

1. **File** — a synthetic 建档立卡 CSV of N persons (default 1,000,000) in ~N/2.5 households, one
   row per person, valid ID numbers (GB 11643 check digits), villages under 精河县 (652722) that
   are inserted into ``divisions`` first. Written to a temporary folder (not timed).
2. **COPY baseline** — the N person rows the import writes (same columns and kinds of values,
   prepared beforehand) written with asyncpg's ``copy_records_to_table`` into a scratch table
   ``(LIKE persons INCLUDING ALL)`` — the same indexes, including the partial unique index of
   active ID numbers — in batches of 100,000 in one transaction: the raw cost of getting the
   persons into PostgreSQL.
3. **Import** — ``run_import`` on the file in one transaction, as ``fupin registry import`` runs
   it: parse and validate every row, check divisions, household numbers and active persons in
   the database, then COPY households, persons, incomes and status history and append one event
   per 200 households; committed. Persons/s (goal >= 20,000) and the ratio to the baseline.
   The phase times come from the import's progress callback. The event chain is verified. The
   rows are written while the file is parsed (the pipeline); the **peer**, unless
   ``--no-compare``: the same file imported beforehand by the sequential path (``overlap=False``:
   nothing written before the whole file and the database checks have passed) into a fresh
   database. For each: wall time, the CPU seconds of this process and of the PostgreSQL backend
   (read from /proc when the server runs on this host), and the load average.
4. **Lookup** — ID-number lookup latency at N persons: the registry service is started as a
   process (``python -m services.registry``, uvicorn) on a free port and M (default 2,000)
   sequential ``GET /persons/{id_number}`` requests with a county_office token for 652722 are
   timed over HTTP (after 100 warm-up requests). If the running app has no such route, the same
   lookup is measured as direct SQL through asyncpg instead, and the output says so.

Server: ``FUPIN_BENCH_DATABASE_URL``, else 127.0.0.1:5432 if it answers, else an embedded
PostgreSQL in a temporary folder (stopped at the end). Timing is printed, never asserted.

    .venv/bin/python bench/registry_import.py [--persons N] [--lookups M] [--keep] [--no-compare]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from operator import mul
from pathlib import Path

import asyncpg
import httpx
import psutil
from sqlalchemy import text

from deploy.embedded import free_port
from harness import machine, percentiles, postgres_server
from services.registry.usecases.imports import run_import
from shared.bulk import uuid7s
from shared.auth import issue_token
from shared.clock import SystemClock
from shared.config import libpq_url, settings_for
from shared.db import drop_database, ensure_database, make_engine, make_sessionmaker, migrate
from shared.events import store

COUNTY = "652722"
TOWNSHIPS, VILLAGES_PER_TOWNSHIP = 8, 25  # 200 villages
HEADER = ["户编号", "行政区划代码", "姓名", "证件号码", "与户主关系", "民族", "文化程度", "在校生状况",
          "健康状况", "劳动技能", "贫困户属性", "主要致贫原因", "识别年度", "脱贫年度", "人均纯收入"]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文福海山林春花荣德"
RELATIONS = ("配偶", "子女", "子女", "父母", "孙子女", "兄弟姐妹")
CAUSES = ("因病", "因残", "因学", "因灾", "缺土地", "缺水", "缺技术", "缺劳力", "缺资金", "交通条件落后",
          "自身发展动力不足", "其他")
ATTRIBUTES = ("一般贫困户", "一般贫困户", "一般贫困户", "低保贫困户", "特困供养贫困户")
LABOUR = ("普通劳动力", "普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动能力")
EDUCATION = ("小学", "初中", "高中", "文盲或半文盲", "学龄前儿童", "大专")
HEALTH = ("健康", "健康", "健康", "长期慢性病", "患有大病", "残疾")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
EPOCH = date(1930, 1, 1)
DAYS = 30_000  # birth dates 1930-01-01 .. 2012-02-20
ASCII_ZERO = 48 * sum(WEIGHTS)  # the weighted sum of ASCII codes exceeds that of the digits by this


def villages() -> list[tuple[str, str, str, str]]:
    rows = [(f"{COUNTY}000000", "精河县", "county", "652700000000")]
    for t in range(1, TOWNSHIPS + 1):
        township = f"{COUNTY}{100 + t:03d}000"
        rows.append((township, f"乡镇{t}", "township", f"{COUNTY}000000"))
        rows += [(f"{COUNTY}{100 + t:03d}{200 + v:03d}", f"村{t}-{v}", "village", township)
                 for v in range(1, VILLAGES_PER_TOWNSHIP + 1)]
    return rows


def id_number(i: int) -> str:
    """The i-th synthetic ID number: unique for i < DAYS * 1000, with a correct check digit."""
    born = EPOCH + timedelta(days=(i * 7919) % DAYS)
    first17 = f"{COUNTY}{born:%Y%m%d}{i // DAYS:03d}"
    return first17 + "10X98765432"[(sum(map(mul, first17.encode(), WEIGHTS)) - ASCII_ZERO) % 11]


def check_digit_ok(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], WEIGHTS))
    return "10X98765432"[total % 11] == number[17]


def write_file(path: Path, persons: int, rng: random.Random) -> tuple[int, list[str]]:
    """Write the CSV; returns the household count and a sample of ID numbers for the lookups."""
    codes = [code for code, _, level, _ in villages() if level == "village"]
    sample: list[str] = []
    households = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        i = 0
        while i < persons:
            households += 1
            size = min(rng.choice((1, 2, 2, 3, 3, 4)), persons - i)
            number = f"{COUNTY}{households:09d}"
            division = rng.choice(codes)
            attribute, cause = rng.choice(ATTRIBUTES), rng.choice(CAUSES)
            registered = rng.choice((2014, 2014, 2015, 2016))
            exited = rng.choice(("", "", str(registered + 1), str(registered + 2), "2019"))
            income = f"{rng.randrange(1500, 6000)}.{rng.randrange(100):02d}" if rng.random() < 0.7 else ""
            for k in range(size):
                number_k = id_number(i)
                if rng.random() < 0.002:
                    sample.append(number_k)
                writer.writerow([number, division, rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN)),
                                 number_k, "户主" if k == 0 else rng.choice(RELATIONS), "汉族",
                                 rng.choice(EDUCATION), "非在校生", rng.choice(HEALTH), rng.choice(LABOUR),
                                 attribute, cause, registered, exited, income])
                i += 1
    return households, sample


def baseline_rows(path: Path) -> list[tuple]:
    """The person rows the import writes, built from the file beforehand (not timed)."""
    rows, household_ids = [], {}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for r in reader:
            hid = household_ids.get(r[0])
            if hid is None:
                hid = household_ids[r[0]] = uuid7s(1)[0]
            number = r[3]
            rows.append((uuid7s(1)[0], hid, number, r[2], "head" if r[4] == "户主" else "child",
                         "male" if int(number[16]) % 2 else "female",
                         date(int(number[6:10]), int(number[10:12]), int(number[12:14])), r[5], "primary", None,
                         "healthy", "normal_labour", True))
    return rows


async def bench_copy(conn: asyncpg.Connection, rows: list[tuple]) -> float:
    columns = ("id", "household_id", "id_number", "name", "relation", "sex", "birth_date", "ethnicity",
               "education", "school_stage", "health", "labour_capacity", "active")
    await conn.execute("CREATE TABLE persons_copy_baseline (LIKE persons INCLUDING ALL)")
    start = time.perf_counter()
    async with conn.transaction():
        for first in range(0, len(rows), 100_000):
            await conn.copy_records_to_table("persons_copy_baseline", records=rows[first:first + 100_000],
                                             columns=columns)
    elapsed = time.perf_counter() - start
    await conn.execute("DROP TABLE persons_copy_baseline")
    return elapsed


def backend_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a PostgreSQL backend (None when the server is not on this host)."""
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.Error, OSError):
        return None
    return times.user + times.system


async def bench_import(sessions, path: Path, clock, *, overlap: bool
                       ) -> tuple[float, dict[str, float], object, dict[str, float | None]]:
    """One import; returns (wall s, phases, result, CPU: process s, PostgreSQL backend s, load average)."""
    marks: dict[str, float] = {}

    def progress(phase: str, done: int, total: int | None) -> None:
        marks.setdefault(phase, time.perf_counter())

    actor = {"sub": "bench", "roles": ["admin"], "division": f"{COUNTY}000000"}
    async with sessions() as session:
        async with session.begin():
            backend = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            pg_before, cpu_before = backend_cpu(backend), time.process_time()
            start = time.perf_counter()
            result = await run_import(session, path, filename=path.name, actor=actor, jurisdiction=COUNTY,
                                      clock=clock, progress=progress, overlap=overlap)
            marks["commit"] = time.perf_counter()
        end = time.perf_counter()
        pg_after, cpu_after = backend_cpu(backend), time.process_time()
    cpu = {"process": cpu_after - cpu_before,
           "postgres": None if pg_before is None or pg_after is None else pg_after - pg_before,
           "load": os.getloadavg()[0]}
    phases = {}
    order = [("parse + validate file", start, marks.get("check", end)),
             ("database checks", marks.get("check", end), marks.get("write", end)),
             ("write (COPY + events)", marks.get("write", end), marks["commit"]),
             ("commit", marks["commit"], end)]
    for label, a, b in order:
        phases[label] = b - a
    return end - start, phases, result, cpu


async def bench_lookup_http(server_url: str, database: str, sample: list[str], lookups: int,
                            log_path: Path) -> tuple[list[float] | None, str]:
    port = free_port()
    env = {**os.environ, "FUPIN_DATABASE_URL": server_url, "FUPIN_REGISTRY_DATABASE": database,
           "FUPIN_REGISTRY_PORT": str(port), "FUPIN_LOG_LEVEL": "WARNING"}
    env.pop("FUPIN_KAFKA_BOOTSTRAP", None)
    log = log_path.open("wb")
    process = subprocess.Popen([sys.executable, "-m", "services.registry"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent)
    try:
        settings = settings_for("registry", database_url=server_url, database=database)
        token = issue_token(settings, sub="bench", roles=["county_office"], division=f"{COUNTY}000000")
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
            for _ in range(200):
                try:
                    if (await client.get("/healthz")).status_code < 500:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None:
                    return None, f"the registry process exited ({process.returncode}); see {log_path}"
                await asyncio.sleep(0.1)
            openapi = (await client.get("/openapi.json")).json()
            if "/persons/{id_number}" not in openapi.get("paths", {}):
                return None, "GET /persons/{id_number} is not a route of the registry app"
            rng = random.Random(7)
            for number in rng.choices(sample, k=100):  # warm-up
                await client.get(f"/persons/{number}")
            latencies, statuses = [], {}
            for number in rng.choices(sample, k=lookups):
                t0 = time.perf_counter()
                response = await client.get(f"/persons/{number}")
                latencies.append(time.perf_counter() - t0)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if statuses.get(200, 0) == 0:
                return None, f"GET /persons/{{id_number}} answered {statuses}, never 200"
            floor = []  # the same client and server answering GET /healthz: HTTP + client overhead
            for _ in range(500):
                t0 = time.perf_counter()
                await client.get("/healthz")
                floor.append(time.perf_counter() - t0)
            return latencies, (f"HTTP GET /persons/{{id_number}} (uvicorn process, statuses {statuses}; "
                               f"GET /healthz p50 {statistics.median(floor) * 1000:.2f} ms for reference)")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def bench_lookup_sql(conn: asyncpg.Connection, sample: list[str], lookups: int) -> list[float]:
    query = ("SELECT p.id_number, p.name, p.relation, p.sex, p.birth_date, p.active, h.id, h.number, h.division, "
             "h.status FROM persons p JOIN households h ON h.id = p.household_id WHERE p.id_number = $1 "
             "ORDER BY p.active DESC")
    rng = random.Random(7)
    for number in rng.choices(sample, k=100):
        await conn.fetch(query, number)
    latencies = []
    for number in rng.choices(sample, k=lookups):
        t0 = time.perf_counter()
        await conn.fetch(query, number)
        latencies.append(time.perf_counter() - t0)
    return latencies


def describe_cpu(cpu: dict[str, float | None]) -> str:
    pg = "n/a" if cpu["postgres"] is None else f"{cpu['postgres']:.1f} s"
    return f"process {cpu['process']:.1f} s + PostgreSQL backend {pg}; load average {cpu['load']:.1f}"


async def bench_sequential(server_url: str, name: str, path: Path, clock
                           ) -> tuple[float, dict[str, float], object, dict[str, float | None]]:
    """The peer: the same file imported by the sequential path (``overlap=False``: nothing written
    before the whole file and the database checks have passed) into a fresh database of its own."""
    await ensure_database(server_url, name)
    settings = settings_for("registry", database_url=server_url, database=name)
    engine = make_engine(settings.sqlalchemy_url, pool_size=2)
    try:
        await migrate(engine, "registry")
        conn = await asyncpg.connect(libpq_url(server_url, name))
        try:
            await conn.executemany(
                "INSERT INTO divisions (code, name, level, parent, synthetic) VALUES ($1, $2, $3, $4, true)",
                villages())
            await conn.execute("CHECKPOINT")
        finally:
            await conn.close()
        outcome = await bench_import(make_sessionmaker(engine, "registry", clock), path, clock, overlap=False)
        print(f"import (sequential peer) done in {outcome[0]:.2f} s: {outcome[2]}; CPU {describe_cpu(outcome[3])}")
        return outcome
    finally:
        await engine.dispose()
        await drop_database(server_url, name)
        gc.collect()


async def run(args: argparse.Namespace, server_url: str, workdir: Path) -> None:
    name = f"fupin_bench_{secrets.token_hex(4)}"
    await ensure_database(server_url, name)
    settings = settings_for("registry", database_url=server_url, database=name)
    engine = make_engine(settings.sqlalchemy_url, pool_size=2)
    clock = SystemClock()
    try:
        await migrate(engine, "registry")
        sessions = make_sessionmaker(engine, "registry", clock)
        conn = await asyncpg.connect(libpq_url(server_url, name))
        try:
            pg = await conn.fetchval("SHOW server_version")
            pg_settings = ", ".join([
                f"{k}={await conn.fetchval(f'SHOW {k}')}"
                for k in ("fsync", "synchronous_commit", "shared_buffers", "max_wal_size")])
            print(f"server: PostgreSQL {pg} ({pg_settings}), database {name}")
            await conn.executemany(
                "INSERT INTO divisions (code, name, level, parent, synthetic) VALUES ($1, $2, $3, $4, true)",
                villages())

            path = workdir / f"registry_{args.persons}.csv"
            t0 = time.perf_counter()
            households, sample = write_file(path, args.persons, random.Random(2024))
            assert all(check_digit_ok(n) for n in sample[:1000])
            size = path.stat().st_size
            print(f"file: {args.persons:,} persons in {households:,} households, {size / 2**20:.0f} MiB "
                  f"(written in {time.perf_counter() - t0:.1f} s)")

            rows = baseline_rows(path)
            copy_s = await bench_copy(conn, rows)
            del rows
            gc.collect()
            print(f"COPY baseline done in {copy_s:.2f} s")
            await conn.execute("CHECKPOINT")

            peer = None
            if args.compare:
                peer = await bench_sequential(server_url, f"{name}_seq", path, clock)
            await conn.execute("CHECKPOINT")
            import_s, phases, result, cpu = await bench_import(sessions, path, clock, overlap=True)
            print(f"import (pipeline) done in {import_s:.2f} s: {result}; CPU {describe_cpu(cpu)}")
            for label, seconds in phases.items():
                print(f"  {label:<24} {seconds:6.2f} s")
            t0 = time.perf_counter()
            report = await store.verify(conn)
            verify_s = time.perf_counter() - t0
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM households) AS h, (SELECT count(*) FROM persons) AS p, "
                "(SELECT count(*) FROM household_status_history) AS s, (SELECT count(*) FROM events) AS e, "
                "(SELECT pg_size_pretty(sum(pg_column_size(data))) FROM events) AS event_bytes")
            print(f"rows: {dict(counts)}; chain verified in {verify_s:.1f} s: ok={report.ok}")
            await conn.execute("ANALYZE")

            latencies, what = await bench_lookup_http(server_url, name, sample, args.lookups,
                                                      workdir / "registry-service.log")
            if latencies is None:
                print(f"HTTP lookup not measured: {what}; measuring direct SQL instead")
                what = f"direct SQL through asyncpg (HTTP not measured: {what})"
                latencies = await bench_lookup_sql(conn, sample, args.lookups)
        finally:
            await conn.close()
    finally:
        await engine.dispose()
        if args.keep:
            print(f"kept database {name}")
        else:
            await drop_database(server_url, name)

    copy_rate = args.persons / copy_s
    import_rate = result.persons / import_s
    p50, p95, p99 = percentiles(latencies)
    figures = [
        (f"COPY baseline ({args.persons:,} person rows, same indexes)", f"{copy_rate:,.0f} rows/s", ""),
        (f"run_import ({result.persons:,} persons, {result.households:,} households, {result.events:,} events)",
         f"{import_rate:,.0f} persons/s",
         f"{import_rate / copy_rate:.0%} of COPY; {import_s:.1f} s (goal >= 20,000 persons/s)"),
        *[(f"  of which {label}", f"{seconds:.1f} s", "") for label, seconds in phases.items()],
        ("  CPU of the pipeline import", describe_cpu(cpu), ""),
    ]
    if peer is not None:
        peer_s, peer_phases, peer_result, peer_cpu = peer
        peer_rate = peer_result.persons / peer_s
        figures += [
            ("peer: sequential path (overlap=False), same file, fresh database", f"{peer_rate:,.0f} persons/s",
             f"{peer_s:.1f} s; the pipeline is {import_rate / peer_rate:.2f}x"),
            *[(f"  of which {label}", f"{seconds:.1f} s", "") for label, seconds in peer_phases.items()],
            ("  CPU of the sequential import", describe_cpu(peer_cpu), ""),
        ]
    figures += [
        (f"ID lookup at {result.persons:,} persons ({args.lookups} sequential)", what,
         f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms (goal p99 < 10 ms)"),
        (f"verify ({report.checked} events)", f"{verify_s:.1f} s", f"ok={report.ok}"),
    ]
    width = max(len(f[0]) for f in figures)
    print()
    for label, rate, note in figures:
        print(f"{label:<{width}}  {rate:>18}  {note}")

    m = machine()
    print("\n--- Markdown for bench/RESULTS.md ---\n")
    print(f"## registry_import — {date.today().isoformat()}\n")
    print(f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM")
    print(f"- PostgreSQL {pg} ({pg_settings}); Python {m['python']}")
    print(f"- Command: `bench/registry_import.py --persons {args.persons} --lookups {args.lookups}"
          f"{'' if args.compare else ' --no-compare'}`; load average at the end {os.getloadavg()}\n")
    print("| measure | rate | notes |\n|---|---:|---|")
    for label, rate, note in figures:
        print(f"| {label.strip()} | {rate} | {note} |")
    if not report.ok:
        raise SystemExit("the event log does not verify")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000, help="persons in the synthetic file")
    parser.add_argument("--lookups", type=int, default=2000, help="sequential ID-number lookups timed")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the peer import by the sequential path")
    args = parser.parse_args()
    if args.persons > DAYS * 1000:
        parser.error(f"--persons at most {DAYS * 1000}")

    workdir = Path(tempfile.mkdtemp(prefix="fupin-bench-import-"))
    try:
        with postgres_server() as url:
            asyncio.run(run(args, url, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
