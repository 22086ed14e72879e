"""Compliance over real service logs on fresh databases: the registry and funds driven through
their APIs, the audit replaying their ``/events`` feeds.

The services refuse most breaches at the door (a disbursement beyond its commitment, a
negative-list purpose, a fee over the cap, money for a project outside the library, a step before
its notice passed), so those scenarios write what a service version without the gate would have
written: through the funds store (``usecases.ledger.post``, the posting and its event, minus the
API's checks), or, where even the store refuses, as a bare event appended to the log. Everything
else (a missed deadline, stranded money never returned, a payment to an unknown household,
households without assistance) goes through the public APIs as they are.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import uuid6

from services.audit.diff import Live
from services.audit.run import run_audit
from services.audit.sources import FeedSource, Loaded
from services.funds.contract import EVENT_TYPES
from services.funds.usecases.deadlines import DeadlineScheduler
from services.funds.domain import AccountKey, Posting
from services.funds.usecases.ledger import post
from shared.db import make_engine, make_sessionmaker, raw_connection
from shared.events import NewEvent, append, store
from shared.money import format_fen
from shared.policy import load_policy
from tests.conftest import bearer
from tests.service.registry_support import COUNTY, VILLAGE, exit_household, family, identify
from tests.service.funds_support import BOZHOU, CENTRAL, JINGHE, XINJIANG, Funds, down_to_jinghe

ACTOR = {"sub": "buggy-release", "roles": ["county_finance"], "division": JINGHE}


async def log_of(settings) -> list[dict]:
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with make_sessionmaker(engine, settings.service)() as session, raw_connection(session) as conn:
            return [event async for event in store.iter_events(conn)]
    finally:
        await engine.dispose()


async def write(settings, clock, work) -> None:
    """Run ``work(session)`` in one transaction of the service's database (what a service does)."""
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with make_sessionmaker(engine, settings.service, clock)() as session, session.begin():
            await work(session)
    finally:
        await engine.dispose()


def key(kind: str, reference: str | None = None, division: str = JINGHE) -> AccountKey:
    return AccountKey(division=division, role="finance", channel="central_special", fiscal_year=2017, kind=kind,
                      reference=reference)


def posting(operation: str, source: AccountKey, target: AccountKey, amount_fen: int, **fields) -> Posting:
    return Posting(posting_id=str(uuid6.uuid7()), from_=source, to=target, amount_fen=amount_fen, operation=operation,
                   document_no="", document_date=date(2017, 3, 1), actor="buggy-release", **fields)


async def audit(source, as_of: date, live: Live | None = None, division: str = "652722"):
    return await run_audit(source, as_of=as_of, division=division, policy=load_policy(), live=live)


def by_rule(result) -> dict[str, list]:
    found: dict[str, list] = {}
    for finding in result.findings:
        found.setdefault(finding.rule_id, []).append(finding)
    return found


async def in_library(f: Funds, code: str) -> None:
    """A project enters the library in the projects service's log — on the same clock as funds, as
    in a deployment — and the funds consumer applies it (funds_support's helper stamps real time)."""
    from services.funds.handlers import CONSUMES
    from shared.events.consumer import Consumer

    if f.projects is None:
        f.projects = await f.databases.new("projects")
    written = []

    async def entered(session):
        written.extend(await append(session, [NewEvent("projects.project.entered_library", code, {
            "code": code, "division": JINGHE, "publicity_passed": True}, {"sub": "县扶贫办", "roles": ["county_office"],
                                                                           "division": JINGHE})]))

    await write(f.projects, f.clock, entered)
    engine = make_engine(f.settings.sqlalchemy_url, pool_size=2)
    try:
        consumer = Consumer(f.settings, make_sessionmaker(engine, "funds"), CONSUMES)
        await consumer.load_positions()
        await consumer.apply(written[0])
        await consumer.http.aclose()
    finally:
        await engine.dispose()


async def funds_source(f: Funds) -> Loaded:
    loaded = await FeedSource({"funds": f.client}, bearer(f.settings, "auditor")["Authorization"][7:]).load()
    loaded.events["projects"] = await log_of(f.projects) if f.projects is not None else []
    loaded.events["registry"] = []  # no household is registered: every household payee is unknown
    return loaded


async def test_funds_rules_fire_on_their_breaches_and_not_before(funds):
    f = funds
    await down_to_jinghe(f, "100000.00")
    await in_library(f, "P-1")
    assert (await f.post("/commitments", JINGHE, amount="50000.00", project_code="P-1", source="available")).status_code == 201
    assert (await f.post("/disbursements", JINGHE, amount="1000.00", project_code="P-1", purpose="industry_development",
                         payee={"kind": "cooperative", "name": "枸杞合作社"})).status_code == 201
    clean = await audit(await funds_source(f), date(2017, 3, 1),
                        Live({"funds": f.client}, bearer(f.settings, "auditor")["Authorization"][7:]))
    assert clean.verified and clean.discrepancies == [] and clean.findings == []

    # through the APIs as they are: a province that never passes its money on, a payment to a
    # household the registry does not know, stranded money never returned
    await f.post("/appropriations", CENTRAL, amount="500.00", document_no="财农〔2017〕9号")
    kept = await f.post("/allocations", CENTRAL, amount="500.00", to_division=XINJIANG, document_no="财农〔2017〕11号")
    assert kept.status_code == 201
    f.clock.set(datetime(2017, 4, 10, 2, tzinfo=timezone.utc))
    engine = make_engine(f.settings.sqlalchemy_url, pool_size=1)
    try:
        await DeadlineScheduler(make_sessionmaker(engine, "funds", f.clock), f.clock, 1).tick()
    finally:
        await engine.dispose()
    unknown = "0192f0a4-0000-7000-8000-00000000dead"  # the API refuses it now (issue 15); the release below did not
    assert (await f.post("/disbursements", JINGHE, amount="10.00", project_code="P-1",
                         payee={"kind": "household", "name": "某户", "household_id": unknown})).status_code == 422
    assert (await f.post("/strandings", JINGHE, project_code="P-1", amount="2000.00", reason="无法实施")).status_code == 201

    # what a release without the API's gates would have written
    async def ungated(session):
        actor, now = ACTOR, f.clock.now()
        await post(session, posting("commit", key("available"), key("committed", "P-OUTSIDE"), 100_00, reference="P-OUTSIDE"),
                   actor=actor, posted_at=now)
        await post(session, posting("commit", key("available"), key("committed", "P-1"), 5_000_00, reference="P-1",
                                    purpose="project_management_fee"), actor=actor, posted_at=now)
        await post(session, posting("disburse", key("committed", "P-1"), key("disbursed", "enterprise:车行"), 300_00,
                                    purpose="vehicles_telecom_equipment", reference="enterprise:车行"),
                   actor=actor, posted_at=now, extra={"payee": {"kind": "enterprise", "name": "车行"}, "project_code": "P-1"})
        await post(session, posting("disburse", key("committed", "P-1"), key("disbursed", "enterprise:车行"), 200_00,
                                    purpose="交通工具及通讯设备", reference="enterprise:车行"),  # the list's label, no code
                   actor=actor, posted_at=now, extra={"payee": {"kind": "enterprise", "name": "车行"}, "project_code": "P-1"})
        await post(session, posting("disburse", key("committed", "P-1"), key("disbursed", f"household:{unknown}"), 10_00,
                                    reference=f"household:{unknown}"), actor=actor, posted_at=now,
                   extra={"payee": {"kind": "household", "name": "某户", "household_id": unknown}, "project_code": "P-1"})
        over = posting("disburse", key("committed", "P-1"), key("disbursed", "contractor:某公司"), 100_000_00,
                       reference="contractor:某公司")
        await append(session, [NewEvent(EVENT_TYPES["disburse"], str(over.to), {
            **over.as_dict(), "amount": format_fen(over.amount_fen), "on": "2017-03-01",
            "payee": {"kind": "contractor", "name": "某公司"}, "project_code": "P-1"}, actor)])

    await write(f.settings, f.clock, ungated)
    result = await audit(await funds_source(f), date(2019, 1, 1), division="")  # the province's deadline too
    found = by_rule(result)
    assert result.verified
    assert sorted(found) == ["funds.deadline.central_onward", "funds.disbursement.within_commitment",
                             "funds.stranded.return", "funds.use.declared_purpose", "funds.use.negative_list",
                             "funds.use.project_management_fee_cap", "project.beneficiaries.registered_only",
                             "project.funding.library_required"]
    assert [f.subject for f in found["project.funding.library_required"]] == ["project P-OUTSIDE"]
    [unknown_purpose] = found["funds.use.declared_purpose"]
    assert "交通工具及通讯设备" in unknown_purpose.detail and unknown_purpose.citation == "财农〔2017〕8号"
    # money stranded from P-1 and never returned; the receipts' own stranded_return deadlines (the funds
    # scheduler's records, unmet by 2018-12-31) are findings of the same rule
    assert [f.amount_fen for f in found["funds.stranded.return"] if f.subject == "stranded P-1"] == [2000_00]
    assert {f.subject.split()[0] for f in found["funds.stranded.return"]} == {"stranded", "deadline"}
    assert "0192f0a4-0000-7000-8000-00000000dead" in found["project.beneficiaries.registered_only"][0].subject
    assert [d.kind for d in result.discrepancies] == ["refused_posting"]  # the event no ledger accepts
    assert all(f.citation and f.seq and f.source == "funds" for f in result.findings)


async def test_the_audit_agrees_with_funds_on_a_late_settlement(funds):
    """博州 passes its money on 5 days after its deadline: funds records ``settled_late`` (missed,
    met 5 days late); the audit, a month later, says the same — and diffs the deadline records."""
    f = funds
    auditor = Live({"funds": f.client}, bearer(f.settings, "auditor")["Authorization"][7:])
    await f.post("/appropriations", CENTRAL, amount="1000.00", document_no="财农〔2017〕8号")
    await f.post("/allocations", CENTRAL, amount="1000.00", to_division=XINJIANG, document_no="财农〔2017〕10号")
    f.clock.set(datetime(2017, 3, 10, 2, tzinfo=timezone.utc))
    received = await f.post("/allocations", XINJIANG, amount="1000.00", to_division=BOZHOU,
                            document_no="新财农〔2017〕21号", document_date="2017-03-10")
    [late] = [d for d in received.json()["deadlines"] if d["kind"] == "onward_allocation"]
    assert late["due"] == "2017-04-09"
    engine = make_engine(f.settings.sqlalchemy_url, pool_size=1)
    scheduler = DeadlineScheduler(make_sessionmaker(engine, "funds", f.clock), f.clock, 1)
    try:
        await scheduler.tick()
        f.clock.set(datetime(2017, 4, 10, 2, tzinfo=timezone.utc))
        assert {"id": late["id"], "state": "missed"} in await scheduler.tick()
        f.clock.set(datetime(2017, 4, 14, 2, tzinfo=timezone.utc))
        assert (await f.post("/allocations", BOZHOU, amount="1000.00", to_division=JINGHE,
                             document_no="博州财农〔2017〕5号", document_date="2017-04-14")).status_code == 201
        assert {"id": late["id"], "state": "settled_late"} in await scheduler.tick()
    finally:
        await engine.dispose()
    f.clock.set(datetime(2017, 5, 12, 2, tzinfo=timezone.utc))  # 33 days after the due day
    [listed] = [d for d in (await f.client.get("/deadlines", params={"division": BOZHOU, "state": "missed"},
                                               headers=bearer(f.settings, "city_finance", BOZHOU))).json()["items"]]
    assert (listed["settled_on"], listed["days_overdue"]) == ("2017-04-14", 5)

    result = await audit(await funds_source(f), date(2017, 5, 12), auditor, division="6527")
    [finding] = [x for x in result.findings if x.subject == f"deadline {late['id']} (onward_allocation)"]
    assert "met on 2017-04-14: 5 days overdue" in finding.detail
    assert result.discrepancies == []

    # a deadline record changed behind the service's back is a discrepancy naming it
    await f.db(f"UPDATE deadlines SET settled_on = NULL WHERE id = '{late['id']}'")
    tampered = await audit(await funds_source(f), date(2017, 5, 12), auditor, division="6527")
    assert [(d.kind, d.subject.split(": ")[-1], d.expected, d.actual) for d in tampered.discrepancies] == [
        ("deadline", "met on", "2017-04-14", None), ("deadline", "days overdue", 5, 33)]


async def test_registry_rules_fire_on_their_breaches(registry):
    r = registry
    helped = await identify(r, family(31))
    await r.client.put(f"/households/{helped}/helper", json={"name": "李干部", "unit": "县财政局"},
                       headers=r.headers("village", VILLAGE))
    await r.client.post(f"/households/{helped}/measures", headers=r.headers("village", VILLAGE),
                        json={"pathway": "industry", "description": "枸杞种植", "year": 2016})
    exited = await identify(r, family(32))
    await exit_household(r, exited)
    auditor = bearer(r.settings, "auditor")["Authorization"][7:]
    live = Live({"registry": r.client}, auditor)
    # registry_support closes the notices in a session without the service clock, so those events
    # carry the real time: audit as of today for them to count
    as_of = date.today()
    clean = await audit(await FeedSource({"registry": r.client}, auditor).load(), as_of, live)
    assert clean.verified and clean.discrepancies == [] and clean.findings == []

    lacking = await identify(r, family(33))  # registered through every notice, but never helped
    proposed = await r.propose(family(34))
    jumped = proposed.json()["id"]

    async def registered_without_notices(session):
        await append(session, [NewEvent("registry.household.register", jumped, {
            "action": "register", "decision": "approve", "reason": "", "on": r.clock.today().isoformat(),
            "from": "proposed", "to": "registered"}, {"sub": "buggy-release", "roles": ["county_office"],
                                                      "division": COUNTY})])

    await write(r.settings, r.clock, registered_without_notices)
    result = await audit(await FeedSource({"registry": r.client}, auditor).load(), as_of)
    found = by_rule(result)
    numbers = {h: (await r.get(h))["number"] for h in (lacking, jumped)}
    assert sorted(found) == ["household.assistance.min_measures", "household.helper.required",
                             "household.identification.announced"]
    assert [f.subject for f in found["household.identification.announced"]] == [f"household {numbers[jumped]}"]
    assert sorted(f.subject for f in found["household.helper.required"]) == sorted(
        f"household {n}" for n in numbers.values())
    assert found["household.helper.required"][0].citation == "seed 004 L63; DOMAIN.md §3"
