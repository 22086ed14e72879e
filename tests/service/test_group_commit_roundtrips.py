"""The round trips of a group of disbursements (shared/web/group_commit.py, ``POST /disbursements``),
counted on the wire (tests/roundtrips.py) between the funds service and real PostgreSQL: while a
group holds the log's lock every round trip is time no other group can use (issue #13), so a group
of eight must cost no more than BEGIN, the claim with the log's lock, one look-up of everything the
judgement reads (the projects, the household payees, the lines posted before, the accounts locked
with their balances, the year closes, the log's tail), the postings, the events, the keys'
completion and COMMIT: seven."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from services.funds.app import create_app
from shared import db as shared_db
from shared.clock import SettableClock
from shared.web import app as web_app
from tests.conftest import bearer, serving
from tests.roundtrips import RoundTrips
from tests.service.funds_support import JINGHE, Funds, down_to_jinghe

WINDOW = 0.3  # long enough that the requests sent together below form one group
GROUP = 8
HOUSEHOLDS = [f"00000000-0065-2722-0000-{n:012d}" for n in range(1, GROUP // 2 + 1)]


def disbursement(n: int, line_ref: str) -> dict:
    """Half to registered households, half to contractors; always the same payees (their accounts
    exist after the first round: opening accounts is not what is counted)."""
    payee = ({"kind": "household", "name": f"户{n}", "household_id": HOUSEHOLDS[n // 2]} if n % 2 == 0
             else {"kind": "contractor", "name": f"公司{n}"})
    return {"channel": "central_special", "fiscal_year": 2017, "document_date": "2017-03-01", "amount": "1.00",
            "project_code": "P-1", "line_ref": line_ref, "payee": payee}


@pytest.fixture
async def proxied(databases, monkeypatch):
    """The funds service talking to PostgreSQL through the counting proxy, on one pooled connection
    (whose statements are all prepared after the first groups) that is never pinged in between."""
    settings = await databases.new("funds", group_commit_window_seconds=WINDOW)
    monkeypatch.setattr(web_app, "make_engine",
                        lambda url: shared_db.make_engine(url, pool_size=1, ping_after_idle=3600))
    async with RoundTrips(settings.database_url) as proxy:
        through = settings.model_copy(update={"database_url": proxy.url})
        clock = SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc))
        app = create_app(through, clock=clock, run_background=False)
        async with serving(app) as client:
            f = Funds(settings, client, databases, clock)
            await down_to_jinghe(f, "1000.00")
            await f.in_library("P-1")
            await f.registered(*HOUSEHOLDS)
            assert (await f.post("/commitments", JINGHE, amount="500.00", project_code="P-1",
                                 source="available")).status_code == 201
            f.app = app
            yield f, proxy


async def send_group(f: Funds, round_: str) -> list[int]:
    headers = bearer(f.settings, "county_finance", JINGHE)
    answers = await asyncio.gather(*(f.client.post("/disbursements", json=disbursement(n, f"{round_}-{n}"), headers={
        **headers, "Idempotency-Key": f"k-{round_}-{n}"}) for n in range(GROUP)))
    return [a.status_code for a in answers]


async def test_a_group_of_eight_disbursements_costs_at_most_seven_round_trips(proxied):
    f, proxy = proxied
    postings = f.app.state.group_commits = {}
    for warm_up in ("W1", "W2"):  # every statement prepared on the connection, every payee's account open
        assert await send_group(f, warm_up) == [201] * GROUP
    groups = postings["postings"].groups
    proxy.reset()
    assert await send_group(f, "M") == [201] * GROUP
    assert postings["postings"].groups == groups + 1  # one group
    assert proxy.count <= 7, (proxy.count, [sql[:90] for _, sql in proxy.statements])
