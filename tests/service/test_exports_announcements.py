"""The announcement lists as CSV and XLSX (issue 14): the officials' and the public list on every
service, every page of them, and the registry's archive of a division's board — the same figures as
the JSON, Chinese headers, codes by their labels, and no full ID number where the JSON has none."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from services.registry.usecases import board
from shared.announcements import exports
from shared.web import export
from tests.exports import assert_same_figures, both, csv_rows, xlsx_rows
from tests.service.answer_models import assert_documented
from tests.service.test_public_board import JINGHE, PERSON_ID, Stack, stack, three_services  # noqa: F401 (fixture)

EIGHTEEN_DIGITS = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(export, "PAGE_LIMIT", 2)  # the export must walk every page
    monkeypatch.setattr(board, "EXPORT_BATCH", 2)


async def _funds_announcements(stack: Stack) -> list[str]:
    """Three county announcements of the funds service: one published, one withdrawn, one with an objection."""
    ids = [await stack.announce("funds", "county_finance", "county", JINGHE, f"2017年第{n}批资金分配结果公告")
           for n in (1, 2, 3)]
    _, funds = stack.apps["funds"]
    withdrawn = await funds.post(f"/announcements/{ids[1]}/withdraw", json={"reason": "数据有误，重新公告"},
                                 headers=stack.headers("funds", "county_finance", JINGHE))
    assert withdrawn.status_code == 200, withdrawn.text
    filed = await funds.post(f"/public/announcements/{ids[2]}/objections", json={"text": "分配给我村的资金与实际不符。"})
    assert filed.status_code == 201, filed.text
    return ids


async def test_the_public_list_as_files_holds_every_page_masked(stack, small_pages):
    ids = await _funds_announcements(stack)
    _, funds = stack.apps["funds"]
    answer, as_csv, as_xlsx = await both(funds, "/public/announcements", {"division": JINGHE, "limit": 100})
    assert {a["id"] for a in answer["items"]} == set(ids)
    assert_same_figures(exports.PUBLIC, answer, as_csv, as_xlsx, "public announcements")
    by_id = {row["公告编号"]: row for row in as_csv}
    assert by_id[ids[0]]["状态"] == "公示中" and by_id[ids[1]]["状态"] == "已撤回"
    assert by_id[ids[0]]["公告类别"] == "扶贫资金" and by_id[ids[0]]["公示层级"] == "县"
    assert (by_id[ids[2]]["异议数"], by_id[ids[2]]["待处理异议数"], by_id[ids[0]]["异议数"]) == ("1", "1", "0")
    assert by_id[ids[0]]["公示人数"] == "1" and by_id[ids[0]]["撤回原因"] == ""
    assert by_id[ids[1]]["撤回原因"] == "数据有误，重新公告"
    assert PERSON_ID not in str(as_csv) + str(as_xlsx) and not EIGHTEEN_DIGITS.search(str(as_csv))


async def test_the_officials_list_as_files_holds_every_page(stack, small_pages):
    ids = await _funds_announcements(stack)
    draft = await stack.apps["funds"][1].post("/announcements", headers=stack.headers("funds", "county_finance", JINGHE),
                                              json={"subject_type": "allocation", "subject_id": "草稿", "level": "county",
                                                    "division": JINGHE, "title": "尚未发布的公告",
                                                    "content": {"body": "草稿"}, "hotline_local": "0909-5322222"})
    assert draft.status_code == 201, draft.text
    settings, funds = stack.apps["funds"]
    headers = stack.headers("funds", "county_finance", JINGHE)
    headers.pop("Idempotency-Key")
    answer, as_csv, as_xlsx = await both(funds, "/announcements", {"limit": 100}, headers)
    assert {a["id"] for a in answer["items"]} == {*ids, draft.json()["id"]}
    assert_same_figures(exports.OFFICIAL, answer, as_csv, as_xlsx, "officials' announcements")
    assert {row["状态"] for row in as_csv} == {"草稿", "公示中", "已撤回"}
    assert "异议数" not in as_csv[0]  # the list holds no objections: its file does not pretend to count them
    assert as_csv[0]["事项编号"] and list(as_csv[0])[:2] == ["公告标题", "公告类别"]
    # the public may not read the officials' list, as a file neither
    assert (await funds.get("/announcements", params={"format": "csv"})).status_code == 401


async def test_the_board_archive_as_files_holds_every_page_of_the_search(stack, small_pages, monkeypatch):
    monkeypatch.setattr(board, "ARCHIVE_PAGE", 2)
    ids = await three_services(stack)
    funds_ids = await _funds_announcements(stack)
    stack.clock.set(datetime(2017, 9, 1, 2, tzinfo=UTC))
    await stack.feed_board()
    _, registry = stack.apps["registry"]
    path = f"/public/boards/{JINGHE}/archive"
    first = (await registry.get(path, params={"format": "json"})).json()
    assert first["total"] == 6 and first["pages"] == 3 and len(first["items"]) == 2
    spec = (await registry.get("/openapi.json")).json()
    assert_documented(spec, "/public/boards/{division}/archive", first, model="ArchiveOut")
    items = [item for n in (1, 2, 3)
             for item in (await registry.get(path, params={"format": "json", "page": n})).json()["items"]]
    as_csv = csv_rows(await registry.get(path, params={"format": "csv"}))
    as_xlsx = xlsx_rows(await registry.get(path, headers={"Accept": export.XLSX}))
    assert_same_figures(exports.ARCHIVE, {"items": items}, as_csv, as_xlsx, "board archive")
    assert {row["公告编号"] for row in as_csv} == {*ids.values(), *funds_ids}
    assert {row["公告类别"] for row in as_csv} == {"扶贫对象（建档立卡）", "扶贫资金", "扶贫项目"}
    assert "事项编号" not in as_csv[0] and not EIGHTEEN_DIGITS.search(str(as_csv) + str(as_xlsx))
    # the search holds in the file as on the page: the words, the service
    words = csv_rows(await registry.get(path, params={"q": "资金", "service": "funds", "format": "csv"}))
    assert {row["公告编号"] for row in words} == {*funds_ids, ids["funds"]}
    by_accept = await registry.get(path, headers={"Accept": "text/csv"})
    assert csv_rows(by_accept) == as_csv
    assert (await registry.get(path)).headers["content-type"].startswith("text/html")  # a browser: the page
    bad = await registry.get(path, params={"format": "pdf"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.format"
