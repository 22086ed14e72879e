"""The households roster and the project library as CSV and XLSX: every page of the list, the same
figures and the same masking as the JSON."""

from __future__ import annotations

import re

import pytest

from shared.web import export
from tests.conftest import bearer
from tests.exports import both, csv_rows, yuan
from tests.service.registry_support import COUNTY, family
from tests.service.test_projects import COUNTY as PROJECTS_COUNTY, Projects, projects  # noqa: F401 (fixture)

EIGHTEEN_DIGITS = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(export, "PAGE_LIMIT", 2)  # the export must walk every page


async def test_the_households_roster_holds_every_page(registry, small_pages):
    for seed in range(5):
        proposed = await registry.propose(family(seed, size=2 + seed % 3))
        assert proposed.status_code == 201, proposed.text
    headers = registry.token("county_office", COUNTY)
    answer, as_csv, as_xlsx = await both(registry.client, "/households", {"division": COUNTY, "limit": 500}, headers)
    assert len(answer["items"]) == len(as_csv) == len(as_xlsx) == 5
    assert list(as_csv[0])[:5] == ["户编号", "区划代码", "户主姓名", "户主身份证号", "家庭人口"]
    for item, c, x in zip(answer["items"], as_csv, as_xlsx):
        head = next(m for m in item["members"] if m["relation"] == "head")
        assert c["户编号"] == x["户编号"] == item["number"]
        assert c["户主身份证号"] == x["户主身份证号"] == head["id_number"]  # the office sees it in JSON too
        assert int(c["家庭人口"]) == x["家庭人口"] == len(item["members"])
        assert c["主要致贫原因"] == "因病" and c["状态"] == x["状态"]


async def test_a_roster_export_shows_a_department_what_the_json_shows_it(registry):
    proposed = await registry.propose(family(7))
    assert proposed.status_code == 201, proposed.text
    headers = bearer(registry.settings, "department", COUNTY, dept="education")
    answer = await registry.client.get("/households", params={"division": COUNTY}, headers=headers)
    assert answer.status_code == 200, answer.text
    as_csv = csv_rows(await registry.client.get("/households", params={"division": COUNTY, "format": "csv"},
                                                headers=headers))
    [item], [row] = answer.json()["items"], as_csv
    head = next(m for m in item["members"] if m["relation"] == "head")
    assert row["户主身份证号"] == head["id_number"] and row["户主姓名"] == head["name"]
    assert bool(EIGHTEEN_DIGITS.search(str(as_csv))) == bool(EIGHTEEN_DIGITS.search(answer.text))


async def test_the_project_library_as_files(projects: Projects, small_pages):  # noqa: F811
    p = projects
    codes = [(await p.propose()).json()["code"] for _ in range(3)]
    code = codes[0]
    await p.into_library(code)
    await p.posting("commit", code, 300_000)
    await p.posting("disburse", code, 120_000, payee={"kind": "contractor", "name": "某公司"})
    headers = p.headers(PROJECTS_COUNTY)
    headers.pop("Idempotency-Key", None)
    answer, as_csv, as_xlsx = await both(p.client, "/projects", {"division": PROJECTS_COUNTY}, headers)
    assert [c["项目编号"] for c in as_csv] == [i["code"] for i in answer["items"]] == [x["项目编号"] for x in as_xlsx]
    assert len(as_csv) == 3
    for item, c, x in zip(answer["items"], as_csv, as_xlsx):
        assert c["预算（元）"] == item["budget"] == yuan(x["预算（元）"])
        assert c["已安排资金（元）"] == item["funding"]["committed"] == yuan(x["已安排资金（元）"])
        assert c["已支付（元）"] == item["funding"]["paid"] == yuan(x["已支付（元）"])
        assert c["项目类型"] == item["type_label"] and x["带动户数"] == item["beneficiaries"]["households"]
    funded = next(c for c in as_csv if c["项目编号"] == code)
    assert (funded["已安排资金（元）"], funded["已支付（元）"]) == ("3000.00", "1200.00")
