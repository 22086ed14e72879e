"""The whole demo (``fupin dev up --demo``) on the four services with the real broker: a year of
精河县 — registry, projects at every stage, money from the centre to the payees — told back by the
services' own reports; and loaded twice, nothing doubles."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any

import pytest

from deploy.demo import CLOCK_START, load_demo
from shared.clock import SettableClock
from tests.conftest import fetch
from tests.stack import ServiceStack
from tests.unit.test_catalogue import INTERNAL

COUNTY = "652722000000"


@pytest.fixture(scope="module")
async def demo(databases, broker):
    clock = SettableClock(datetime.fromisoformat(CLOCK_START))
    async with ServiceStack.start(databases, broker, clock) as stack:
        lines: list[str] = []
        loaded = await load_demo(stack.clients, lambda role, division, dept=None: stack.token(role, division, dept),
                                 say=lines.append)
        yield stack, loaded, lines


async def get(stack: ServiceStack, service: str, path: str, role: str = "county_finance", division: str = COUNTY, **params):
    response = await stack.clients[service].get(path, params=params, headers=stack.headers(role, division))
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_step_of_the_demo_ran(demo):
    _, loaded, lines = demo
    assert len(lines) == 8 and all(line.startswith("  demo: ") for line in lines)
    assert "skipped" not in lines[-1], lines[-1]
    assert set(loaded.state["projects"]) == {"goji", "water", "solar", "training", "road"}


async def test_the_money_of_the_year(demo):
    stack, loaded, _ = demo
    spending = await get(stack, "funds", "/reports/spending", fiscal_year=2018)
    # 3,000,000 central + 800,000 water + 1,000,000 roads + 600,000 re-allocated, and the county's own
    # 300,000 of its budget: received split by source (issue #14)
    assert spending["received"] == "5700000.00" and spending["disbursed"] == "1349000.00"
    assert spending["received_by_source"]["own_appropriation"] == "300000.00"
    assert spending["received_by_origin"]["county"] == "300000.00"
    assert (spending["stranded"], spending["returned"]) == ("600000.00", "600000.00")
    missed = await get(stack, "funds", "/deadlines", role="central_finance", division="000000000000", state="missed")
    assert [(d["receiver"], d["channel"], d["due"], d["settled_on"]) for d in missed["items"]] == [
        ("652700000000", "agri_integrated_rural_roads", "2018-03-28", "2018-04-02")]  # the year's one late hand-on
    road = loaded.state["projects"]["road"]
    seen = await get(stack, "funds", f"/projects/{road}")
    # stranded, then returned: nothing remains or is held; committed = paid + remaining + stranded + returned
    assert (seen["cancelled"], seen["remaining"], seen["stranded"]) == (True, "0.00", "0.00") and seen["returned"] != "0.00"
    assert int(seen["committed"].replace(".", "")) == int(seen["paid"].replace(".", "")) + int(seen["returned"].replace(".", ""))
    trace = await get(stack, "funds", "/trace", payee=f"household:{loaded.state['paid_households'][0]}")
    assert trace["postings"][0]["operation"] == "appropriate" and trace["postings"][-1]["operation"] == "disburse"


async def test_projects_at_every_stage_and_what_households_received(demo):
    stack, loaded, _ = demo
    figures = await get(stack, "projects", "/figures", role="county_office")
    assert {"proposed", "township_reviewed", "planned", "results_announced", "handed_over", "cancelled"} <= set(
        figures["by_stage"]), figures["by_stage"]
    solar = await get(stack, "projects", f"/projects/{loaded.state['projects']['solar']}", role="county_office")
    assert solar["funding"]["committed"] == "800000.00" and solar["funding"]["paid"] == "600000.00"
    household = loaded.state["paid_households"][0]
    benefits = await get(stack, "registry", f"/households/{household}/benefits", role="county_office")
    assert any(b["source"] == "funds" and b["amount"] == "3000.00" for b in benefits["items"]), benefits


async def test_loading_the_demo_again_changes_nothing(demo):
    stack, _, _ = demo

    async def last_seqs():
        """The last business event of each log (the witnesses' records of their cosignatures of each
        other's checkpoints come and go with time, not with the demo)."""
        return {s: (await fetch(stack.settings[s], "SELECT max(seq) AS seq FROM events WHERE type NOT LIKE $1",
                                f"{s}.witness.%"))[0]["seq"] for s in ("registry", "funds", "projects")}

    await asyncio.sleep(1)  # the schedulers' last tick after the demo's last clock move
    before = await last_seqs()
    again: list[str] = []
    await load_demo(stack.clients, lambda role, division, dept=None: stack.token(role, division, dept), say=again.append)
    assert len(again) == 8
    assert await last_seqs() == before


_CODE = re.compile(r"[a-z][a-z0-9_.-]*")


def _codes_in(value, fields: dict[str, set[str]], path: str = "", parent: str = ""):
    """(path, field, code) of every code a catalogue field carries in a JSON value — a field named
    by its key, or by ``parent.key`` (``period.unit``) — (a code is an identifier: a field of the
    same name holding free text, e.g. the audit report's ``source`` naming the feeds it read, is not one)."""
    if isinstance(value, dict):
        for key, item in value.items():
            items = item if isinstance(item, list) and all(isinstance(i, str) for i in item) else [item]
            field = f"{parent}.{key}" if f"{parent}.{key}" in fields else key
            if field in fields and all(isinstance(i, str) for i in items):
                yield from ((f"{path}.{key}", field, i) for i in items if _CODE.fullmatch(i))
            else:
                yield from _codes_in(item, fields, f"{path}.{key}", key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _codes_in(item, fields, f"{path}[{index}]", parent)


async def test_every_code_in_the_demos_answers_is_in_its_services_catalogue(demo):
    """Every GET without path parameters of every service, as an admin of the county, and the reads
    of the demo's projects and households: each value of a field a catalogue list names is one of
    that list's codes (a field named by several lists: one of theirs); and no answer cites an
    internal file (seed plans by title, no handbook section — shared/web/citations.py)."""
    stack, loaded, _ = demo
    unknown, internal = [], []
    for service, client in stack.clients.items():
        catalogue = (await client.get("/catalogue")).json()
        assert catalogue["service"] == service and all(c["zh"] and c["en"] for lst in catalogue["lists"]
                                                       for c in lst["codes"])
        fields: dict[str, set[str]] = {}
        for code_list in catalogue["lists"]:
            for field in code_list["fields"]:
                fields.setdefault(field, set()).update(c["code"] for c in code_list["codes"])
        paths = [p for p, ops in (await client.get("/openapi.json")).json()["paths"].items()
                 if "get" in ops and "{" not in p and not p.startswith(("/events", "/checkpoints", "/witness",
                                                                         "/metrics", "/.well-known", "/healthz",
                                                                         "/readyz", "/dev/", "/catalogue"))]
        paths += {"funds": [f"/projects/{code}" for code in loaded.state["projects"].values()],
                  "projects": [f"/projects/{code}" for code in loaded.state["projects"].values()],
                  "registry": [f"/households/{h}" for h in loaded.state["paid_households"][:3]]
                  + [f"/households/{h}/benefits" for h in loaded.state["paid_households"][:3]]}.get(service, [])
        read = 0
        for path in paths:
            answer = await client.get(path, params={"division": COUNTY}, headers=stack.headers("admin", COUNTY))
            if answer.status_code != 200 or not answer.headers["content-type"].startswith("application/json"):
                continue
            read += 1
            unknown += [f"{service} {path}{where} = {code!r}" for where, field, code in _codes_in(answer.json(), fields)
                        if code not in fields[field]]
            internal += [f"{service} {path}: {m.group(0)}" for m in [INTERNAL.search(answer.text)] if m]
        assert read >= 3, service
    assert unknown == []
    assert internal == []


#: what each exporting read is asked over the demo's county (a parameter a read does not take is ignored)
_EXPORT_QUERY = {"division": COUNTY, "limit": 500}
_OF_THE_YEAR = {"/statistics": "year", "/reports/spending": "fiscal_year", "/evaluations": "year", "/audit/scores": "year",
                "/pairings/{pairing_id}/report": "year"}
#: the roles that read a service's lists, tried in turn (the first one not refused reads)
_READERS = {"registry": ("county_office", "admin"), "funds": ("county_finance", "auditor"),
            "projects": ("county_office", "admin"), "audit": ("auditor",)}
#: the audit reads 博州 (by a national auditor): the demo year's one late hand-on of money is the city's
_AUDITED = "652700000000"
#: where the demo answers the values of a path parameter: (service, list read, the values in its answer)
_PATH_VALUES = {"pairing_id": ("projects", "/pairings", lambda answer: [i["id"] for i in answer["items"]])}
#: the exports the demo year fills: each must have rows (the others — payee accounts, payment
#: instructions, reconciliations, enterprises, pairings, discrepancies — are empty in the demo and
#: checked for their headers; an export added later is checked cell for cell wherever it has rows)
_FILLED_BY_THE_DEMO = {
    "registry /households", "registry /statistics", "funds /balances", "funds /trace", "funds /deadlines",
    "funds /reports/spending", "funds /reports/stranded", "funds /reports/deadline-compliance", "projects /projects",
    "projects /figures", "projects /assets", "projects /evaluations", "audit /audit/report", "audit /audit/findings",
    "audit /audit/scores", "registry /households/{household_id}/benefits",
    "funds /announcements", "projects /announcements", "projects /public/announcements"}


#: pages that are also files, read by their own service tests (a web page by default, JSON and the
#: files by `format`; the file holds every page of a search): the board's archive —
#: tests/service/test_exports_announcements.py reads it three ways over three pages
_PAGES_WITH_FILES = {"registry /public/boards/{division}/archive"}


def _files_of_their_own() -> dict[str, Any]:
    """Reports that write their own file (a file name of their own, HTML too): the export their
    CSV and XLSX rows are made with, from the JSON answer."""
    from services.audit.api.scores import SCORE_HEADER, score_rows
    from services.audit.report import REPORT_EXPORT
    from services.projects.usecases import evaluations, pairings
    from shared.csvfile import table

    return {"audit /audit/report": REPORT_EXPORT, "audit /audit/scores": table("绩效考评", SCORE_HEADER, score_rows),
            "projects /evaluations": table("项目绩效评价报告", evaluations.REPORT_HEADER, evaluations.report_rows),
            "projects /pairings/{pairing_id}/report": table("百企千村结对报告", pairings.REPORT_HEADER, pairings.report_rows)}


async def test_every_export_of_every_service_holds_the_figures_of_its_json(demo):
    """A class check of the exports (issue 14) over the demo year: every GET operation of every
    service's OpenAPI document that exports — ``text/csv`` and XLSX beside JSON, with a ``format``
    parameter; found from the documents, not listed here — is read as JSON, as CSV
    (``?format=csv``) and as XLSX (``Accept``), path parameters filled from the demo's own answers.
    Both files parse back (csv module, openpyxl) with Chinese headers and hold, cell for cell, what
    the route's export takes from the JSON (every page of a paginated list); every column named by
    a key reads a field the JSON rows have (a wrong key writes an empty column); every list the
    demo fills has rows. Three reads a route, on the running demo stack."""
    from shared.web.export import CSV, EXPORT_ATTR, XLSX
    from shared.web.openapi import _routes
    from tests.exports import assert_columns_read_the_json, assert_same_figures
    from tests.unit.test_exports_everywhere import NOT_A_SPREADSHEET

    stack, loaded, _ = demo
    own_files = _files_of_their_own()
    payee = f"household:{loaded.state['paid_households'][0]}"
    extra = {"/trace": {"payee": payee}, "/payee-accounts": {"payee": payee},
             "/audit/report": {"compare": "false"}}  # the live comparison is /audit/discrepancies' export
    rows: dict[str, int] = {}
    known = {"household_id": loaded.state["paid_households"], "division": [COUNTY]}  # households paid benefits
    for service, client in stack.clients.items():
        spec = (await client.get("/openapi.json")).json()
        endpoints = {route.path_format: route.endpoint for route in _routes(stack.apps[service])
                     if "GET" in (getattr(route, "methods", None) or ())}
        for path, operations in spec["paths"].items():
            content = operations.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
            if not ({CSV, XLSX, "application/json"} <= set(content) and path not in NOT_A_SPREADSHEET
                    and any(p["name"] == "format" for p in operations["get"].get("parameters", []))):
                continue
            route = f"{service} {path}"
            if route in _PAGES_WITH_FILES:
                continue
            export = getattr(endpoints[path], EXPORT_ATTR, None) or own_files.get(route)
            assert export is not None, f"{route}: neither @exportable nor listed with the export its file is made with"
            params = {**_EXPORT_QUERY, **extra.get(path, {}), **({_OF_THE_YEAR[path]: 2018} if path in _OF_THE_YEAR else {}),
                      **({"division": _AUDITED} if service == "audit" else {})}
            rows[route] = 0
            for concrete in await _filled(stack, path, known):
                answer, as_csv, as_xlsx = await _read_three_ways(stack, service, concrete, params, export)
                assert_same_figures(export, answer, as_csv, as_xlsx, route)
                assert_columns_read_the_json(export, answer, route)
                assert all(re.search(r"[\u4e00-\u9fff]", h) for h in export.headers), f"{route}: {export.headers}"
                rows[route] += len(as_csv)
    assert sorted(r for r in _FILLED_BY_THE_DEMO if not rows.get(r)) == [], f"exports without a row over the demo: {rows}"


async def _filled(stack: ServiceStack, path: str, known: dict[str, list[str]]) -> list[str]:
    """``path`` with each path parameter filled from the demo's own answers or from what the demo
    loaded (``known``: values by parameter name); none: no path to read."""
    names = re.findall(r"{(\w+)}", path)
    if not names:
        return [path]
    [name] = names
    if name in known:
        return [path.replace(f"{{{name}}}", str(value)) for value in known[name][:2]]
    assert name in _PATH_VALUES, f"{path}: say where the demo answers a value of {name}"
    service, listing, values = _PATH_VALUES[name]
    found = values(await get(stack, service, listing, role=_READERS[service][0], limit=500))
    return [path.replace(f"{{{name}}}", str(value)) for value in found[:2]]


async def _read_three_ways(stack: ServiceStack, service: str, path: str, params: dict, export):
    """(JSON with every page, CSV rows, XLSX rows) of one export, as the first role not refused."""
    from tests.exports import both

    client = stack.clients[service]
    for role in _READERS[service]:
        headers = {"Authorization": f"Bearer {stack.token(role, '000000000000' if service == 'audit' else COUNTY)}"}
        answer, as_csv, as_xlsx = await both(client, path, params, headers, refused=403)
        if answer is not None:
            break
    assert answer is not None, f"{service} {path}: refused to {_READERS[service]}"
    while export.paginated and answer.get("next_cursor"):  # the file holds every page
        page = await client.get(path, params={**params, "cursor": answer["next_cursor"]}, headers=headers)
        assert page.status_code == 200, page.text
        answer = {**page.json(), "items": answer["items"] + page.json()["items"]}
    return answer, as_csv, as_xlsx


async def test_the_console_dashboard_tells_the_demo_year(demo):
    """The officials' console over the demo: the county office's dashboard shows the services' own
    figures (DOMAIN §8) — registry, money, deadlines with days to hand on, projects, announcements."""
    import httpx

    from services.console.app import create_app
    from services.console.settings import ConsoleSettings
    from tests.console.test_console_session import log_in

    stack, _, _ = demo
    app = create_app(ConsoleSettings(**{f"{s}_url": str(c.base_url).rstrip("/") for s, c in stack.clients.items()}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as console:
            await log_in(console)
            page = (await console.get("/dashboard", params={"year": 2018})).text
    spending = await get(stack, "funds", "/reports/spending", role="county_office", fiscal_year=2018)
    assert 'class="problem"' not in page
    assert spending["received"] in page and spending["disbursed"] in page and "<svg" in page
    assert 'id="deadline-groups"' in page and 'id="project-figures"' in page
    projects = await get(stack, "projects", "/figures", role="county_office", year=2018)
    assert f"项目数<b>{projects['total']['projects']}</b>" in page
    assert 'id="announcement-figures"' in page


async def test_the_public_board_of_jinghe_shows_the_announcements_of_funds_and_projects_by_name(demo):
    """One board per division (the registry hosts it, fed by every service's announcement events
    through the broker): after the demo year, 精河县's board holds the announcements the demo makes —
    the funds results notice and the projects' publicity — under the county's name. (The demo's
    registry publishes no notice; the service test shows the registry's own on the board.)"""
    stack, _, _ = demo
    registry = stack.clients["registry"]
    totals: dict[str, int] = {}
    deadline = asyncio.get_running_loop().time() + 240
    while asyncio.get_running_loop().time() < deadline:
        for service in ("funds", "projects"):
            answer = await registry.get("/public/boards/652722/archive", params={"format": "json", "service": service})
            assert answer.status_code == 200, answer.text
            totals[service] = answer.json()["total"]
        if all(totals.values()):
            break
        await asyncio.sleep(1)
    assert all(totals.values()), totals
    page = await registry.get("/public/boards/652722/archive")
    assert page.status_code == 200 and "精河县" in page.text, page.text[:500]
