"""The error-rate evaluation on a built scenario (real PostgreSQL): 错退率 from a substantiated
exit grievance, 漏评率 from a substantiated identification grievance, each judged against the
policy's 2% with its citation; the review interval from the policy table."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

from shared.idcard import make_id
from tests.conftest import bearer
from tests.service.county_support import seed_divisions, upload
from tests.service.registry_support import COUNTY, TOWNSHIP, VILLAGE
from tests.service.test_registry_import import HEADER, person


def roll(registered: int, exited: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for k in range(registered + exited):
        writer.writerow(person(f"H{k:04d}", make_id("652722", date(1970, 1, 1 + k % 28), k), division=VILLAGE,
                               registered="2015", exited="2016" if k >= registered else ""))
    return out.getvalue().encode("utf-8")


async def substantiated(r, category, household=None):
    links = [{"kind": "household", "ref": household}] if household else []
    g = (await r.client.post("/grievances", headers=r.headers("county_office", COUNTY), json={
        "channel": "12317", "division": VILLAGE, "summary": "反映问题", "links": links})).json()
    for action, role, division, body in (
            ("classify", "county_office", COUNTY, {"category": category}),
            ("assign", "county_office", COUNTY, {"assigned_to": TOWNSHIP}),
            ("investigate", "township", TOWNSHIP, {}),
            ("answer", "township", TOWNSHIP, {"outcome": "substantiated", "answer": "经核查属实"})):
        answer = await r.client.post(f"/grievances/{g['id']}/steps/{action}", json=body,
                                     headers=r.headers(role, division))
        assert answer.status_code == 200, answer.text


async def test_error_rates_against_the_two_percent_rule(registry):
    r = registry
    r.clock.set(datetime(2017, 3, 1, 2, tzinfo=timezone.utc))
    await seed_divisions(r.settings)
    assert (await upload(r, "/imports", "roll.csv", roll(registered=50, exited=10))).status_code == 201
    await substantiated(r, "exit", household="H0055")  # one of the ten exited in 2016
    await substantiated(r, "identification")  # a household left out
    county = bearer(r.settings, "county_office", COUNTY)

    y2016 = (await r.client.get(f"/evaluations/{COUNTY}/error-rates", params={"year": 2016}, headers=county)).json()
    assert y2016["wrongful_exit_rate"] == {"count": 1, "base": 10, "percent": "10.00", "max_percent": 2,
                                           "within": False}
    assert y2016["rule"]["id"] == "evaluation.error_rate_max" and y2016["rule"]["citation"]

    y2017 = (await r.client.get(f"/evaluations/{COUNTY}/error-rates", params={"year": 2017}, headers=county)).json()
    assert y2017["missed_identification_rate"] == {"count": 1, "base": 51, "percent": "1.96", "max_percent": 2,
                                                   "within": True}
    assert y2017["wrongful_exit_rate"]["base"] == 0 and y2017["wrongful_exit_rate"]["within"]
    assert y2017["review"]["interval_years"] == 1 and y2017["review"]["last_review_year"] is None

    await substantiated(r, "identification")  # a second one: 2 of 52 is not below 2%
    y2017 = (await r.client.get(f"/evaluations/{COUNTY}/error-rates", params={"year": 2017}, headers=county)).json()
    assert y2017["missed_identification_rate"]["percent"] == "3.85"
    assert y2017["missed_identification_rate"]["within"] is False
    outside = bearer(r.settings, "county_office", "652701000000")
    assert (await r.client.get(f"/evaluations/{COUNTY}/error-rates", params={"year": 2017},
                               headers=outside)).status_code == 403
