"""CPU of the web path of ``POST /disbursements`` in one process, without a database or network:
the funds app called as ASGI with a prepared request, the group commit stubbed out (it answers at
once), so what is measured is what every request pays before its work — the middlewares, routing,
dependencies (the JWT, the body's validation) and the endpoint. Also a request refused before the
endpoint (no token: 401), an unknown path (404: every route scanned) and ``GET /healthz``.

Each tree (this one, and ``--baseline TREE``: another checkout, e.g. ``git archive`` of main) runs in
a child process of its own in the same run; CPU per request from ``time.process_time`` over N
requests after a warm-up. Printed, never asserted.

    .venv/bin/python bench/request_path.py [--requests N] [--baseline TREE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import asyncio, json, os, sys, time
from shared.config import settings_for
from shared.auth import issue_token
from services.funds.app import create_app
from shared.web.group_commit import GroupCommit
from starlette.responses import JSONResponse

async def answered(self, request, work):  # the group stubbed: answered at once
    return JSONResponse({"ok": True}, status_code=201)

GroupCommit.submit = answered
GroupCommit.of = classmethod(lambda cls, request, name, apply: cls.__new__(cls))
settings = settings_for("funds", database_url="postgresql://x@127.0.0.1/x", kafka_bootstrap=None)
app = create_app(settings, run_background=False)
token = issue_token(settings, sub="bench", roles=["county_finance"], division="652722000000")
body = json.dumps({"channel": "central_special", "fiscal_year": 2026, "document_date": "2026-12-03",
                   "amount": "12.34", "document_no": "精财拨〔2026〕单笔", "project_code": "P-LOAD-001",
                   "line_ref": "S-1", "payee": {"kind": "household", "name": "户000001",
                   "household_id": "00000000-0065-2722-0000-000000000001"}}, ensure_ascii=False).encode()
JSON = {"content-type": "application/json", "content-length": str(len(body)), "idempotency-key": "k1"}
CASES = {"POST /disbursements (group stubbed)": ("POST", "/disbursements", {**JSON, "authorization": f"Bearer {token}"}, body),
         "POST /disbursements, no token (401)": ("POST", "/disbursements", JSON, body),
         "GET unknown path (404)": ("GET", "/no-such-path", {}, b""),
         "GET /healthz": ("GET", "/healthz", {}, b"")}

async def call(method, path, headers, payload):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()], "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 8000), "state": {}}
    async def receive():
        return {"type": "http.request", "body": payload, "more_body": False}
    statuses = []
    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
    await app(scope, receive, send)
    return statuses[0]

async def main(n):
    out = {}
    for name, case in CASES.items():
        status = await call(*case)
        for _ in range(200):
            await call(*case)
        t0 = time.process_time()
        for _ in range(n):
            await call(*case)
        out[name] = (status, (time.process_time() - t0) / n * 1e6)
    print("RESULT " + json.dumps(out))

asyncio.run(main(int(sys.argv[1])))
'''


def measure(tree: Path, requests: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "FUPIN_LOG_LEVEL": "WARNING"}
    env.pop("FUPIN_KAFKA_BOOTSTRAP", None)
    done = subprocess.run([sys.executable, "-c", CHILD, str(requests)], cwd=tree, env=env, capture_output=True,
                          text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[7:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--baseline", type=Path, metavar="TREE", help="another checkout measured the same way")
    args = parser.parse_args()
    trees = [("this tree", ROOT)] + ([(f"before ({args.baseline.name})", args.baseline.resolve())]
                                     if args.baseline else [])
    results = [(label, measure(tree, args.requests)) for label, tree in trees]
    print(f"load average {os.getloadavg()[0]:.1f}; {args.requests} requests per case; µs of CPU per request\n")
    print("| request | " + " | ".join(label for label, _ in results) + (" | ratio |" if len(results) > 1 else " |"))
    print("|---|" + "---:|" * (len(results) + (len(results) > 1)))
    for name in results[0][1]:
        cells = [f"{r[name][1]:,.0f} ({r[name][0]})" for _, r in results]
        ratio = f" | {results[0][1][name][1] / results[1][1][name][1]:.2f}×" if len(results) > 1 else ""
        print(f"| {name} | " + " | ".join(cells) + ratio + " |")


if __name__ == "__main__":
    main()
