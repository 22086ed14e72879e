"""The audit service's read-only API for auditors: a run over the services' event feeds, as of a
date and within a division — chain verification, rebuild-and-diff against the live services, and
compliance — served as JSON, CSV or HTML.

The logs are read whole with the audit service's own service token (a feed is one chain and is
served only to services and national readers); the live figures are read with the caller's own
token, so they follow the caller's jurisdiction. Nothing is stored: every request is a fresh run.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import date
from typing import Any, Literal

import httpx
from fastapi import Depends, Query, Request
from fastapi.responses import Response

from services.audit import report
from services.audit.diff import Live
from services.audit.run import AuditResult, run_audit
from services.audit.sources import FeedSource, Loaded
from shared import divisions
from shared.auth import Principal, Role, query_scope, require, service_token
from shared.db import raw_connection
from shared.divisions import DivisionCode
from shared.events import store
from shared.web import db_session, router

audits = router(prefix="/audit", tags=["audit (审计)"])
PEERS = ("registry", "funds", "projects")
AUDITOR = require(Role.auditor)


async def _run(request: Request, session, principal: Principal, *, as_of: date | None, division: str | None,
               compare: bool) -> AuditResult:
    app = request.app
    scope = query_scope(principal, division)
    settings = app.state.settings
    async with AsyncExitStack() as stack:
        clients = {service: await stack.enter_async_context(_client(app, settings.peer_url(service)))
                   for service in PEERS}
        loaded = await load_logs(clients, settings, session)
        caller_token = request.headers.get("authorization", "").partition(" ")[2]
        live = Live(clients, caller_token) if compare else None
        return await run_audit(loaded, as_of=as_of or app.state.clock.today(), division=scope,
                               policy=app.state.policy, live=live, now=app.state.clock.now())


async def load_logs(clients: dict[str, httpx.AsyncClient], settings, session) -> Loaded:
    """Every peer's log from its feed (with the audit's service token) and the audit's own log."""
    loaded = await FeedSource(clients, service_token(settings)).load()
    async with raw_connection(session) as conn:  # the audit service's own log, read from its database
        loaded.events["audit"] = [event async for event in store.iter_events(conn)]
        (loaded.entries or {})["audit"] = {"last_seq": await store.last_seq(conn)}
    return _ordered(loaded)


async def peer_logs(request: Request, session) -> Loaded:
    """:func:`load_logs` of the configured peers."""
    app = request.app
    async with AsyncExitStack() as stack:
        clients = {service: await stack.enter_async_context(_client(app, app.state.settings.peer_url(service)))
                   for service in PEERS}
        return await load_logs(clients, app.state.settings, session)


def _client(app, base_url: str) -> httpx.AsyncClient:
    factory = getattr(app.state, "audit_http", None)  # tests may route the peers in-process
    return factory(base_url) if factory else httpx.AsyncClient(base_url=base_url, timeout=120)


def _ordered(loaded: Loaded) -> Loaded:
    loaded.events = {s: loaded.events[s] for s in ("registry", "funds", "projects", "audit") if s in loaded.events}
    return loaded


@audits.get("/report", summary="Audit report as of a date (JSON, CSV or HTML)",
            description="Replays every service's event feed from seq 1, verifies each hash chain and the "
            "cross-service references, rebuilds the ledger balances, household states and registry statistics "
            "with the services' own domain functions and compares them with what the services report (unless "
            "`compare=false`), and checks compliance as of `as_of` (default today) within `division` (default the "
            "caller's), each finding citing its rule in the policy table.")
async def audit_report(request: Request, as_of: date | None = Query(None, description="default: today (the service clock)"),
                       division: DivisionCode | None = Query(None, description="default: the caller's division"),
                       format: Literal["json", "csv", "html"] = Query("json"),
                       compare: bool = Query(True, description="compare with the live services' figures"),
                       principal: Principal = Depends(AUDITOR), session=Depends(db_session)) -> Any:
    result = (await _run(request, session, principal, as_of=as_of, division=division, compare=compare)).as_dict()
    if format == "csv":
        return Response(report.to_csv(result), media_type="text/csv; charset=utf-8")
    if format == "html":
        return Response(report.to_html(result), media_type="text/html; charset=utf-8")
    return report.masked(result)


@audits.get("/verify", summary="Verify every service's hash chain and the cross-service references",
            description="Each log gapless from seq 1 with every hash matching its content; each `causation_id` "
            "naming an existing event. Lists every problem with its service and seq.")
async def audit_verify(request: Request, principal: Principal = Depends(AUDITOR),
                       session=Depends(db_session)) -> dict[str, Any]:
    result = await _run(request, session, principal, as_of=None, division=divisions.NATIONAL if
                        principal.division == divisions.NATIONAL else principal.division, compare=False)
    body = result.as_dict()
    return {"verified": result.verified, "chains": body["chains"], "reference_problems": body["reference_problems"]}


@audits.get("/findings", summary="Compliance findings as of a date",
            description="Allocations past their deadline, money committed outside the project library, "
            "disbursements beyond commitment, unregistered beneficiaries, stranded funds not returned in time, "
            "negative-list purposes, management fees over the cap, registrations and exits without a passed "
            "notice, households without a helper or a measure — each with its rule id and citation.")
async def audit_findings(request: Request, as_of: date | None = Query(None), division: DivisionCode | None = Query(None),
                         principal: Principal = Depends(AUDITOR), session=Depends(db_session)) -> dict[str, Any]:
    result = await _run(request, session, principal, as_of=as_of, division=division, compare=False)
    body = report.masked(result.as_dict())
    return {"as_of": body["as_of"], "division": body["division"], "findings": body["findings"],
            "by_rule": body["summary"]["findings_by_rule"]}


@audits.get("/discrepancies", summary="Rebuild-and-diff against the live services",
            description="Every ledger balance, registry statistic and household status the events imply, compared "
            "with what the services report through their APIs; each discrepancy names the event that explains the "
            "expected value.")
async def audit_discrepancies(request: Request, division: DivisionCode | None = Query(None),
                              principal: Principal = Depends(AUDITOR), session=Depends(db_session)) -> dict[str, Any]:
    result = await _run(request, session, principal, as_of=None, division=division, compare=True)
    body = report.masked(result.as_dict())
    return {"division": body["division"], "verified": result.verified, "discrepancies": body["discrepancies"]}
