"""Announcements (公告公示) on real PostgreSQL: the publicity cycle, objections, the policy period,
the workflow gate, the public board and feed, privacy, permissions."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import pytest
from fastapi import Depends

from shared import receipt_numbers
from shared.announcements import require_passed
from shared.announcements import routes as announcements
from shared.announcements.contract import objection_receipt
from shared.auth import Role, require
from shared.clock import SettableClock
from shared.config import libpq_url
from shared.idcard import make_id
from shared.web import create_app, db_session, router
from tests.conftest import bearer, serving

VILLAGE = "652722102201"
OTHER_VILLAGE = "652722102202"
START = date(2017, 3, 1)  # a Wednesday
PERSON_ID = make_id("652722", date(1968, 4, 12), 31)
SPOUSE_ID = make_id("652722", date(1970, 9, 3), 42)
EIGHTEEN_DIGITS = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def clock_at(day: date) -> SettableClock:
    return SettableClock(datetime(day.year, day.month, day.day, 2, 0, tzinfo=timezone.utc))  # 10:00 in China


def build(settings, clock, **options):
    """A service app plus one workflow step gated on an announcement having passed."""
    steps = router(tags=["steps"])

    @steps.post("/steps/register/{announcement_id}", summary="A step that needs the announcement to have passed")
    async def register(announcement_id: str, _=Depends(require(Role.village, write=True)), session=Depends(db_session)):
        row = await require_passed(session, announcement_id)
        return {"registered": row.subject_id}

    return create_app(settings, title="registry", description="test", routers=[*announcements.ROUTERS, steps],
                      workers=announcements.WORKERS, clock=clock, run_background=options.pop("run_background", False),
                      **options)


@pytest.fixture
async def app(databases):
    settings = await databases.new("registry")
    clock = clock_at(START)
    async with serving(build(settings, clock)) as client:
        yield settings, client, clock


def village(settings, division=VILLAGE):
    return bearer(settings, "village", division)


_keys = iter(range(10**6))


def key(headers):
    return {**headers, "Idempotency-Key": f"k{next(_keys)}"}


def household_list(division=VILLAGE, **overrides):
    body = {
        "subject_type": "household_list", "subject_id": f"{division}-2017-identification",
        "level": "village", "division": division, "title": "2017年贫困户识别公示",
        "content": {"body": f"经民主评议，拟识别以下农户为贫困户。户主身份证号{PERSON_ID}。\n\n如有异议请反映。",
                    "table": {"columns": ["户主", "人口"], "rows": [["王某", "4"]]}},
        "people": [{"name": "王某", "id_number": PERSON_ID, "phone": "13812345678", "note": "户主"},
                   {"name": "李某", "id_number": SPOUSE_ID}],
        "hotline_local": "0909-5322222",
    }
    body.update(overrides)
    return body


async def published(client, settings, start=START, days=10, division=VILLAGE) -> str:
    draft = await client.post("/announcements", json=household_list(division), headers=key(village(settings, division)))
    assert draft.status_code == 201, draft.text
    announcement_id = draft.json()["id"]
    response = await client.post(f"/announcements/{announcement_id}/publish", headers=key(village(settings, division)),
                                 json={"period_start": start.isoformat(),
                                       "period_end": (start + timedelta(days=days - 1)).isoformat()})
    assert response.status_code == 200, response.text
    return announcement_id


async def close_due(settings, clock):
    from shared.announcements import close_due as close
    from shared.db import make_engine, make_sessionmaker

    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with make_sessionmaker(engine, settings.service)() as session, session.begin():
            return await close(session, clock=clock)
    finally:
        await engine.dispose()


async def object_to(client, announcement_id, text="我认为王某家庭收入较高，不符合条件。", **contact):
    return await client.post(f"/public/announcements/{announcement_id}/objections", json={"text": text, **contact})


async def resolve(client, settings, announcement_id, objection_id, decision):
    return await client.post(f"/announcements/{announcement_id}/objections/{objection_id}/resolve",
                             json={"decision": decision, "reason": "经入户核实"}, headers=key(village(settings)))


async def step(client, settings, announcement_id):
    return await client.post(f"/steps/register/{announcement_id}", headers=key(village(settings)))


async def events(settings) -> list[tuple[str, dict]]:
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        return [(r["type"], r["data"]) for r in await conn.fetch("SELECT type, data::text AS data FROM events ORDER BY seq")]
    finally:
        await conn.close()


# -- the cycle -------------------------------------------------------------------------------------

async def test_objection_dismissed_then_period_ends_and_the_announcement_passes(app):
    settings, client, clock = app
    announcement_id = await published(client, settings)
    filed = await object_to(client, announcement_id, name="张三", phone="13900001111")
    assert filed.status_code == 201
    objection_id = filed.json()["id"]

    refused = await step(client, settings, announcement_id)  # cannot pass while the objection is open
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["announcement"]["id"] == announcement_id
    assert refused.json()["announcement"]["status"] == "published"

    clock.set(datetime(2017, 3, 10, 15, tzinfo=timezone.utc))  # last day of the period, China time
    assert await close_due(settings, clock) == []  # not over yet
    assert (await resolve(client, settings, announcement_id, objection_id, "dismissed")).status_code == 200

    clock.set(datetime(2017, 3, 10, 16, 1, tzinfo=timezone.utc))  # 00:01 on 11 March in China
    [closed] = await close_due(settings, clock)
    assert (closed.status, closed.outcome) == ("closed", "passed")
    allowed = await step(client, settings, announcement_id)
    assert allowed.status_code == 200 and allowed.json() == {"registered": f"{VILLAGE}-2017-identification"}

    types = [t for t, _ in await events(settings)]
    assert types == ["registry.announcement.drafted", "registry.announcement.published", "registry.objection.filed",
                     "registry.objection.resolved", "registry.announcement.closed"]
    assert all("张三" not in data and "13900001111" not in data for _, data in await events(settings))


async def test_every_announcement_answer_is_its_documented_model(app):
    """Publish, objection filed, resolve, withdraw, the public list and one public announcement:
    each answer is an instance of the model its operation documents, closed (issue 14)."""
    from tests.service.answer_models import assert_documented

    settings, client, clock = app
    spec = (await client.get("/openapi.json")).json()
    announcement_id = await published(client, settings)
    filed = await object_to(client, announcement_id, name="张三", phone="13900001111")
    assert filed.status_code == 201, filed.text
    assert_documented(spec, "/public/announcements/{announcement_id}/objections", filed.json(), method="post",
                      status="201", model="ObjectionFiledOut")
    resolved = await resolve(client, settings, announcement_id, filed.json()["id"], "dismissed")
    assert resolved.status_code == 200, resolved.text
    assert_documented(spec, "/announcements/{announcement_id}/objections/{objection_id}/resolve", resolved.json(),
                      method="post", model="AnnouncementOut")
    public = await client.get(f"/public/announcements/{announcement_id}")
    assert_documented(spec, "/public/announcements/{announcement_id}", public.json(), model="PublicAnnouncementOut")
    assert public.json()["objections"] == {"open": 0, "upheld": 0, "dismissed": 1}
    listed = await client.get("/public/announcements", params={"division": VILLAGE})
    assert_documented(spec, "/public/announcements", listed.json(), model="PublicAnnouncementsOut")
    withdrawn = await client.post(f"/announcements/{announcement_id}/withdraw", json={"reason": "名单有误，重新公示"},
                                  headers=key(village(settings)))
    assert withdrawn.status_code == 200, withdrawn.text
    assert_documented(spec, "/announcements/{announcement_id}/withdraw", withdrawn.json(), method="post",
                      model="AnnouncementOut")
    draft = await client.post("/announcements", json=household_list(), headers=key(village(settings)))
    publish = await client.post(f"/announcements/{draft.json()['id']}/publish", headers=key(village(settings)),
                                json={"period_start": START.isoformat(), "period_end": (START + timedelta(days=9)).isoformat()})
    assert publish.status_code == 200, publish.text
    assert_documented(spec, "/announcements/{announcement_id}/publish", publish.json(), method="post",
                      model="AnnouncementOut")


async def test_an_upheld_objection_fails_the_announcement(app):
    settings, client, clock = app
    announcement_id = await published(client, settings)
    objection_id = (await object_to(client, announcement_id)).json()["id"]
    assert (await resolve(client, settings, announcement_id, objection_id, "upheld")).status_code == 200
    clock.advance(timedelta(days=10))
    [closed] = await close_due(settings, clock)
    assert (closed.status, closed.outcome) == ("closed", "failed")
    refused = await step(client, settings, announcement_id)
    assert refused.status_code == 409 and refused.json()["announcement"]["outcome"] == "failed"
    public = (await client.get(f"/public/announcements/{announcement_id}")).json()
    assert public["outcome"] == "failed" and public["objections"] == {"open": 0, "upheld": 1, "dismissed": 0}


async def test_an_objection_still_open_at_the_end_fails_the_announcement(app):
    settings, client, clock = app
    announcement_id = await published(client, settings)
    await object_to(client, announcement_id)
    clock.advance(timedelta(days=10))
    [closed] = await close_due(settings, clock)
    assert closed.outcome == "failed"


async def test_no_objection_passes(app):
    settings, client, clock = app
    await published(client, settings)
    clock.advance(timedelta(days=10))
    [closed] = await close_due(settings, clock)
    assert closed.outcome == "passed"
    assert (await close_due(settings, clock)) == []  # closing happens once


async def test_objection_after_the_period_is_refused(app):
    settings, client, clock = app
    announcement_id = await published(client, settings)
    clock.advance(timedelta(days=10))  # period over, scheduler not yet run
    late = await object_to(client, announcement_id)
    assert late.status_code == 409 and "period" in late.json()["detail"]
    await close_due(settings, clock)
    assert (await object_to(client, announcement_id)).status_code == 409


async def test_withdrawn_announcement_never_passes(app):
    settings, client, clock = app
    announcement_id = await published(client, settings)
    withdrawn = await client.post(f"/announcements/{announcement_id}/withdraw", json={"reason": "名单有误，重新评议"},
                                  headers=key(village(settings)))
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert (await step(client, settings, announcement_id)).json()["announcement"]["status"] == "withdrawn"
    assert (await object_to(client, announcement_id)).status_code == 409
    again = await client.post(f"/announcements/{announcement_id}/publish", headers=key(village(settings)),
                              json={"period_start": "2017-03-02", "period_end": "2017-03-20"})
    assert again.status_code == 409


# -- the period rule -------------------------------------------------------------------------------

async def test_a_period_shorter_than_the_policy_minimum_is_refused_with_its_citation(app):
    settings, client, _ = app
    draft = (await client.post("/announcements", json=household_list(), headers=key(village(settings)))).json()
    short = await client.post(f"/announcements/{draft['id']}/publish", headers=key(village(settings)),
                              json={"period_start": "2017-03-01", "period_end": "2017-03-09"})
    assert short.status_code == 422
    problem = short.json()
    assert problem["rule"] == "announcement.min_period" and "国开办发〔2017〕50号" in problem["citation"]
    assert problem["earliest_end"] == "2017-03-10"
    assert problem["errors"][0]["field"] == "period_end" and "10" in problem["detail"]
    assert [t for t, _ in await events(settings)] == ["registry.announcement.drafted"]  # nothing else written


async def test_a_jurisdiction_override_applies_only_under_its_prefix(databases, tmp_path: Path):
    override = tmp_path / "shanxi.yaml"
    override.write_text(
        '- id: announcement.min_period\n  jurisdiction: "14"\n  effective_from: 2014-01-01\n'
        '  effective_to: null\n  value: {days: 5, unit: working}\n'
        '  citation: "test override: 5 working days"\n  title: 公示5个工作日\n', encoding="utf-8")
    settings = await databases.new("registry", policy_files=[str(override)])
    clock = clock_at(date(2017, 3, 3))  # Friday
    shanxi_village, xinjiang_village = "140581101201", VILLAGE
    async with serving(build(settings, clock)) as client:
        async def try_period(division, end):
            draft = (await client.post("/announcements", json=household_list(division),
                                       headers=key(village(settings, division)))).json()
            return await client.post(f"/announcements/{draft['id']}/publish", headers=key(village(settings, division)),
                                     json={"period_start": "2017-03-03", "period_end": end})

        # Fri 3 + Mon 6 … Thu 9 March = 5 working days
        assert (await try_period(shanxi_village, "2017-03-09")).status_code == 200
        too_short = await try_period(shanxi_village, "2017-03-08")
        assert too_short.status_code == 422 and too_short.json()["citation"] == "test override: 5 working days"
        elsewhere = await try_period(xinjiang_village, "2017-03-09")
        assert elsewhere.status_code == 422 and "国开办发〔2017〕50号" in elsewhere.json()["citation"]


async def test_a_period_may_not_start_in_the_past(app):
    settings, client, _ = app
    draft = (await client.post("/announcements", json=household_list(), headers=key(village(settings)))).json()
    past = await client.post(f"/announcements/{draft['id']}/publish", headers=key(village(settings)),
                             json={"period_start": "2017-02-27", "period_end": "2017-03-20"})
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "period_start"


# -- permissions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role,division,status", [
    ("township", "652722102000", 403),   # a township does not post village notices
    ("village", OTHER_VILLAGE, 403),     # another village
    ("auditor", "000000000000", 403),    # auditors never write
    ("admin", "000000000000", 201),
])
async def test_who_may_draft_a_village_notice(app, role, division, status):
    settings, client, _ = app
    response = await client.post("/announcements", json=household_list(), headers=key(bearer(settings, role, division)))
    assert response.status_code == status


async def test_level_must_match_the_division(app):
    settings, client, _ = app
    admin = bearer(settings, "admin")
    response = await client.post("/announcements", json=household_list(level="township"), headers=key(admin))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "division"
    bad_id = household_list(people=[{"name": "王某", "id_number": PERSON_ID[:-1] + ("0" if PERSON_ID[-1] != "0" else "1")}])
    invalid = await client.post("/announcements", json=bad_id, headers=key(village(settings)))
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "people.0.id_number"
    assert PERSON_ID[:-1] not in invalid.text  # the refused number is not echoed back


async def test_only_the_office_of_the_level_resolves_objections(app):
    settings, client, _ = app
    announcement_id = await published(client, settings)
    objection_id = (await object_to(client, announcement_id)).json()["id"]
    other = await client.post(f"/announcements/{announcement_id}/objections/{objection_id}/resolve",
                              json={"decision": "dismissed", "reason": "不属实"}, headers=key(village(settings, OTHER_VILLAGE)))
    assert other.status_code == 403
    official = await client.get(f"/announcements/{announcement_id}", headers=village(settings))
    assert official.json()["objections"][0]["status"] == "open"


# -- the public side -------------------------------------------------------------------------------

class Page(HTMLParser):
    """Collects forms (action, fields), articles and the visible text of a page."""

    def __init__(self):
        super().__init__()
        self.forms, self.articles, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "method": attrs.get("method"), "fields": {}})
        elif tag in ("input", "textarea") and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs
        elif tag == "article":
            self.articles.append(attrs.get("id"))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


async def test_no_public_route_ever_shows_a_full_id_number(app):
    settings, client, clock = app
    done = await published(client, settings)
    await object_to(client, done, text=f"身份证号{SPOUSE_ID}的李某已外出务工。", name="举报人", phone="13911112222")
    clock.advance(timedelta(days=10))
    await close_due(settings, clock)
    current = await published(client, settings, start=clock.today())
    responses = [
        await client.get("/public/announcements"),
        await client.get("/public/announcements", params={"division": "652722", "status": "closed"}),
        await client.get(f"/public/announcements/{current}"),
        await client.get(f"/public/announcements/{done}"),
        await client.get(f"/public/board/{VILLAGE}"),
        await client.get("/public/board/652722"),
        await client.get(f"/public/board/{VILLAGE}/feed.atom"),
        await client.post(f"/public/announcements/{current}/objections", data={"text": "短", "name": PERSON_ID}),
        await object_to(client, current, text=f"请核实{PERSON_ID}"),
    ]
    for response in responses:
        assert response.status_code in (200, 201, 422), response.text
        for number in (PERSON_ID, SPOUSE_ID):
            assert number not in response.text
        assert not EIGHTEEN_DIGITS.search(response.text), response.request.url
        assert "13812345678" not in response.text and "13911112222" not in response.text and "举报人" not in response.text
    detail = responses[2].json()
    assert detail["people"][0] == {"name": "王某", "id_number": PERSON_ID[:6] + "********" + PERSON_ID[-4:],
                                   "phone": "138****5678", "note": "户主"}


async def test_the_board_shows_the_masked_list_and_its_form_files_an_objection(app):
    settings, client, clock = app
    announcement_id = await published(client, settings)
    html = (await client.get(f"/public/board/{VILLAGE}")).text
    page = parse(html)
    text = "".join(page.text)
    assert f"a-{announcement_id}" in page.articles
    assert PERSON_ID[:6] + "********" + PERSON_ID[-4:] in text and "王某" in text and "12317" in text
    [form] = [f for f in page.forms if f["action"].endswith(f"/public/announcements/{announcement_id}/objections")]
    assert form["method"].lower() == "post" and {"text", "name", "phone"} <= set(form["fields"])

    posted = await client.post(urlparse(form["action"]).path,
                               data={"text": "该户有小轿车一辆，请核实。", "name": "赵六", "phone": "13600001111"})
    assert posted.status_code == 303
    board = await client.get(posted.headers["location"])
    assert "异议已受理" in board.text and "赵六" not in board.text
    official = (await client.get(f"/announcements/{announcement_id}", headers=village(settings))).json()
    assert official["objections"][0]["contact_name"] == "赵六"  # kept for the officials only
    assert official["objections"][0]["text"] == "该户有小轿车一辆，请核实。"

    bad = await client.post(urlparse(form["action"]).path, data={"text": "短"})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
    assert parse(bad.text).forms  # the board comes back with the form and the error


async def test_the_feed_lists_the_divisions_announcements(app):
    import xml.etree.ElementTree as ET

    settings, client, _ = app
    announcement_id = await published(client, settings)
    response = await client.get("/public/board/652722/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert [e.findtext("a:id", namespaces=ns) for e in feed.findall("a:entry", ns)] == [f"urn:uuid:{announcement_id}"]
    assert (await client.get("/public/board/140000/feed.atom")).text.count("<entry") == 0


async def test_public_objection_validation(app):
    settings, client, _ = app
    announcement_id = await published(client, settings)
    for body, field in [({"text": "太短"}, "text"), ({"text": "x" * 2001}, "text"),
                        ({"text": "足够长的异议内容", "phone": "call me"}, "phone")]:
        response = await client.post(f"/public/announcements/{announcement_id}/objections", json=body)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field
    unknown = await object_to(client, "0192f0a4-0000-7000-8000-000000000000")
    assert unknown.status_code == 404


async def test_drafts_are_not_public(app):
    settings, client, _ = app
    draft = (await client.post("/announcements", json=household_list(), headers=key(village(settings)))).json()
    assert (await client.get(f"/public/announcements/{draft['id']}")).status_code == 404
    assert (await client.get("/public/announcements")).json()["items"] == []
    assert (await object_to(client, draft["id"])).status_code == 404


async def test_objections_are_rate_limited_per_client_address(databases):
    settings = await databases.new("registry", objection_rate_limit=2, objection_rate_window_seconds=600)
    clock = clock_at(START)
    async with serving(build(settings, clock)) as client:
        announcement_id = await published(client, settings)
        assert (await object_to(client, announcement_id)).status_code == 201
        assert (await object_to(client, announcement_id)).status_code == 201
        third = await object_to(client, announcement_id)
        assert third.status_code == 429 and third.headers["retry-after"] == "600"
        clock.advance(timedelta(minutes=11))
        assert (await object_to(client, announcement_id)).status_code == 201


async def test_the_scheduler_closes_announcements_on_the_clock(databases):
    settings = await databases.new("registry", scheduler_seconds=0.05)
    clock = clock_at(START)
    async with serving(build(settings, clock, run_background=True)) as client:
        announcement_id = await published(client, settings)
        clock.advance(timedelta(days=10))
        for _ in range(100):
            body = (await client.get(f"/public/announcements/{announcement_id}")).json()
            if body["status"] == "closed":
                break
            await asyncio.sleep(0.05)
        assert (body["status"], body["outcome"]) == ("closed", "passed")


# -- review findings: each one a test -------------------------------------------------------------

async def test_no_objection_before_the_period_starts(app):
    settings, client, _ = app
    announcement_id = await published(client, settings, start=START + timedelta(days=5))
    early = await object_to(client, announcement_id)
    assert early.status_code == 409 and "period" in early.json()["detail"]


async def test_the_outcome_is_fixed_at_the_end_of_the_period_not_when_the_scheduler_runs(app):
    settings, client, clock = app
    announcement_id = await published(client, settings)
    objection_id = (await object_to(client, announcement_id)).json()["id"]
    clock.advance(timedelta(days=10))  # the period is over; the scheduler has not run yet
    late = await resolve(client, settings, announcement_id, objection_id, "dismissed")
    assert late.status_code == 200  # recorded …
    [closed] = await close_due(settings, clock)
    assert closed.outcome == "failed"  # … but the objection was open when the period ended


async def test_an_objection_may_be_resolved_after_the_announcement_closed(app):
    settings, client, clock = app
    announcement_id = await published(client, settings)
    objection_id = (await object_to(client, announcement_id)).json()["id"]
    clock.advance(timedelta(days=10))
    await close_due(settings, clock)
    resolved = await resolve(client, settings, announcement_id, objection_id, "dismissed")
    assert resolved.status_code == 200
    assert "contact_name" not in resolved.text  # write responses (kept with their key) carry no contacts
    public = (await client.get(f"/public/announcements/{announcement_id}")).json()
    assert public["outcome"] == "failed" and public["objections"]["dismissed"] == 1


async def test_phone_numbers_in_published_text_are_masked(app):
    settings, client, _ = app
    body = household_list(content={"body": "联系人王某，电话13812345678，身份证 6527 2219 6804 1200 31。",
                                   "table": {"columns": ["户主", "电话"], "rows": [["王某", "139-0000-1111"]]}})
    draft = (await client.post("/announcements", json=body, headers=key(village(settings)))).json()
    await client.post(f"/announcements/{draft['id']}/publish", headers=key(village(settings)),
                      json={"period_start": "2017-03-01", "period_end": "2017-03-10"})
    for response in (await client.get(f"/public/announcements/{draft['id']}"), await client.get(f"/public/board/{VILLAGE}"),
                     await client.get(f"/public/board/{VILLAGE}/feed.atom")):
        assert "13812345678" not in response.text and "139-0000-1111" not in response.text
        assert "6527 2219 6804 1200 31" not in response.text and "138****5678" in response.text


async def test_the_board_echoes_only_a_real_objection_number(app):
    settings, client, _ = app
    announcement_id = await published(client, settings)
    spoof = await client.get(f"/public/board/{VILLAGE}", params={"filed": "请拨打13800000000领取补贴"})
    assert "异议已受理" not in spoof.text and "领取补贴" not in spoof.text
    objection_id = (await object_to(client, announcement_id)).json()["id"]
    real = await client.get(f"/public/board/{VILLAGE}", params={"filed": objection_id})
    assert "异议已受理" in real.text and receipt_numbers.spaced(objection_receipt(objection_id)) in real.text


async def test_a_period_may_start_on_29_february(databases):
    settings = await databases.new("registry")
    clock = clock_at(date(2028, 2, 29))
    async with serving(build(settings, clock)) as client:
        assert await published(client, settings, start=date(2028, 2, 29))


async def test_malformed_ids_are_problems_not_crashes(app):
    settings, client, _ = app
    for response in (await client.get("/public/announcements/not-a-uuid"),
                     await client.post("/public/announcements/not-a-uuid/objections", json={"text": "五个字以上"}),
                     await client.get("/announcements/not-a-uuid", headers=village(settings))):
        assert response.status_code in (404, 422) and response.headers["content-type"] == "application/problem+json"
    bad_cursor = await client.get("/public/announcements", params={"cursor": "WyJub3QtYS11dWlkIl0"})
    assert bad_cursor.status_code == 422 and bad_cursor.json()["errors"][0]["field"] == "cursor"
    typed_id = await client.get(f"/public/announcements/{PERSON_ID}")
    assert PERSON_ID not in typed_id.text


async def test_parallel_objections_cannot_pass_the_rate_limit(databases):
    settings = await databases.new("registry", objection_rate_limit=3)
    clock = clock_at(START)
    async with serving(build(settings, clock)) as client:
        announcement_id = await published(client, settings)
        responses = await asyncio.gather(*(object_to(client, announcement_id) for _ in range(10)))
    assert sorted(r.status_code for r in responses) == [201] * 3 + [429] * 7


async def test_anonymous_idempotency_keys_are_per_client(databases):
    import httpx

    settings = await databases.new("registry")
    app_ = build(settings, clock_at(START))
    async with serving(app_) as client:
        announcement_id = await published(client, settings)
        other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_, client=("10.0.0.2", 5000)),
                                  base_url="http://testserver")
        url = f"/public/announcements/{announcement_id}/objections"
        first = await client.post(url, json={"text": "第一位村民的异议"}, headers={"Idempotency-Key": "1"})
        second = await other.post(url, json={"text": "第二位村民的异议"}, headers={"Idempotency-Key": "1"})
        await other.aclose()
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers


async def test_two_schedulers_close_an_announcement_once(app):
    settings, client, clock = app
    announcement_id = await published(client, settings)
    clock.advance(timedelta(days=10))
    results = await asyncio.gather(close_due(settings, clock), close_due(settings, clock))
    assert sorted(len(r) for r in results) == [0, 1]
    closed_events = [t for t, _ in await events(settings) if t == "registry.announcement.closed"]
    assert len(closed_events) == 1 and announcement_id


async def test_a_step_refuses_a_passed_announcement_of_another_kind(app):
    from shared.announcements import require_passed as gate
    from shared.db import make_engine, make_sessionmaker
    from shared.errors import Conflict

    settings, client, clock = app
    announcement_id = await published(client, settings)
    clock.advance(timedelta(days=10))
    await close_due(settings, clock)
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with make_sessionmaker(engine, "registry")() as session:
            assert (await gate(session, announcement_id, subject_type="household_list")).outcome == "passed"
            with pytest.raises(Conflict, match="not annual_review"):
                await gate(session, announcement_id, subject_type="annual_review")
    finally:
        await engine.dispose()


async def test_an_objection_that_is_not_json_is_a_422_problem(app):
    settings, client, _ = app
    announcement_id = await published(client, settings)
    response = await client.post(f"/public/announcements/{announcement_id}/objections", content=b"{not json",
                                 headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"
