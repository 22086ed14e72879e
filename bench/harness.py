"""What every benchmark script shares: which PostgreSQL to measure on, the machine's facts for
RESULTS.md, and latency percentiles."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from deploy.embedded import EmbeddedPostgres


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
