"""Load test of the generic group commit (``shared/web/group_commit.py``) on write paths other than
``POST /disbursements`` (which has a group of its own, see ``bench/disbursements_load.py``).

What is measured, in one run against fresh, migrated databases:

0. **Setup** (not timed) — the service is started as ``uvicorn --factory`` in a child process (no
   relay, consumers or schedulers: the request path only). For funds, over HTTP: appropriate and
   allocate 中央 → 新疆 → 博州 → 精河县 and put one project in the local read model.
1. **Scenarios** — M requests from C closed-loop clients (each waits for its answer before sending
   the next), spread over ``--procs`` load processes, each an asyncio loop with its own
   ``httpx.AsyncClient``:
   - ``POST /commitments`` (funds): every request commits 0.01 from the county's pool to one project
     — one hot account, read (balance), then written, by every request;
   - ``POST /households`` (registry): every request proposes a new household of two persons — the
     registry reads the persons' active households before writing.
   **Peer in the same run**: the same scenarios against a server with group commit off
   (``FUPIN_GROUP_COMMIT_MAX_MEMBERS=1``: a claim transaction and a unit of work per request, as
   before group commit); the ratio is printed. Reported: requests/s, latency percentiles, the
   statuses, CPU per request of (a) the server process, (b) the PostgreSQL backends serving the
   database, (c) the load generator processes.
2. **Checks** — funds: ``sum(balance_fen) = 0``; each event chain verifies.

Server: ``FUPIN_BENCH_DATABASE_URL``, else 127.0.0.1:5432 if it answers, else an embedded
PostgreSQL. Timing is printed, never asserted.

    .venv/bin/python bench/group_commit_load.py [--requests M] [--clients C] [--procs P]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
from datetime import date, datetime, timedelta, timezone

import asyncpg
import httpx

from harness import ServiceProcess, drive, machine, postgres_server
from shared.auth import issue_token
from shared.config import libpq_url, settings_for
from shared.db import drop_database, ensure_database, make_engine, migrate
from shared.events import store
from shared.idcard import make_id

CENTRAL, XINJIANG, BOZHOU, JINGHE = "000000000000", "650000000000", "652700000000", "652722000000"
ROLES = {CENTRAL: "central_finance", XINJIANG: "province_finance", BOZHOU: "city_finance", JINGHE: "county_finance"}
VILLAGE = "652722102201"
CHANNEL = "central_special"
PROJECT = "P-GROUP-1"


def commitment(n: int, today: date) -> dict:
    return {"channel": CHANNEL, "fiscal_year": today.year, "document_date": today.isoformat(), "amount": "0.01",
            "project_code": PROJECT, "source": "available", "document_no": "精财农〔2026〕负载"}


def household(n: int, today: date) -> dict:
    birth = date(1950, 1, 1) + timedelta(days=(2 * n) // 1000)
    members = [{"id_number": make_id("652722", birth, (2 * n + k) % 1000), "name": f"成员{n}-{k}",
                "relation": ("head", "spouse")[k], "labour_capacity": "normal_labour"} for k in range(2)]
    return {"division": VILLAGE, "poverty_attribute": "general", "main_cause": "illness", "members": members}


#: scenario → (service, path, body of request n, the token's role and division)
SCENARIOS = {
    "commitments": ("funds", "/commitments", commitment, ("county_finance", JINGHE)),
    "households": ("registry", "/households", household, ("village", VILLAGE)),
}


async def setup_funds(settings, url: str, conn: asyncpg.Connection, today: date) -> None:
    tokens = {d: issue_token(settings, sub=f"bench-{r}", roles=[r], division=d) for d, r in ROLES.items()}
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        async def post(path: str, division: str, n: int, **body) -> None:
            response = await client.post(path, headers={"Authorization": f"Bearer {tokens[division]}",
                                                        "Idempotency-Key": f"setup-{n}"}, json={
                "channel": CHANNEL, "fiscal_year": today.year, "document_date": today.isoformat(), **body})
            if response.status_code != 201:
                raise SystemExit(f"{path} answered {response.status_code}: {response.text[:2000]}")

        amount = "100000000.00"
        await post("/appropriations", CENTRAL, 0, amount=amount, document_no="财农〔2026〕1号")
        for n, (source, target, doc) in enumerate(((CENTRAL, XINJIANG, "财农〔2026〕8号"),
                                                    (XINJIANG, BOZHOU, "新财农〔2026〕21号"),
                                                    (BOZHOU, JINGHE, "博州财农〔2026〕5号")), start=1):
            await post("/allocations", source, n, amount=amount, to_division=target, document_no=doc)
    await conn.execute("INSERT INTO projects_view (code, division, in_library, publicity_passed, cancelled, last_event) "
                       "VALUES ($1, $2, true, true, false, 'bench')", PROJECT, JINGHE)


async def measure(args, server: ServiceProcess, conn, database: str, token: str, path: str, make, first: int) -> dict:
    today = datetime.now(timezone.utc).date()
    per_client = max(args.requests // args.clients, 1)
    jobs = [[json.dumps(make(first + c * per_client + k, today), ensure_ascii=False).encode()
             for k in range(per_client)] for c in range(args.clients)]
    figures = await drive(server, conn, database, path, token, jobs, args.procs)
    groups, members = await group_counts(server.url)
    return {"groups": groups, "members": members, **figures}


async def group_counts(url: str) -> tuple[float, float]:
    """The server's generic groups (committed or refused) and their members so far, from /metrics."""
    async with httpx.AsyncClient(base_url=url) as client:
        text = (await client.get("/metrics")).text
    groups = members = 0.0
    for line in text.splitlines():
        if 'group="writes"' not in line or line.startswith("#"):
            continue
        if line.startswith("fupin_group_commits_total{") and 'outcome="failed"' not in line:
            groups += float(line.rsplit(" ", 1)[1])
        elif line.startswith("fupin_group_commit_members_total{"):
            members += float(line.rsplit(" ", 1)[1])
    return groups, members


async def run(args: argparse.Namespace, server_url: str) -> None:
    configs = [("group commit", {})]
    if args.compare:
        configs.append(("one request per transaction", {"group_commit_max_members": "1"}))
    rows: list[dict] = []
    checks = []
    load_before = os.getloadavg()[0]
    pg = "?"
    for s, scenario in enumerate(args.scenarios):
        service, path, make, (role, division) = SCENARIOS[scenario]
        name = f"fupin_bench_{secrets.token_hex(4)}"
        await ensure_database(server_url, name)
        settings = settings_for(service, database_url=server_url, database=name, kafka_bootstrap=None)
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            await migrate(engine, service)
        finally:
            await engine.dispose()
        conn = await asyncpg.connect(libpq_url(server_url, name))
        try:
            pg = await conn.fetchval("SHOW server_version")
            token = issue_token(settings, sub=f"bench-{role}", roles=[role], division=division)
            for n, (config, variables) in enumerate(configs):
                server = ServiceProcess(service, server_url, name, 1, **variables)
                try:
                    await server.ready()
                    if n == 0 and service == "funds":
                        await setup_funds(settings, server.url, conn, datetime.now(timezone.utc).date())
                    before = await group_counts(server.url)
                    row = await measure(args, server, conn, name, token, path, make, first=n * 1_000_000 + s * 10_000)
                    row["groups"] -= before[0]
                    row["members"] -= before[1]
                finally:
                    server.stop()
                row["label"] = f"{config}: POST {path}, {args.clients} clients"
                print(f"{row['label']}: {row['rate']:,.0f} requests/s, p99 {row['p99']:.1f} ms, {row['statuses']}")
                rows.append(row)
            report = await store.verify(conn)
            total = await conn.fetchval("SELECT coalesce(sum(balance_fen), 0) FROM accounts") if service == "funds" else 0
            checks.append((path, report, total))
        finally:
            await conn.close()
            await drop_database(server_url, name)
    load_after = os.getloadavg()[0]

    m = machine()
    print("\n--- Markdown for bench/RESULTS.md ---\n")
    print(f"## group_commit_load — {date.today().isoformat()}\n")
    print(f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM; load average {load_before:.1f} → "
          f"{load_after:.1f} (other sessions share the machine)")
    print(f"- PostgreSQL {pg}; Python {m['python']}; the service: `uvicorn --workers 1` in its own process; "
          f"load: {args.procs} processes of closed-loop httpx clients")
    print(f"- Command: `bench/group_commit_load.py --requests {args.requests} --clients {args.clients} "
          f"--procs {args.procs} --scenarios {' '.join(args.scenarios)}`\n")
    print("| scenario | requests/s | p50 / p95 / p99 ms | CPU per request: server / PostgreSQL / load "
          "| requests per group | statuses |")
    print("|---|---:|---|---|---:|---|")
    for r in rows:
        size = f"{r['members'] / r['groups']:.1f}" if r["groups"] else "—"
        print(f"| {r['label']} ({r['n']:,} requests) | {r['rate']:,.0f} | {r['p50']:.1f} / {r['p95']:.1f} / "
              f"{r['p99']:.1f} | {r['server_ms']:.2f} / {r['pg_ms']:.2f} / {r['load_ms']:.2f} ms | {size} "
              f"| {r['statuses']} |")
    if args.compare:
        print()
        for grouped, single in zip(rows[::2], rows[1::2]):
            print(f"- {grouped['label']}: {grouped['rate'] / single['rate']:.2f}× the requests/s of one request per "
                  f"transaction; server + PostgreSQL CPU per request "
                  f"{(grouped['server_ms'] + grouped['pg_ms']) / (single['server_ms'] + single['pg_ms']):.2f}×")
    print()
    for path, report, total in checks:
        print(f"Checks {path}: chain verify ok={report.ok} ({report.checked:,} events); sum(balance_fen) = {total}")
    if any(not report.ok or total != 0 for _, report, total in checks):
        raise SystemExit("the ledger is not zero-sum or an event log does not verify")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500, help="requests per scenario (M)")
    parser.add_argument("--clients", type=int, default=16, help="closed-loop clients (C)")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--scenarios", nargs="+", choices=sorted(SCENARIOS), default=["commitments", "households"])
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the peer: the same scenarios with group commit off (one request per transaction)")
    args = parser.parse_args()
    with postgres_server() as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
