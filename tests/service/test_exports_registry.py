"""The registry's lists and reports as CSV and XLSX (issue 14): a household's benefits, the
missing-assistance report, grievances and the overdue ones, change requests, duplicate candidates
and the import history — the same figures as the JSON (each answer an instance of its documented
model), Chinese headers, codes by their Chinese labels, ID numbers masked where the JSON masks them."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from services.registry.api import exports
from shared.idcard import make_id, mask
from tests.conftest import bearer, fetch
from tests.exports import assert_same_figures, both
from tests.service.answer_models import assert_documented
from tests.service.registry_support import COUNTY, TOWNSHIP, VILLAGE, family, identify

EIGHTEEN_DIGITS = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


async def _files(r, path, model, export, headers=None, params=None):
    """The JSON (checked against ``model``), the CSV and the XLSX of one list, holding the same figures."""
    spec = (await r.client.get("/openapi.json")).json()
    headers = headers or r.token("county_office", COUNTY)
    answer, as_csv, as_xlsx = await both(r.client, path, params, headers)
    template = next(p for p in spec["paths"] if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", p), path))
    assert_documented(spec, template, answer, model=model)
    assert_same_figures(export, answer, as_csv, as_xlsx, path)
    return answer, as_csv, as_xlsx


async def test_a_households_benefits_as_files(registry):
    r = registry
    hid = await identify(r, family(61))
    await fetch(r.settings, """INSERT INTO benefits (id, household_id, source_event, source, reference, kind,
                                                     amount_fen, "on")
                               VALUES ($1, $2, 'e-1', 'projects', 'P-2016-001', 'wages', 120000, '2016-08-01'),
                                      ($3, $2, 'e-2', 'funds', '精财农〔2016〕12号', 'payment', 80050, '2016-09-01')""",
                uuid.uuid4(), uuid.UUID(hid), uuid.uuid4())
    answer, as_csv, as_xlsx = await _files(r, f"/households/{hid}/benefits", "BenefitsOut", exports.BENEFITS,
                                           headers=r.token("village", VILLAGE))
    assert answer["total"] == "2000.50"
    assert [(c["类别"], c["来源"], c["金额（元）"]) for c in as_csv] == [("务工工资", "扶贫项目", "1200.00"),
                                                                   ("资金发放", "扶贫资金", "800.50")]
    assert {c["户编号"] for c in as_csv} == {answer["household"]} and as_xlsx[1]["金额（元）"] == 800.5


async def test_the_missing_assistance_report_as_files(registry):
    r = registry
    a, b = await identify(r, family(62)), await identify(r, family(63))
    await r.client.put(f"/households/{a}/helper", json={"name": "李干部", "unit": "县财政局"},
                       headers=r.headers("village", VILLAGE))
    answer, as_csv, _ = await _files(r, "/reports/missing-assistance", "MissingAssistanceOut",
                                     exports.MISSING_ASSISTANCE)
    number = {h: (await r.get(h))["number"] for h in (a, b)}
    assert {(c["户编号"], c["无帮扶责任人"], c["无帮扶措施"]) for c in as_csv} == {
        (number[a], "否", "是"), (number[b], "是", "是")}


async def test_grievances_and_the_overdue_ones_as_files(registry):
    r = registry
    bodies = [{"channel": "12317", "division": VILLAGE, "summary": "反映某户帮扶措施未落实",
               "complainant": {"name": "李四", "phone": "13812345678"}},
              {"channel": "letter", "division": VILLAGE, "summary": "=HYPERLINK(\"x\")", "complainant": {"anonymous": True},
               "links": [{"kind": "project", "ref": "P-2016-001"}]}]
    ids = []
    for body in bodies:
        received = await r.client.post("/grievances", json=body, headers=r.headers("county_office", COUNTY))
        assert received.status_code == 201, received.text
        ids.append(received.json()["id"])
    classified = await r.client.post(f"/grievances/{ids[0]}/steps/classify", json={"category": "assistance"},
                                     headers=r.headers("county_office", COUNTY))
    assert classified.status_code == 200, classified.text
    _, as_csv, _ = await _files(r, "/grievances", "GrievancesOut", exports.GRIEVANCES)
    by_summary = {c["举报内容"]: c for c in as_csv}
    first = by_summary["反映某户帮扶措施未落实"]
    assert (first["渠道"], first["状态"], first["问题类别"], first["举报人"]) == (
        "12317扶贫监督举报电话", "已受理", "帮扶措施", "李四")
    assert first["联系电话"] == "13812345678"  # the officials read it in the JSON too
    assert by_summary["'=HYPERLINK(\"x\")"]["举报人"] == "匿名"  # a formula is written inert
    assert by_summary["'=HYPERLINK(\"x\")"]["关联对象"] == "扶贫项目：P-2016-001"

    r.clock.advance(timedelta(days=70))  # past both the acceptance and the answer date
    answer, as_csv, as_xlsx = await _files(r, "/reports/grievances/overdue", "OverdueGrievancesOut",
                                           exports.OVERDUE_GRIEVANCES)
    assert answer["count"] == 2
    late = {c["状态"]: c for c in as_csv}
    assert late["已登记"]["逾期情况"] == "逾期未受理、逾期未答复" and late["已受理"]["逾期情况"] == "逾期未答复"
    assert {x["逾期天数"] for x in as_xlsx} == {item["days_late"] for item in answer["items"]}
    overdue_only = await _files(r, "/grievances", "GrievancesOut", exports.GRIEVANCES, params={"overdue": "true"})
    assert len(overdue_only[1]) == 2


async def test_change_requests_as_files_with_id_numbers_masked(registry):
    r = registry
    members = family(64)
    await r.propose(members)
    old_id, new_id = members[1]["id_number"], make_id("652722", date(1972, 5, 9), 777)
    proposed = await r.client.post("/change-requests", headers=r.headers("village", VILLAGE), json={
        "target": "person", "id_number": old_id, "reason": "户口簿核对身份证号录入错误", "document": "户口簿",
        "changes": {"id_number": new_id, "name": "更正名"}})
    assert proposed.status_code == 201, proposed.text
    answer, as_csv, _ = await _files(r, "/change-requests", "ChangeRequestsOut", exports.CHANGE_REQUESTS,
                                     headers=r.token("township", TOWNSHIP))
    [row] = as_csv
    assert (row["更正类型"], row["审核层级"], row["状态"]) == ("身份信息（姓名、身份证号）", "县", "待审批")
    assert f"id_number：{mask(old_id)}" in row["原值"] and f"id_number：{mask(new_id)}" in row["新值"]
    assert "name：更正名" in row["新值"]
    assert not EIGHTEEN_DIGITS.search(str(as_csv)) and not EIGHTEEN_DIGITS.search(str(answer))


async def test_duplicate_candidates_as_files_with_id_numbers_masked(registry):
    r = registry
    born = date(1968, 4, 12)
    zhang, mistyped = make_id("652722", born, 123), make_id("652722", born, 128)
    person = {"relation": "head", "labour_capacity": "normal_labour"}
    assert (await r.propose([{**person, "id_number": zhang, "name": "张伟"}])).status_code == 201
    second = await r.propose([{**person, "id_number": mistyped, "name": "張偉"}])
    assert second.json()["duplicate_candidates"] == 1
    answer, as_csv, as_xlsx = await _files(r, "/reports/duplicates", "DuplicatesOut", exports.DUPLICATES)
    [row] = as_csv
    assert (row["新登记人员姓名"], row["已登记人员姓名"], row["发现途径"]) == ("張偉", "张伟", "新识别申报")
    assert "身份证号仅一位之差" in row["疑似理由"] and int(row["相似度"]) == answer["items"][0]["score"]
    assert row["新登记人员身份证号"] == mask(mistyped) and row["已登记人员身份证号"] == mask(zhang)
    assert zhang not in str(as_csv) + str(as_xlsx) and mistyped not in str(as_csv) + str(as_xlsx)


async def test_the_import_history_as_files(registry):
    r = registry
    await fetch(r.settings, "INSERT INTO divisions (code, name, level, parent, synthetic) VALUES "
                "($1, '精河县', 'county', '652700000000', true), ($2, '托里镇', 'township', $1, true), "
                "($3, '永集湖村', 'village', $2, true)", COUNTY, TOWNSHIP, VILLAGE)
    header = "户编号,行政区划代码,姓名,证件号码,与户主关系,劳动技能,贫困户属性,主要致贫原因,识别年度\r\n"
    good = header + f"I0001,{VILLAGE},王一,{make_id('652722', date(1970, 3, 15), 11)},户主,普通劳动力,一般贫困户,因病,2014\r\n"
    bad = header + f"I0002,{VILLAGE},王二,123,户主,普通劳动力,一般贫困户,因病,2014\r\n"
    county = bearer(r.settings, "county_office", COUNTY)
    for n, (name, text) in enumerate((("good.csv", good), ("bad.csv", bad))):
        uploaded = await r.client.post("/imports", files={"file": (name, ("\ufeff" + text).encode(), "text/csv")},
                                       headers={**county, "Idempotency-Key": f"import-{n}"})
        assert uploaded.status_code == (201 if name == "good.csv" else 422), uploaded.text
    _, as_csv, as_xlsx = await _files(r, "/imports", "ImportsOut", exports.IMPORTS)
    by_file = {c["文件名"]: c for c in as_csv}
    assert (by_file["good.csv"]["结果"], by_file["good.csv"]["户数"], by_file["good.csv"]["人数"]) == ("已导入", "1", "1")
    assert by_file["bad.csv"]["结果"] == "整批退回" and by_file["bad.csv"]["错误数"] == "1"
    assert {c["类型"] for c in as_csv} == {"建档立卡花名册"}
