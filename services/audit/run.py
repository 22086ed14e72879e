"""One audit run: replay every log from a source (verify and rebuild in one pass), check the
cross-service references, diff with the live services, check compliance as of a date.

The replay is one pass per service: each event goes through the chain check, the id index and
the service's rebuilder. Compliance needs the state *as of* the date, so when the logs go on past
it a second, verification-free pass rebuilds from the events recorded up to the end of that day
(China time). An export can be replayed over processes (:func:`replay_export`, what
``bench/audit_replay.py`` measures): the largest log read and verified in one process and rebuilt
in another from the lines verified there, the other logs one pass each in workers.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from datetime import date, datetime, time, timedelta
from time import process_time
from typing import Any, Iterable, Iterator, Mapping, Protocol

from services.audit import compliance, diff
from services.audit.checkpoints import LogAgainst, Outside
from services.audit.compliance import Finding
from services.audit.diff import Discrepancy, Live
from services.audit.figures import figures
from services.audit.rebuild import REBUILDERS, CountOnly, Rebuilt, rebuilder_for
from services.audit.export import loads, members_reader
from services.audit.verify import ChainProblem, ChainResult, References, ServiceChain, placed
from shared import divisions
from shared.bulk import gc_paused
from shared.clock import CHINA_TZ
from shared.config import SERVICES
from shared.events.store import format_time
from shared.policy import PolicyTable

Stream = Iterable[tuple[dict[str, Any], bytes | None]]


class Source(Protocol):
    description: str
    entries: Mapping[str, Any] | None
    notes: list[str]

    @property
    def services(self) -> list[str]: ...

    def stream(self, service: str) -> Iterator[tuple[dict[str, Any], bytes | None]]: ...


_ORDER = {service: (0, str(i)) for i, service in enumerate(SERVICES)}  # reports list the services in this order


def cutoff(as_of: date) -> str:
    """The recorded time (UTC, as events carry it) at which the as-of day ends in China."""
    return format_time(datetime.combine(as_of + timedelta(days=1), time(), CHINA_TZ))


@dataclass
class Replay:
    chains: dict[str, ChainResult] = field(default_factory=dict)
    references: References = field(default_factory=References)
    rebuilt: Rebuilt = field(default_factory=Rebuilt)
    last_recorded: str = ""
    #: CPU seconds of each worker process of :func:`replay_export`, by what it did (what bounds its
    #: wall time on idle cores is the busiest process; bench/audit_replay.py prints them)
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, service: str, chain: ChainResult | None, part: Any, refs: References | None, last: str) -> None:
        if chain is not None:
            self.chains[service] = chain
        if refs is not None:
            self.references.merge(refs)
        if hasattr(self.rebuilt, service) and not isinstance(part, int):  # an int: only counted
            setattr(self.rebuilt, service, part)
        self.last_recorded = max(self.last_recorded, last)


#: the members of an event that verifying it reads: ``ServiceChain.feed`` (seq, prev_hash, hash),
#: ``References.add`` (id, causation_id), ``LogAgainst.feed`` (seq, hash), and the replay's loop
#: (seq, time). An export is read for these and the rebuilder's ``members`` only (export.members_reader).
VERIFIED_MEMBERS = ("causation_id", "hash", "id", "prev_hash", "seq", "time")


def members_read(service: str, *, verify: bool, rebuild: bool) -> tuple[str, ...] | None:
    """The members of each event a pass over ``service``'s export reads (None: every member, for
    a rebuilder that does not name the ones it reads)."""
    needed = getattr(REBUILDERS.get(service, CountOnly), "members", None) if rebuild else ()
    if needed is None:
        return None
    return tuple(sorted({*needed, *(VERIFIED_MEMBERS if verify else ("seq", "time"))}))


def replay_service(service: str, stream: Stream, entry: Mapping[str, Any] | None = None, *,
                   until: str | None = None, verify: bool = True, rebuild: bool = True,
                   against: LogAgainst | None = None, forward: Any = None):
    """(chain result, rebuilt part, references, last recorded time) of one service's log;
    ``against``: also compared with checkpoints and the topic (its problems join the chain's);
    ``forward``: instead of rebuilding, ``forward.apply(line)`` the raw line of each event that
    would be applied (an export's stream), for a rebuild in another process."""
    with gc_paused():  # each full collection walked everything kept so far: a long replay went superlinear
        return _replay_service(service, stream, entry, until=until, verify=verify, rebuild=rebuild,
                               against=against, forward=forward)


def _replay_service(service: str, stream: Stream, entry: Mapping[str, Any] | None, *, until: str | None,
                    verify: bool, rebuild: bool, against: LogAgainst | None = None, forward: Any = None):
    chain, refs, last, applied = ServiceChain(service), References(), "", 0
    rebuilder = forward or rebuilder_for(service if rebuild else "")
    apply = rebuilder.apply
    feed, add = chain.feed, refs.add
    for event, line in stream:
        if verify:
            if not feed(event, line):
                continue  # a duplicate or out-of-order copy: reported, not applied twice
            add(service, event)
            if against is not None:
                against.feed(event)
        elif not placed(event) or event["seq"] <= applied:
            continue  # malformed, or the same as above: unreported, a verifying pass reports it
        applied = event["seq"]
        recorded = event["time"]
        if until is None or recorded < until:
            try:
                apply(event if forward is None else line)
            except UNREADABLE as error:
                unreadable(rebuilder, event["seq"], error)
        if recorded > last:
            last = recorded
    if against is not None and verify:
        for problem in against.finish(chain.result.last_seq):
            chain.problem(problem.seq, problem.kind, problem.detail)
    return (chain.finish(entry) if verify else None), rebuilder.result(), (refs if verify else None), last


def replay(source: Source, *, until: str | None = None, verify: bool = True,
           outside: Outside | None = None) -> Replay:
    result = Replay()
    for service in source.services:
        entry = (source.entries or {}).get(service) if verify else None
        result.add(service, *replay_service(service, source.stream(service), entry, until=until, verify=verify,
                                            against=_against(outside, service, verify)))
    return result


def _against(outside: Outside | None, service: str, verify: bool) -> LogAgainst | None:
    return outside.against(service) if outside is not None and verify else None


def _replay_file(directory: str, service: str, until: str | None, verify: bool, rebuild: bool,
                 against: LogAgainst | None = None):
    from services.audit.sources import ExportSource

    source = ExportSource(directory)
    return replay_service(service, source.stream(service, members_read(service, verify=verify, rebuild=rebuild)),
                          source.entries.get(service) if verify else None,
                          until=until, verify=verify, rebuild=rebuild, against=against)


def _replay_file_in_worker(directory: str, service: str, until: str | None, verify: bool, rebuild: bool,
                           against: LogAgainst | None = None):
    """(:func:`_replay_file`'s outcome, the CPU seconds it took in this worker process)."""
    started = process_time()
    outcome = _replay_file(directory, service, until, verify, rebuild, against)
    return outcome, process_time() - started


#: what reading an event's data can raise when it is not what its type says: the audit does not
#: trust the logs it reads (a rebuilder reads what it needs and raises one of these on the rest)
UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError)


def unreadable(rebuilder: Any, seq: int, error: BaseException) -> None:
    """An event the rebuilder could not read: kept with its seq and why (a discrepancy of the
    audit, diff.within_rebuild), and the replay goes on. A rebuilder checks what it reads before
    it changes anything but its counts of events (services.audit.rebuild.reading), so the event is
    not in the rebuild."""
    rebuilder.unreadable_events.append((seq, f"{type(error).__name__}: {error}"))


#: lines per message from the process that reads and verifies a log to the one rebuilding it
CHUNK = 1000


class _Forward:
    """What the process that reads and verifies a log does with each event it applies:
    its line (as read, as verified) goes to the rebuilding process, :data:`CHUNK` lines at a time
    (a list of bytes pickles at memory speed; parsing the line again there costs what unpickling
    any compact form of it would)."""

    def __init__(self, conn: Connection):
        self.conn, self.chunk = conn, []

    def apply(self, line: bytes) -> None:
        chunk = self.chunk
        chunk.append(line)
        if len(chunk) >= CHUNK:
            self.conn.send_bytes(b"\n".join(chunk))
            self.chunk = []

    def result(self) -> None:
        if self.chunk:
            self.conn.send_bytes(b"\n".join(self.chunk))
            self.chunk = []


def _read_and_verify(conn: Connection, directory: str, service: str, until: str | None,
                     against: LogAgainst | None) -> None:
    """Worker: verify one export file as :func:`replay_service` does, sending the line of each
    event it applies to ``conn`` as it goes; then ``(chain result, references, last recorded
    time)``, or the error that stopped it."""
    from services.audit.sources import ExportSource

    try:
        source = ExportSource(directory)
        stream = source.stream(service, VERIFIED_MEMBERS)  # its rebuilding is elsewhere
        chain, _, refs, last = replay_service(service, stream, source.entries.get(service),
                                              until=until, against=against, forward=_Forward(conn))
        conn.send_bytes(b"")
        conn.send((chain, refs, last, process_time()))
    except BaseException:  # the rebuilding process raises it
        conn.send_bytes(b"")
        conn.send(RuntimeError(f"reading the {service} log failed:\n{traceback.format_exc()}"))
        raise
    finally:
        conn.close()


def _rebuild_verified(directory: str, service: str, until: str | None, against: LogAgainst | None,
                      cpu: dict[str, float]):
    """(chain result, rebuilt part, references, last recorded time) of one export file, read,
    parsed and verified by a worker process and rebuilt here from the lines that process
    verified and sent: what is rebuilt is what was verified (the file is read once). The
    worker's CPU seconds go into ``cpu``."""
    context = multiprocessing.get_context()
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_read_and_verify, args=(send, directory, service, until, against), daemon=True)
    worker.start()
    send.close()
    rebuilder = rebuilder_for(service)
    apply_line = getattr(rebuilder, "apply_line", None)  # the rebuilder's own reading of a line, if it has one
    if apply_line is None:
        apply, read = rebuilder.apply, members_reader(members_read(service, verify=False, rebuild=True))

        def apply_line(line: bytes) -> None:
            apply(read(line))
    try:
        with gc_paused():  # as replay_service: the rebuild's result (the ledger replay) included
            while chunk := receive.recv_bytes():
                for line in chunk.split(b"\n"):
                    try:
                        apply_line(line)
                    except UNREADABLE as error:  # a line the worker verified: JSON, an event's envelope
                        unreadable(rebuilder, loads(line)["seq"], error)
            outcome = receive.recv()
            if isinstance(outcome, BaseException):
                raise outcome
            chain, refs, last, cpu[f"{service}: read + verify (worker)"] = outcome
            return chain, rebuilder.result(), refs, last
    finally:
        receive.close()
        worker.join()


def replay_export(source, *, until: str | None = None, verify: bool = True, rebuild: bool = True,
                  processes: int | None = None, outside: Outside | None = None) -> Replay:
    """:func:`replay` of an export spread over processes (``processes``: one per CPU by default).

    The largest file (funds) is rebuilt in this process — its rebuilt ledger is large, and
    pickling it back from a worker would cost as much as rebuilding it (bench/RESULTS.md "Audit
    replay") — while a worker of its own reads, parses and verifies it (chain, manifest, ids,
    checkpoints) and sends the line of each event it verified here (:func:`_rebuild_verified`),
    so the two halves of its replay run side by side; the other files are verified and rebuilt in
    one pass each by up to ``processes - 1`` workers meanwhile. Only verifying (or only
    rebuilding), the largest file is one pass in this process; with ``processes=1`` every file is."""
    services = sorted(source.services, key=lambda s: -source.path(s).stat().st_size)
    processes = processes or os.cpu_count() or 1
    directory, result = str(source.directory), Replay()
    if processes < 2 or not services:
        for service in source.services:
            result.add(service, *_replay_file(directory, service, until, verify, rebuild,
                                              _against(outside, service, verify)))
        return result
    largest, others = services[0], services[1:]
    split = verify and rebuild
    with ProcessPoolExecutor(max(1, min(processes - 1, len(others)))) as pool:
        futures = [(s, pool.submit(_replay_file_in_worker, directory, s, until, verify, rebuild,
                                   _against(outside, s, verify))) for s in others]
        if split:
            result.add(largest, *_rebuild_verified(directory, largest, until, _against(outside, largest, verify),
                                                   result.cpu))
        else:
            result.add(largest, *_replay_file(directory, largest, until, verify, rebuild,
                                              _against(outside, largest, verify)))
        for service, future in futures:
            outcome, result.cpu[f"{service}: replay (pool worker)"] = future.result()
            result.add(service, *outcome)
    return result


@dataclass
class AuditResult:
    as_of: date
    division: str
    source: str
    chains: list[ChainResult]
    reference_problems: list[ChainProblem]
    discrepancies: list[Discrepancy]
    findings: list[Finding]
    rebuilt: dict[str, Any]
    figures: dict[str, Any]
    notes: list[str]
    generated_at: str
    compared: bool  # whether the live services were compared
    #: problems of the checkpoints themselves: a fork, one that does not verify (services.audit.checkpoints)
    checkpoint_problems: list[ChainProblem] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(chain.ok for chain in self.chains) and not self.reference_problems and not self.checkpoint_problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "division": self.division, "source": self.source,
            "generated_at": self.generated_at,
            "summary": {"verified": self.verified, "events": sum(c.checked for c in self.chains),
                        "chain_problems": sum(c.problem_count for c in self.chains) + len(self.reference_problems)
                        + len(self.checkpoint_problems),
                        "compared_with_live": self.compared, "discrepancies": len(self.discrepancies),
                        "findings": len(self.findings), "findings_by_rule": count_by(self.findings, "rule_id")},
            "chains": [c.as_dict() for c in self.chains],
            "reference_problems": [p.as_dict() for p in self.reference_problems],
            "checkpoint_problems": [p.as_dict() for p in self.checkpoint_problems],
            "discrepancies": [d.as_dict() for d in self.discrepancies],
            "findings": [f.as_dict() for f in self.findings],
            "rebuilt": self.rebuilt, "figures": self.figures, "notes": self.notes,
        }


def count_by(findings: Iterable[Finding], attribute: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        key = getattr(finding, attribute)
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def jurisdiction(division: str | None) -> str:
    """The division prefix an audit covers: ``""`` national, else the code's prefix."""
    if not division or division.strip("0") == "":
        return ""
    return divisions.prefix(division)


async def replay_as_of(source: Source, as_of: date, *, parallel: bool = False,
                      outside: Outside | None = None) -> tuple[Replay, Replay]:
    """(the whole logs replayed and verified, the logs replayed up to the end of ``as_of``): the
    expensive part of an audit, the same for every division. ``outside``: checkpoints and topic
    copies each log is also compared with."""
    run = replay_export if parallel else replay
    # CPU-bound: in a thread, so that a service running an audit keeps answering meanwhile
    full = await asyncio.to_thread(run, source, outside=outside)
    until = cutoff(as_of)
    at_date = full if full.last_recorded < until else await asyncio.to_thread(run, source, until=until, verify=False)
    return full, at_date


async def run_audit(source: Source, *, as_of: date, division: str | None, policy: PolicyTable,
                    live: Live | None = None, parallel: bool = False, now: datetime | None = None,
                    replayed: tuple[Replay, Replay] | None = None, outside: Outside | None = None) -> AuditResult:
    """The audit of ``source``; ``replayed``: the result of :func:`replay_as_of` for the same
    source, date and ``outside``, when the caller kept it."""
    prefix = jurisdiction(division)
    full, at_date = replayed or await replay_as_of(source, as_of, parallel=parallel, outside=outside)
    notes = list(source.notes)
    digest = getattr(source, "digest_notes", None)
    reference_problems = full.references.unresolved()
    if digest is not None:
        reference_problems += [ChainProblem(s, None, "manifest", note) for s, note in digest().items()]
    if full.rebuilt.registry is not None:
        imported = sum(h.imported for h in full.rebuilt.registry.households.values())
        if imported:
            notes.append(f"{imported} households came in by bulk import (registry.households.imported): their "
                         "identification and exit notices predate the system and are not checked")
    discrepancies = diff.within_rebuild(full.rebuilt, prefix)
    if live is not None:
        discrepancies += await diff.compare(full.rebuilt, live, division=prefix, as_of_year=as_of.year)
    return AuditResult(
        as_of=as_of, division=prefix, source=source.description,
        chains=sorted(full.chains.values(), key=lambda c: _ORDER.get(c.service, (1, c.service))),
        reference_problems=reference_problems, discrepancies=discrepancies,
        findings=await asyncio.to_thread(compliance.check, at_date.rebuilt, policy, as_of, prefix),
        rebuilt=full.rebuilt.summary(), figures=figures(at_date.rebuilt, prefix, as_of), notes=notes,
        generated_at=format_time(now or datetime.now(CHINA_TZ)), compared=live is not None,
        checkpoint_problems=list(outside.problems) if outside is not None else [])
