"""Every write of the funds ledger answers the model its OpenAPI document names, closed — no
undocumented field (issue 14): appropriation (with a province's deadlines), allocation (with the
receiver's), integration, commitment, de-commitment, reversal, stranding, return, re-allocation,
the results notice and the year close (first and again)."""

from __future__ import annotations

from tests.service.answer_models import assert_documented
from tests.service.funds_support import BOZHOU, JINGHE, XINJIANG, down_to_jinghe

PLAN = "精河县2017年整合方案"


async def test_every_ledger_write_answers_its_documented_model(funds):
    f = funds
    spec = (await f.client.get("/openapi.json")).json()

    async def posted(path, division, documented=None, model="PostedOut", status=201, **body):
        response = await f.post(path, division, **body)
        assert response.status_code == status, response.text
        assert_documented(spec, documented or path, response.json(), method="post", status=str(status), model=model)
        return response.json()

    await down_to_jinghe(f, "1000.00")
    own = await posted("/appropriations", XINJIANG, channel="provincial_special", amount="200.00",
                       document_no="新财预〔2017〕2号")
    assert own["deadlines"][0]["kind"] == "onward_allocation"  # a province's own money must be passed on
    allocated = await posted("/allocations", XINJIANG, channel="provincial_special", amount="200.00",
                             to_division=BOZHOU, document_no="新财农〔2017〕30号", budget_approved_on="2017-02-01")
    assert allocated["deadlines"] and allocated["advance"] is False
    await posted("/integrations", JINGHE, amount="400.00", plan=PLAN, document_no="精政发〔2017〕3号")
    await f.in_library("P-1", "P-2")
    await posted("/commitments", JINGHE, amount="300.00", project_code="P-1", source="available")
    back = await posted("/decommitments", JINGHE, project_code="P-1", amount="50.00", reason="项目调减")
    assert back["project_code"] == "P-1"
    wrong = await posted("/commitments", JINGHE, amount="10.00", project_code="P-1", source="available")
    reversal = await posted(f"/postings/{wrong['posting_id']}/reversal", JINGHE, "/postings/{posting_id}/reversal",
                            document_no="精财冲〔2017〕1号", reason="项目编号错误")
    assert reversal["reverses"] == wrong["posting_id"] and reversal["withdrawn_deadlines"] == []
    await posted("/commitments", JINGHE, amount="200.00", project_code="P-2", source="available")
    await posted("/strandings", JINGHE, project_code="P-2", channel="central_special", fiscal_year=2017,
                 reason="项目无法实施")
    returned = await posted("/returns", JINGHE, project_code="P-2", amount="200.00", document_no="精财返〔2017〕1号")
    assert returned["in_full"] is True
    await posted("/reallocations", XINJIANG, amount="200.00", to_division=BOZHOU, document_no="新财农〔2017〕40号")
    await posted("/results-notices", JINGHE, model="ResultsNoticeOut", fiscal_year=2017, period_start="2017-03-01",
                 period_end="2017-03-10", hotline_local="0909-5322222")
    close = {"document_no": "精财结〔2017〕1号", "document_date": "2017-12-31"}
    first = await posted("/year-closes", JINGHE, model="YearCloseOut", **close)
    again = await posted("/year-closes", JINGHE, model="YearCloseOut", status=200, **close)
    assert again["already_closed"] is True and again["seq"] == first["seq"] and first["carried"]
