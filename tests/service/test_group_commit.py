"""Group commit of concurrent writes (shared/web/group_commit.py) on POST /disbursements, on real
PostgreSQL: one transaction per group, each request its own outcome, order of judgement = order of
events, nothing of a failed group, idempotent retries."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import asyncpg
import pytest

from services.funds.app import create_app
from services.funds.domain import AccountKey, Posting
from services.funds.usecases.ledger import Entry, Grouped, post_each
from shared.clock import SettableClock
from shared.config import libpq_url
from shared.errors import Problem
from shared.events.chain import verify_chain
from tests.conftest import bearer, serving
from tests.service.funds_support import JINGHE, Funds, committed_project

from services.funds.usecases import disbursements  # the group commit's use case: where post_each is called
WINDOW = 0.2  # long enough that the requests sent together below form one group


@pytest.fixture
async def grouped(databases):
    """The funds service with a commitment of 1,000.00 to project P-1, grouping concurrent writes."""
    settings = await databases.new("funds", group_commit_window_seconds=WINDOW)
    clock = SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc))
    app = create_app(settings, clock=clock, run_background=False)
    async with serving(app) as client:
        f = Funds(settings, client, databases, clock)
        await committed_project(f, "1000.00")
        f.app = app
        yield f


def disbursement(amount: str, line_ref: str) -> dict:
    return {"channel": "central_special", "fiscal_year": 2017, "document_date": "2017-03-01", "amount": amount,
            "project_code": "P-1", "line_ref": line_ref, "payee": {"kind": "contractor", "name": f"公司{line_ref}"}}


async def send_together(f: Funds, bodies: list[dict], keys: list[str] | None = None):
    headers = bearer(f.settings, "county_finance", JINGHE)
    keys = keys or [f"k-{body['line_ref']}" for body in bodies]
    return await asyncio.gather(*(f.client.post("/disbursements", json=body, headers={
        **headers, "Idempotency-Key": key, "X-Correlation-ID": f"c-{body['line_ref']}"}) for body, key in zip(bodies, keys)))


def groups(f: Funds) -> int:
    return f.app.state.group_commits["postings"].groups


async def test_concurrent_disbursements_from_one_hot_account_refuse_exactly_those_beyond_its_balance(grouped):
    f = grouped
    events_before = (await f.db("SELECT count(*) AS n FROM events"))[0]["n"]
    answers = await send_together(f, [disbursement("150.00", f"L-{n:02d}") for n in range(10)])
    statuses = [a.status_code for a in answers]
    assert sorted(statuses) == [201] * 6 + [422] * 4  # 6 × 150.00 ≤ 1,000.00 < 7 × 150.00
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers if a.status_code == 422)
    assert groups(f) == 1  # all ten in one transaction
    posted = await f.db("SELECT line_ref FROM postings WHERE operation = 'disburse' ORDER BY event_seq")
    accepted = {a.json()["reference"] for a in answers if a.status_code == 201}
    assert {p["line_ref"] for p in posted} == accepted
    # the refused ones were judged after the last accepted one: the balance left is 100.00
    [row] = await f.db("SELECT balance_fen FROM accounts WHERE kind = 'committed' AND reference = 'P-1'")
    assert row["balance_fen"] == 10_000
    assert (await f.db("SELECT count(*) AS n FROM events"))[0]["n"] == events_before + 6
    # each event carries its own request's correlation id, though one task committed them all
    correlated = await f.db("SELECT data->>'reference' AS ref, correlation_id FROM events "
                            "WHERE type = 'funds.disbursement.posted'")
    assert {(r["ref"], r["correlation_id"]) for r in correlated} == {(ref, f"c-{ref}") for ref in accepted}
    assert await f.db("SELECT key FROM idempotency_keys WHERE state <> 'completed'") == []
    completed = {r["key"] for r in await f.db("SELECT key FROM idempotency_keys WHERE key LIKE 'k-L-%'")}
    assert completed == {f"k-{ref}" for ref in accepted}  # refused requests leave their key free
    await f.zero_sum_and_no_negative()


async def test_a_group_judges_in_order_and_writes_exactly_its_accepted_members_in_that_order(grouped):
    f = grouped
    committed = AccountKey(division=JINGHE, role="finance", channel="central_special", fiscal_year=2017,
                           kind="committed", reference="P-1")

    def item(amount_fen: int, ref: str, sub: str) -> Grouped:
        payee = f"contractor:{ref}"
        posting = Posting(posting_id=f"0192f0a4-0000-7000-8000-{amount_fen:012d}", from_=committed,
                          to=committed.replace(kind="disbursed", reference=payee), amount_fen=amount_fen,
                          operation="disburse", document_no="", document_date=datetime(2017, 3, 1).date(), actor=sub,
                          reference=payee)
        return Grouped(Entry(posting, {"project_code": "P-1", "reference": ref}, ref),
                       {"sub": sub, "roles": ["county_finance"], "division": JINGHE})

    items = [item(60_000, "A", "甲"), item(50_000, "B", "乙"), item(30_000, "C", "丙"), item(30_000, "C", "丁"),
             item(10_000, "D", "戊")]
    engine_sessions = f.app.state.sessionmaker
    async with engine_sessions() as session, session.begin():
        outcomes = await post_each(session, items)
    kinds = [o["type"] if isinstance(o, dict) else (o.status, getattr(o, "code", None) or o.slug) for o in outcomes]
    assert kinds == ["funds.disbursement.posted", (422, "insufficient_funds"), "funds.disbursement.posted",
                     (409, "duplicate-line"), "funds.disbursement.posted"]
    events = [o for o in outcomes if isinstance(o, dict)]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert [(e["data"]["reference"], e["actor"]["sub"]) for e in events] == [("A", "甲"), ("C", "丙"), ("D", "戊")]
    rows = await f.db("SELECT line_ref, actor->>'sub' AS sub FROM postings WHERE operation = 'disburse' ORDER BY event_seq")
    assert [(r["line_ref"], r["sub"]) for r in rows] == [("A", "甲"), ("C", "丙"), ("D", "戊")]
    log = await f.db("SELECT * FROM events ORDER BY seq")
    assert all(isinstance(o, (dict, Problem)) for o in outcomes) and len(log) >= 3
    await f.zero_sum_and_no_negative()


async def test_a_group_that_fails_midway_writes_nothing_and_its_keys_stay_free(grouped, monkeypatch):
    f = grouped
    events_before = (await f.db("SELECT count(*) AS n FROM events"))[0]["n"]
    real = disbursements.post_each

    async def crashing(session, items, *looked_up):
        await real(session, items, *looked_up)  # postings and events written in the transaction, then the process dies
        raise RuntimeError("crash mid-group")

    monkeypatch.setattr(disbursements, "post_each", crashing)
    bodies = [disbursement("100.00", f"X-{n}") for n in range(4)]
    answers = await asyncio.gather(*(send_together(f, [body]) for body in bodies), return_exceptions=True)
    assert all(isinstance(a, RuntimeError) for a in answers)
    assert (await f.db("SELECT count(*) AS n FROM events"))[0]["n"] == events_before
    assert await f.db("SELECT 1 FROM postings WHERE operation = 'disburse'") == []
    assert await f.db("SELECT 1 FROM idempotency_keys WHERE key LIKE 'k-X-%'") == []

    monkeypatch.setattr(disbursements, "post_each", real)
    again = await send_together(f, bodies)  # the same keys
    assert [a.status_code for a in again] == [201] * 4
    await f.zero_sum_and_no_negative()


async def test_retries_replay_the_group_answer_and_a_key_twice_in_one_group_is_in_flight(grouped):
    f = grouped
    body = disbursement("100.00", "R-1")
    first, twin = await send_together(f, [body, body], keys=["same", "same"])
    assert (first.status_code, twin.status_code) == (201, 409)
    retry, = await send_together(f, [body], keys=["same"])
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    other, = await send_together(f, [disbursement("200.00", "R-2")], keys=["same"])
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(await f.db("SELECT 1 FROM postings WHERE operation = 'disburse'")) == 1
    # a request refused by the domain is judged again on retry (its key was withdrawn, not stored)
    too_much = disbursement("5000.00", "R-3")
    for _ in range(2):
        refused, = await send_together(f, [too_much], keys=["big"])
        assert refused.status_code == 422 and "Idempotent-Replayed" not in refused.headers
    # the line posted before, under a new key: refused as a duplicate line, nothing written
    dup, = await send_together(f, [body], keys=["another"])
    assert dup.status_code == 409
    log = [dict(r) for r in await f.db("SELECT * FROM events ORDER BY seq")]
    assert len(await f.db("SELECT 1 FROM postings WHERE operation = 'disburse'")) == 1
    assert log and verify_chain(_envelopes(log)).ok


def _envelopes(rows: list[dict]) -> list[dict]:
    from shared.events.store import record_to_event

    return [record_to_event(row) for row in rows]


async def test_a_group_refuses_an_unregistered_household_and_an_unfundable_project_each_alone(grouped):
    """The payees and projects of a whole group are looked up together (one statement each per
    county): a household not on the roll and a project outside the library refuse only their own
    requests, naming their own field, and the others in the group are posted."""
    f = grouped
    registered, stranger = "00000000-0065-2722-0000-000000000001", "00000000-0065-2722-0000-000000000002"
    await f.registered(registered)

    def to_household(line_ref: str, household: str, project: str = "P-1") -> dict:
        return {**disbursement("10.00", line_ref), "project_code": project,
                "payee": {"kind": "household", "name": f"户{line_ref}", "household_id": household}}

    answers = await send_together(f, [
        to_household("H-1", registered), to_household("H-2", stranger), disbursement("10.00", "C-1"),
        to_household("H-3", registered, project="P-NOWHERE"), to_household("H-4", registered)])
    assert [a.status_code for a in answers] == [201, 422, 201, 422, 201]
    # (sent together they form one group at most machine loads; the outcomes do not depend on it)
    assert [e["field"] for e in answers[1].json()["errors"]] == ["payee.household_id"]
    assert answers[1].json()["type"].endswith("payee-not-registered")
    assert answers[3].json()["errors"][0]["field"] == "project_code"
    posted = await f.db("SELECT line_ref FROM postings WHERE operation = 'disburse' ORDER BY event_seq")
    assert [p["line_ref"] for p in posted] == ["H-1", "C-1", "H-4"]
    await f.zero_sum_and_no_negative()


async def test_a_group_reads_the_year_closes_once_under_the_log_and_a_posting_judged_outside_it_twice(grouped,
                                                                                                        monkeypatch):
    """A year close inserts its row under the log's lock: a group, which holds the lock before it
    judges (and reads the closes with everything else in its one look-up), needs no second look
    before it records; a posting judged without the lock reads them, and then again."""
    from services.funds.usecases import ledger

    f, real, reads, looked_up = grouped, ledger._closed_years, [], []
    real_look_up = disbursements.look_up

    async def counted(session, posted):
        reads.append(1)
        return await real(session, posted)

    async def looking_up(session, entries, **parts):
        looked_up.append(await real_look_up(session, entries, **parts))
        return looked_up[-1]

    monkeypatch.setattr(ledger, "_closed_years", counted)
    monkeypatch.setattr(disbursements, "look_up", looking_up)
    answers = await send_together(f, [disbursement("10.00", f"Y-{n}") for n in range(3)])
    assert [a.status_code for a in answers] == [201] * 3 and groups(f) == 1
    [read] = looked_up
    assert read.closes == {} and read.closes_read_under_log  # read once, under the log: none closed
    assert len(reads) == 0
    committed = AccountKey(division=JINGHE, role="finance", channel="central_special", fiscal_year=2017,
                           kind="committed", reference="P-1")
    posting = Posting(posting_id="0192f0a4-0000-7000-8000-000000000001", from_=committed,
                      to=committed.replace(kind="disbursed", reference="contractor:Z"), amount_fen=100,
                      operation="disburse", document_no="", document_date=datetime(2017, 3, 1).date(), actor="甲",
                      reference="contractor:Z")
    async with f.app.state.sessionmaker() as session, session.begin():  # the log not locked before the judgement
        [outcome] = await post_each(session, [Grouped(Entry(posting, {"project_code": "P-1"}, "Z"), {"sub": "甲"})])
    assert outcome["type"] == "funds.disbursement.posted" and len(reads) == 2


async def test_a_group_judges_the_balances_it_locked_not_those_of_its_snapshot(grouped):
    """The group's look-up locks the project's committed account FOR UPDATE and judges against the
    balance it locked: a transaction that held the row and took 900.00 from it commits while the
    look-up waits, so the look-up's snapshot (1,000.00) is out of date — two of five 40.00 requests
    fit into the 100.00 left, three are refused (judged on the snapshot, all five would pass and the
    database's CHECK would fail the whole group). The payee's account exists (the look-up locks
    only when every account does)."""
    f = grouped

    def to_one_payee(amount: str, line_ref: str) -> dict:
        return {**disbursement(amount, line_ref), "payee": {"kind": "contractor", "name": "公司H"}}

    assert [a.status_code for a in await send_together(f, [to_one_payee("0.01", "H-first")])] == [201]
    groups_before = groups(f)
    other = await asyncpg_connect(f)
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute("UPDATE accounts SET balance_fen = balance_fen - 90000 "
                            "WHERE kind = 'committed' AND reference = 'P-1'")
        await other.execute("UPDATE accounts SET balance_fen = balance_fen + 90000 "
                            "WHERE kind = 'available' AND division = $1", JINGHE)
        sending = asyncio.ensure_future(send_together(f, [to_one_payee("40.00", f"H-{n}") for n in range(5)]))
        watcher = await asyncpg_connect(f)
        try:  # the group's look-up waits for the row this transaction holds
            for _ in range(1000):
                if await watcher.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                          "AND wait_event_type = 'Lock' AND query LIKE 'WITH found%'"):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the look-up never waited for the account's row")
        finally:
            await watcher.close()
        await transaction.commit()
        answers = await asyncio.wait_for(sending, 30)
    finally:
        await other.close()
    assert [a.status_code for a in answers] == [201, 201, 422, 422, 422] and groups(f) == groups_before + 1
    assert {a.json().get("code") for a in answers[2:]} == {"insufficient_funds"}  # 99.99 − 2 × 40.00 < 40.00
    [row] = await f.db("SELECT balance_fen FROM accounts WHERE kind = 'committed' AND reference = 'P-1'")
    assert row["balance_fen"] == 1_999
    await f.zero_sum_and_no_negative()


async def asyncpg_connect(f: Funds) -> asyncpg.Connection:
    return await asyncpg.connect(libpq_url(f.settings.database_url, f.settings.database_name))
