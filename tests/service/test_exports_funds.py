"""The funds reports as CSV and XLSX: the same figures as the JSON, Chinese headers, a BOM."""

from __future__ import annotations

from tests.conftest import bearer
from tests.service.answer_models import assert_documented
from tests.exports import both, yuan
from tests.service.funds_support import JINGHE, down_to_jinghe


async def money_at_jinghe(f):
    await down_to_jinghe(f)
    await f.in_library("P-2017-GOUQI", "P-CANCELLED")
    await f.post("/integrations", JINGHE, amount="600000.00", plan="精河县2017年整合方案", document_no="精政发〔2017〕3号")
    await f.post("/commitments", JINGHE, amount="200000.00", project_code="P-2017-GOUQI", source="pool",
                 plan="精河县2017年整合方案")
    await f.post("/disbursements", JINGHE, amount="50000.00", project_code="P-2017-GOUQI",
                 payee={"kind": "cooperative", "name": "精河县枸杞合作社"}, purpose="industry_development")
    await f.post("/commitments", JINGHE, amount="800.00", project_code="P-CANCELLED", source="available")
    stranded = await f.post("/strandings", JINGHE, project_code="P-CANCELLED", reason="项目无法实施")
    assert stranded.status_code == 201, stranded.text


async def test_balances_as_csv_and_xlsx_match_the_json(funds):
    await money_at_jinghe(funds)
    headers = bearer(funds.settings, "county_finance", JINGHE)
    answer, as_csv, as_xlsx = await both(funds.client, "/balances", {"division": JINGHE}, headers)
    assert len(as_csv) == len(as_xlsx) == len(answer["items"]) > 3
    assert list(as_csv[0]) == ["账户编号", "区划代码", "持有部门", "资金渠道", "渠道代码", "年度", "账户类别",
                               "项目或收款人", "余额（元）"]
    for item, c, x in zip(answer["items"], as_csv, as_xlsx):
        assert c["余额（元）"] == item["balance"] == yuan(x["余额（元）"])
        assert int(c["账户编号"]) == item["account_id"] == x["账户编号"]
        assert c["渠道代码"] == item["channel"] and x["年度"] == item["fiscal_year"]
    pool = next(c for c in as_csv if c["项目或收款人"] == "精河县2017年整合方案")
    assert pool["账户类别"] == "整合资金池" and pool["持有部门"] in ("财政部门", "扶贫办")


async def test_trace_spending_stranded_and_deadlines_as_files(funds):
    await money_at_jinghe(funds)
    headers = bearer(funds.settings, "county_finance", JINGHE)
    answer, as_csv, as_xlsx = await both(funds.client, "/trace", {"payee": "cooperative:精河县枸杞合作社"}, headers)
    assert [c["业务"] for c in as_csv] == ["预算拨款", "资金下达", "资金下达", "资金下达", "涉农资金整合", "安排到项目",
                                          "资金拨付"]
    assert [c["金额（元）"] for c in as_csv] == [p["amount"] for p in answer["postings"]] \
        == [yuan(x["金额（元）"]) for x in as_xlsx]

    answer, as_csv, as_xlsx = await both(funds.client, "/reports/spending", {"fiscal_year": 2017, "division": JINGHE},
                                         headers)
    spec = (await funds.client.get("/openapi.json")).json()
    assert_documented(spec, "/reports/spending", answer, model="SpendingOut")
    assert len(as_csv) == len(as_xlsx) == 1
    for key, header in (("received", "收到资金（元）"), ("committed", "安排到项目（元）"), ("disbursed", "已拨付（元）"),
                        ("stranded", "滞留（元）")):
        assert as_csv[0][header] == answer[key] == yuan(as_xlsx[0][header])

    answer, as_csv, as_xlsx = await both(funds.client, "/reports/stranded", {"division": JINGHE}, headers)
    assert_documented(spec, "/reports/stranded", answer, model="StrandedReportOut")
    assert [c["仍滞留（元）"] for c in as_csv] == [i["held"] for i in answer["items"]] == ["800.00"]
    assert as_xlsx[0]["项目编号"] == "P-CANCELLED" and as_xlsx[0]["收回期限"].date().isoformat() == answer["items"][0]["due"]

    answer, as_csv, as_xlsx = await both(funds.client, "/deadlines", {"division": JINGHE}, headers)
    assert len(as_csv) == len(answer["items"]) == len(as_xlsx) > 0
    for item, c, x in zip(answer["items"], as_csv, as_xlsx):
        assert c["截止日期"] == (item["due"] or "") and c["状态"] in ("未到期", "按期完成", "逾期")
        assert x["剩余天数"] == item["days_remaining"]

    answer, as_csv, as_xlsx = await both(funds.client, "/reports/deadline-compliance", {"division": JINGHE}, headers)
    assert_documented(spec, "/reports/deadline-compliance", answer, model="DeadlineComplianceOut")
    assert len(as_csv) == len(as_xlsx) == len(answer["groups"]) > 0
    for group, c, x in zip(answer["groups"], as_csv, as_xlsx):
        assert int(c["时限数"]) == x["时限数"] == group["total"] and x["逾期"] == group["missed"]


async def test_an_unknown_format_or_an_unacceptable_accept_is_a_problem(funds):
    headers = bearer(funds.settings, "county_finance", JINGHE)
    bad = await funds.client.get("/balances", params={"format": "pdf"}, headers=headers)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "query.format"
    refused = await funds.client.get("/balances", headers={**headers, "Accept": "application/pdf"})
    assert refused.status_code == 406 and refused.headers["content-type"].startswith("application/problem+json")
    assert "text/csv" in refused.json()["acceptable"]
    # a browser's Accept still gets JSON
    browser = await funds.client.get("/balances", headers={
        **headers, "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert browser.status_code == 200 and browser.headers["content-type"].startswith("application/json")


async def test_openapi_documents_the_export_media_types(funds):
    spec = (await funds.client.get("/openapi.json")).json()
    operation = spec["paths"]["/balances"]["get"]
    assert {"application/json", "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} \
        <= set(operation["responses"]["200"]["content"])
    assert "406" in operation["responses"]
    assert any(p["name"] == "format" and p["in"] == "query" for p in operation["parameters"])
