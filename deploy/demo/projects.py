"""Demo steps: 精河县's project library (扶贫项目库) in 托里镇, loaded through the projects API as its
offices would, on the demo's clock.

1. :func:`projects_into_library` (January 2018): a 枸杞 planting base, drinking water, a village
   solar plant (光伏), skills training and a village road are proposed, reviewed, appraised,
   approved, publicised at each level (村 → 乡镇 → 县, 10 days each) and entered in the library and
   the annual plan, with beneficiaries picked from the registry's demo households; an e-commerce
   station is in the library and the plan but gets no money; a cattle project stays proposed and
   a housing project township-reviewed. ``demo.state["projects"]`` names the five codes
   (goji, water, solar, training, road) for the funds demo, which commits and pays money to them
   (and cancels the road through ``POST /projects/{road}/steps/cancel``).
2. :func:`projects_implementation` (April – December 2018, after the funds demo has committed and
   paid): progress reports, completion, acceptance (water fails once), results announced at the
   site, assets handed over (the solar plant quantified as shares to households, with its 2018
   income distributed), and the wages and subsidies households received.

Every write has a fixed Idempotency-Key and fixed dates, so a re-run replays. Publicity closes by
the projects service's announcement scheduler; the steps wait for it (``FUPIN_SCHEDULER_SECONDS``
sets how often it runs). Step 2 expects the clock before 2018-04-15 when it starts.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from deploy.demo.base import COUNTY, Demo, check, wait_for

TOWNSHIP = "652722102000"  # 托里镇
VILLAGES = ("652722102201", "652722102202", "652722102203")  # 永集湖村, 乌兰旦达盖村, 大庄子村
HOTLINE = "0909-5322222"


def _plan(name: str, type_: str, division: str, budget: str, channel: str, tasks: list[str], mechanisms: list[str],
          targets: list[tuple[str, str, str, str]], households: int, persons: int) -> dict[str, Any]:
    return {
        "name": name, "type": type_, "division": division, "year": 2018, "implementing_unit": "托里镇人民政府",
        "schedule": {"start": "2018-04-01", "end": "2018-10-31"}, "tasks": tasks, "budget": budget,
        "sources": [{"channel": channel, "amount": budget}], "mechanisms": mechanisms,
        "participation": {"discussed_on": "2017-12-20", "participants": 60, "meeting": "村民代表大会",
                          "note": "经村民代表大会讨论通过"},
        "targets": [{"kind": kind, "indicator": indicator, "target": target, "unit": unit}
                    for kind, indicator, target, unit in targets],
        "planned_households": households, "planned_persons": persons,
    }


V1, V2, V3 = VILLAGES
PROPOSALS: dict[str, dict[str, Any]] = {
    "goji": _plan("永集湖村枸杞种植基地", "industry.planting", V1, "1200000.00", "central_special",
                  ["新建枸杞种植基地500亩", "配套滴灌设施"], ["employment", "land_transfer"],
                  [("output", "新建枸杞种植面积", "500", "亩"), ("benefit", "带动贫困户户均增收", "2000", "元")], 10, 30),
    "water": _plan("乌兰旦达盖村安全饮水工程", "infrastructure.drinking_water", V2, "450000.00",
                   "agri_integrated_drinking_water", ["铺设供水管网6公里", "新建蓄水池1座"], ["direct_support"],
                   [("output", "新增供水管网", "6", "公里"), ("benefit", "解决饮水安全人口", "400", "人")], 10, 30),
    "solar": _plan("永集湖村村级光伏电站", "industry.solar", V1, "800000.00", "central_special",
                   ["建设200千瓦村级光伏电站"], ["asset_income"],
                   [("output", "装机容量", "200", "千瓦"), ("benefit", "年发电收益", "24000", "元")], 8, 24),
    "training": _plan("托里镇贫困劳动力技能培训", "employment.training", TOWNSHIP, "60000.00", "county_special",
                      ["开展种植养殖和务工技能培训4期"], ["employment"],
                      [("output", "培训贫困劳动力", "120", "人次"), ("satisfaction", "参训人员满意度", "90", "%")], 10, 30),
    "road": _plan("大庄子村道路硬化", "infrastructure.road", V3, "600000.00", "agri_integrated_rural_roads",
                  ["硬化村道3公里"], ["employment"], [("output", "硬化道路", "3", "公里")], 5, 15),
    "ecommerce": _plan("托里镇电商服务站", "industry.ecommerce", TOWNSHIP, "150000.00", "county_special",
                       ["建设电商服务站1个"], ["order"], [("output", "电商服务站", "1", "个")], 20, 60),
    "cattle": _plan("乌兰旦达盖村肉牛养殖", "industry.livestock", V2, "300000.00", "central_special",
                    ["购置基础母牛60头"], ["equity_dividend"], [("output", "基础母牛", "60", "头")], 12, 36),
    "housing": _plan("大庄子村危房改造", "housing", V3, "240000.00", "agri_integrated_dangerous_housing",
                     ["改造危房12户"], ["direct_support"], [("output", "改造危房", "12", "户")], 12, 36),
}
#: the projects the funds demo commits money to (and of which it cancels the road)
FUNDED = ("goji", "water", "solar", "training", "road")
#: in the library and the 2018 plan: the funded ones and an e-commerce station that gets no money
LIBRARY = (*FUNDED, "ecommerce")
#: left at earlier stages: the steps they have taken
EARLY = {"cattle": (), "housing": ("township-review",)}
#: beneficiaries: (village, slice of its registered households as the registry lists them)
BENEFICIARIES = {"goji": (V1, 0, 10), "water": (V2, 0, 10), "solar": (V1, 10, 18), "training": (V3, 0, 10),
                 "road": (V3, 10, 15)}


def _office(division: str) -> str:
    return {COUNTY: "county_office", TOWNSHIP: "township"}.get(division, "village")


async def _post(demo: Demo, path: str, division: str, key: str, body: dict[str, Any]) -> Any:
    return check(await demo.clients["projects"].post(path, json=body, headers=demo.headers(_office(division), division,
                                                                                            key=f"demo-projects-{key}")))


async def _get(demo: Demo, service: str, path: str, **params) -> Any:
    return check(await demo.clients[service].get(path, params=params, headers=demo.headers("county_office", COUNTY)))


async def _passed(demo: Demo, announcement_id: str) -> None:
    """Wait for the announcement scheduler to close a notice (its period is over); it must pass."""
    async def closed():
        notice = check(await demo.clients["projects"].get(f"/public/announcements/{announcement_id}"))
        return notice if notice["status"] == "closed" else None
    notice = await wait_for(f"announcement {announcement_id} closing", closed)
    if notice["outcome"] != "passed":
        raise RuntimeError(f"demo: announcement {announcement_id} closed {notice['outcome']}")


async def _beneficiaries(demo: Demo) -> dict[str, list[str]]:
    """Registered households of each village, as the county office finds them in the registry, once the
    projects service knows them too (from the registry's events)."""
    found = {}
    for village in VILLAGES:
        items = (await _get(demo, "registry", "/households", division=village, status="registered", limit=50))["items"]
        found[village] = [h["id"] for h in items]

        async def known(village=village):
            items = (await _get(demo, "projects", "/registry-households", division=village, eligible="true", limit=500))["items"]
            return set(found[village]) <= {h["id"] for h in items}
        await wait_for(f"the projects service learning the households of {village}", known)
    return found


async def projects_into_library(demo: Demo) -> str:
    await demo.at("2018-01-02T09:00:00+08:00")
    households = await _beneficiaries(demo)
    codes: dict[str, str] = {}
    for key, body in PROPOSALS.items():
        codes[key] = (await _post(demo, "/projects", body["division"], f"propose-{key}", body))["code"]
    for key, (village, first, last) in BENEFICIARIES.items():
        body = PROPOSALS[key]
        await _post(demo, f"/projects/{codes[key]}/beneficiaries", body["division"], f"beneficiaries-{key}",
                    {"household_ids": households[village][first:last], "mechanism": body["mechanisms"][0]})
    review = (("township-review", TOWNSHIP), ("appraise", COUNTY), ("approve", COUNTY))
    for key in LIBRARY:
        for action, office in review:
            await _post(demo, f"/projects/{codes[key]}/steps/{action}", office, f"{action}-{key}", {"on": "2018-01-02"})
    for key, taken in EARLY.items():
        for action, office in review[:len(taken)]:
            await _post(demo, f"/projects/{codes[key]}/steps/{action}", office, f"{action}-{key}", {"on": "2018-01-02"})

    in_library = [codes[k] for k in LIBRARY]
    by_village = [(v, [codes[k] for k in LIBRARY if PROPOSALS[k]["division"] == v]) for v in VILLAGES]
    rounds = ((date(2018, 1, 2), [(v, listed) for v, listed in by_village if listed]),  # 逐级公示: 村 → 乡镇 → 县
              (date(2018, 1, 12), [(TOWNSHIP, in_library)]),
              (date(2018, 1, 22), [(COUNTY, in_library)]))
    for start, notices in rounds:
        end = start + timedelta(days=9)  # 10 days, both included (announcement.min_period)
        await demo.at(f"{start.isoformat()}T09:00:00+08:00")
        posted = [await _post(demo, "/publicity", division, f"publicity-{division}", {
            "division": division, "codes": listed, "period_start": start.isoformat(), "period_end": end.isoformat(),
            "hotline_local": HOTLINE}) for division, listed in notices]
        await demo.at(f"{(end + timedelta(days=1)).isoformat()}T09:00:00+08:00")
        for notice in posted:
            await _passed(demo, notice["announcement_id"])
    for key in LIBRARY:
        await _post(demo, f"/projects/{codes[key]}/steps/enter-library", COUNTY, f"enter-library-{key}", {"on": "2018-02-01"})
        await _post(demo, f"/projects/{codes[key]}/steps/plan", COUNTY, f"plan-{key}", {"on": "2018-02-01", "year": 2018})
    demo.state["projects"] = {key: codes[key] for key in FUNDED}
    return (f"{len(LIBRARY)} projects of 托里镇 in the library and the 2018 plan "
            f"({', '.join(f'{k} {codes[k]}' for k in LIBRARY)}); cattle {codes['cattle']} proposed, "
            f"housing {codes['housing']} township-reviewed")


async def _funded(demo: Demo, code: str) -> bool:
    """Whether the funds demo's commitment has reached the project (over the broker), waiting a while."""
    async def committed():
        record = await _get(demo, "projects", f"/projects/{code}")
        return record["funding"]["committed"] != "0.00" and record["stage"] != "planned"
    try:
        await wait_for(f"money committed to {code}", committed, timeout=120)
        return True
    except RuntimeError:
        return False


async def projects_implementation(demo: Demo) -> str:
    codes = demo.state.get("projects") or {}
    if not codes:
        return "skipped: no projects in the library (run projects_into_library first)"
    done = [key for key in ("goji", "water", "solar", "training") if key in codes and await _funded(demo, codes[key])]
    where = {key: PROPOSALS[key]["division"] for key in done}

    async def post(path_key: str, key: str, path: str, body: dict[str, Any], division: str | None = None):
        return await _post(demo, path, division or where[key], f"{path_key}-{key}", body)

    await demo.at("2018-04-15T09:00:00+08:00")
    for key in done:
        await post("progress-1", key, f"/projects/{codes[key]}/progress", {
            "percent": 40, "on": "2018-04-15", "photos": [f"files/demo/{key}/2018-04-15.jpg"], "note": "开工建设"})
    await demo.at("2018-07-15T09:00:00+08:00")
    for key in done:
        await post("progress-2", key, f"/projects/{codes[key]}/progress", {
            "percent": 100, "on": "2018-07-15", "photos": [f"files/demo/{key}/2018-07-15.jpg"], "note": "完工"})
        await post("complete", key, f"/projects/{codes[key]}/steps/complete", {"on": "2018-07-15"}, COUNTY)
    await demo.at("2018-08-01T09:00:00+08:00")
    paid = 0
    for key, kind, amount in (("goji", "wages", "1800.00"), ("training", "subsidy", "500.00")):
        if key in done:
            record = await _get(demo, "projects", f"/projects/{codes[key]}")
            items = [{"household_id": b["household_id"], "kind": kind, "amount": amount, "on": "2018-08-01"}
                     for b in record["beneficiaries"]["items"]]
            await post("benefits", key, f"/projects/{codes[key]}/benefits", {"items": items})
            paid += len(items)
    team = [{"name": "县扶贫办验收组", "unit": "精河县扶贫开发领导小组办公室", "role": "组长"},
            {"name": "县水利局", "unit": "精河县水利局", "role": "成员"}]
    await demo.at("2018-08-10T09:00:00+08:00")
    if "water" in done:
        await post("acceptance-1", "water", f"/projects/{codes['water']}/acceptance", {
            "on": "2018-08-10", "team": team, "result": "failed", "issues": ["部分管网试压未达标"]}, COUNTY)
    await demo.at("2018-08-20T09:00:00+08:00")
    for key in done:
        await post("acceptance", key, f"/projects/{codes[key]}/acceptance",
                   {"on": "2018-08-20", "team": team, "result": "passed", "issues": []}, COUNTY)
    await demo.at("2018-08-21T09:00:00+08:00")
    notices = [await post("results", key, f"/projects/{codes[key]}/results-announcement", {
        "period_start": "2018-08-21", "period_end": "2018-08-30", "hotline_local": HOTLINE}) for key in done]
    await demo.at("2018-09-01T09:00:00+08:00")
    for record in notices:
        await _passed(demo, next(a["id"] for a in record["announcements"] if a["key"] == "results"))
    operator = {"name": "永集湖村股份经济合作社", "kind": "village_collective", "responsibility": "保值增值"}
    assets = {
        "goji": [{"name": "永集湖村枸杞种植基地及滴灌设施", "kind": "productive", "owner": "village_collective",
                  "book_value": "1150000.00", "operator": {**operator, "name": "精河县枸杞种植专业合作社",
                                                           "kind": "cooperative"}}],
        "water": [{"name": "乌兰旦达盖村供水管网及蓄水池", "kind": "public_good", "owner": "village_collective",
                   "book_value": "440000.00", "operator": {**operator, "name": "乌兰旦达盖村村民委员会"}}],
    }
    if "solar" in done:
        shareholders = (await _get(demo, "projects", f"/projects/{codes['solar']}"))["beneficiaries"]["items"]
        assets["solar"] = [{"name": "永集湖村200千瓦村级光伏电站", "kind": "productive", "owner": "households",
                            "book_value": "780000.00", "operator": operator,
                            "shares": [{"holder": "collective", "shares": 20}]
                            + [{"holder": h["household_id"], "shares": 10} for h in shareholders]}]
    handed = {}
    for key in ("goji", "water", "solar"):
        if key in done:
            handed[key] = await post("handover", key, f"/projects/{codes[key]}/handover",
                                     {"on": "2018-09-01", "assets": assets[key]}, COUNTY)
    distributed = ""
    if "solar" in handed:
        await demo.at("2018-12-20T09:00:00+08:00")
        asset_id = handed["solar"]["assets"][0]["id"]
        await post("distribution-2018", "solar", f"/assets/{asset_id}/distributions", {
            "period": "2018", "amount": "24000.00", "on": "2018-12-20", "period_start": "2018-12-20",
            "period_end": "2018-12-29", "hotline_local": HOTLINE})
        distributed = ", solar plant's 2018 income 24000.00 distributed by shares"
    skipped = [k for k in ("goji", "water", "solar", "training") if k in codes and k not in done]
    return (f"implemented {', '.join(done) or 'nothing'}: accepted and announced, assets of {', '.join(handed) or 'none'} "
            f"handed over{distributed}, {paid} household payments recorded"
            + (f"; skipped (no money committed): {', '.join(skipped)}" if skipped else ""))
