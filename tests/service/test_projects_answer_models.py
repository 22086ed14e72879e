"""The projects library page and a project's full record are instances of the models the service's
OpenAPI document names (closed: no undocumented field), with labels beside the codes (issue 14)."""

from __future__ import annotations

from tests.service import test_projects
from tests.service.answer_models import assert_documented
from tests.service.test_projects import COUNTY, VILLAGE
from tests.service.test_projects_assets import asset, handed_over_ready

projects = test_projects.projects  # the fixture: the projects service on a fresh database


async def test_the_library_page_and_a_full_record_match_their_models(projects):
    p = projects
    spec = (await p.client.get("/openapi.json")).json()
    households = [await p.household() for _ in range(2)]
    code = await handed_over_ready(p, households)  # beneficiaries, library, plan, commitment, progress, acceptance
    await p.posting("disburse", code, 6_000_000, payee={"kind": "enterprise", "name": "光伏公司"})
    handed = await p.post(f"/projects/{code}/handover", COUNTY,
                          assets=[asset(shares=[{"holder": h, "shares": 1} for h in households])])
    assert handed.status_code == 201, handed.text
    paid = await p.post(f"/assets/{handed.json()['assets'][0]['id']}/distributions", VILLAGE, period="2018",
                        amount="100.00", **p.period())
    assert paid.status_code == 201, paid.text

    record = await p.get(f"/projects/{code}")
    assert record.status_code == 200, record.text
    body = record.json()
    assert_documented(spec, "/projects/{code}", body, model="ProjectOut")
    assert body["funding"]["postings"] and body["benefits"]["items"] and body["assets"][0]["distributions"]
    assert body["sources"][0]["channel_label"] == "中央财政专项扶贫资金"
    assert body["funding"]["postings"][0]["channel_label"] == "中央财政专项扶贫资金"
    assert body["beneficiaries"]["items"][0]["mechanism_label"] == "资产收益"
    assert body["benefits"]["items"][0]["kind_label"] == "分红" and body["assets"][0]["kind_label"] == "经营性资产"

    page = await p.get("/projects", COUNTY)
    assert page.status_code == 200 and [item["code"] for item in page.json()["items"]] == [code]
    assert_documented(spec, "/projects", page.json(), model="ProjectPage")
    assert page.json()["items"][0]["stage_label"] == "资产已移交"
