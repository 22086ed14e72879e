"""The public board of a division (registry): every service's announcements from their events,
named by place, with an archive, a page per announcement and objection receipts."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import uuid6

from services.funds.app import create_app as funds_app
from services.projects.app import create_app as projects_app
from services.funds.handlers import CONSUMES as FUNDS_CONSUMES
from services.projects.handlers import CONSUMES as PROJECTS_CONSUMES
from services.registry.app import create_app as registry_app
from services.registry.handlers import CONSUMES
from services.registry.usecases.reference import jinghe_reference
from shared import receipt_numbers
from shared.announcements import service as announcements
from shared.announcements.contract import objection_receipt
from shared.clock import SettableClock
from shared.db import make_engine, make_sessionmaker
from shared.events.consumer import Consumer
from shared.idcard import make_id
from tests.conftest import bearer, serving

START = date(2017, 3, 1)
JINGHE, TOLI, YONGJI = "652722000000", "652722102000", "652722102201"
PERSON_ID = make_id("652722", date(1968, 4, 12), 31)
EIGHTEEN_DIGITS = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_keys = iter(range(10**6))


class Stack:
    def __init__(self):
        self.apps = {}

    def headers(self, service, role, division):
        settings, _ = self.apps[service]
        return {**bearer(settings, role, division), "Idempotency-Key": f"b{next(_keys)}"}

    async def announce(self, service, role, level, division, title, days=10, start=START):
        settings, client = self.apps[service]
        body = {"subject_type": "notice", "subject_id": title, "level": level, "division": division, "title": title,
                "content": {"body": f"{title}。户主身份证号{PERSON_ID}。",
                            "table": {"columns": ["项目", "金额（元）"], "rows": [["饮水工程", "120000.00"]]}},
                "people": [{"name": "王某", "id_number": PERSON_ID}], "hotline_local": "0909-5322222"}
        draft = await client.post("/announcements", json=body, headers=self.headers(service, role, division))
        assert draft.status_code == 201, draft.text
        aid = draft.json()["id"]
        published = await client.post(f"/announcements/{aid}/publish", headers=self.headers(service, role, division),
                                      json={"period_start": start.isoformat(),
                                            "period_end": (start + timedelta(days=days - 1)).isoformat()})
        assert published.status_code == 200, published.text
        return aid

    async def feed_board(self):
        """Every service's events through the registry's consumer, as Kafka would deliver them."""
        await self.feed("registry", CONSUMES)

    async def feed(self, target, consumes):
        """Every service's events that ``target`` consumes, through its real consumer."""
        settings, _ = self.apps[target]
        engine = make_engine(settings.sqlalchemy_url, pool_size=2)
        consumer = Consumer(settings, make_sessionmaker(engine, target), consumes)
        try:
            await consumer.load_positions()
            for service, (source_settings, client) in self.apps.items():
                if service not in consumes:
                    continue
                page = await client.get("/events", params={"after": consumer.positions.get(service).seq
                                                           if service in consumer.positions else 0, "limit": 1000},
                                        headers=bearer(source_settings, "service"))
                assert page.status_code == 200, page.text
                await consumer.apply_many(page.json()["events"])
        finally:
            await consumer.http.aclose()
            await engine.dispose()


@pytest.fixture
async def stack(databases):
    s = Stack()
    clock = SettableClock(datetime(2017, 3, 1, 2, tzinfo=UTC))
    apps = {}
    for service, build in (("registry", registry_app), ("funds", funds_app), ("projects", projects_app)):
        settings = await databases.new(service)
        apps[service] = (settings, build(settings, clock=clock, run_background=False))
    async with serving(apps["registry"][1]) as r, serving(apps["funds"][1]) as f, serving(apps["projects"][1]) as p:
        s.apps = {"registry": (apps["registry"][0], r), "funds": (apps["funds"][0], f), "projects": (apps["projects"][0], p)}
        s.clock = clock
        engine = make_engine(apps["registry"][0].sqlalchemy_url, pool_size=1)
        try:
            async with make_sessionmaker(engine, "registry")() as session, session.begin():
                await jinghe_reference(session, {"sub": "test", "roles": ["admin"], "division": "000000000000"})
        finally:
            await engine.dispose()
        yield s


async def three_services(stack):
    return {
        "registry": await stack.announce("registry", "village", "village", YONGJI, "永集湖村2017年贫困户识别公示"),
        "funds": await stack.announce("funds", "county_finance", "county", JINGHE, "2017年财政专项扶贫资金分配结果公告"),
        "projects": await stack.announce("projects", "township", "township", TOLI, "托里镇2017年扶贫项目入库公示"),
    }


async def test_the_board_of_jinghe_shows_all_three_services_by_name(stack):
    ids = await three_services(stack)
    await stack.feed_board()
    _, registry = stack.apps["registry"]
    page = await registry.get("/public/boards/652722")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<h1>精河县扶贫公告公示栏</h1>" in html and "县 652722000000" not in html
    for title in ("永集湖村2017年贫困户识别公示", "2017年财政专项扶贫资金分配结果公告", "托里镇2017年扶贫项目入库公示"):
        assert title in html
    assert "托里镇永集湖村" in html  # a village named with its township on the county's board
    for label in ("扶贫对象（建档立卡）", "扶贫资金", "扶贫项目"):
        assert label in html
    assert not EIGHTEEN_DIGITS.search(html)
    # each announcement's objection form posts to the service that owns it, and comes back here
    funds_settings, _ = stack.apps["funds"]
    actions = re.findall(r'<form class="objection"[^>]*action="([^"]*)"', html)
    assert f'{funds_settings.funds_url}/public/announcements/{ids["funds"]}/objections?back=board' in actions, actions

    data = (await registry.get("/public/boards/652722", headers={"Accept": "application/json"})).json()
    assert data["name"] == "精河县"
    assert {a["service"] for a in data["current"]} == {"registry", "funds", "projects"}
    assert not EIGHTEEN_DIGITS.search(str(data))
    # a township's board shows only what lies under it
    toli = (await registry.get(f"/public/boards/{TOLI}?format=json")).json()
    assert toli["name"] == "托里镇" and {a["id"] for a in toli["current"]} == {ids["registry"], ids["projects"]}


async def test_an_announcement_whose_id_reads_like_a_card_number_keeps_its_objection_form(stack, monkeypatch):
    """The cause of this file's one intermittent failure: about one random UUIDv7 in 400 has digit groups
    that read as a bank card (7813-9469-5265-13336) or a mobile number, and the board's masking of
    personal numbers masked them in the form's action — the villager's objection went nowhere."""
    number_like = uuid.UUID("01a23cb1-bdb4-7813-9469-526513336f2c")
    ids = iter([number_like])
    monkeypatch.setattr(announcements, "uuid6", SimpleNamespace(uuid7=lambda: next(ids, None) or uuid6.uuid7()))
    aid = await stack.announce("funds", "county_finance", "county", JINGHE, "2017年财政专项扶贫资金分配结果公告")
    assert aid == str(number_like)
    await stack.feed_board()
    funds_settings, funds = stack.apps["funds"]
    action = f"{funds_settings.funds_url}/public/announcements/{aid}/objections?back=board"
    _, registry = stack.apps["registry"]
    for page in (f"/public/boards/{JINGHE}", f"/public/notices/{aid}"):
        html = (await registry.get(page)).text
        assert re.findall(r'<form class="objection"[^>]*action="([^"]*)"', html) == [action], page
        assert f"/public/notices/{aid}" in html
    filed = await funds.post(action.removeprefix(funds_settings.funds_url), data={"text": "分配给我村的资金与实际不符。"})
    assert filed.status_code == 303, filed.text


async def test_a_page_per_announcement_as_html_and_json(stack):
    ids = await three_services(stack)
    await stack.feed_board()
    _, registry = stack.apps["registry"]
    page = await registry.get(f"/public/notices/{ids['projects']}")
    assert page.status_code == 200 and "托里镇2017年扶贫项目入库公示" in page.text and "精河县扶贫公告公示栏" in page.text
    assert 'data-label="金额（元）"' in page.text  # tables read as cards on a phone
    one = (await registry.get(f"/public/notices/{ids['funds']}?format=json")).json()
    assert one["service"] == "funds" and one["status"] == "published" and one["level_label"] == "县"
    assert one["people"][0]["id_number"] != PERSON_ID
    missing = await registry.get("/public/notices/0190a6a4-0000-7000-8000-000000000000?format=json")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


async def test_the_archive_keeps_everything_and_searches(stack):
    ids = await three_services(stack)
    old = await stack.announce("funds", "county_finance", "county", JINGHE, "2017年第一批资金下达公告", start=START)
    _, funds = stack.apps["funds"]
    withdrawn = await funds.post(f"/announcements/{old}/withdraw", json={"reason": "数据有误，重新公告"},
                                 headers=stack.headers("funds", "county_finance", JINGHE))
    assert withdrawn.status_code == 200, withdrawn.text
    stack.clock.set(datetime(2017, 9, 1, 2, tzinfo=UTC))  # half a year on: off the front page
    await stack.feed_board()
    _, registry = stack.apps["registry"]
    front = (await registry.get("/public/boards/652722?format=json")).json()
    assert old not in {a["id"] for a in front["recent"]}
    everything = (await registry.get("/public/boards/652722/archive?format=json")).json()
    assert everything["total"] == 4 and old in {a["id"] for a in everything["items"]}
    words = (await registry.get("/public/boards/652722/archive", params={"q": "资金", "format": "json"})).json()
    assert {a["id"] for a in words["items"]} == {ids["funds"], old}
    by_service = (await registry.get("/public/boards/652722/archive?service=projects&format=json")).json()
    assert [a["id"] for a in by_service["items"]] == [ids["projects"]]
    assert (await registry.get("/public/boards/652722/archive?from=2017-03-02&format=json")).json()["total"] == 0
    assert (await registry.get("/public/boards/652722/archive?from=2017-03-01&to=2017-03-01&status=withdrawn"
                               "&format=json")).json()["total"] == 1
    html = (await registry.get("/public/boards/652722/archive", params={"q": "资金"})).text
    assert "2017年第一批资金下达公告" in html and "已撤回" in html and "永集湖村" not in html
    bad = await registry.get("/public/boards/652722/archive?from=2017-05-01&to=2017-04-01")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from"
    assert (await registry.get("/public/boards/652722/archive?service=audit")).status_code == 422


async def test_an_objection_gets_a_short_receipt_and_a_public_status(stack):
    ids = await three_services(stack)
    _, funds = stack.apps["funds"]
    filed = await funds.post(f"/public/announcements/{ids['funds']}/objections",
                             json={"text": "分配给我村的资金与实际不符。", "name": "张三", "phone": "13912345678"})
    assert filed.status_code == 201, filed.text
    receipt = filed.json()["receipt"]
    assert len(receipt) == 10 and receipt_numbers.normalise(receipt) == receipt
    assert receipt == objection_receipt(filed.json()["id"])
    await stack.feed_board()
    _, registry = stack.apps["registry"]
    status = (await registry.get(f"/public/objections/{receipt}?format=json")).json()
    assert status["status"] == "received" and status["announcement"]["id"] == ids["funds"]
    assert "张三" not in str(status) and "13912345678" not in str(status) and "资金与实际不符" not in str(status)
    spaced = receipt_numbers.spaced(receipt).lower()  # as a villager might type it
    page = await registry.get(f"/public/objections/{spaced}")
    assert page.status_code == 200 and "已受理" in page.text and "张三" not in page.text
    assert "2017年财政专项扶贫资金分配结果公告" in page.text

    resolved = await funds.post(f"/announcements/{ids['funds']}/objections/{filed.json()['id']}/resolve",
                                json={"decision": "dismissed", "reason": "经核实，分配与文件一致"},
                                headers=stack.headers("funds", "county_finance", JINGHE))
    assert resolved.status_code == 200, resolved.text
    await stack.feed_board()
    status = (await registry.get(f"/public/objections/{receipt}?format=json")).json()
    assert status["status"] == "answered" and status["decision"] == "dismissed" and status["answered_at"]
    board = (await registry.get("/public/boards/652722?format=json")).json()
    funds_notice = next(a for a in board["current"] if a["id"] == ids["funds"])
    assert funds_notice["objections"] == {"open": 0, "upheld": 0, "dismissed": 1}

    mistyped = receipt[:3] + ("1" if receipt[3] != "1" else "2") + receipt[4:]
    bad = await registry.get(f"/public/objections/{mistyped}?format=json")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "receipt"
    unknown = await registry.get(f"/public/objections/{receipt_numbers.new()}?format=json")
    assert unknown.status_code == 404
    lookup = await registry.get("/public/objections", params={"receipt": spaced})
    assert lookup.status_code == 303 and lookup.headers["location"].endswith(f"/public/objections/{receipt}")


async def test_a_form_objection_from_the_board_comes_back_to_the_board_with_its_receipt(stack):
    ids = await three_services(stack)
    _, projects = stack.apps["projects"]
    posted = await projects.post(f"/public/announcements/{ids['projects']}/objections?back=board",
                                 data={"text": "项目选址不合理，离村太远。"})
    assert posted.status_code == 303
    registry_settings, registry = stack.apps["registry"]
    location = posted.headers["location"]
    assert location.startswith(f"{registry_settings.registry_url}/public/boards/{TOLI}?filed=")
    receipt = location.split("filed=")[1].split("#")[0]
    await stack.feed_board()
    page = await registry.get(location.removeprefix(registry_settings.registry_url))
    assert f"回执号 {receipt_numbers.spaced(receipt)}" in page.text
    forged = await registry.get("/public/boards/652722?filed=<script>alert(1)</script>")
    assert "<script>alert" not in forged.text and "回执号" not in forged.text.split("异议回执查询")[0]
    # a service's own board points at the division's board
    own = await projects.get("/public/board/652722")
    assert f"{registry_settings.registry_url}/public/boards/652722" in own.text


async def test_each_services_own_board_feed_and_form_errors_name_the_division(stack):
    """What a service still renders itself (its own board, its feed, a form sent back with an error) names
    the division from the registry's division events, and leads to the division's board."""
    ids = await three_services(stack)
    await stack.feed("funds", FUNDS_CONSUMES)
    await stack.feed("projects", PROJECTS_CONSUMES)
    registry_settings, _ = stack.apps["registry"]
    _, funds = stack.apps["funds"]
    own = (await funds.get("/public/board/652722")).text
    assert "<h1>精河县扶贫公告公示栏</h1>" in own and "652722000000" not in re.sub(r"<[^>]*>", "", own)  # text, not links
    assert f'href="{registry_settings.registry_url}/public/boards/652722000000"' in own
    assert f'href="{registry_settings.registry_url}/public/notices/{ids["funds"]}"' in own  # its one page
    feed = (await funds.get("/public/board/652722/feed.atom")).text
    assert "<title>精河县扶贫公告公示</title>" in feed
    bad = await funds.post(f"/public/announcements/{ids['funds']}/objections", data={"text": "短"})
    assert bad.status_code == 422 and "<h1>精河县扶贫公告公示栏</h1>" in bad.text and "field-error" in bad.text
    _, projects = stack.apps["projects"]
    county = (await projects.get("/public/board/652722")).text
    assert "托里镇2017年扶贫项目入库公示" in county and "托里镇" in county.split("托里镇2017年扶贫项目入库公示")[1][:400]
    assert not re.search(r"乡镇? 652722\d{6}", county)
    toli = (await projects.get(f"/public/board/{TOLI}")).text
    assert "<h1>托里镇扶贫公告公示栏</h1>" in toli


async def test_a_rename_reaches_the_services_names(stack):
    """A division renamed later (an alias until the date of the rename) reads by the name in force on the board's
    day; the registry's later load replaces the earlier record in every service."""
    _, registry = stack.apps["registry"]
    settings, _ = stack.apps["registry"]
    await stack.feed("funds", FUNDS_CONSUMES)
    _, funds = stack.apps["funds"]
    assert "<h1>托里镇扶贫公告公示栏</h1>" in (await funds.get(f"/public/board/{TOLI}")).text
    renamed = await registry.put("/divisions", headers={**bearer(settings, "admin"), "Idempotency-Key": "rename-toli"},
                                 json=[{"code": TOLI, "name": "托里新镇", "level": "township", "synthetic": True,
                                        "aliases": [{"name": "托里乡", "from": None, "to": "2014-10-20"},
                                                    {"name": "托里镇", "from": "2014-10-21", "to": "2017-12-31"}]}])
    assert renamed.status_code == 200, renamed.text
    await stack.feed("funds", FUNDS_CONSUMES)
    assert "<h1>托里镇扶贫公告公示栏</h1>" in (await funds.get(f"/public/board/{TOLI}")).text  # in 2017: still 托里镇
    stack.clock.set(datetime(2018, 3, 1, 2, tzinfo=UTC))
    assert "<h1>托里新镇扶贫公告公示栏</h1>" in (await funds.get(f"/public/board/{TOLI}")).text


async def test_the_division_board_has_a_feed_of_every_service(stack):
    import xml.etree.ElementTree as ET

    ids = await three_services(stack)
    await stack.feed_board()
    _, registry = stack.apps["registry"]
    board = (await registry.get("/public/boards/652722")).text
    assert 'type="application/atom+xml"' in board and "/public/boards/652722000000/feed.atom" in board
    response = await registry.get("/public/boards/652722/feed.atom")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert feed.findtext("a:title", namespaces=ns) == "精河县扶贫公告公示"
    assert {e.findtext("a:id", namespaces=ns) for e in feed.findall("a:entry", ns)} == {
        f"urn:uuid:{aid}" for aid in ids.values()}
    assert not EIGHTEEN_DIGITS.search(response.text)
