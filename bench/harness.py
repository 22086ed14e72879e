"""What every benchmark script shares: which PostgreSQL to measure on, the machine's facts for
RESULTS.md, and latency percentiles."""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing as mp
import os
import secrets
import time
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import uuid

import asyncpg
import httpx
import psutil

from deploy.embedded import EmbeddedPostgres, free_port
from shared.config import settings_for

ROOT = Path(__file__).resolve().parent.parent


def local_postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def postgres_server() -> Iterator[str]:
    """The server URL: FUPIN_BENCH_DATABASE_URL, else the one on 127.0.0.1:5432 if it answers,
    else an embedded PostgreSQL for the length of the run (as the test suite picks)."""
    url = os.environ.get("FUPIN_BENCH_DATABASE_URL")
    if not url and local_postgres_answers():
        url = "postgresql://postgres@127.0.0.1:5432/postgres"
    if url:
        yield url
        return
    server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="fupin-bench-pg-")) / "data").start()
    try:
        yield server.url
    finally:
        server.destroy()


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    return {"cpus": nproc, "cpu": model, "memory": f"{kib / 1024 ** 2:.1f} GiB",
            "python": platform.python_version()}


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds of latencies in seconds."""
    q = statistics.quantiles([x * 1000 for x in latencies], n=100)
    return q[49], q[94], q[98]


def service_app():
    """The app a :class:`ServiceProcess` serves (``uvicorn --factory``): the service named by
    FUPIN_BENCH_SERVICE, settings from FUPIN_*, no background workers (the request path only)."""
    service = os.environ["FUPIN_BENCH_SERVICE"]
    module = importlib.import_module(f"services.{service}.app")
    return module.create_app(settings_for(service), run_background=False)


class ServiceProcess:
    """A service served by ``uvicorn --factory`` (``workers`` processes) in a child process on a
    free port, on the given database; the CPU of it and its workers."""

    def __init__(self, service: str, server_url: str, database: str, workers: int = 1, *, root: Path = ROOT,
                 options: Sequence[str] = (), **settings: str):
        """``settings``: more FUPIN_* variables for the service (``group_commit_max_members="1"``);
        ``root``: the source tree to serve (another checkout: the code before a change, for a peer
        in the same run); ``options``: more uvicorn options (``--loop asyncio --http h11``)."""
        self.port = free_port()
        env = {**os.environ, "FUPIN_DATABASE_URL": server_url, f"FUPIN_{service.upper()}_DATABASE": database,
               "FUPIN_BENCH_SERVICE": service, "FUPIN_LOG_LEVEL": "WARNING",
               "PYTHONPATH": f"{root}:{ROOT / 'bench'}", **{f"FUPIN_{k.upper()}": v for k, v in settings.items()}}
        env.pop("FUPIN_KAFKA_BOOTSTRAP", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "harness:service_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(workers), "--no-access-log", "--log-level", "warning",
             "--timeout-keep-alive", "120", *options],
            cwd=root, env=env)
        self.url = f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.url) as client:
            for _ in range(600):
                if self.process.poll() is not None:
                    raise SystemExit("the service process exited before it answered")
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise SystemExit("the service process did not answer within 60 s")

    def cpu(self) -> float:
        root = psutil.Process(self.process.pid)
        return sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


#: 精河县, the county the money benchmarks pay households in
JINGHE_COUNTY = "652722000000"


def household_id(h: int) -> str:
    """The registry id of synthetic household ``h`` (a UUID, as the registry's are)."""
    return str(uuid.UUID(int=(0x652722 << 64) | h))


async def register_households(conn: asyncpg.Connection, count: int) -> None:
    """Households 0 … count-1 as registered (建档立卡) households of 精河县 in the funds service's read
    model of the registry's events, written directly (the funds service pays no one else)."""
    await conn.execute("INSERT INTO registry_households (id, division, status) SELECT * FROM unnest($1::uuid[], "
                       "$2::text[], $3::text[]) ON CONFLICT DO NOTHING", [household_id(h) for h in range(count)],
                       [JINGHE_COUNTY] * count, ["registered"] * count)


# -- load from other processes ---------------------------------------------------------------------

async def backend_cpu(conn: asyncpg.Connection, database: str) -> dict[int, float]:
    """CPU seconds (user + system) of every PostgreSQL backend connected to ``database``, by pid."""
    out = {}
    for (pid,) in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database):
        try:
            out[pid] = sum(psutil.Process(pid).cpu_times()[:2])
        except (psutil.Error, OSError):
            pass
    return out


def load_process(url: str, path: str, token: str, jobs: list[list[bytes]], start, out) -> None:
    """One load process: a closed-loop client per job (its request bodies, each POSTed to ``path``
    with a fresh Idempotency-Key); puts (latencies, statuses, its own CPU seconds) on ``out``."""
    async def main() -> tuple[list[float], dict[int, int]]:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        limits = httpx.Limits(max_connections=len(jobs) + 2, max_keepalive_connections=len(jobs) + 2)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
            async def one(bodies: list[bytes]) -> None:
                for body in bodies:
                    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                               "Idempotency-Key": secrets.token_hex(12)}
                    t0 = time.perf_counter()
                    response = await client.post(path, content=body, headers=headers)
                    latencies.append(time.perf_counter() - t0)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            await client.get("/healthz")  # connect before the start
            start.wait()
            await asyncio.gather(*(one(bodies) for bodies in jobs))
        return latencies, statuses

    cpu0 = sum(os.times()[:2])
    latencies, statuses = asyncio.run(main())
    out.put((latencies, statuses, sum(os.times()[:2]) - cpu0))


async def drive(server: ServiceProcess, conn: asyncpg.Connection, database: str, path: str, token: str,
                jobs: list[list[bytes]], procs: int) -> dict:
    """POST every job's bodies to ``path`` from ``procs`` load processes (:func:`load_process`), all
    starting together; requests/s, latency percentiles, statuses, and the CPU per request of the
    server process, of the database's PostgreSQL backends and of the load processes, apart."""
    procs = min(procs, len(jobs))
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=load_process, args=(server.url, path, token, jobs[p::procs], start, out))
               for p in range(procs)]
    for w in workers:
        w.start()
    await asyncio.sleep(1.5)  # the load processes import and connect
    pg0, server0 = await backend_cpu(conn, database), server.cpu()
    t0 = time.perf_counter()
    start.set()
    results = [await asyncio.to_thread(out.get) for _ in workers]
    elapsed = time.perf_counter() - t0
    server_cpu = server.cpu() - server0
    pg1 = await backend_cpu(conn, database)
    pg_cpu = sum(cpu - pg0.get(pid, 0.0) for pid, cpu in pg1.items())
    for w in workers:
        w.join()
    latencies = [x for r in results for x in r[0]]
    statuses: dict[int, int] = {}
    for r in results:
        for status, count in r[1].items():
            statuses[status] = statuses.get(status, 0) + count
    n = len(latencies)
    p50, p95, p99 = percentiles(latencies)
    return {"rate": n / elapsed, "p50": p50, "p95": p95, "p99": p99, "statuses": statuses, "n": n,
            "server_ms": server_cpu / n * 1000, "pg_ms": pg_cpu / n * 1000,
            "load_ms": sum(r[2] for r in results) / n * 1000}
