"""Benchmark of the county's bulk work at one million registered persons, on real PostgreSQL
(issue 16).

One fresh, migrated ``registry`` database; N persons (default 1,000,000) in ~N/2.5 households
under 精河县 (652722), written with COPY (not timed; the import has its own benchmark).

1. **Bulk lookup** — ``POST /persons/lookup`` with 10,000 ID numbers (90% registered, 10% not)
   through the registry app in-process (httpx ASGI transport, county_office token), R times
   (default 5): seconds per request (goal < 1 s). Peer in the same run: sequential single
   ``GET /persons/{id_number}`` requests (default 500), as seconds per 10,000 IDs, and the ratio.
2. **Duplicate screening** — an import of M persons (default 100,000) with P planted duplicates
   of registered persons (default 3,000: a third each with one mistyped sequence digit, with two
   neighbouring sequence digits swapped, and with the name in traditional characters under
   another ID of the same birth date and sex) screened against the N registered with
   ``domain.duplicates.screen``: loading the registered persons from PostgreSQL, building the
   keys and screening are timed (goal < 60 s); recall on the planted pairs (goal ≥ 0.95) and
   precision of all flagged pairs. Peer: the all-pairs comparison (what blocking avoids),
   timed on a sample and extrapolated to M × N.

Timing is printed, never asserted.

    .venv/bin/python bench/registry_county.py [--persons N] [--imported M] [--planted P] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import asyncpg
import httpx
import zhconv

from harness import machine, postgres_server
from services.registry.app import create_app
from services.registry.domain.duplicates import PersonKey, compare, screen
from shared.auth import issue_token
from shared.bulk import uuid7s
from shared.config import libpq_url, settings_for
from shared.db import drop_database, ensure_database, make_engine, migrate
from shared.idcard import make_id

COUNTY = "652722"
VILLAGES = [f"652722{t:03d}{v:03d}" for t in range(101, 111) for v in range(201, 221)]
FIRST_BIRTH = date(1940, 1, 1)
DAYS = 25_000
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = "伟国华军丽红东兰凤龙强平明辉建文杰娟英勇涛斌霞敏静燕艳秀玲桂芳鹏飞云志宏海波春梅林峰刚亮成龙荣庆兴福贵学义"
NOW = datetime.now(timezone.utc)


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def identity(slot: int) -> tuple[str, date]:
    """The ID number of slot k (a day since 1940 and a sequence number): unique per slot."""
    born = FIRST_BIRTH + timedelta(days=slot // 1000)
    return make_id(COUNTY, born, slot % 1000), born


async def populate(conn: asyncpg.Connection, persons: int, rng: random.Random) -> list[tuple]:
    """N persons in households of 1–4, COPYed; returns (id, id_number, name, village, slot)."""
    slots = rng.sample(range(DAYS * 1000), persons)
    people, households, k = [], [], 0
    household_ids = uuid7s(persons)
    person_ids = uuid7s(persons)
    while k < persons:
        size = min(rng.choice((1, 2, 3, 3, 4)), persons - k)
        hid, village = household_ids[len(households)], rng.choice(VILLAGES)
        households.append((hid, f"{village}{len(households):07d}", village, "registered", "general", "illness",
                           2015, NOW, NOW))
        for j in range(size):
            number, born = identity(slots[k])
            people.append((person_ids[k], hid, number, name(rng), "head" if j == 0 else "child",
                           "male" if int(number[16]) % 2 else "female", born, "normal_labour", True,
                           village, slots[k]))
            k += 1
    await conn.copy_records_to_table("households", records=households, columns=[
        "id", "number", "division", "status", "poverty_attribute", "main_cause", "registered_year", "created_at",
        "updated_at"])
    for first in range(0, persons, 100_000):
        await conn.copy_records_to_table("persons", records=[p[:9] for p in people[first:first + 100_000]], columns=[
            "id", "household_id", "id_number", "name", "relation", "sex", "birth_date", "labour_capacity", "active"])
    await conn.execute("ANALYZE")
    return [(str(p[0]), p[2], p[3], p[9], p[10]) for p in people]


async def reload(conn: asyncpg.Connection) -> list[tuple]:
    """The registered persons of a kept database, as :func:`populate` returns them."""
    rows = await conn.fetch("SELECT p.id::text, p.id_number, p.name, h.division FROM persons p "
                            "JOIN households h ON h.id = p.household_id")
    return [(r[0], r[1], r[2], r[3], (date(int(r[1][6:10]), int(r[1][10:12]), int(r[1][12:14])) - FIRST_BIRTH).days
             * 1000 + int(r[1][14:17])) for r in rows]


# -- 1. bulk lookup -------------------------------------------------------------------------------

async def bench_lookup(server_url: str, database: str, registered: list[tuple], rng: random.Random, repeats: int,
                       singles: int) -> dict:
    settings = settings_for("registry", database_url=server_url, database=database)
    token = issue_token(settings, sub="bench", roles=["county_office"], division=COUNTY + "000000")
    headers = {"Authorization": f"Bearer {token}"}
    known = [p[1] for p in rng.sample(registered, 9_000)]
    taken = {p[4] for p in registered}
    others = random.Random(1616)  # not the population's sequence (a reused database was drawn with rng)
    unknown = [identity(s)[0] for s in others.sample(range(DAYS * 1000), 2_000) if s not in taken][:1_000]
    ids = known + unknown
    rng.shuffle(ids)
    app = create_app(settings, run_background=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60) as client:
        await client.post("/persons/lookup", json={"id_numbers": ids[:100]}, headers=headers)  # warm-up
        times, found = [], 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            answer = await client.post("/persons/lookup", json={"id_numbers": ids}, headers=headers)
            times.append(time.perf_counter() - t0)
            assert answer.status_code == 200, answer.text[:300]
            found = answer.json()["found"]
        t0 = time.perf_counter()
        for number in known[:singles]:
            assert (await client.get(f"/persons/{number}", headers=headers)).status_code == 200
        single = (time.perf_counter() - t0) / singles
    return {"median": statistics.median(times), "best": min(times), "found": found, "ids": len(ids),
            "single": single}


# -- 2. duplicate screening -----------------------------------------------------------------------

def mistype(number: str, rng: random.Random) -> str:
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    serial = number[14:17]
    pos = rng.randrange(3)
    digit = str((int(serial[pos]) + rng.randrange(1, 10)) % 10)
    return make_id(COUNTY, born, int(serial[:pos] + digit + serial[pos + 1:]))


def swap(number: str, rng: random.Random) -> str | None:
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    serial = number[14:17]
    pos = rng.randrange(2)
    swapped = serial[:pos] + serial[pos + 1] + serial[pos] + serial[pos + 2:]
    return None if swapped == serial else make_id(COUNTY, born, int(swapped))


def imported_persons(registered: list[tuple], imported: int, planted: int, rng: random.Random):
    """(new persons, planted pairs {(new id, registered id)})."""
    taken = {p[1] for p in registered}
    new, pairs = [], set()
    for k, original in enumerate(rng.sample(registered, planted * 2)):
        if len(pairs) >= planted:
            break
        kind = k % 3
        if kind == 0:
            number, person_name = mistype(original[1], rng), original[2]
        elif kind == 1:
            number, person_name = swap(original[1], rng), original[2]
        else:
            traditional = zhconv.convert(original[2], "zh-tw")
            if traditional == original[2]:
                continue
            born = original[1][6:14]
            serial = (int(original[1][14:17]) + 2 * rng.randrange(1, 400)) % 1000  # same parity: same sex
            number = make_id(COUNTY, date(int(born[:4]), int(born[4:6]), int(born[6:])), serial)
            person_name = traditional
        if number is None or number in taken:
            continue
        taken.add(number)
        pid = str(uuid.uuid4())
        new.append(PersonKey.of(pid, number, person_name, rng.choice(VILLAGES)))
        pairs.add((pid, original[0]))
    while len(new) < imported:
        number = identity(rng.randrange(DAYS * 1000))[0]
        if number in taken:
            continue
        taken.add(number)
        new.append(PersonKey.of(str(uuid.uuid4()), number, name(rng), rng.choice(VILLAGES)))
    rng.shuffle(new)
    return new, pairs


async def bench_screening(conn: asyncpg.Connection, registered: list[tuple], imported: int, planted: int,
                          rng: random.Random) -> dict:
    new, pairs = imported_persons(registered, imported, planted, rng)
    t0 = time.perf_counter()
    rows = await conn.fetch("SELECT p.id::text, p.id_number, p.name, h.division FROM persons p "
                            "JOIN households h ON h.id = p.household_id WHERE p.active AND h.division LIKE $1",
                            COUNTY + "%")
    load_s = time.perf_counter() - t0
    t0, cpu0 = time.perf_counter(), time.process_time()
    keys = [PersonKey.of(*row) for row in rows]
    keys_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = list(screen(new, keys))
    screen_s, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    flagged = {(c.person.id, c.other.id) for c in found}
    hits = len(flagged & pairs)
    sample = new[:20]
    t0 = time.perf_counter()
    for person in sample:
        for other in keys[:50_000]:
            compare(person, other)
    per_pair = (time.perf_counter() - t0) / (len(sample) * 50_000)
    return {"load": load_s, "keys": keys_s, "screen": screen_s, "cpu": cpu_s, "total": load_s + keys_s + screen_s,
            "planted": len(pairs), "recall": hits / len(pairs), "flagged": len(flagged),
            "precision": hits / len(flagged) if flagged else 1.0, "registered": len(keys), "imported": len(new),
            "all_pairs_s": per_pair * len(new) * len(keys)}


async def run(args: argparse.Namespace, server_url: str) -> None:
    name_ = args.reuse or f"fupin_bench_{secrets.token_hex(4)}"
    await ensure_database(server_url, name_)
    settings = settings_for("registry", database_url=server_url, database=name_)
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    rng = random.Random(16)
    try:
        await migrate(engine, "registry")
        conn = await asyncpg.connect(libpq_url(server_url, name_))
        try:
            pg = await conn.fetchval("SHOW server_version")
            t0 = time.perf_counter()
            registered = await (reload(conn) if args.reuse else populate(conn, args.persons, rng))
            args.persons = len(registered)
            print(f"{len(registered):,} persons in {time.perf_counter() - t0:.0f} s")
            lookup = await bench_lookup(server_url, name_, registered, rng, args.repeats, args.singles)
            print(f"lookup: {lookup}")
            dupes = await bench_screening(conn, registered, args.imported, args.planted, rng)
            print(f"screening: {dupes}")
        finally:
            await conn.close()
    finally:
        await engine.dispose()
        if args.keep or args.reuse:
            print(f"kept database {name_}")
        else:
            await drop_database(server_url, name_)

    m = machine()
    per_10k_single = lookup["single"] * 10_000
    print("\n--- Markdown for bench/RESULTS.md ---\n")
    print(f"## registry_county — {date.today().isoformat()}\n")
    print(f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM; PostgreSQL {pg}; Python {m['python']}")
    print(f"- Command: `bench/registry_county.py --persons {args.persons} --imported {args.imported} "
          f"--planted {args.planted}`\n")
    print("| measure | figure | notes |\n|---|---:|---|")
    print(f"| POST /persons/lookup, {lookup['ids']:,} IDs at {args.persons:,} persons | {lookup['median']:.2f} s "
          f"| median of {args.repeats} (best {lookup['best']:.2f} s); {lookup['found']:,} found; goal < 1 s |")
    print(f"| peer: GET /persons/{{id}} one by one | {per_10k_single:.1f} s per 10,000 | "
          f"{lookup['single'] * 1000:.1f} ms each ({args.singles} timed); the bulk lookup is "
          f"{per_10k_single / lookup['median']:.0f}x faster |")
    print(f"| duplicate screening, {dupes['imported']:,} imported against {dupes['registered']:,} | "
          f"{dupes['total']:.1f} s | load {dupes['load']:.1f} s + keys {dupes['keys']:.1f} s + screen "
          f"{dupes['screen']:.1f} s; CPU of keys + screen {dupes['cpu']:.1f} s; goal < 60 s |")
    print(f"| recall on {dupes['planted']:,} planted duplicates | {dupes['recall']:.3f} | goal ≥ 0.95 |")
    print(f"| precision of {dupes['flagged']:,} flagged pairs | {dupes['precision']:.3f} | the rest: same name, "
          "birth date and sex in the county by chance, or a random ID one edit away with a similar name |")
    print(f"| peer: all pairs without blocking | {dupes['all_pairs_s'] / 3600:.0f} h (extrapolated) | "
          f"{dupes['all_pairs_s'] / dupes['screen']:.0f}x the blocked screening |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--imported", type=int, default=100_000)
    parser.add_argument("--planted", type=int, default=3_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", metavar="DATABASE", help="a database kept by an earlier run (--keep): not "
                        "populated again")
    args = parser.parse_args()
    with postgres_server() as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
