"""The audit service's read-only API for auditors: a run over the services' event feeds, as of a
date and within a division — chain verification, rebuild-and-diff against the live services, and
compliance — served as JSON, CSV or HTML.

The logs are read whole with the audit service's own service token (a feed is one chain and is
served only to services and national readers); the live figures are read with the caller's own
token, so they follow the caller's jurisdiction.

Audit runs are expensive (every log replayed), so:

1. **Bounded inputs.** ``as_of`` lies between ``EARLIEST_AS_OF`` and today (the service clock): a
   date far in the future made a comparison ask the registry for every year up to it.
2. **Replays are cached** per (as-of date, the logs' heads — each service's last seq and hash):
   a log that moved is a new key. The live comparison and the division's filtering run on every
   request. ``/audit/verify`` always replays afresh: a row rewritten behind a service's back
   below an unchanged head is found by it at once (and by the others once the entry is dropped).
   ``AUDIT_CACHE_ENTRIES`` replays are kept (least recently used dropped).
3. **A concurrency limit.** At most ``FUPIN_AUDIT_CONCURRENCY`` runs at once per process; a request
   beyond it is answered at once with 503 and ``Retry-After`` instead of queueing behind them.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date
from typing import Any, Literal

import httpx
from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy import text

from services.audit import report
from services.audit.api.report_schemas import AuditReportOut, VerifyOut
from services.audit.api.schemas import DiscrepanciesOut, FindingsOut
from services.audit.checkpoints import Outside
from services.audit.diff import Live
from services.audit.run import AuditResult, Replay, replay_as_of, run_audit
from services.audit.sources import FeedSource, KafkaSource, Loaded
from shared import divisions
from shared.auth import Principal, Reader, Role, query_scope, service_token
from shared.config import topic_of
from shared.db import raw_connection
from shared.divisions import DivisionCode
from shared.errors import ServiceUnavailable, Unprocessable
from shared.events import store
from shared.web import Session, router
from shared.web.export import CSV, XLSX, exportable, file_response, negotiate
from shared.witness.witness import origin_verifiers

audits = router(prefix="/audit", tags=["audit (审计)"])
PEERS = ("registry", "funds", "projects")
Auditor = Reader(Role.auditor)
PEER_RETRY_SECONDS = 30


EARLIEST_AS_OF = date(2000, 1, 1)
AUDIT_CACHE_ENTRIES = 4
RETRY_AFTER_SECONDS = 10

Heads = tuple[tuple[str, int, str | None], ...]


def _as_of(request: Request, as_of: date | None) -> date:
    """Guarantee 1: today by default, never in the future nor before ``EARLIEST_AS_OF``."""
    today = request.app.state.clock.today()
    if as_of is None:
        return today
    if not EARLIEST_AS_OF <= as_of <= today:
        raise Unprocessable(f"审计日期须在{EARLIEST_AS_OF}至今天之间 (as_of must be between {EARLIEST_AS_OF} and today, {today})",
                            errors=[{"field": "as_of", "reason": f"between {EARLIEST_AS_OF} and {today}"}])
    return as_of


@asynccontextmanager
async def _slot(request: Request):
    """Guarantee 3: a run slot, or 503 with Retry-After when every slot is taken."""
    state = request.app.state
    if getattr(state, "audit_runs", None) is None:
        state.audit_runs = asyncio.BoundedSemaphore(state.settings.audit_concurrency)
    if state.audit_runs.locked():
        raise ServiceUnavailable(
            f"审计运行已达并发上限，请稍后重试 (at most {state.settings.audit_concurrency} audit runs at once; retry later)",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    async with state.audit_runs:
        yield


def _cache(request: Request) -> OrderedDict:
    state = request.app.state
    if getattr(state, "audit_cache", None) is None:
        state.audit_cache = OrderedDict()
    return state.audit_cache


async def _replayed(request: Request, feeds: FeedSource, session, as_of: date, *,
                    fresh: bool, outside: Outside | None = None) -> tuple[Loaded, tuple[Replay, Replay]]:
    """Guarantee 2: the logs and their replays, from the cache while no log has moved (a replay
    compared with what lies outside the databases is always fresh and never cached)."""
    async with raw_connection(session) as conn:
        own_head = await store.last_seq(conn)
        own_hash = (await store.read_after(conn, own_head - 1, 1) or [{}])[0].get("hash") if own_head else None
    heads: Heads = tuple((s, *head) for s, head in (await feeds.heads()).items()) + (("audit", own_head, own_hash),)
    cache, key = _cache(request), (as_of, heads)
    if key in cache and not fresh and outside is None:
        cache.move_to_end(key)
        return cache[key]
    loaded = await with_own_log(await feeds.load(), session)
    found = (loaded, await replay_as_of(loaded, as_of, outside=outside))
    if outside is not None:
        return found
    cache[key] = found
    while len(cache) > AUDIT_CACHE_ENTRIES:
        cache.popitem(last=False)
    return found


async def _run(request: Request, session, principal: Principal, *, as_of: date | None, division: str | None,
               compare: bool, fresh: bool = False, outside: Outside | None = None) -> AuditResult:
    try:
        return await _audit(request, session, principal, as_of=as_of, division=division, compare=compare, fresh=fresh,
                            outside=outside)
    except PEER_OUTAGES as exc:
        raise peer_unavailable(exc) from exc


#: a peer down or failing: an outage (503 with Retry-After), not a bug
PEER_OUTAGES = (httpx.TransportError, httpx.HTTPStatusError)


def peer_unavailable(exc: httpx.HTTPError) -> ServiceUnavailable:
    return ServiceUnavailable(f"无法读取被审计服务，请稍后重试 (cannot read {_peer(exc)}: {type(exc).__name__})",
                              headers={"Retry-After": str(PEER_RETRY_SECONDS)})


def _peer(exc: httpx.HTTPError) -> str:
    try:
        return f"{exc.request.url.scheme}://{exc.request.url.netloc.decode()}"
    except RuntimeError:  # httpx raises when the error carries no request
        return "a peer service"


async def _audit(request: Request, session, principal: Principal, *, as_of: date | None, division: str | None,
                 compare: bool, fresh: bool, outside: Outside | None) -> AuditResult:
    app = request.app
    scope = query_scope(principal, division)
    settings = app.state.settings
    as_of = _as_of(request, as_of)
    async with _slot(request), AsyncExitStack() as stack:
        clients = {service: await stack.enter_async_context(_client(app, settings.peer_url(service)))
                   for service in PEERS}
        loaded, replayed = await _replayed(request, FeedSource(clients, service_token(settings)), session, as_of,
                                           fresh=fresh, outside=outside)
        caller_token = request.headers.get("authorization", "").partition(" ")[2]
        live = Live(clients, caller_token) if compare else None
        return await run_audit(loaded, as_of=as_of, division=scope, policy=app.state.policy, live=live,
                               now=app.state.clock.now(), replayed=replayed, outside=outside)


async def _outside(request: Request, session) -> Outside:
    """What outlives the services' databases, as the audit holds it: the checkpoints it co-signed as a
    witness and those it keeps as evidence of its alarms (each verified again with the origin's key),
    and the copies on the topics."""
    settings = request.app.state.settings
    rows = (await session.execute(text(
        "SELECT origin, size, checkpoint FROM witness_cosignatures ORDER BY origin, size"))).all()
    evidence = (await session.execute(text(
        "SELECT id, received_checkpoint FROM witness_alarms WHERE received_checkpoint IS NOT NULL ORDER BY id"))).all()
    verifiers = origin_verifiers(settings, list(PEERS))
    notes = [(f"co-signed by the audit at size {row.size}", row.checkpoint) for row in rows]
    notes += [(f"kept by the audit as evidence of alarm {row.id}", row.received_checkpoint) for row in evidence]
    topics, names = None, {}
    if settings.kafka_bootstrap:
        services = [*PEERS, "audit"]
        loaded = await KafkaSource(settings.kafka_bootstrap, services, settings.topic_prefix).load()
        topics = {s: {e["seq"]: e.get("hash") for e in events} for s, events in loaded.events.items()}
        names = {s: topic_of(s, settings.topic_prefix) for s in services}
    return Outside.of(notes, list(verifiers.values()), {v.name: s for s, v in verifiers.items()},
                      topics=topics, topic_names=names)


async def load_logs(clients: dict[str, httpx.AsyncClient], settings, session) -> Loaded:
    """Every peer's log from its feed (with the audit's service token) and the audit's own log."""
    return await with_own_log(await FeedSource(clients, service_token(settings)).load(), session)


async def with_own_log(loaded: Loaded, session) -> Loaded:
    """``loaded`` with the audit service's own log, read from its database, in the audit's order."""
    async with raw_connection(session) as conn:
        loaded.events["audit"] = [event async for event in store.iter_events(conn)]
        (loaded.entries or {})["audit"] = {"last_seq": await store.last_seq(conn)}
    return _ordered(loaded)


async def peer_logs(request: Request, session) -> Loaded:
    """:func:`load_logs` of the configured peers."""
    app = request.app
    async with AsyncExitStack() as stack:
        clients = {service: await stack.enter_async_context(_client(app, app.state.settings.peer_url(service)))
                   for service in PEERS}
        try:
            return await load_logs(clients, app.state.settings, session)
        except PEER_OUTAGES as exc:
            raise peer_unavailable(exc) from exc


def _client(app, base_url: str) -> httpx.AsyncClient:
    factory = getattr(app.state, "audit_http", None)  # tests may route the peers in-process
    return factory(base_url) if factory else httpx.AsyncClient(base_url=base_url, timeout=120)


def _ordered(loaded: Loaded) -> Loaded:
    loaded.events = {s: loaded.events[s] for s in ("registry", "funds", "projects", "audit") if s in loaded.events}
    return loaded


@audits.get("/report", summary="Audit report as of a date (JSON, CSV, XLSX or HTML)",
            responses={200: {"model": AuditReportOut,
                             "content": {CSV: {"schema": {"type": "string"}},
                                         XLSX: {"schema": {"type": "string", "format": "binary"}},
                                         "text/html": {"schema": {"type": "string"}}}}},
            description="Replays every service's event feed from seq 1, verifies each hash chain and the "
            "cross-service references, rebuilds the ledger balances, household states and registry statistics "
            "with the services' own domain functions and compares them with what the services report (unless "
            "`compare=false`), and checks compliance as of `as_of` (default today) within `division` (default the "
            "caller's), each finding citing its rule in the policy table.")
async def audit_report(request: Request, principal: Auditor, session: Session,
                       as_of: date | None = Query(None, description="default: today (the service clock)"),
                       division: DivisionCode | None = Query(None, description="default: the caller's division"),
                       format: Literal["json", "csv", "xlsx", "html"] | None = Query(
                           None, description="json (default), csv (UTF-8 with BOM, 中文表头), xlsx or html; or send "
                           "`Accept: text/csv` / the XLSX media type"),
                       compare: bool = Query(True, description="compare with the live services' figures")) -> Any:
    format = negotiate(request, format)
    result = (await _run(request, session, principal, as_of=as_of, division=division, compare=compare)).as_dict()
    if format in ("csv", "xlsx"):
        return file_response(report.REPORT_EXPORT, format, report.report_rows(result))
    if format == "html":
        return Response(report.to_html(result), media_type="text/html; charset=utf-8")
    return report.masked(result)


@audits.get("/verify", summary="Verify every service's log: its chain, the checkpoints the audit co-signed, its topic",
            description="Each log gapless from seq 1 with every hash matching its content; each `causation_id` "
            "naming an existing event; each log still matching every checkpoint the audit co-signed as a witness "
            "and the copies on its topic — a cut tail is named as `log truncated: seqs N..M missing`, a rewritten "
            "history as `rewritten at or before seq N (inconsistent with checkpoint …)`, two signed roots for one "
            "size as a fork. Lists every problem with its service and seq.",
            responses={200: {"model": VerifyOut}})
async def audit_verify(request: Request, principal: Auditor,
                       session: Session) -> dict[str, Any]:
    result = await _run(request, session, principal, as_of=None, division=divisions.NATIONAL if
                        principal.division == divisions.NATIONAL else principal.division, compare=False, fresh=True,
                        outside=await _outside(request, session))
    body = result.as_dict()
    return {"verified": result.verified, "chains": body["chains"], "reference_problems": body["reference_problems"],
            "checkpoint_problems": body["checkpoint_problems"]}


@audits.get("/findings", summary="Compliance findings as of a date", responses={200: {"model": FindingsOut}},
            description="Allocations past their deadline, money committed outside the project library, "
            "disbursements beyond commitment, unregistered beneficiaries, stranded funds not returned in time, "
            "negative-list purposes, management fees over the cap, registrations and exits without a passed "
            "notice, households without a helper or a measure — each with its rule id and citation.")
@exportable(report.FINDINGS_EXPORT)
async def audit_findings(request: Request, principal: Auditor, session: Session, as_of: date | None = Query(None),
                         division: DivisionCode | None = Query(None)) -> dict[str, Any]:
    result = await _run(request, session, principal, as_of=as_of, division=division, compare=False)
    body = report.masked(result.as_dict())
    return {"as_of": body["as_of"], "division": body["division"], "findings": body["findings"],
            "by_rule": body["summary"]["findings_by_rule"]}


@audits.get("/discrepancies", summary="Rebuild-and-diff against the live services",
            description="Every ledger balance, registry statistic and household status the events imply, compared "
            "with what the services report through their APIs; each discrepancy names the event that explains the "
            "expected value. As a spreadsheet (`?format=csv|xlsx`): one row per discrepancy, kinds and services "
            "by their Chinese names.", responses={200: {"model": DiscrepanciesOut}})
@exportable(report.DISCREPANCIES_EXPORT)
async def audit_discrepancies(request: Request, principal: Auditor, session: Session,
                              division: DivisionCode | None = Query(None)) -> dict[str, Any]:
    result = await _run(request, session, principal, as_of=None, division=division, compare=True)
    body = report.masked(result.as_dict())
    return {"division": body["division"], "verified": result.verified, "discrepancies": body["discrepancies"]}
