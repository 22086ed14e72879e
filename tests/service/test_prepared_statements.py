"""Prepared statements after a migration (shared.db.fetch runs the hot statements on asyncpg's
statement cache; SQLAlchemy's adapter keeps one too): a statement whose result type a migration
changed fails its transaction once on each connection that cached it (``InvalidCachedStatementError``).
That is never a 500: the group commit runs a disbursement's whole group again
(shared.web.group_commit, 9), any other write answers 503 with ``Retry-After`` and nothing written,
and its retry with the same key succeeds."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.funds.app import create_app
from shared.clock import SettableClock
from shared.db import is_stale_statement
from shared.web import group_commit
from tests.conftest import serving
from tests.service.funds_support import JINGHE, Funds, down_to_jinghe

#: changes the result type of the projects gate's statement (projects_view.division: CHAR(12) → TEXT)
MIGRATION = "ALTER TABLE projects_view ALTER COLUMN division TYPE text"
#: changes the result type of the disbursement group's claim (the keys it claimed: text[] → varchar[]).
#: (Not the gate's: the group reads the projects in its one look-up, whose column types are those of
#: its first part, the ledger's — a migration of projects_view does not change them.)
GROUPED_MIGRATION = "ALTER TABLE idempotency_keys ALTER COLUMN scope TYPE varchar"


@pytest.fixture
async def funds(databases):
    settings = await databases.new("funds")
    clock = SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc))
    app = create_app(settings, clock=clock, run_background=False)
    async with serving(app) as client:
        f = Funds(settings, client, databases, clock)
        await down_to_jinghe(f, "1000.00")
        await f.in_library("P-1", "P-2")
        assert (await f.post("/commitments", JINGHE, amount="500.00", project_code="P-1", source="available")).status_code == 201
        yield f


def disbursement(line_ref: str) -> dict:
    return {"channel": "central_special", "fiscal_year": 2017, "document_date": "2017-03-01", "amount": "1.00",
            "project_code": "P-1", "line_ref": line_ref, "payee": {"kind": "contractor", "name": f"公司{line_ref}"}}


async def migrate(f: Funds, migration: str = MIGRATION) -> None:
    await f.db(migration)


async def test_a_grouped_disbursement_after_a_migration_runs_its_group_again(funds, monkeypatch):
    f = funds
    for n in range(3):  # the claim's statement prepared and cached on the connections in use
        assert (await f.post("/disbursements", JINGHE, **disbursement(f"before-{n}"))).status_code == 201
    stale = []

    def seen(error):
        stale.append(is_stale_statement(error))
        return stale[-1]
    monkeypatch.setattr(group_commit, "is_stale_statement", seen)
    await migrate(f, GROUPED_MIGRATION)
    answers = [await f.post("/disbursements", JINGHE, **disbursement(f"after-{n}")) for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert True in stale  # the old statement did fail a group, which the group commit ran again
    posted = await f.db("SELECT line_ref FROM postings WHERE operation = 'disburse' ORDER BY event_seq")
    assert [p["line_ref"] for p in posted] == [f"before-{n}" for n in range(3)] + [f"after-{n}" for n in range(3)]
    await f.zero_sum_and_no_negative()


async def test_another_write_after_a_migration_is_a_503_to_retry_never_a_500(funds):
    f = funds
    headers = {**f.headers(JINGHE), "Idempotency-Key": "commit-p2"}
    body = {"channel": "central_special", "fiscal_year": 2017, "document_date": "2017-03-01", "amount": "10.00",
            "project_code": "P-2", "source": "available"}
    await migrate(f)
    statuses = []
    for _ in range(12):  # at most once per pooled connection that cached the statement
        answer = await f.client.post("/commitments", json=body, headers=headers)
        statuses.append(answer.status_code)
        if answer.status_code != 503:
            break
        assert answer.headers["Retry-After"] == "1"
        assert answer.headers["content-type"] == "application/problem+json"
        assert await f.db("SELECT 1 FROM idempotency_keys WHERE key = 'commit-p2' AND state = 'completed'") == []
    assert statuses[-1] == 201 and 500 not in statuses
    assert len(await f.db("SELECT 1 FROM postings WHERE operation = 'commit' AND reference = 'P-2'")) == 1
