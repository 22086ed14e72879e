"""The registers a county keeps beside its money and projects, as CSV and XLSX (issue 14): payee
bank accounts (funds), assets, 百企千村 enterprises and pairings (projects), and the audit's
rebuild-and-diff — each file the same figures as the JSON cell for cell (``tests/exports.py``),
Chinese headers, codes by their Chinese labels, masked where the JSON masks; each JSON answer an
instance of its documented model (closed)."""

from __future__ import annotations

from services.audit import report
from services.funds.api import exports as funds_exports
from services.projects.api import exports as projects_exports
from tests.conftest import bearer
from tests.exports import assert_same_figures, both
from tests.service.answer_models import assert_documented
from tests.service.funds_support import JINGHE, down_to_jinghe
from tests.service.test_audit_limits import audited  # noqa: F401 (the fixture)
from tests.service.test_projects import COUNTY, VILLAGE, projects  # noqa: F401 (the fixture)
from tests.service.test_projects_assets import asset, handed_over_ready
from tests.service.test_projects_results import CREDIT_CODE, ENTERPRISE, funded_project

HOUSEHOLD = "0192f0a4-0000-7000-8000-000000000001"
NUMBERS = ("6228480012345678011", "6228480099990000111")  # the first superseded by the second


def _cells(rows) -> set[str]:
    return {str(value) for row in rows for value in row.values()}


async def test_payee_accounts_as_files_are_masked_as_the_json_is(funds):
    f = funds
    await f.registered(HOUSEHOLD)
    for number in NUMBERS:
        made = await f.post("/payee-accounts", JINGHE, payee={"kind": "household", "name": "马成", "household_id": HOUSEHOLD},
                            bank_code="402100000018", bank_name="新疆农村信用社精河县联社", account_no=number,
                            account_name="马成")
        assert made.status_code == 201, made.text
    headers = bearer(f.settings, "county_finance", JINGHE)
    answer, as_csv, as_xlsx = await both(f.client, "/payee-accounts", {"payee": f"household:{HOUSEHOLD}"}, headers)
    assert_documented((await f.client.get("/openapi.json")).json(), "/payee-accounts", answer, model="PayeeAccountOut")
    assert_same_figures(funds_exports.PAYEE_ACCOUNTS, answer, as_csv, as_xlsx, "/payee-accounts")
    assert [c["账号（脱敏）"] for c in as_csv] == ["****" + n[-4:] for n in NUMBERS]
    assert [c["状态"] for c in as_csv] == ["已更换", "现用"] and as_csv[0]["更换为账户"] == answer[1]["account_id"]
    assert not any(n in cell or n[-8:] in cell for n in NUMBERS for cell in _cells(as_csv) | _cells(as_xlsx))


async def test_assets_enterprises_and_pairings_as_files(projects):  # noqa: F811
    p = projects
    households = [await p.household() for _ in range(2)]
    code = await handed_over_ready(p, households)
    handed = await p.post(f"/projects/{code}/handover", COUNTY, assets=[
        asset(shares=[{"holder": h, "shares": 1} for h in households]),
        asset(name="村道路灯", kind="public_good", owner="village_collective", book_value="20000.00",
              operator={"name": "示范村村委会", "kind": "village_collective"})])
    assert handed.status_code == 201, handed.text
    solar = handed.json()["assets"][0]["id"]
    for period, amount in (("2018", "100.00"), ("2019", "250.50")):
        paid = await p.post(f"/assets/{solar}/distributions", VILLAGE, period=period, amount=amount, **p.period())
        assert paid.status_code == 201, paid.text
    spec = (await p.client.get("/openapi.json")).json()
    headers = p.headers(COUNTY)

    answer, as_csv, as_xlsx = await both(p.client, "/assets", {"division": COUNTY}, headers)
    assert_documented(spec, "/assets", answer, model="AssetsOut")
    assert_same_figures(projects_exports.ASSETS, answer, as_csv, as_xlsx, "/assets")
    assert [(c["资产类型"], c["所有权"], c["主体类型"]) for c in as_csv] == [
        ("经营性资产", "折股量化到户", "村集体经济组织"), ("公益性资产", "村集体", "村集体经济组织")]
    assert [(c["股东数"], c["收益分配次数"], c["已分配收益（元）"]) for c in as_csv] == [("2", "2", "350.50"),
                                                                             ("1", "0", "0.00")]

    assert (await p.post("/enterprises", COUNTY, **ENTERPRISE)).status_code == 201
    answer, as_csv, as_xlsx = await both(p.client, "/enterprises", {}, headers)
    assert_documented(spec, "/enterprises", answer, model="EnterprisesOut")
    assert_same_figures(projects_exports.ENTERPRISES, answer, as_csv, as_xlsx, "/enterprises")
    assert [(c["企业名称"], c["企业类型"]) for c in as_csv] == [(ENTERPRISE["name"], "民营企业")]

    library = await funded_project(p, households)
    paired = await p.post("/pairings", COUNTY, credit_code=CREDIT_CODE, division=COUNTY, villages=[VILLAGE],
                          first_year=2018, last_year=2019, projects=[library], commitments=[
                              {"year": year, "villages": 1, "households": n, "labourers": 3, "income": "5000.00",
                               "investment": "8000.50"} for year, n in ((2019, 7), (2018, 5))])
    assert paired.status_code == 201, paired.text
    labourers = await p.post(f"/pairings/{paired.json()['id']}/labourers", COUNTY, items=[
        {"household_id": households[0], "name": "成员0", "hired_on": "2018-03-01"}])
    assert labourers.status_code == 201, labourers.text
    answer, as_csv, as_xlsx = await both(p.client, "/pairings", {}, headers)
    assert_documented(spec, "/pairings", answer, model="PairingsOut")
    assert_same_figures(projects_exports.PAIRINGS, answer, as_csv, as_xlsx, "/pairings")
    assert [(c["承诺年度"], c["带动贫困户（户）"], c["投资（元）"], c["企业名称"], c["结对项目"], c["已报告劳动力（人）"])
            for c in as_csv] == [("2018", "5", "8000.50", ENTERPRISE["name"], library, "1"),
                                 ("2019", "7", "8000.50", ENTERPRISE["name"], library, "1")]
    assert [x["投资（元）"] for x in as_xlsx] == [8000.5, 8000.5]  # money a number in the sheet


async def test_audit_discrepancies_as_files_name_kinds_and_services_in_chinese(audited):  # noqa: F811
    client, _, funds, auditor = audited
    await down_to_jinghe(funds)
    await funds.db(f"UPDATE accounts SET balance_fen = balance_fen + 12345 WHERE id = (SELECT min(id) FROM accounts "
                   f"WHERE division = '{JINGHE}' AND balance_fen > 0)")  # behind the service's back
    answer, as_csv, as_xlsx = await both(client, "/audit/discrepancies", {}, auditor)
    spec = (await client.get("/openapi.json")).json()
    assert_documented(spec, "/audit/discrepancies", answer, model="DiscrepanciesOut")
    assert_same_figures(report.DISCREPANCIES_EXPORT, answer, as_csv, as_xlsx, "/audit/discrepancies")
    [balance] = [c for c in as_csv if c["差异类型"] == "账户余额"]
    assert balance["服务"] == "财政扶贫资金"
    assert int(balance["实为（服务所报）"].replace(".", "")) - int(balance["应为（按事件重建）"].replace(".", "")) == 12345
