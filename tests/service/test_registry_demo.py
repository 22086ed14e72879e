"""The demo data, loaded through the REST APIs, reports the 精河县 table of DOMAIN §9 back."""

from __future__ import annotations

from datetime import datetime, timezone

from deploy.demo import load_demo
from services.registry.app import create_app
from shared.auth import issue_token
from shared.clock import SettableClock
from tests.conftest import bearer, serving

TOWNSHIPS = {  # DOMAIN §9: households / persons registered at the end of 2014
    "652722101000": (633, 1401),  # 大河沿子镇
    "652722102000": (369, 890),   # 托里镇
    "652722400000": (315, 843),   # 八家户农场
    "652722201000": (332, 925),   # 茫丁乡
    "652722103000": (118, 281),   # 托托镇
}


async def test_the_demo_reproduces_the_jinghe_table(databases):
    settings = await databases.new("registry")
    clock = SettableClock(datetime(2018, 3, 1, 2, tzinfo=timezone.utc))
    app = create_app(settings, clock=clock, run_background=False)
    async with serving(app) as client:
        def token(role, division, dept=None):
            return issue_token(settings, sub=f"demo-{role}", roles=[role], division=division, dept=dept)

        lines: list[str] = []
        await load_demo({"registry": client}, token, say=lines.append)
        await load_demo({"registry": client}, token, say=lines.append)  # again: replayed, nothing doubled
        county = bearer(settings, "county_office", "652722")
        stats = {year: (await client.get("/statistics", params={"division": "652722", "year": year},
                                         headers=county)).json() for year in (2014, 2017)}
    s2014, s2017 = stats[2014], stats[2017]
    assert s2014["registered"] == {"households": 1767, "persons": 4340}
    assert s2014["without_labour"] == {"households": 716, "persons": 1312}
    assert s2014["with_labour"] == {"households": 1051, "persons": 3028}
    assert {code: (t["registered"]["households"], t["registered"]["persons"])
            for code, t in s2014["by_township"].items()} == TOWNSHIPS
    assert s2017["exits"] == {"2015": {"households": 343, "persons": 1067}, "2016": {"households": 575, "persons": 1595},
                              "2017": {"households": 133, "persons": 366}}
    assert s2017["remaining"] == {"households": 716, "persons": 1312}
    assert any("1767 households / 4340 persons" in line for line in lines)
