"""Demo steps: a year of money (fiscal 2018) for 精河县 through the funds API — the central
appropriation of three channels, allocation by factors to 新疆, on to 博州 and 精河县 with 文号
(博州 passes the farmland money on late: a missed deadline), the county's integration plan,
commitments to the demo projects, a disbursement batch, the road project cancelled → its money
stranded → returned to 新疆 → re-allocated, and the county's results announcement.

The project codes come from the projects step (``demo.state["projects"]``); commitments wait until
the funds service has taken in the projects' library events from the broker.
"""

from __future__ import annotations

import asyncio

from deploy.demo.base import COUNTY, Demo, check

CENTRAL, XINJIANG, BOZHOU, HOTAN = "000000000000", "650000000000", "652700000000", "653200000000"
FINANCE = {CENTRAL: "central_finance", XINJIANG: "province_finance", BOZHOU: "city_finance", HOTAN: "city_finance",
           COUNTY: "county_finance"}
YEAR = 2018
FARMLAND, WATER = "agri_integrated_farmland", "agri_integrated_drinking_water"
PLAN = "精河县2018年统筹整合使用财政涉农资金实施方案"
#: 因素法 (seed 004 L25): 50,000,000.00 yuan among three provinces by poor population, inverted
#: farmers' income and last year's performance score, weights 6:2:2 — 新疆's part is exact to the fen
SHEET = {"total": "50000000.00", "weights": {"poor_population": 6, "farmer_income_inv": 2, "performance": 2},
         "recipients": {XINJIANG: {"poor_population": 2610000, "farmer_income_inv": "1.12", "performance": 92},
                        "620000000000": {"poor_population": 2890000, "farmer_income_inv": "1.25", "performance": 88},
                        "520000000000": {"poor_population": 3730000, "farmer_income_inv": "1.18", "performance": 90}}}
PARTS = {XINJIANG: "15045543.92", "620000000000": "16173668.79", "520000000000": "18780787.29"}


class Money:
    """Posts to the funds API as each level's finance bureau, with fixed idempotency keys."""

    def __init__(self, demo: Demo):
        self.demo, self.client = demo, demo.clients["funds"]

    async def post(self, path: str, division: str, key: str, **body) -> dict:
        body = {"channel": "central_special", "fiscal_year": YEAR, **body}
        return check(await self.client.post(path, json=body, headers=self.demo.headers(
            FINANCE[division], division, key=f"demo-funds-{key}")))

    async def get(self, path: str, division: str = COUNTY, **params) -> dict:
        return check(await self.client.get(path, params=params, headers=self.demo.headers(FINANCE[division], division)))

    async def until(self, what: str, predicate, timeout: float = 120) -> None:
        """Wait for an event to travel through the broker (the demo runs against live services)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await predicate():
            if loop.time() > deadline:
                raise RuntimeError(f"demo: {what} did not happen within {timeout:.0f}s")
            await asyncio.sleep(0.5)


async def _fundable(money: Money, code: str) -> bool:
    response = await money.client.get(f"/projects/{code}", headers=money.demo.headers("county_finance", COUNTY))
    return response.status_code == 200 and response.json()["fundable"]


async def funds_down_the_levels(demo: Demo) -> str:
    money = Money(demo)
    await demo.at("2018-03-01T10:00:00+08:00")
    for channel, amount in (("central_special", "50000000.00"), (FARMLAND, "3000000.00"), (WATER, "2000000.00")):
        await money.post("/appropriations", CENTRAL, f"appropriate-{channel}", channel=channel, amount=amount,
                         document_no="财预〔2018〕12号", document_date="2018-03-01")
    for province, part in PARTS.items():
        await money.post("/allocations", CENTRAL, f"allocate-central-{province}", amount=part, to_division=province,
                         factor_sheet=SHEET, document_no="财农〔2018〕10号", document_date="2018-03-01",
                         purpose="industry_development")
    for channel, amount in ((FARMLAND, "3000000.00"), (WATER, "2000000.00")):
        await money.post("/allocations", CENTRAL, f"allocate-central-{channel}", channel=channel, amount=amount,
                         to_division=XINJIANG, document_no="财农〔2018〕11号", document_date="2018-03-01")
    await demo.at("2018-03-26T10:00:00+08:00")
    for channel, amount, to in (("central_special", "3000000.00", BOZHOU), ("central_special", "12045543.92", HOTAN),
                                (FARMLAND, "1000000.00", BOZHOU), (FARMLAND, "2000000.00", HOTAN),
                                (WATER, "800000.00", BOZHOU), (WATER, "1200000.00", HOTAN)):
        await money.post("/allocations", XINJIANG, f"allocate-xinjiang-{channel}-{to}", channel=channel, amount=amount,
                         to_division=to, document_no="新财农〔2018〕21号", document_date="2018-03-26")
    await demo.at("2018-04-04T10:00:00+08:00")
    for channel, amount in (("central_special", "3000000.00"), (WATER, "800000.00")):
        await money.post("/allocations", BOZHOU, f"allocate-bozhou-{channel}", channel=channel, amount=amount,
                         to_division=COUNTY, document_no="博州财农〔2018〕5号", document_date="2018-04-04")
    await demo.at("2018-05-10T10:00:00+08:00")  # 30 days after 03-26 have passed: 博州 is late with the farmland money
    await money.post("/allocations", BOZHOU, f"allocate-bozhou-{FARMLAND}", channel=FARMLAND, amount="1000000.00",
                     to_division=COUNTY, document_no="博州财农〔2018〕9号", document_date="2018-05-10")
    await money.post("/appropriations", COUNTY, "appropriate-county", channel="county_special", amount="300000.00",
                     document_no="精财预〔2018〕2号", document_date="2018-05-10")
    for channel, amount in (("central_special", "2800000.00"), (FARMLAND, "1000000.00"), (WATER, "800000.00")):
        await money.post("/integrations", COUNTY, f"integrate-{channel}", channel=channel, amount=amount, plan=PLAN,
                         document_no="精政办发〔2018〕12号", document_date="2018-05-12")
    spending = await money.get("/reports/spending", fiscal_year=YEAR)
    return (f"central → 新疆 (factor sheet) → 博州 → 精河县: received {spending['received']} yuan, "
            f"4,600,000.00 integrated under {PLAN}")


async def funds_to_projects(demo: Demo) -> str:
    money, codes = Money(demo), demo.state["projects"]
    await demo.at("2018-05-15T10:00:00+08:00")
    for name in ("goji", "water", "solar", "training", "road"):
        await money.until(f"project {codes[name]} fundable in the funds service", lambda: _fundable(money, codes[name]))
    for name, channel, amount, source in (("goji", "central_special", "1200000.00", "pool"),
                                          ("solar", "central_special", "900000.00", "pool"),
                                          ("water", WATER, "800000.00", "pool"), ("water", FARMLAND, "300000.00", "pool"),
                                          ("road", FARMLAND, "600000.00", "pool"),
                                          ("training", "county_special", "200000.00", "available")):
        await money.post("/commitments", COUNTY, f"commit-{name}-{channel}", channel=channel, amount=amount,
                         project_code=codes[name], source=source, plan=PLAN if source == "pool" else None,
                         document_no="精扶领发〔2018〕7号", document_date="2018-05-15")
    await money.post("/commitments", COUNTY, "commit-fee", amount="30000.00", project_code=codes["goji"],
                     source="pool", plan=PLAN, purpose="project_management_fee", document_no="精扶领发〔2018〕7号",
                     document_date="2018-05-15")
    await demo.at("2018-06-20T10:00:00+08:00")
    households = await _households(demo, 3)
    lines = [{"line_ref": f"精财拨〔2018〕30号-{i + 1}", "project_code": codes["goji"], "channel": "central_special",
              "fiscal_year": YEAR, "payee": {"kind": "household", "name": f"枸杞种植户{i + 1}", "household_id": h},
              "amount": "3000.00", "purpose": "industry_development"} for i, h in enumerate(households)]
    lines += [{"line_ref": "精财拨〔2018〕30号-4", "project_code": codes["goji"], "channel": "central_special",
               "fiscal_year": YEAR, "payee": {"kind": "cooperative", "name": "精河县枸杞种植专业合作社"}, "amount": "400000.00"},
              {"line_ref": "精财拨〔2018〕30号-5", "project_code": codes["water"], "channel": WATER, "fiscal_year": YEAR,
               "payee": {"kind": "contractor", "name": "精河县水利工程有限公司"}, "amount": "500000.00"},
              {"line_ref": "精财拨〔2018〕30号-6", "project_code": codes["solar"], "channel": "central_special",
               "fiscal_year": YEAR, "payee": {"kind": "contractor", "name": "博州光伏工程有限公司"}, "amount": "600000.00"},
              {"line_ref": "精财拨〔2018〕30号-7", "project_code": codes["training"], "channel": "county_special",
               "fiscal_year": YEAR, "payee": {"kind": "enterprise", "name": "精河县职业技能培训学校"}, "amount": "120000.00"}]
    batch = check(await money.client.post("/disbursement-batches", json={
        "batch_ref": "精财拨〔2018〕30号", "schedule_date": "2018-06-20", "document_no": "精财拨〔2018〕30号",
        "count": len(lines), "total": "1629000.00", "lines": lines},
        headers=demo.headers("county_finance", COUNTY, key="demo-funds-batch-30")))
    demo.state["paid_households"] = households
    return f"commitments to {len(codes)} projects; batch 精财拨〔2018〕30号: {batch['posted']} lines, {batch['posted_total']} yuan"


async def _households(demo: Demo, count: int) -> list[str]:
    found = check(await demo.clients["registry"].get("/households", params={"division": COUNTY, "status": "registered", "limit": count},
                                                     headers=demo.headers("county_finance", COUNTY)))
    return [h["id"] for h in found["items"][:count]]


async def stranded_and_back(demo: Demo) -> str:
    """After the road project's cancellation (projects service) the funds service has stranded its
    money on its own; the county returns it to 新疆, which re-allocates it through the same channel."""
    money, road = Money(demo), demo.state["projects"]["road"]

    async def stranded() -> bool:
        report = await money.get("/reports/stranded")
        return any(i["project_code"] == road and i["stranded"] != "0.00" for i in report["items"])

    await money.until(f"the money of cancelled project {road} stranded", stranded)
    await demo.at("2018-08-10T10:00:00+08:00")
    await money.post("/returns", COUNTY, "return-road", channel=FARMLAND, amount="600000.00", project_code=road,
                     document_no="精财〔2018〕41号", document_date="2018-08-10")
    await demo.at("2018-08-20T10:00:00+08:00")
    await money.post("/reallocations", XINJIANG, "reallocate-road", channel=FARMLAND, amount="600000.00",
                     to_division=COUNTY, document_no="新财农〔2018〕60号", document_date="2018-08-20")
    await demo.at("2018-09-01T10:00:00+08:00")
    notice = await money.post("/results-notices", COUNTY, "results-notice", fiscal_year=YEAR, period_start="2018-09-01",
                              period_end="2018-09-10", hotline_local="0909-5322222")
    return f"road project money stranded → returned → re-allocated (600000.00); results announcement {notice['announcement_id']}"
