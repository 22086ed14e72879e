"""What the input boundary (shared/web/boundary.py) costs per request body, against what the route
pays anyway: parsing the same body with ``json.loads`` (FastAPI parses every JSON body once).

Bodies: a disbursement batch of N lines (UTF-8 Chinese names, the common case: no ``\\u`` escapes,
the depth scan only), the same batch ASCII-escaped (every Chinese character a ``\\u`` escape: the
boundary also parses and walks it, the worst case for a valid body) and a hostile body nested
10,000 deep (refused by the scan; ``json.loads`` would raise RecursionError). Pure CPU, no database.

    .venv/bin/python bench/input_boundary.py [--lines N] [--repeat R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import date

from harness import machine
from shared.web.boundary import InputBoundary


def batch(lines: int, ascii_only: bool) -> bytes:
    body = {"batch_ref": "2017-精河-001", "document_no": "精财农〔2017〕12号", "count": lines,
            "total": f"{lines * 1000}.00", "lines": [
                {"line_ref": f"L{n:06d}", "project_code": "652722-2017-0001", "channel": "central_special",
                 "fiscal_year": 2017, "amount": "1000.00", "purpose": "industry",
                 "payee": {"kind": "household", "name": f"王{n}某", "household_id": f"hh-{n}"}}
                for n in range(lines)]}
    return json.dumps(body, ensure_ascii=ascii_only).encode()


async def boundary_seconds(body: bytes, repeat: int) -> tuple[float, int]:
    """Seconds per request through the boundary in front of an app that only drains the body."""
    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    boundary = InputBoundary(app, max_body_bytes=64 * 2**20, max_upload_bytes=256 * 2**20, max_json_depth=32)
    scope = {"type": "http", "method": "POST", "path": "/disbursement-batches", "query_string": b"",
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    statuses = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(repeat):
        await boundary(scope, receive, send)
    return (time.perf_counter() - started) / repeat, statuses[-1]


def parse_seconds(body: bytes, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        json.loads(body)
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    rows = []
    for label, body in (("batch, UTF-8", batch(args.lines, False)), ("batch, \\u-escaped", batch(args.lines, True))):
        checked, status = asyncio.run(boundary_seconds(body, args.repeat))
        parsed = parse_seconds(body, args.repeat)
        rows.append(f"| {label} ({args.lines:,} lines, {len(body) / 2**20:.2f} MiB) | {checked * 1000:.2f} ms "
                    f"| {parsed * 1000:.2f} ms | {checked / parsed:.2f}× | {status} |")
    hostile = b"[" * 10_000 + b"1" + b"]" * 10_000
    checked, status = asyncio.run(boundary_seconds(hostile, args.repeat))
    rows.append(f"| nested 10,000 deep ({len(hostile) / 1024:.0f} KiB) | {checked * 1000:.2f} ms | RecursionError | — "
                f"| {status} |")
    facts = machine()
    print(f"## input_boundary — {date.today().isoformat()}\n")
    print(f"- Machine: {facts['cpus']} CPUs ({facts['cpu']}), {facts['memory']} RAM; Python {facts['python']}")
    print(f"- Command: `bench/input_boundary.py --lines {args.lines} --repeat {args.repeat}`\n")
    print("| body | boundary per request | json.loads of the same body | ratio | status |")
    print("|---|---:|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
