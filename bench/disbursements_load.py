"""Load test of ``POST /disbursements``: the funds service in its own server process(es), the load
from other processes, server-side CPU per request reported apart from the load generator's.

What is measured, in one run against one server and one fresh, migrated ``funds`` database:

0. **Setup** (not timed) — the funds service is started as ``uvicorn --factory`` in a child
   process (``W`` worker processes; no relay, consumers or schedulers: the request path only).
   Over HTTP: appropriate, allocate 中央 → 新疆 → 博州 → 精河县, enter ``--accounts`` projects into
   the local read model ``projects_view`` and commit money to each (one committed account per
   project). Then (``--warmup S``, default 10, wrk only) S seconds of load that is not reported,
   and ANALYZE: the configurations are measured on tables with rows and current statistics.
1. **Scenarios** — for each client count in ``--clients`` (default 16 and 64) and each shape —
   ``hot`` (every request disburses from one committed account) and ``spread`` (the requests
   cycle over the projects) — that many closed-loop clients (each waits for its answer before
   sending the next). The load generator runs in its own process: by default Debian's ``wrk``
   (``apt-get install wrk``) with ``bench/disbursements.lua`` — every request with the JWT, a
   fresh ``Idempotency-Key`` and line reference, a household payee — for ``--seconds``; else
   (``--load httpx``) M requests from ``--procs`` processes of ``httpx.AsyncClient`` clients.
   Reported: requests/s, latency percentiles, the statuses, and CPU per request of (a) the server
   processes (uvicorn and its workers, from psutil), (b) the PostgreSQL backends serving the
   database, (c) the load generator (wrk's own rusage, or the load processes').
   **Configurations in the same run**, each with the ratio of the first to it: one per value of
   ``--workers`` (default 2, then 1); ``--baseline TREE``: another checkout served the same way
   (the code before a change); ``--asyncio``: uvicorn's pure-Python loop and parser instead of
   uvloop + httptools; and (unless ``--no-compare``) group commit off
   (``FUPIN_GROUP_COMMIT_MAX_MEMBERS=1``: one request per transaction).
   ``--py-spy PREFIX`` records the server during each wrk scenario (collapsed stacks).
2. **Checks** — ``sum(balance_fen) = 0`` over all accounts and the event chain verifies.

Server: ``FUPIN_BENCH_DATABASE_URL``, else 127.0.0.1:5432 if it answers, else an embedded
PostgreSQL. Timing is printed, never asserted.

    .venv/bin/python bench/disbursements_load.py [--seconds S] [--clients 16 64] [--workers 2 1]
        [--baseline TREE] [--asyncio] [--load wrk|httpx] [--py-spy PREFIX]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import asyncpg
import httpx

from harness import (ROOT, ServiceProcess, backend_cpu, drive, household_id, machine, postgres_server,
                     register_households)
from shared.auth import issue_token
from shared.config import libpq_url, settings_for
from shared.db import drop_database, ensure_database, make_engine, migrate
from shared.events import store
from shared.money import format_fen

CENTRAL, XINJIANG, BOZHOU, JINGHE = "000000000000", "650000000000", "652700000000", "652722000000"
ROLES = {CENTRAL: "central_finance", XINJIANG: "province_finance", BOZHOU: "city_finance", JINGHE: "county_finance"}
CHANNEL = "central_special"

#: distinct household payees the single disbursements cycle over
HOUSEHOLDS = 50_000


# -- setup over HTTP ------------------------------------------------------------------------------

class Office:
    def __init__(self, settings, url: str, today: date):
        self.today, self.n = today, 0
        self.client = httpx.AsyncClient(base_url=url, timeout=120)
        self.tokens = {d: issue_token(settings, sub=f"bench-{r}", roles=[r], division=d) for d, r in ROLES.items()}

    async def post(self, path: str, division: str, **body) -> dict:
        self.n += 1
        money = {"channel": CHANNEL, "fiscal_year": self.today.year, "document_date": self.today.isoformat(), **body}
        response = await self.client.post(path, json=money, headers={
            "Authorization": f"Bearer {self.tokens[division]}", "Idempotency-Key": f"setup-{self.n}"})
        if response.status_code != 201:
            raise SystemExit(f"{path} answered {response.status_code}: {response.text[:2000]}")
        return response.json()

    async def setup(self, conn: asyncpg.Connection, accounts: int, per_account_fen: int) -> list[str]:
        amount = format_fen(per_account_fen * accounts)
        await self.post("/appropriations", CENTRAL, amount=amount, document_no="财农〔2026〕1号")
        for source, target, doc in ((CENTRAL, XINJIANG, "财农〔2026〕8号"), (XINJIANG, BOZHOU, "新财农〔2026〕21号"),
                                    (BOZHOU, JINGHE, "博州财农〔2026〕5号")):
            await self.post("/allocations", source, amount=amount, to_division=target, document_no=doc)
        projects = [f"P-LOAD-{i:03d}" for i in range(accounts)]
        await conn.executemany(
            "INSERT INTO projects_view (code, division, in_library, publicity_passed, cancelled, last_event) "
            "VALUES ($1, $2, true, true, false, 'bench')", [(code, JINGHE) for code in projects])
        await register_households(conn, HOUSEHOLDS)
        for code in projects:
            await self.post("/commitments", JINGHE, amount=format_fen(per_account_fen), project_code=code,
                            source="available", document_no="精财农〔2026〕3号")
        await self.client.aclose()
        return projects


# -- the load processes ---------------------------------------------------------------------------

def request_body(project: str, year: int, today: date, n: int) -> bytes:
    h = n % HOUSEHOLDS
    return json.dumps({
        "channel": CHANNEL, "fiscal_year": year, "document_date": today.isoformat(), "amount": "12.34",
        "document_no": "精财拨〔2026〕单笔", "project_code": project, "line_ref": f"S-{n:08d}",
        "payee": {"kind": "household", "name": f"户{h:06d}", "household_id": household_id(h)}},
        ensure_ascii=False).encode()


async def scenario(args, server: ServiceProcess, conn, database, token, projects, clients: int, shape: str, first: int):
    today = datetime.now(timezone.utc).date()
    per_client = max(args.requests // clients, 1)
    jobs = []
    for c in range(clients):
        project = projects[0] if shape == "hot" else projects[c % len(projects)]
        jobs.append([request_body(project, today.year, today, first + c * per_client + k) for k in range(per_client)])
    figures = await drive(server, conn, database, "/disbursements", token, jobs, args.procs)
    return {"label": f"{clients} clients, {shape}", **figures}


WRK_SCRIPT = Path(__file__).with_name("disbursements.lua")
#: Load before the first configuration is measured (see :func:`warm_up`).
WARMUP_SECONDS = 10


async def scenario_wrk(args, server: ServiceProcess, conn, database, token, projects, clients: int, shape: str,
                       first: int):
    """The same scenario driven by ``wrk`` (one process, ``--wrk-threads`` threads, C connections,
    ``--seconds`` long): a fresh key, line reference and the token on every request (bench/disbursements.lua)."""
    today = datetime.now(timezone.utc).date()
    chosen = projects[:1] if shape == "hot" else projects
    command = ["wrk", "-t", str(min(args.wrk_threads, clients)), "-c", str(clients), "-d", f"{args.seconds}s",
               "--timeout", "30s", "-s", str(WRK_SCRIPT), server.url, "--", token, f"r{first}", ",".join(chosen),
               today.isoformat()]
    spy = None
    if args.py_spy:  # a profile of the server process(es) while the load runs (collapsed stacks)
        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--subprocesses",
                                "--pid", str(server.process.pid),
                                "--duration", str(args.seconds), "--rate", "250", "--nonblocking", "--format", "raw",
                                "--output", f"{args.py_spy}-{clients}-{shape}.txt"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pg0, server0 = await backend_cpu(conn, database), server.cpu()
    t0 = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    _, status, usage = await asyncio.to_thread(os.wait4, process.pid, 0)
    elapsed = time.perf_counter() - t0
    server_cpu = server.cpu() - server0
    pg1 = await backend_cpu(conn, database)
    pg_cpu = sum(cpu - pg0.get(pid, 0.0) for pid, cpu in pg1.items())
    if spy is not None:
        await asyncio.to_thread(spy.wait)
    assert process.stdout is not None
    output = process.stdout.read()
    line = next((line for line in output.splitlines() if line.startswith("WRK ")), None)
    if status != 0 or line is None:
        raise SystemExit(f"wrk failed ({status}): {output[-2000:]}")
    result = json.loads(line[4:])
    n = result["requests"]
    statuses = {int(k): v for k, v in result["statuses"].items()}
    if result["errors"]:
        statuses[0] = result["errors"]  # socket errors and timeouts
    return {"label": f"{clients} clients, {shape}", "rate": n / (result["duration_us"] / 1e6),
            "p50": result["p50"] / 1000, "p95": result["p95"] / 1000, "p99": result["p99"] / 1000,
            "statuses": statuses, "server_ms": server_cpu / n * 1000, "pg_ms": pg_cpu / n * 1000,
            "load_ms": (usage.ru_utime + usage.ru_stime) / n * 1000, "n": n, "elapsed": elapsed}


async def warm_up(args, server: ServiceProcess, conn, database, token, projects) -> None:
    """Load that is not reported, then ANALYZE: every configuration is measured on tables of some
    thousand rows with current statistics. Without it the configuration served first ran on empty
    tables whose plans (prepared, generic) were chosen for no rows — 1.4–2× slower than the same
    code served second, PostgreSQL's CPU per request up by half (2026-12-05, RESULTS.md)."""
    warm = argparse.Namespace(**{**vars(args), "seconds": args.warmup, "py_spy": None})
    row = await scenario_wrk(warm, server, conn, database, token, projects, max(args.clients), "spread",
                             first=999_000_000)
    await conn.execute("ANALYZE")
    print(f"warm-up ({args.warmup} s, not reported): {row['rate']:,.0f} requests/s, then ANALYZE")


async def run(args: argparse.Namespace, server_url: str) -> None:
    name = f"fupin_bench_{secrets.token_hex(4)}"
    await ensure_database(server_url, name)
    settings = settings_for("funds", database_url=server_url, database=name, kafka_bootstrap=None)
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        await migrate(engine, "funds")
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(libpq_url(server_url, name))
    rows = []
    # (label, FUPIN_* variables, source tree, workers, uvicorn options); the first sets the data up
    configs = [(f"group commit, {w} worker{'s' if w > 1 else ''}", {}, ROOT, w, ()) for w in args.workers]
    if args.baseline:
        configs.append((f"before ({args.baseline.name}), {args.workers[0]} worker", {}, args.baseline.resolve(),
                        args.workers[0], ()))
    if args.asyncio:
        configs.append(("asyncio + h11 instead of uvloop + httptools", {}, ROOT, args.workers[0],
                        ("--loop", "asyncio", "--http", "h11")))
    if args.compare:
        configs.append(("one request per transaction", {"group_commit_max_members": "1"}, ROOT, args.workers[0], ()))
    scenarios = [(c, s) for c in args.clients for s in ("hot", "spread")]
    try:
        pg = await conn.fetchval("SHOW server_version")
        today = datetime.now(timezone.utc).date()
        token = issue_token(settings, sub="bench-county_finance", roles=["county_finance"], division=JINGHE)
        load_before = os.getloadavg()[0]
        for n, (config, variables, root, workers, options) in enumerate(configs):
            server = ServiceProcess("funds", server_url, name, workers, root=root, options=options, **variables)
            try:
                await server.ready()
                if n == 0:
                    most = args.requests if args.load == "httpx" else 5000 * args.seconds  # requests per scenario
                    projects = await Office(settings, server.url, today).setup(
                        conn, args.accounts, per_account_fen=1234 * most * (len(scenarios) * len(configs) + 1) * 2)
                    if args.warmup and args.load == "wrk":
                        await warm_up(args, server, conn, name, token, projects)
                for i, (clients, shape) in enumerate(scenarios):
                    drive = scenario_wrk if args.load == "wrk" else scenario
                    row = await drive(args, server, conn, name, token, projects, clients, shape,
                                      first=(n * 10 + i) * 1_000_000)
                    row["label"] = f"{config}: {row['label']}"
                    print(f"{row['label']}: {row['rate']:,.0f} requests/s, p99 {row['p99']:.1f} ms, {row['statuses']}")
                    rows.append(row)
            finally:
                server.stop()
        load_after = os.getloadavg()[0]
        total = await conn.fetchval("SELECT coalesce(sum(balance_fen), 0) FROM accounts")
        report = await store.verify(conn)
    finally:
        await conn.close()
        await drop_database(server_url, name)

    m = machine()
    print("\n--- Markdown for bench/RESULTS.md ---\n")
    print(f"## disbursements_load — {date.today().isoformat()}\n")
    print(f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM; load average {load_before:.1f} → "
          f"{load_after:.1f} (other sessions share the machine)")
    workers = " ".join(map(str, args.workers))
    print(f"- PostgreSQL {pg}; Python {m['python']}; funds app: `uvicorn --workers` {workers} in its own "
          f"process(es) (uvloop + httptools unless said); load: {load_generator(args)}")
    extra = (f" --warmup {args.warmup}" if args.warmup != WARMUP_SECONDS else "") + (
        f" --baseline {args.baseline}" if args.baseline else "") + (" --asyncio" if args.asyncio else "") + (
        "" if args.compare else " --no-compare")
    print(f"- Command: `bench/disbursements_load.py --load {args.load} {sized(args)} --clients "
          f"{' '.join(map(str, args.clients))} --workers {workers} --accounts {args.accounts}{extra}`\n")
    print("| scenario | requests/s | p50 / p95 / p99 ms | CPU per request: server / PostgreSQL / load | statuses |")
    print("|---|---:|---|---|---|")
    for r in rows:
        print(f"| {r['label']} ({r['n']:,} requests) | {r['rate']:,.0f} | {r['p50']:.1f} / {r['p95']:.1f} / "
              f"{r['p99']:.1f} | {r['server_ms']:.2f} / {r['pg_ms']:.2f} / {r['load_ms']:.2f} ms | {r['statuses']} |")
    first = rows[:len(scenarios)]
    for c, (config, *_) in enumerate(configs[1:], start=1):
        print(f"\nRatios, {configs[0][0]} / {config}: " + "; ".join(
            f"{clients} clients {shape} {mine['rate'] / peer['rate']:.2f}×" for (clients, shape), mine, peer in zip(
                scenarios, first, rows[c * len(scenarios):(c + 1) * len(scenarios)])))
    print(f"\nChecks: sum(balance_fen) = {total}; chain verify ok={report.ok} ({report.checked:,} events)")
    if total != 0 or not report.ok:
        raise SystemExit("the ledger is not zero-sum or the event log does not verify")


def load_generator(args) -> str:
    if args.load == "wrk":
        return (f"`wrk` ({args.wrk_threads} threads, one process, bench/disbursements.lua: a fresh Idempotency-Key and "
                f"the JWT on every request), {args.seconds} s per scenario")
    return f"{args.procs} processes of closed-loop httpx clients"


def sized(args) -> str:
    if args.load == "wrk":
        return f"--seconds {args.seconds} --wrk-threads {args.wrk_threads}"
    return f"--requests {args.requests} --procs {args.procs}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario (M)")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64], help="closed-loop clients per scenario")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 1],
                        help="uvicorn worker processes of the funds service: one configuration per value")
    parser.add_argument("--baseline", type=Path, metavar="TREE", help="also serve another checkout of the project "
                        "(e.g. `git worktree add /tmp/before main~3`): the code before a change, in the same run")
    parser.add_argument("--asyncio", action="store_true",
                        help="also serve with uvicorn's pure-Python loop and parser (asyncio + h11)")
    parser.add_argument("--accounts", type=int, default=16, help="committed accounts of the spread scenario")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes (--load httpx)")
    parser.add_argument("--load", choices=["wrk", "httpx"], default="wrk" if shutil.which("wrk") else "httpx",
                        help="the load generator: wrk with bench/disbursements.lua (default where installed: "
                        "Debian's `apt-get install wrk`), or processes of closed-loop httpx clients")
    parser.add_argument("--seconds", type=int, default=10, help="length of each scenario (--load wrk)")
    parser.add_argument("--py-spy", metavar="PREFIX", help="record the server with py-spy during each wrk scenario "
                        "(collapsed stacks in PREFIX-<clients>-<shape>.txt; CPU figures then include py-spy's pauses)")
    parser.add_argument("--warmup", type=int, default=WARMUP_SECONDS, help="seconds of load not reported after "
                        "the set-up, then ANALYZE (--load wrk; 0: none)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (--load wrk)")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the peer: the same scenarios with group commit off (one request per transaction)")
    args = parser.parse_args()
    with postgres_server() as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
