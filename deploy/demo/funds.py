"""Demo steps: a year of money (fiscal 2018) for 精河县 through the funds API — the central
appropriation of three channels, allocation by factors to 新疆, on to 博州 and 精河县 with 文号
(博州 passes the rural-roads money on late: a missed deadline), the county's integration plan,
commitments to the demo projects, a disbursement batch, the road project cancelled → its money
stranded → returned to 新疆 → re-allocated, and the county's results announcement.

The project codes come from the projects step (``demo.state["projects"]``); commitments wait until
the funds service has taken in the projects' library events from the broker.
"""

from __future__ import annotations

import functools

from deploy.demo.base import COUNTY, Demo, check, wait_for
from shared.divisions import Level, level

CENTRAL, XINJIANG, BOZHOU, HOTAN = "000000000000", "650000000000", "652700000000", "653200000000"
#: the finance bureau of each level (the role a division's finance token carries)
FINANCE = {Level.CENTRAL: "central_finance", Level.PROVINCE: "province_finance", Level.CITY: "city_finance",
           Level.COUNTY: "county_finance"}
YEAR = 2018
ROADS, WATER = "agri_integrated_rural_roads", "agri_integrated_drinking_water"
PLAN = "精河县2018年统筹整合使用财政涉农资金实施方案"
#: 因素法 (seed 004 L25): 50,000,000.00 yuan among three provinces by poor population, inverted
#: farmers' income and last year's performance score, weights 6:2:2 — 新疆's part is exact to the fen
SHEET = {"total": "50000000.00", "weights": {"poor_population": 6, "farmer_income_inv": 2, "performance": 2},
         "recipients": {XINJIANG: {"poor_population": 2610000, "farmer_income_inv": "1.12", "performance": 92},
                        "620000000000": {"poor_population": 2890000, "farmer_income_inv": "1.25", "performance": 88},
                        "520000000000": {"poor_population": 3730000, "farmer_income_inv": "1.18", "performance": 90}}}
PARTS = {XINJIANG: "15045543.92", "620000000000": "16173668.79", "520000000000": "18780787.29"}
GANSU, DINGXI, WEIYUAN = "620000000000", "621100000000", "621123000000"
GUIZHOU, QIANDONGNAN, LEISHAN = "520000000000", "522600000000", "522634000000"
#: the rest of the money goes down in time too (甘肃 → 定西市 → 渭源县, 贵州 → 黔东南州 → 雷山县,
#: 和田地区 → 和田县), so the one missed deadline of the year is 博州's: (from, to, channel, amount, day)
ELSEWHERE = ((GANSU, DINGXI, "central_special", PARTS[GANSU], "2018-02-26"),
             (GUIZHOU, QIANDONGNAN, "central_special", PARTS[GUIZHOU], "2018-02-26"),
             (DINGXI, WEIYUAN, "central_special", PARTS[GANSU], "2018-03-05"),
             (QIANDONGNAN, LEISHAN, "central_special", PARTS[GUIZHOU], "2018-03-05"),
             (HOTAN, "653221000000", "central_special", "12045543.92", "2018-03-05"),
             (HOTAN, "653221000000", ROADS, "2000000.00", "2018-03-05"),
             (HOTAN, "653221000000", WATER, "1200000.00", "2018-03-05"))


class Money:
    """Posts to the funds API as each level's finance bureau, with fixed idempotency keys."""

    def __init__(self, demo: Demo):
        self.demo, self.client = demo, demo.clients["funds"]

    async def post(self, path: str, division: str, key: str, **body) -> dict:
        body = {"channel": "central_special", "fiscal_year": YEAR, **body}
        return check(await self.client.post(path, json=body, headers=self.demo.headers(
            FINANCE[level(division)], division, key=f"demo-funds-{key}")))

    async def get(self, path: str, division: str = COUNTY, **params) -> dict:
        headers = self.demo.headers(FINANCE[level(division)], division)
        return check(await self.client.get(path, params=params, headers=headers))


async def _known(money: Money, code: str) -> bool:
    """The funds service has taken in the project's library entry (a re-run finds the road cancelled)."""
    response = await money.client.get(f"/projects/{code}", headers=money.demo.headers("county_finance", COUNTY))
    return response.status_code == 200 and response.json()["in_library"]


async def _payable(money: Money, household: str) -> bool:
    response = await money.client.get(f"/payee-households/{household}", headers=money.demo.headers("county_finance", COUNTY))
    return response.status_code == 200 and response.json()["payable"]


async def _elsewhere(money: Money, day: str) -> None:
    for sender, receiver, channel, amount, on in ELSEWHERE:
        if on == day:
            await money.post("/allocations", sender, f"allocate-{sender}-{receiver}-{channel}", channel=channel,
                             amount=amount, to_division=receiver, document_no="财农〔2018〕下达", document_date=day)


async def funds_down_the_levels(demo: Demo) -> str:
    money = Money(demo)
    await demo.at("2018-02-05T10:00:00+08:00")
    for channel, amount in (("central_special", "50000000.00"), (ROADS, "3000000.00"), (WATER, "2000000.00")):
        await money.post("/appropriations", CENTRAL, f"appropriate-{channel}", channel=channel, amount=amount,
                         document_no="财预〔2018〕12号", document_date="2018-02-05")
    for province, part in PARTS.items():
        await money.post("/allocations", CENTRAL, f"allocate-central-{province}", amount=part, to_division=province,
                         factor_sheet=SHEET, document_no="财农〔2018〕10号", document_date="2018-02-05",
                         purpose="industry_development")
    for channel, amount in ((ROADS, "3000000.00"), (WATER, "2000000.00")):
        await money.post("/allocations", CENTRAL, f"allocate-central-{channel}", channel=channel, amount=amount,
                         to_division=XINJIANG, document_no="财农〔2018〕11号", document_date="2018-02-05")
    await demo.at("2018-02-26T10:00:00+08:00")
    for channel, amount, to in (("central_special", "3000000.00", BOZHOU), ("central_special", "12045543.92", HOTAN),
                                (ROADS, "1000000.00", BOZHOU), (ROADS, "2000000.00", HOTAN),
                                (WATER, "800000.00", BOZHOU), (WATER, "1200000.00", HOTAN)):
        await money.post("/allocations", XINJIANG, f"allocate-xinjiang-{channel}-{to}", channel=channel, amount=amount,
                         to_division=to, document_no="新财农〔2018〕21号", document_date="2018-02-26")
    await _elsewhere(money, "2018-02-26")
    await demo.at("2018-03-05T10:00:00+08:00")
    await _elsewhere(money, "2018-03-05")
    for channel, amount in (("central_special", "3000000.00"), (WATER, "800000.00")):
        await money.post("/allocations", BOZHOU, f"allocate-bozhou-{channel}", channel=channel, amount=amount,
                         to_division=COUNTY, document_no="博州财农〔2018〕5号", document_date="2018-03-05")
    await demo.at("2018-04-02T10:00:00+08:00")  # 30 days after 02-26 have passed: 博州 is late with the roads money
    await money.post("/allocations", BOZHOU, f"allocate-bozhou-{ROADS}", channel=ROADS, amount="1000000.00",
                     to_division=COUNTY, document_no="博州财农〔2018〕9号", document_date="2018-04-02")
    await money.post("/appropriations", COUNTY, "appropriate-county", channel="county_special", amount="300000.00",
                     document_no="精财预〔2018〕2号", document_date="2018-04-02")
    await demo.at("2018-04-03T10:00:00+08:00")
    for channel, amount in (("central_special", "2800000.00"), (ROADS, "1000000.00"), (WATER, "800000.00")):
        await money.post("/integrations", COUNTY, f"integrate-{channel}", channel=channel, amount=amount, plan=PLAN,
                         document_no="精政办发〔2018〕12号", document_date="2018-04-03")
    spending = await money.get("/reports/spending", fiscal_year=YEAR)
    return (f"central → 新疆 (factor sheet) → 博州 → 精河县: received {spending['received']} yuan; "
            f"4600000.00 integrated under {PLAN}")


async def funds_to_projects(demo: Demo) -> str:
    money, codes = Money(demo), demo.state["projects"]
    await demo.at("2018-04-04T10:00:00+08:00")
    for name in ("goji", "water", "solar", "training", "road"):
        await wait_for(f"project {codes[name]} in the funds service's library", functools.partial(_known, money, codes[name]),
                       timeout=120)
    for name, channel, amount, source in (("goji", "central_special", "1200000.00", "pool"),
                                          ("solar", "central_special", "800000.00", "pool"),
                                          ("water", WATER, "450000.00", "pool"), ("road", ROADS, "600000.00", "pool"),
                                          ("training", "county_special", "60000.00", "available")):
        await money.post("/commitments", COUNTY, f"commit-{name}", channel=channel, amount=amount,
                         project_code=codes[name], source=source, plan=PLAN if source == "pool" else None,
                         document_no="精扶领发〔2018〕7号", document_date="2018-04-04")
    await money.post("/commitments", COUNTY, "commit-fee", amount="30000.00", project_code=codes["goji"],
                     source="pool", plan=PLAN, purpose="project_management_fee", document_no="精扶领发〔2018〕7号",
                     document_date="2018-04-04")
    await demo.at("2018-04-10T10:00:00+08:00")
    households = await _households(demo, 3)
    for household in households:  # the funds service pays registered households only: its read model has them
        await wait_for(f"household {household} payable by the funds service", functools.partial(_payable, money, household),
                       timeout=120)
    lines = [{"line_ref": f"精财拨〔2018〕30号-{i + 1}", "project_code": codes["goji"], "channel": "central_special",
              "fiscal_year": YEAR, "payee": {"kind": "household", "name": f"枸杞种植户{i + 1}", "household_id": h},
              "amount": "3000.00", "purpose": "industry_development"} for i, h in enumerate(households)]
    lines += [{"line_ref": "精财拨〔2018〕30号-4", "project_code": codes["goji"], "channel": "central_special",
               "fiscal_year": YEAR, "payee": {"kind": "cooperative", "name": "精河县枸杞种植专业合作社"}, "amount": "400000.00"},
              {"line_ref": "精财拨〔2018〕30号-5", "project_code": codes["water"], "channel": WATER, "fiscal_year": YEAR,
               "payee": {"kind": "contractor", "name": "精河县水利工程有限公司"}, "amount": "300000.00"},
              {"line_ref": "精财拨〔2018〕30号-6", "project_code": codes["solar"], "channel": "central_special",
               "fiscal_year": YEAR, "payee": {"kind": "contractor", "name": "博州光伏工程有限公司"}, "amount": "600000.00"},
              {"line_ref": "精财拨〔2018〕30号-7", "project_code": codes["training"], "channel": "county_special",
               "fiscal_year": YEAR, "payee": {"kind": "enterprise", "name": "精河县职业技能培训学校"}, "amount": "40000.00"}]
    total = sum(int(line["amount"].replace(".", "")) for line in lines)
    batch = check(await money.client.post("/disbursement-batches", json={
        "batch_ref": "精财拨〔2018〕30号", "schedule_date": "2018-04-10", "document_no": "精财拨〔2018〕30号",
        "count": len(lines), "total": f"{total // 100}.{total % 100:02d}", "lines": lines},
        headers=demo.headers("county_finance", COUNTY, key="demo-funds-batch-30")))
    demo.state["paid_households"] = households
    return (f"commitments to {len(codes)} projects; "
            f"batch 精财拨〔2018〕30号: {batch['posted']} lines, {batch['posted_total']} yuan")


async def _households(demo: Demo, count: int) -> list[str]:
    found = check(await demo.clients["registry"].get(
        "/households", params={"division": COUNTY, "status": "registered", "limit": count},
        headers=demo.headers("county_finance", COUNTY)))
    return [h["id"] for h in found["items"][:count]]


async def road_cancelled_stranded_and_back(demo: Demo) -> str:
    """The road cannot be built: the county cancels it in the projects service; the funds service
    strands its money on its own (from the event); the county returns it to 新疆, which
    re-allocates it through the same channel; the county announces the year's results."""
    money, road = Money(demo), demo.state["projects"]["road"]
    await demo.at("2018-04-11T10:00:00+08:00")
    check(await demo.clients["projects"].post(
        f"/projects/{road}/steps/cancel", json={"reason": "线路与国道改线冲突，无法实施", "on": "2018-04-11"},
        headers=demo.headers("county_office", COUNTY, key="demo-funds-cancel-road")))

    async def stranded() -> bool:
        report = await money.get("/reports/stranded")
        return any(i["project_code"] == road and i["stranded"] != "0.00" for i in report["items"])

    await wait_for(f"the money of cancelled project {road} stranded", stranded, timeout=120)
    await demo.at("2018-04-12T10:00:00+08:00")
    await money.post("/returns", COUNTY, "return-road", channel=ROADS, amount="600000.00", project_code=road,
                     document_no="精财〔2018〕41号", document_date="2018-04-12")
    await demo.at("2018-04-13T10:00:00+08:00")
    await money.post("/reallocations", XINJIANG, "reallocate-road", channel=ROADS, amount="600000.00",
                     to_division=COUNTY, document_no="新财农〔2018〕60号", document_date="2018-04-13")
    notice = await money.post("/results-notices", COUNTY, "results-notice", fiscal_year=YEAR, period_start="2018-04-14",
                              period_end="2018-04-24", hotline_local="0909-5322222")
    return (f"road {road} cancelled → 600000.00 stranded → returned → re-allocated; "
            f"results announcement {notice['announcement_id']}")
