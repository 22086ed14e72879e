"""Demo step: 精河县 (652722) — its divisions (reference data) and a registry of exactly the shape of
DOMAIN §9 — 1,767 households / 4,340 persons registered in 2014 across five townships, 716/1,312
without labour capacity, exits 2015 343/1,067, 2016 575/1,595, 2017 133/366 — imported as the usual
建档立卡 spreadsheet. Persons, names and ID numbers are synthetic (valid check digits).
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, timedelta

from services.registry.domain.codes import Cause
from services.registry.domain.jinghe_shape import jinghe_households
from services.registry.usecases.reference import JINGHE_CSV
from shared.idcard import make_id

from deploy.demo.base import COUNTY, Demo, check

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
            "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文")
GIVEN = "明华强伟芳娟敏静丽军杰涛勇艳超霞平刚桂英秀兰玉珍凤洁梅琳"
HEADER = ["户编号", "行政区划代码", "姓名", "证件号码", "与户主关系", "劳动技能", "贫困户属性", "主要致贫原因", "识别年度",
          "脱贫年度"]


def jinghe_registry_csv() -> bytes:
    """The §9 household set as a 建档立卡 import file (one row per person)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    serial = 0
    numbers: dict[str, int] = {}
    seen: set[str] = set()

    def person_id(born: date) -> str:
        code = serial % 1000
        while (number := make_id("652722", born, code)) in seen:
            code = (code + 1) % 1000
        seen.add(number)
        return number

    for facts in jinghe_households():
        village = facts.division[:9] + "2" + facts.division[10:]  # the villages of the shipped division file
        numbers[village] = numbers.get(village, 0) + 1
        number = f"{village}{numbers[village]:04d}"
        without_labour = facts.persons_without_labour
        for k in range(facts.persons):
            serial += 1
            relation = "户主" if k == 0 else ("配偶" if k == 1 else "子女")
            born = (date(1945, 1, 1) + timedelta(days=serial * 4)) if k < 2 else (date(1996, 1, 1) + timedelta(days=serial))
            labour = "无劳动能力" if k >= facts.persons - without_labour else "普通劳动力"
            writer.writerow([
                number, village,
                SURNAMES[serial % len(SURNAMES)] + GIVEN[serial % len(GIVEN)] + GIVEN[(serial // 7) % len(GIVEN)],
                person_id(born), relation, labour,
                "一般贫困户" if without_labour < facts.persons else "低保贫困户", Cause(facts.main_cause).label,
                facts.registered_year, facts.exit_year or "",
            ])
    return out.getvalue().encode("utf-8")


async def registry_divisions(demo: Demo) -> str:
    clients, token = demo.clients, demo.token
    response = await clients["registry"].put(
        "/divisions", content=JINGHE_CSV.read_bytes(),
        headers={"Authorization": f"Bearer {token('admin', '000000000000')}", "content-type": "text/csv",
                 "Idempotency-Key": "demo-divisions-652722"})
    body = check(response)
    return f"divisions of 精河县: {body['created']} created, {body['updated']} updated, {body['unchanged']} unchanged"


async def registry_households(demo: Demo) -> str:
    clients, token = demo.clients, demo.token
    response = await clients["registry"].post(
        "/imports", files={"file": ("jinghe_2014.csv", jinghe_registry_csv(), "text/csv")},
        headers={"Authorization": f"Bearer {token('county_office', COUNTY)}", "Idempotency-Key": "demo-registry-652722",
                 # a fixed boundary keeps the body byte-identical, so a re-run is a replay
                 "content-type": "multipart/form-data; boundary=fupin-demo-boundary"})
    body = check(response)
    stats = check(await clients["registry"].get(
        "/statistics", params={"division": COUNTY, "year": 2017},
        headers={"Authorization": f"Bearer {token('county_office', COUNTY)}"}))
    return (f"精河县 registry: {body['households']} households / {body['persons']} persons imported; "
            f"remaining poor at end of 2017: {stats['remaining']['households']} households")


#: 驻村工作队 cadres of the county's departments (帮扶责任人), each helping several households
HELPERS = [("马建军", "精河县财政局"), ("古丽娜尔", "精河县扶贫办"), ("王志刚", "精河县农业农村局"),
           ("阿不都热依木", "精河县人社局"),
           ("刘晓燕", "精河县教育局"), ("张海涛", "精河县卫健委"), ("努尔兰", "精河县水利局"), ("陈静", "精河县民政局")]


async def registry_assistance(demo: Demo) -> str:
    """Every household still on the roll gets its 帮扶责任人 and a measure (措施到户) — the
    households left are those without labour capacity, so the measure is 兜底保障 (seed 003 L487:
    no household without both; the registry's missing-assistance report comes back empty)."""
    client, headers = demo.clients["registry"], demo.headers("county_office", COUNTY)
    households, cursor = [], None
    while True:
        page = check(await client.get("/households", params={"division": COUNTY, "status": "registered", "limit": 500,
                                                             **({"cursor": cursor} if cursor else {})}, headers=headers))
        households += page["items"]
        if not (cursor := page.get("next_cursor")):
            break
    limit = asyncio.Semaphore(8)

    async def assist(index: int, household: dict) -> None:
        name, unit = HELPERS[index % len(HELPERS)]
        async with limit:
            if household["helper"] is None:
                check(await client.put(f"/households/{household['id']}/helper", json={"name": name, "unit": unit},
                                       headers=demo.headers("county_office", COUNTY, key=f"demo-helper-{household['number']}")))
            check(await client.post(f"/households/{household['id']}/measures", json={
                "pathway": "social_security", "description": "纳入农村最低生活保障，政策性兜底", "year": 2018},
                headers=demo.headers("county_office", COUNTY, key=f"demo-measure-{household['number']}")))

    await asyncio.gather(*(assist(i, h) for i, h in enumerate(households)))
    report = check(await client.get("/reports/missing-assistance", params={"division": COUNTY}, headers=headers))
    return (f"{len(households)} households on the roll with a 帮扶责任人 and a 兜底 measure; "
            f"without helper {len(report['without_helper'])}, without measure {len(report['without_measure'])}")
