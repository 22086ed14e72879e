"""What writing a spreadsheet export costs (shared/web/export.py): rows per second and the file's
size for the households roster's columns, as CSV and as XLSX (openpyxl write-only mode), and the
process's peak resident memory after each (rows go into a spooled temporary file: 8 MiB in memory,
disk beyond; the input rows themselves are held by the script).
Pure CPU, no database: the rows are the JSON dicts the endpoint would answer.

    .venv/bin/python bench/exports.py [--rows N]
"""

from __future__ import annotations

import argparse
import time
import resource

from harness import machine
from services.registry.api.exports import HOUSEHOLDS
from shared.web.export import Download


def household(n: int) -> dict:
    return {"number": f"652722102201{n:04d}", "division": "652722102201", "status": "registered",
            "poverty_attribute": "general", "main_cause": "illness", "secondary_cause": "lack_of_funds",
            "registered_year": 2014, "registered_on": "2014-10-20", "exited_on": None, "helper": {"name": "李干部"},
            "members": [{"name": f"王{n}某", "id_number": "652722196804121234", "relation": "head", "active": True},
                        {"name": f"李{n}某", "id_number": "652722197009031242", "relation": "spouse", "active": True}]}


def run(rows: int, format: str) -> tuple[float, int, int]:
    items = [household(n) for n in range(rows)]
    started = time.perf_counter()
    download = Download(HOUSEHOLDS, format)
    for page in range(0, rows, 500):  # as the export walks a paginated list
        download.write(items[page:page + 500])
    download.file.close()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    size = download.spool.tell()
    download.spool.close()
    return seconds, size, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    info = machine()
    print(f"## exports — {time.strftime('%Y-%m-%d')}\n")
    print(f"- Machine: {info['cpus']} CPUs, {info['memory']}; Python {info['python']}")
    print(f"- Command: `bench/exports.py --rows {args.rows}`\n")
    print("| format | rows | seconds | rows/s | file | process's peak RSS |\n|---|---:|---:|---:|---:|---:|")
    for format in ("csv", "xlsx"):
        seconds, size, peak = run(args.rows, format)
        print(f"| {format} | {args.rows:,} | {seconds:.2f} | {args.rows / seconds:,.0f} | {size / 2**20:.1f} MiB "
              f"| {peak / 2**20:.1f} MiB |")


if __name__ == "__main__":
    main()
