"""Performance scores from events (the audit service), over real service logs on fresh databases:
the registry, funds and projects driven through their APIs, the audit replaying their feeds. The
score of 精河县 for 2017 equals a hand computation and the same functions over an export of the
same events; the factor sheet generated from it is accepted by ``POST /allocations`` and its
parts are exact to the fen."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import datetime, timezone

import asyncio
import json

import httpx
from typer.testing import CliRunner

from deploy.audit_cli import audit_app as audit_cli

from services.audit.app import create_app as audit_app
from services.audit.export import write_export
from services.audit.scores import scores_from
from services.audit.sources import ExportSource, FeedSource
from services.projects.app import create_app as projects_app
from shared.clock import SettableClock
from shared.policy import load_policy
from tests.conftest import bearer, serving
from tests.service.funds_support import BOZHOU, JINGHE, XINJIANG, committed_project
from tests.service.registry_support import VILLAGE, exit_household, family, identify

BOLE = "652701000000"  # 博乐市, the other recipient of 博州's sheet


async def scenario(registry, funds):
    """精河县 in 2017: three households of three persons registered in 2016 — one helped, one exited
    in 2017, one never given a helper or a measure (two audit findings); 100,000.00 yuan received,
    50,000.00 committed, 30,000.00 paid, 5,000.00 stranded; the county's results notice drew an
    objection that was upheld."""
    r, f = registry, funds
    helped = await identify(r, family(41))
    await r.client.put(f"/households/{helped}/helper", json={"name": "李干部", "unit": "县财政局"},
                       headers=r.headers("village", VILLAGE))
    await r.client.post(f"/households/{helped}/measures", headers=r.headers("village", VILLAGE),
                        json={"pathway": "industry", "description": "枸杞种植", "year": 2016})
    exited = await identify(r, family(42))
    await identify(r, family(43))  # on the roll, never helped: household.helper.required, .min_measures
    await exit_household(r, exited)
    await committed_project(f, "50000.00", down="100000.00")
    assert (await f.post("/disbursements", JINGHE, amount="30000.00", project_code="P-1", purpose="industry_development",
                         payee={"kind": "cooperative", "name": "枸杞合作社"})).status_code == 201
    stranded = await f.post("/strandings", JINGHE, project_code="P-1", channel="central_special", fiscal_year=2017,
                            amount="5000.00", reason="项目无法实施", document_date="2017-03-01")
    assert stranded.status_code == 201, stranded.text
    notice = await f.client.post("/results-notices", headers=f.headers(JINGHE), json={
        "fiscal_year": 2017, "period_start": "2017-03-01", "period_end": "2017-03-10", "hotline_local": "0909-5322222"})
    assert notice.status_code == 201, notice.text
    announcement = notice.json()["id"] if "id" in notice.json() else notice.json()["announcement_id"]
    objection = await f.client.post(f"/public/announcements/{announcement}/objections", json={"text": "收到资金数额与实际不符"})
    assert objection.status_code == 201, objection.text
    upheld = await f.client.post(f"/announcements/{announcement}/objections/{objection.json()['id']}/resolve",
                                 json={"decision": "upheld", "reason": "经核实属实"},
                                 headers=f.headers(JINGHE, "county_finance"))
    assert upheld.status_code == 200, upheld.text


@asynccontextmanager
async def audit_service(databases, registry, funds):
    """The audit service whose peers are the test's in-process services."""
    clients = {"8101": registry.client, "8102": funds.client}
    async with serving(projects_app(funds.projects, clock=funds.clock, run_background=False)) as projects:
        clients["8103"] = projects
        settings = await databases.new("audit")
        app = audit_app(settings, clock=SettableClock(datetime(2018, 3, 1, 2, tzinfo=timezone.utc)), run_background=False)
        app.state.audit_http = lambda base_url: _borrowed(clients[base_url.rsplit(":", 1)[1].rstrip("/")])
        async with serving(app) as client:
            yield settings, client, projects


@asynccontextmanager
async def _borrowed(client: httpx.AsyncClient):
    yield client


async def test_the_score_of_jinghe_equals_a_hand_computation_and_the_rebuild_from_an_export(databases, registry, funds, tmp_path):
    await scenario(registry, funds)
    async with audit_service(databases, registry, funds) as (settings, client, projects):
        response = await client.get("/audit/scores", params={"year": 2017, "division": JINGHE},
                                    headers=bearer(settings, "auditor"))
        assert response.status_code == 200, response.text
        [served] = response.json()["items"]

        # by hand, with the shipped weights (rules.yaml division.performance.score):
        hand = {"deadlines_met": "15.00",      # nothing of 精河县's fell due in 2017: full marks
                "spending_progress": "6.00",   # 30,000 ÷ 100,000 = 30% of 20
                "stranded_money": "9.50",      # 1 − 5,000 ÷ 100,000 = 95% of 10
                "exits_achieved": "20.00",     # 3 of 9 poor persons exited = 33% ≥ 25%: full 20
                "funds_per_exit": "10.00",     # 30,000 ÷ 3 = 10,000 per person, at the 10,000 reference: full 10
                "objections": "7.50",          # one upheld: 1 − 25% of 10
                "audit_findings": "9.00"}      # two findings: 1 − 2 × 20% = 60% of 15
        assert {c["component"]: c["points"] for c in served["components"]} == hand
        assert served["score"] == "77.00"
        assert served["inputs"] == {"deadlines_met": 0, "deadlines_missed": 0, "received_fen": 100000_00,
                                    "disbursed_fen": 30000_00, "stranded_fen": 5000_00, "poor_at_start": 9, "exited": 3,
                                    "objections_upheld": 1, "findings": 2}

        # the audit's rebuild from an export of the same events gives the same score
        token = bearer(settings, "service")["Authorization"][7:]
        logs = await FeedSource({"registry": registry.client, "funds": funds.client, "projects": projects}, token).load()
        write_export(tmp_path, logs.events, source="test", created_at="2018-03-01T10:00:00+08:00")
        rebuilt, _ = scores_from(ExportSource(tmp_path), [JINGHE], 2017, load_policy())
        assert rebuilt[JINGHE].as_dict() == served
        printed = await asyncio.to_thread(CliRunner().invoke, audit_cli, [  # the command runs its own event loop
            "scores", "--year", "2017", "--division", JINGHE, "--export", str(tmp_path), "--data-dir", str(tmp_path / "none")])
        assert printed.exit_code == 0, printed.output
        assert json.loads(printed.stdout)["items"] == [served]

        before_rules = await client.get("/audit/scores", params={"year": 2015, "division": JINGHE},
                                        headers=bearer(settings, "auditor"))
        assert before_rules.status_code == 422 and before_rules.json()["errors"][0]["field"] == "year"

        exported = await client.get("/audit/scores", params={"year": 2017, "division": JINGHE, "format": "csv"},
                                    headers=bearer(settings, "auditor"))
        text = exported.content.decode("utf-8")
        assert text.startswith("\ufeff区划,年度,考评项目,权重") and "公告公示异议成立,10,75.00,7.50" in text



async def test_an_allocation_made_from_the_generated_factor_sheet_is_accepted_and_its_parts_are_exact(
        databases, registry, funds):
    await scenario(registry, funds)
    f = funds
    async with audit_service(databases, registry, funds) as (settings, client, _):
        body = {"year": 2017, "total": "123457.89", "recipients": {
            JINGHE: {"farmer_income": "9500.00", "fiscal_capacity": "3000.00"},
            BOLE: {"farmer_income": "14200.00", "fiscal_capacity": "5200.00"}}}
        refused = await client.post("/audit/factor-sheets", json={**body, "recipients": {
            JINGHE: {"farmer_income": "0", "fiscal_capacity": "3000.00"}}},
            headers={**bearer(settings, "city_finance", BOZHOU), "Idempotency-Key": "s-0"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == f"recipients.{JINGHE}.farmer_income"
        generated = await client.post("/audit/factor-sheets", json=body,
                                      headers={**bearer(settings, "city_finance", BOZHOU), "Idempotency-Key": "s-1"})
        assert generated.status_code == 201, generated.text
    out = generated.json()
    sheet, parts = out["factor_sheet"], out["parts"]
    assert out["year"] == 2018 and sheet["weights"] == {"poor_population": 50, "farmer_income": 15,
                                                        "fiscal_capacity": 15, "performance": 20}
    assert sheet["recipients"][JINGHE] == {"poor_population": 6, "farmer_income": "105.263158",
                                           "fiscal_capacity": "333.333333", "performance": "77.00"}
    assert sheet["recipients"][BOLE]["poor_population"] == 0  # nobody registered in 博乐市 in this test
    assert sum(int(p.replace(".", "")) for p in parts.values()) == 123457_89  # exact to the fen

    # next year's money reaches 博州, which allocates to 精河县 exactly its part of the generated sheet
    f.clock.set(datetime(2018, 1, 10, 2, tzinfo=timezone.utc))
    year = {"fiscal_year": 2018, "document_date": "2018-01-10"}
    assert (await f.post("/appropriations", "000000000000", amount="123457.89", document_no="财农〔2018〕1号",
                         **year)).status_code == 201
    for source, target, doc in (("000000000000", XINJIANG, "财农〔2018〕2号"), (XINJIANG, BOZHOU, "新财农〔2018〕3号")):
        assert (await f.post("/allocations", source, amount="123457.89", to_division=target, document_no=doc,
                             **year)).status_code == 201
    off = await f.post("/allocations", BOZHOU, amount="100.00", to_division=JINGHE, document_no="博州财农〔2018〕1号",
                       factor_sheet=sheet, **year)
    assert off.status_code == 422 and off.json()["expected"] == parts[JINGHE]
    made = await f.post("/allocations", BOZHOU, amount=parts[JINGHE], to_division=JINGHE, document_no="博州财农〔2018〕1号",
                        factor_sheet=sheet, **year)
    assert made.status_code == 201, made.text
    [recorded] = await f.db("SELECT data FROM events WHERE type = 'funds.allocation.issued' ORDER BY seq DESC LIMIT 1")
    assert json.loads(recorded["data"])["factor_sheet"]["parts"] == parts
    await f.zero_sum_and_no_negative()
