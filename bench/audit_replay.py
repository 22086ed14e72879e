"""Benchmark of the audit replay (``services.audit.run.replay_export``) from an export.

What is measured, in one run, on one generated export of N chain-valid events (default 1,000,000)
in a temporary directory — mostly funds postings (appropriations, allocations down to counties,
integration, commitments to projects, disbursements to households and cooperatives, with their
deadline records) and registry events (division reference data, bulk-import chunks of 200
households, then helpers, measures, incomes and monitoring per household):

1. **Baseline** — read and parse every line of every file (``orjson.loads``, one process): what
   any replay costs at least.
2. **Verify** — every chain (gapless from 1, every hash via the export's canonical lines, links),
   the manifest and the id index for the causation check, one process per service file.
3. **Verify against checkpoints** — the same verification, and each log's Merkle root recomputed
   from its events (a compact range) and compared with signed checkpoints (C2SP, Ed25519) kept
   earlier: one at the end of each log and one at a third of it — what ``fupin audit verify
   --checkpoint`` does with an export (issue #11; goal ≥ 100,000 events/s).
4. **Verify + rebuild** — the same plus the rebuild: the funds ledger replayed with the funds
   domain's ``Ledger`` (every posting judged as the service judges it) and the registry's
   households (issue #13 goal: ≥ 100,000 events/s). ``replay_export`` reads and verifies the
   funds file in a worker while the main process rebuilds it from the lines verified there, the
   registry file in another worker; two peers in the same run: the layout before issue #13 (one
   pass per file, one process per file: the funds file read, verified and rebuilt in the main
   process) and everything in one process.

CPU seconds are printed for every phase, this process and its workers apart (on a shared
machine they move far less than wall time), with the load average before and after. For the
verify + rebuild, each process's CPU seconds are printed too, and the rate the run would reach on
idle cores, estimated from them: events / max(busiest process, total / cores) — a process cannot
finish before its own CPU time has passed, nor all of them before the cores did their sum.

``--before-tree DIR``: the same verify + rebuild (``replay_export``) run by another checkout of
the code (e.g. ``git worktree add /tmp/before <commit>``) in a subprocess, in the same run: the
code before a change beside the code after it, on the same export at the same load.
``--phases rebuild``: only the verify + rebuild of this code and of ``--before-tree`` (a quicker A/B).

Events/s and the ratio to the baseline are printed, then a Markdown section for RESULTS.md.
Timing is printed, never asserted; the rebuilt ledger is checked to sum to zero.

    .venv/bin/python bench/audit_replay.py [--events N] [--registry-share 0.3] [--keep DIR [--reuse]]
        [--before-tree DIR] [--phases all|rebuild]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from harness import machine
from services.audit.checkpoints import Outside
from services.audit.export import FORMAT, MANIFEST, iter_lines, loads
from services.audit.run import Replay, _replay_file, replay_export
from services.audit.sources import ExportSource
from services.funds.contract import EVENT_TYPES
from services.registry.usecases.imports import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from shared.events.chain import GENESIS, canonical_json
from shared.events.merkle import border_root, event_leaf, extend
from shared.events.note import Checkpoint, Signer, sign_note
from shared.events.store import format_time

CENTRAL, XINJIANG = "000000000000", "650000000000"
CITIES = ["652700000000", "652800000000", "652900000000"]
COUNTIES = {city: [city[:4] + f"{n:02d}" + "000000" for n in (1, 2, 3, 22, 23)] for city in CITIES}
CHANNELS = ["central_special", "agri_integrated_irrigation", "work_relief"]
ACTORS = {"county_finance": {"sub": "县财政局", "roles": ["county_finance"], "division": "652722000000"},
          "village": {"sub": "村委会", "roles": ["village"], "division": "652722102201"}}


class Writer:
    """One service's export file, written as the exporter writes it (canonical lines)."""

    def __init__(self, directory: Path, service: str, start: datetime):
        self.service, self.path = service, directory / f"{service}.jsonl"
        self.file, self.digest = self.path.open("wb"), hashlib.sha256()
        self.seq, self.prev, self.clock = 0, GENESIS, start

    def add(self, type_: str, subject: str, data: dict, actor: dict) -> None:
        self.seq += 1
        self.clock += timedelta(milliseconds=50)
        event = {"actor": actor, "causation_id": None, "correlation_id": f"c-{self.seq // 50}", "data": data,
                 "id": str(uuid.UUID(int=random.getrandbits(128), version=4)), "prev_hash": self.prev,
                 "seq": self.seq, "source": self.service, "subject": subject, "time": format_time(self.clock),
                 "type": type_}
        body = canonical_json(event)
        event["hash"] = self.prev = hashlib.sha256(self.prev.encode() + body.encode()).hexdigest()
        line = canonical_json(event).encode() + b"\n"
        self.file.write(line)
        self.digest.update(line)

    def close(self) -> dict:
        self.file.close()
        return {"file": self.path.name, "events": self.seq, "last_seq": self.seq, "last_hash": self.prev,
                "sha256": self.digest.hexdigest()}


def _key(division, kind, channel, reference=None, year=2018):
    return {"division": division, "role": "finance", "channel": channel, "fiscal_year": year, "kind": kind,
            "reference": reference}


def funds_events(w: Writer, count: int, rng: random.Random) -> None:
    """Money down the levels, then commitments and (mostly) disbursements, never overdrawn."""
    n = 0

    def post(op, src, dst, amount, reference=None, purpose=None, **extra):
        nonlocal n
        n += 1
        data = {"posting_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "from": src, "to": dst,
                "amount_fen": amount, "operation": op, "document_no": f"财农〔2018〕{n % 997}号" if op in (
                    "appropriate", "allocate", "integrate") else "", "document_date": "2018-03-01", "actor": "bench",
                "purpose": purpose, "reference": reference, "amount": f"{amount // 100}.{amount % 100:02d}",
                "on": "2018-03-01", **extra}
        w.add(EVENT_TYPES[op], dst["division"], data, ACTORS["county_finance"])

    unit = 10 ** 13  # plenty: every county can pay its share of the disbursements
    counties = [c for city in CITIES for c in COUNTIES[city]]
    for channel in CHANNELS:
        post("appropriate", _key(CENTRAL, "appropriation", channel), _key(CENTRAL, "available", channel), unit * 100)
        post("allocate", _key(CENTRAL, "available", channel), _key(XINJIANG, "available", channel), unit * 90)
        for city in CITIES:
            post("allocate", _key(XINJIANG, "available", channel), _key(city, "available", channel), unit * 25)
            for county in COUNTIES[city]:
                post("allocate", _key(city, "available", channel), _key(county, "available", channel), unit * 4)
                w.add("funds.deadline.set", str(uuid.uuid4()), {
                    "id": str(uuid.uuid4()), "receiver": county, "channel": channel, "fiscal_year": 2018,
                    "kind": "stranded_return", "due": "2019-12-31", "rule_id": "funds.stranded.return",
                    "citation": "DOMAIN.md §4", "title": "滞留资金收回", "basis_seq": w.seq, "basis_on": "2018-03-01",
                    "amount_fen": unit * 4, "state": "open"}, ACTORS["county_finance"])
    projects = [(county, channel, f"P-{county[:6]}-{i:03d}") for county in counties for channel in CHANNELS
                for i in range(20)]
    for county, channel, code in projects:
        post("commit", _key(county, "available", channel), _key(county, "committed", channel, code), unit // 10,
             reference=code)
    while w.seq < count:
        county, channel, code = projects[rng.randrange(len(projects))]
        if rng.random() < 0.8:
            household = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            payee = {"kind": "household", "name": "户主", "household_id": household}
            reference = f"household:{household}"
        else:
            payee = {"kind": "cooperative", "name": f"合作社{rng.randrange(500)}", "household_id": None}
            reference = f"cooperative:{payee['name']}"
        post("disburse", _key(county, "committed", channel, code), _key(county, "disbursed", channel, reference),
             rng.randrange(10_000, 2_000_000), reference=reference, purpose="industry_development", payee=payee,
             project_code=code, batch_ref=f"b-{w.seq // 2000}")


def registry_events(w: Writer, count: int, rng: random.Random) -> None:
    """Reference data, bulk imports of 200 households, then the households' day-to-day events."""
    villages = [f"652722{t:03d}{v:03d}" for t in (101, 102, 103, 201, 400) for v in range(201, 221)]
    w.add("registry.divisions.loaded", "652722", {"records": [
        {"code": v, "level": "village", "rural_population": rng.randrange(800, 3000), "change": "created"}
        for v in villages], "created": len(villages), "updated": 0, "unchanged": 0, "part": 1, "parts": 1},
        ACTORS["county_finance"])
    households: list[str] = []
    chunks = max(1, count // 3000)
    for chunk in range(chunks):
        rows = []
        for i in range(200):
            hid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            village = villages[rng.randrange(len(villages))]
            members = [[str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"65272219{60 + k}0101{i % 1000:03d}{k}",
                        f"成员{k}", "head" if k == 0 else "child", "male", f"19{60 + k}-01-01", "汉族", None, None,
                        "healthy", "normal_labour" if k < 2 else "no_labour"] for k in range(rng.randrange(1, 5))]
            rows.append([hid, f"{village}{chunk:02d}{i:03d}", village, "registered", "general", "illness", 2016,
                         "2016-12-31", None, None, 300000, members])
            households.append(hid)
        w.add("registry.households.imported", "import-bench", {
            "import_id": "import-bench", "file_sha256": "0" * 64, "chunk": chunk + 1, "chunks": chunks,
            "household_fields": HOUSEHOLD_FIELDS, "member_fields": MEMBER_FIELDS, "households": rows},
            ACTORS["county_finance"])
    kinds = [("registry.household.helper_assigned", lambda: {"name": "帮扶干部", "unit": "县财政局", "phone": None}),
             ("registry.measure.recorded", lambda: {"measure_id": str(uuid.uuid4()), "pathway": "industry",
                                                    "description": "枸杞种植", "year": 2018, "amount": None}),
             ("registry.household.income_recorded", lambda: {"year": 2018, "net_per_capita": "4200.00",
                                                             "disposable_per_capita": None, "components": {}}),
             ("registry.household.monitored", lambda: {"route": "cadre_visit", "year": 2018,
                                                       "per_capita_income": "4200.00", "line": "6000.00",
                                                       "category": None, "note": ""})]
    while w.seq < count:
        kind, data = kinds[rng.randrange(len(kinds))]
        w.add(kind, households[rng.randrange(len(households))], data(), ACTORS["village"])


def generate(directory: Path, events: int, registry_share: float, seed: int = 7) -> dict:
    rng = random.Random(seed)
    random.seed(seed)
    start = datetime(2018, 3, 1, 1, tzinfo=timezone.utc)
    registry_count = int(events * registry_share)
    services = {}
    for service, count, fill in (("funds", events - registry_count, funds_events),
                                 ("registry", registry_count, registry_events)):
        w = Writer(directory, service, start)
        fill(w, count, rng)
        services[service] = w.close()
    manifest = {"format": FORMAT, "created_at": "2026-11-23T00:00:00+08:00", "source": "bench/audit_replay.py",
                "services": services}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def baseline(source: ExportSource) -> int:
    """Read and parse every line, nothing else (one process)."""
    parsed = 0
    for service in source.services:
        with source.path(service).open("rb") as f:
            for raw in f:
                loads(raw)
                parsed += 1
    return parsed


def checkpoints(source: ExportSource) -> Outside:
    """Signed checkpoints of each log at a third of it and at its end, as a service would have signed
    them, opened as `fupin audit verify --checkpoint` opens them. Timed apart ("read + Merkle roots"):
    reading and parsing each file once, hashing every leaf into a compact range, no chain check."""
    notes, keys, service_of = [], [], {}
    for service in source.services:
        signer = Signer.generate(f"fupin.example/bench/{service}")
        keys.append(signer.verifier())
        service_of[signer.name] = service
        last = source.entries[service]["last_seq"]
        sizes, size, border, chunk = {last // 3, last}, 0, [], []
        for event, _ in source.stream(service):
            chunk.append(event_leaf(event["hash"]))
            if size + len(chunk) in sizes or len(chunk) == 4096:
                size, border, _ = extend(size, border, chunk)
                chunk = []
                if size in sizes:
                    root = border_root(border)
                    notes.append((f"{service}-{size}.txt", sign_note(Checkpoint(signer.name, size, root).body(), [signer])))
    return Outside.of(notes, keys, service_of)


def one_pass_per_file(source: ExportSource) -> Replay:
    """The peer: ``replay_export`` as it was before issue #13 — each file read, verified and
    rebuilt in one pass, the largest (funds) in this process, the others in one worker."""
    services = sorted(source.services, key=lambda s: -source.path(s).stat().st_size)
    directory, result = str(source.directory), Replay()
    with ProcessPoolExecutor(1) as pool:
        futures = [(s, pool.submit(_replay_file, directory, s, None, True, True)) for s in services[1:]]
        result.add(services[0], *_replay_file(directory, services[0], None, True, True))
        for service, future in futures:
            result.add(service, *future.result())
    return result


#: run by ``--before-tree``'s checkout: its replay_export over the export, CPU seconds as JSON
BEFORE_PROGRAM = """
import json, resource, sys, time
from pathlib import Path
from services.audit.run import replay_export
from services.audit.sources import ExportSource

def cpu(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime

source = ExportSource(Path(sys.argv[1]))
started, own, children = time.perf_counter(), cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
replayed = replay_export(source)
print(json.dumps({"wall": time.perf_counter() - started, "main": cpu(resource.RUSAGE_SELF) - own,
                  "workers": cpu(resource.RUSAGE_CHILDREN) - children, "cpu": getattr(replayed, "cpu", {}),
                  "summary": replayed.rebuilt.summary(),
                  "chains": {s: c.as_dict() for s, c in replayed.chains.items()}}, default=str))
"""


def replay_before(tree: Path, directory: Path) -> dict:
    """``replay_export`` of the checkout in ``tree`` over the export, in a subprocess."""
    done = subprocess.run([sys.executable, "-c", BEFORE_PROGRAM, str(directory)], capture_output=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree)
    return json.loads(done.stdout)


def cpu_seconds() -> tuple[float, float]:
    """CPU time of (this process, its waited-for children: the replay's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


CPU: dict[str, tuple[float, float]] = {}  # label → (this process, workers) CPU seconds: steadier than wall time


def timed(label: str, work):
    gc.collect()
    started, (own, children) = time.perf_counter(), cpu_seconds()
    result = work()
    elapsed = time.perf_counter() - started
    own_after, children_after = cpu_seconds()
    CPU[label] = (own_after - own, children_after - children)
    print(f"{label}: {elapsed:.2f} s ({sum(CPU[label]):.2f} CPU s: {CPU[label][0]:.2f} this process, "
          f"{CPU[label][1]:.2f} workers)", flush=True)
    return elapsed, result


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--registry-share", type=float, default=0.3, help="share of registry events")
    parser.add_argument("--processes", type=int, default=None, help="default: one per CPU (at most one per file)")
    parser.add_argument("--keep", type=Path, default=None, help="write the export here and keep it")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: replay the export already in DIR (written by this script) if there is one")
    parser.add_argument("--before-tree", type=Path, default=None,
                        help="another checkout of the code: its verify + rebuild run beside this one's")
    parser.add_argument("--phases", choices=("all", "rebuild"), default="all",
                        help="rebuild: only the verify + rebuild of this code (and of --before-tree)")
    args = parser.parse_args()
    directory = args.keep or Path(tempfile.mkdtemp(prefix="fupin-audit-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    every = args.phases == "all"
    try:
        if args.reuse and args.keep and (directory / MANIFEST).exists():
            generate_s, manifest = 0.0, json.loads((directory / MANIFEST).read_text())
            print(f"reusing the export in {directory}")
        else:
            generate_s, manifest = timed(f"generate {args.events:,} events", lambda: generate(
                directory, args.events, args.registry_share))
        total = sum(entry["events"] for entry in manifest["services"].values())
        size = sum((directory / entry["file"]).stat().st_size for entry in manifest["services"].values())
        print(f"export: {total:,} events, {size / 2**20:.0f} MiB in {directory}")
        source = ExportSource(directory)
        # warm the page cache so every phase reads from memory alike
        for service in source.services:
            for _ in iter_lines(source.path(service)):
                pass
        load_before = load()
        if every:
            base_s, parsed = timed("baseline: read + parse", lambda: baseline(source))
            verify_s, verified = timed("verify (parallel)", lambda: replay_export(source, rebuild=False,
                                                                                    processes=args.processes))
            _, outside = timed("read + Merkle roots (1 process)", lambda: checkpoints(source))
            against_s, against = timed("verify against checkpoints (parallel)", lambda: replay_export(
                source, rebuild=False, processes=args.processes, outside=outside))
        full_s, rebuilt = timed(NOW, lambda: replay_export(source, processes=args.processes))
        before = None
        if args.before_tree is not None:
            before = replay_before(args.before_tree.resolve(), directory.resolve())
            print(f"{BEFORE}: {before['wall']:.2f} s ({before['main'] + before['workers']:.2f} CPU s: "
                  f"{before['main']:.2f} its main process, {before['workers']:.2f} workers)", flush=True)
        if every:
            peer_s, peer = timed(PEER, lambda: one_pass_per_file(source))
            serial_s, _ = timed(SERIAL, lambda: replay_export(source, processes=1))
        load_after = load()
    finally:
        if args.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    cores = os.cpu_count() or 1
    ok = all(chain.ok for chain in rebuilt.chains.values())
    funds = rebuilt.rebuilt.funds
    zero = sum(funds.balances.values()) == 0 and not funds.refused
    registry = rebuilt.rebuilt.registry
    chains = {s: c.as_dict() for s, c in rebuilt.chains.items()}
    now_main, now_workers = CPU[NOW]
    processes = {"main process: funds rebuild from the verified lines": now_main, **rebuilt.cpu}
    rates = [(f"verify + rebuild, this code ({len(processes)} processes)", total / full_s,
              f"{full_s:.1f} s wall; " + idle_note(total, processes, now_main + now_workers, cores))]
    checks = [f"chains ok={ok}", f"ledger sums to zero={zero} ({len(funds.postings):,} postings, "
              f"{len(funds.balances):,} accounts)", f"{len(registry.households):,} households rebuilt"]
    if before is not None:
        split = {"its main process": before["main"], **before["cpu"]}
        rates.append((f"verify + rebuild, --before-tree {args.before_tree}", total / before["wall"],
                      f"{before['wall']:.1f} s wall; " + idle_note(total, split, before["main"] + before["workers"],
                                                                    cores)))
        same = (json.loads(json.dumps(rebuilt.rebuilt.summary(), default=str)) == before["summary"]
                and json.loads(json.dumps(chains, default=str)) == before["chains"])
        checks.append(f"the code before found and rebuilt the same={same}")
    if every:
        rates.append((f"peer: {PEER}", total / peer_s, f"{peer_s:.1f} s wall; {cpu_note(PEER)}"))
        same = (peer.rebuilt.summary() == rebuilt.rebuilt.summary()
                and {s: c.as_dict() for s, c in peer.chains.items()} == chains)
        checks.append(f"one pass per file found and rebuilt the same={same}")
        rates.append((SERIAL, total / serial_s, f"{serial_s:.1f} s wall; {cpu_note(SERIAL)}"))
    rows = []
    if every:
        assert parsed == total
        ok = ok and all(c.ok for c in verified.chains.values())
        matched = all(c.ok for c in against.chains.values()) and not outside.problems and len(outside.held) == 4
        checks.insert(1, f"checkpoints matched={matched}")
        per_cpu = {label: total / sum(cpu) for label, cpu in CPU.items() if sum(cpu)}
        rows += [
            ("baseline: read + parse (orjson, 1 process)", total / base_s, f"{base_s:.1f} s"),
            ("verify: chains + manifest + id index", total / verify_s,
             f"{verify_s:.1f} s; {base_s / verify_s:.0%} of baseline"),
            ("verify against 2 checkpoints per log (Merkle roots)", total / against_s,
             f"{against_s:.1f} s; {verify_s / against_s:.0%} of verify alone"),
            ("per CPU-second: verify / against checkpoints / read + Merkle roots", per_cpu.get("verify (parallel)", 0),
             f"{per_cpu.get('verify against checkpoints (parallel)', 0):,.0f} / "
             f"{per_cpu.get('read + Merkle roots (1 process)', 0):,.0f} events per CPU-second"),
        ]
    rows += rates
    width = max(len(r[0]) for r in rows)
    print()
    for label, rate, note in rows:
        print(f"{label:<{width}}  {rate:>12,.0f} events/s  {note}")
    print(f"checks: {'; '.join(checks)}; load average {load_before} before, {load_after} after")
    m = machine()
    print("\n--- Markdown for bench/RESULTS.md ---\n")
    print(f"## audit_replay — {date.today().isoformat()}\n")
    print(f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM; Python {m['python']}; no database "
          f"(the export is read from the page cache); load average {load_before} before, {load_after} after")
    print(f"- Command: `bench/audit_replay.py {' '.join(sys.argv[1:])}` "
          f"(export of {total:,} events, {size / 2**20:.0f} MiB: {manifest['services']['funds']['events']:,} funds, "
          f"{manifest['services']['registry']['events']:,} registry; "
          + (f"generated in {generate_s:.0f} s)\n" if generate_s else "an export kept by an earlier run, --reuse)\n"))
    print("| measure | rate (wall) | notes |\n|---|---:|---|")
    for label, rate, note in rows:
        print(f"| {label} | {rate:,.0f} events/s | {note} |")
    print(f"| checks | | {'; '.join(checks)} |")


NOW = "verify + rebuild (parallel)"
BEFORE = "verify + rebuild (--before-tree)"
PEER = "verify + rebuild (one pass per file, before #13)"
SERIAL = "verify + rebuild (one process)"


def idle_note(events: int, processes: dict[str, float], total_cpu: float, cores: int) -> str:
    """Each process's CPU seconds, their total, and the rate on ``cores`` idle cores they bound:
    events / max(the busiest process, total / cores)."""
    busiest = max(processes.values())
    bound = max(busiest, total_cpu / cores)
    parts = ", ".join(f"{name} {cpu:.1f}" for name, cpu in processes.items())
    return (f"CPU s: {parts}; total {total_cpu:.1f} (workers' start-up included); busiest {busiest:.1f}; "
            f"**on {cores} idle cores ≈ {events / bound:,.0f} events/s** (events / max(busiest, total / {cores}))")


def cpu_note(label: str) -> str:
    own, workers = CPU[label]
    return f"{own + workers:.1f} CPU s ({own:.1f} main, {workers:.1f} workers)"


if __name__ == "__main__":
    main()
