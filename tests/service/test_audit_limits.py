"""Expensive audit reads through the audit API, with the three services' apps in-process on fresh
databases: bounded dates, replays cached per the logs' heads, a concurrency limit answering 503."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import datetime, timezone

import httpx
import pytest

from services.audit.app import create_app as audit_app
from services.funds.app import create_app as funds_app
from services.projects.app import create_app as projects_app
from services.registry.app import create_app as registry_app
from shared.clock import SettableClock
from tests.conftest import bearer, serving
from tests.service.funds_support import CENTRAL, Funds

APPS = {"registry": registry_app, "funds": funds_app, "projects": projects_app}


class Peers:
    """The audit's HTTP clients to the services, counting full feed reads and optionally held."""

    def __init__(self, apps):
        self.apps, self.feed_reads, self.gate = apps, 0, None

    def client(self, base_url: str) -> httpx.AsyncClient:
        service = next(s for s, app in self.apps.items() if app.state.settings.peer_url(s) == base_url)
        peers = self

        class Counting(httpx.ASGITransport):
            async def handle_async_request(self, request):
                if request.url.path == "/events" and request.url.params.get("limit") != "1":
                    peers.feed_reads += 1
                    if peers.gate is not None:
                        await peers.gate.wait()
                return await super().handle_async_request(request)

        return httpx.AsyncClient(transport=Counting(app=self.apps[service]), base_url=base_url)


@pytest.fixture
async def audited(databases):
    clock = SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc))
    async with AsyncExitStack() as stack:
        apps = {}
        for service, build in APPS.items():
            apps[service] = build(await databases.new(service), clock=clock, run_background=False)
            await stack.enter_async_context(serving(apps[service]))
        audit = audit_app(await databases.new("audit", audit_concurrency=1), clock=clock, run_background=False)
        peers = Peers(apps)
        audit.state.audit_http = peers.client
        client = await stack.enter_async_context(serving(audit))
        funds_client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=apps["funds"]), base_url="http://funds"))
        yield client, peers, Funds(apps["funds"].state.settings, funds_client, clock=clock), \
            bearer(audit.state.settings, "auditor")


@pytest.mark.parametrize("as_of", ["9999-12-31", "2017-03-02", "1900-01-01"])
async def test_an_as_of_date_outside_its_bounds_is_refused_before_any_work(audited, as_of):
    client, peers, _, auditor = audited
    for path in ("/audit/report", "/audit/findings"):
        refused = await client.get(path, params={"as_of": as_of}, headers=auditor)
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == "as_of"
    assert peers.feed_reads == 0


async def test_replays_are_cached_until_a_log_moves(audited):
    client, peers, funds, auditor = audited
    first = await client.get("/audit/findings", headers=auditor)
    assert first.status_code == 200 and peers.feed_reads == 3
    again = await client.get("/audit/findings", headers=auditor)
    assert again.json() == first.json() and peers.feed_reads == 3  # only the heads were read
    await funds.post("/appropriations", CENTRAL, amount="1.00", document_no="财预〔2017〕1号")
    moved = await client.get("/audit/report", params={"compare": "false"}, headers=auditor)
    assert peers.feed_reads == 6 and moved.json()["summary"]["events"] == 1
    verified = await client.get("/audit/verify", headers=auditor)  # always replayed afresh
    assert verified.json()["verified"] is True and peers.feed_reads == 9


async def test_runs_beyond_the_limit_are_answered_503_with_retry_after(audited):
    client, peers, _, auditor = audited
    peers.gate = asyncio.Event()
    first = asyncio.create_task(client.get("/audit/findings", headers=auditor))
    while peers.feed_reads == 0:
        await asyncio.sleep(0.01)
    busy = await client.get("/audit/discrepancies", headers=auditor)
    assert busy.status_code == 503 and int(busy.headers["retry-after"]) > 0
    assert busy.headers["content-type"] == "application/problem+json"
    peers.gate.set()
    assert (await first).status_code == 200
    assert (await client.get("/audit/discrepancies", headers=auditor)).status_code == 200


async def test_findings_and_the_report_as_csv_and_xlsx_match_the_json(audited):
    from datetime import timedelta

    from tests.exports import both, csv_rows, xlsx_rows
    from tests.service.funds_support import down_to_jinghe

    client, _, funds, auditor = audited
    await down_to_jinghe(funds)
    funds.clock.advance(timedelta(days=200))  # deadlines passed: findings
    answer, as_csv, as_xlsx = await both(client, "/audit/findings", {}, auditor)
    assert len(answer["findings"]) == len(as_csv) == len(as_xlsx) > 0
    assert list(as_csv[0])[:3] == ["规则", "问题", "区划代码"]
    for finding, c, x in zip(answer["findings"], as_csv, as_xlsx):
        assert c["规则"] == x["规则"] == finding["rule_id"] and c["依据"] == finding["citation"]
        assert c["金额（元）"] == (finding["amount"] or "") and x["事件序号"] == finding["seq"]
    params = {"compare": "false"}
    report = (await client.get("/audit/report", params=params, headers=auditor)).json()
    rows = csv_rows(await client.get("/audit/report", params={**params, "format": "csv"}, headers=auditor))
    sheet = xlsx_rows(await client.get("/audit/report", params={**params, "format": "xlsx"}, headers=auditor))
    findings = [r for r in rows if r["类别"] == "合规问题"]
    assert [r["规则或类型"] for r in findings] == [f["rule_id"] for f in report["findings"]]
    assert len(sheet) == len(rows)
