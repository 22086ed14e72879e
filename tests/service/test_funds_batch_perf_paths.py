"""The fast paths of disbursement batches (issue 5) keep every guarantee of the slow ones, on real
PostgreSQL: balances moved once per statement (revision 0006) with the same database checks,
accounts opened in bulk, the lines recorded as ``funds.disbursement.batch_posted`` events that
readers turn back into exactly the postings that were made, all-or-nothing, idempotent lines,
and the registry recording households' benefits from those events."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import date, datetime, timezone

import asyncpg
import pytest
from sqlalchemy import text

from services.funds.contract import (
    BATCH_FIELDS,
    DISBURSEMENT_BATCH_POSTED,
    POSTINGS_PER_BATCH_EVENT,
    payee_reference,
    postings_of,
)
from services.funds.domain import AccountKey, InvalidAccount, Ledger, Posting, check_posting
from services.funds.usecases.ledger import (
    OPEN_PLAIN_THRESHOLD,
    _resolve,
    account_ids,
    account_ref,
    new_posting_ids,
)
from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker, migrate
from shared.events.chain import verify_chain
from tests.conftest import bearer, downgrade
from tests.service.funds_support import JINGHE, account, down_to_jinghe

CHANNEL = "central_special"


# -- the schema of revision 0006 -----------------------------------------------------------------


async def insert(funds_conn, *moves):
    """One INSERT statement of several postings (source, target, amount)."""
    await funds_conn.execute(
        "INSERT INTO postings (id, event_seq, operation, from_account, to_account, amount_fen, actor, posted_at) "
        "SELECT gen_random_uuid(), 1, 'test', m.f, m.t, m.a, '{}', now() "
        "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS m(f, t, a)",
        [m[0] for m in moves], [m[1] for m in moves], [m[2] for m in moves])


async def balances(funds_conn):
    return dict(await funds_conn.fetch("SELECT id, balance_fen FROM accounts"))


async def test_one_statement_of_many_postings_moves_each_balance_once_by_the_sum(funds_conn):
    central = await account(funds_conn, "000000000000", "appropriation")
    county = await account(funds_conn, "652722000000", "available")
    payees = [await account(funds_conn, "652722000000", "disbursed", f"household:{n}") for n in range(3)]
    await insert(funds_conn, (central, county, 1000), *((county, payee, 100 * (n + 1)) for n, payee in enumerate(payees)),
                 (county, payees[0], 5))
    assert await balances(funds_conn) == {central: -1000, county: 395, payees[0]: 105, payees[1]: 200, payees[2]: 300}
    assert await funds_conn.fetchval("SELECT sum(balance_fen) FROM accounts") == 0


async def test_copy_applies_the_postings_too(funds_conn):
    central = await account(funds_conn, "000000000000", "appropriation")
    county = await account(funds_conn, "652722000000", "available")
    await funds_conn.copy_records_to_table(
        "postings", columns=("id", "event_seq", "operation", "from_account", "to_account", "amount_fen", "actor", "posted_at"),
        records=[(uuid.uuid4(), 1, "test", central, county, 7, "{}", datetime.now(timezone.utc)) for _ in range(50)])
    assert await balances(funds_conn) == {central: -350, county: 350}


async def test_a_statement_leaving_an_account_negative_writes_nothing(funds_conn):
    central = await account(funds_conn, "000000000000", "appropriation")
    county = await account(funds_conn, "652722000000", "available")
    payee = await account(funds_conn, "652722000000", "disbursed", "household:1")
    await insert(funds_conn, (central, county, 500))
    with pytest.raises(asyncpg.CheckViolationError, match="accounts_not_negative"):
        await insert(funds_conn, (county, payee, 300), (county, payee, 201))
    assert await balances(funds_conn) == {central: -500, county: 500, payee: 0}
    assert await funds_conn.fetchval("SELECT count(*) FROM postings") == 1


async def test_a_posting_naming_an_unknown_account_is_refused(funds_conn):
    central = await account(funds_conn, "000000000000", "appropriation")
    county = await account(funds_conn, "652722000000", "available")
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="does not exist"):
        await insert(funds_conn, (central, county, 5), (central, 999_999, 5))
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await insert(funds_conn, (999_998, county, 5))
    assert await funds_conn.fetchval("SELECT count(*) FROM postings") == 0
    assert await balances(funds_conn) == {central: 0, county: 0}


@pytest.mark.parametrize("statement", ["DELETE FROM accounts", "UPDATE accounts SET id = id + 100", "TRUNCATE accounts"])
async def test_accounts_are_permanent(funds_conn, statement):
    central = await account(funds_conn, "000000000000", "appropriation")
    county = await account(funds_conn, "652722000000", "available")
    await insert(funds_conn, (central, county, 5))
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="accounts are permanent"):
        await funds_conn.execute(statement)
    assert await balances(funds_conn) == {central: -5, county: 5}


async def test_revision_0006_downgrades_to_row_triggers_and_foreign_keys_and_back(databases):
    settings = await databases.new("funds")
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)

    try:
        await downgrade(engine, "funds", "0005")
        connection = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
        try:
            assert {r["conname"] for r in await connection.fetch(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'postings'::regclass AND contype = 'f'")} == {
                "postings_from_account_fkey", "postings_to_account_fkey"}
            central = await account(connection, "000000000000", "appropriation")
            county = await account(connection, "652722000000", "available")
            await insert(connection, (central, county, 9), (central, county, 1))
            assert await balances(connection) == {central: -10, county: 10}
        finally:
            await connection.close()
        await migrate(engine, "funds")
        connection = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
        try:
            await insert(connection, (central, county, 5))
            assert await balances(connection) == {central: -15, county: 15}
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await insert(connection, (central, 999_999, 1))
        finally:
            await connection.close()
    finally:
        await engine.dispose()


# -- the ledger store's helpers ---------------------------------------------------------------------


def test_a_payee_key_made_from_the_batch_template_is_the_key_the_domain_builds():
    template = AccountKey(division="652722", role="finance", channel=CHANNEL, fiscal_year=2017, kind="disbursed",
                          reference="x")
    fast = template.replace(reference="household:0192f0a4")
    full = AccountKey(division="652722000000", role="finance", channel=CHANNEL, fiscal_year=2017, kind="disbursed",
                      reference="household:0192f0a4")
    assert fast == full and hash(fast) == hash(full) and fast.division == "652722000000" and str(fast) == str(full)
    assert {fast: 1}[full] == 1
    with pytest.raises(InvalidAccount):
        template.replace(reference=" ")
    available = AccountKey(division="652722000000", role="finance", channel=CHANNEL, fiscal_year=2017, kind="available")
    with pytest.raises(InvalidAccount):  # a kind without a reference takes the domain's own check
        available.replace(reference="x")


def test_posting_ids_are_distinct_ordered_uuid7s():
    ids = new_posting_ids(5000) + new_posting_ids(3)
    assert len(set(ids)) == len(ids) and ids == sorted(ids)
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)


async def test_accounts_are_found_and_opened_in_bulk_once(databases):
    settings = await databases.new("funds")
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    sessions = make_sessionmaker(engine, "funds")
    key = lambda kind, ref=None, year=2017: AccountKey(division="652722000000", role="finance", channel=CHANNEL,  # noqa: E731
                                                       fiscal_year=year, kind=kind, reference=ref)
    payees = [key("disbursed", f"household:{n}") for n in range(OPEN_PLAIN_THRESHOLD + 8)]
    keys = [key("committed", "P-1"), key("available"), *payees, key("disbursed", "household:0", 2018)]
    try:
        async with sessions() as session, session.begin():
            first = await account_ids(session, [*keys, payees[3]])  # a repeated key: one account
        assert len(set(first.values())) == len(keys)
        async with sessions() as session, session.begin():
            assert await account_ids(session, reversed(keys)) == first
        # an account opened by another transaction after our look-up: the plain INSERT fails in its
        # savepoint, ON CONFLICT takes over, and the transaction goes on with the right ids
        fresh = [key("disbursed", f"contractor:{n}") for n in range(OPEN_PLAIN_THRESHOLD)]
        async with sessions() as other, other.begin():
            taken = await account_ids(other, fresh[:1])
        async with sessions() as session, session.begin():
            got = await _resolve(session, [account_ref(k) for k in fresh], looked_up={account_ref(k) for k in fresh})
            assert got[account_ref(fresh[0])] == taken[fresh[0]] and len(set(got.values())) == len(fresh)
            assert (await session.execute(text("SELECT 1"))).scalar() == 1  # the transaction is usable
        async with sessions() as session, session.begin():
            assert await account_ids(session, fresh) == {k: got[account_ref(k)] for k in fresh}
    finally:
        await engine.dispose()


# -- the endpoint --------------------------------------------------------------------------------


def line(ref, amount, project="P-1", household=None, purpose=None, kind="household", channel=CHANNEL, name=None):
    payee = {"kind": kind, "name": name or f"户{ref}"}
    if kind == "household":
        payee["household_id"] = household or str(uuid.UUID(int=hash(ref) % (1 << 64)))
    return {"line_ref": ref, "project_code": project, "channel": channel, "fiscal_year": 2017, "amount": amount,
            "payee": payee, "purpose": purpose}


def batch(lines, batch_ref="精财拨〔2017〕1批", **envelope):
    total = sum(int(line["amount"].replace(".", "")) for line in lines)
    return {"batch_ref": batch_ref, "schedule_date": "2017-06-01", "document_no": "精财拨〔2017〕1号",
            "count": len(lines), "total": f"{total // 100}.{total % 100:02d}", "lines": lines, **envelope}


async def ready(f, amount="100000.00", projects=("P-1",), each="40000.00"):
    await down_to_jinghe(f, amount)
    await f.in_library(*projects)
    for project in projects:
        response = await f.post("/commitments", JINGHE, amount=each, project_code=project, source="available")
        assert response.status_code == 201, response.text


async def send(f, body):
    """Post a batch, its household payees registered first (the registry's events, delivered)."""
    households = {line["payee"]["household_id"] for line in body["lines"] if line["payee"].get("household_id")}
    await f.registered(*sorted(households - f.known_households))
    f.known_households |= households
    return await f.client.post("/disbursement-batches", json=body, headers=f.headers(JINGHE))


async def counts(f):
    [row] = await f.db("SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM postings) AS postings, "
                       "(SELECT count(*) FROM accounts) AS accounts")
    return dict(row)


async def all_events(f):
    rows = await f.db("SELECT seq, id::text, type, subject, data::text FROM events ORDER BY seq")
    return [{"seq": r["seq"], "id": r["id"], "type": r["type"], "subject": r["subject"], "data": json.loads(r["data"])}
            for r in rows]


async def test_a_large_batch_is_recorded_as_events_of_many_postings_that_give_back_each_posting(funds):
    f = funds
    await ready(f, projects=("P-1", "P-2"))
    lines = [line(f"L-{n:04d}", f"{10 + n % 7}.{n % 100:02d}", project=("P-1", "P-2")[n % 2]) for n in range(450)]
    lines[5] = line("L-0005", "33.00", kind="contractor", name="某工程公司")
    lines[6] = line("L-0006", "12.50", household=lines[4]["payee"]["household_id"])  # the same household twice
    lines[7]["purpose"] = "industry_development"
    answer = await send(f, batch(lines))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    total = sum(int(x["amount"].replace(".", "")) for x in lines)
    assert body == {"batch_ref": "精财拨〔2017〕1批", "settled": True, "posted": 450, "already_posted": [], "refused": [],
                    "posted_total": f"{total // 100}.{total % 100:02d}"}
    events = [e for e in await all_events(f) if e["type"] == DISBURSEMENT_BATCH_POSTED]
    assert [len(e["data"]["postings"]) for e in events] == [POSTINGS_PER_BATCH_EVENT, POSTINGS_PER_BATCH_EVENT, 50]
    assert [(e["data"]["part"], e["data"]["parts"], e["subject"]) for e in events] == [
        (1, 3, "精财拨〔2017〕1批"), (2, 3, "精财拨〔2017〕1批"), (3, 3, "精财拨〔2017〕1批")]
    assert all(e["data"]["fields"] == list(BATCH_FIELDS) and e["data"]["v"] == 1 for e in events)
    # every posting row is carried by the event whose seq it names, and that event gives it back
    rows = await f.db("SELECT p.id::text AS id, p.event_seq, p.amount_fen, p.reference, p.line_ref, p.purpose, "
                      "p.document_no, p.document_date, s.reference AS project, t.reference AS payee "
                      "FROM postings p JOIN accounts s ON s.id = p.from_account JOIN accounts t ON t.id = p.to_account "
                      "WHERE p.operation = 'disburse' ORDER BY p.event_seq, p.id")
    carried = {(e["seq"], d["posting_id"]): d for e in events for d in postings_of(e)}
    assert len(carried) == len(rows) == 450
    by_line = {x["line_ref"]: x for x in lines}
    for row in rows:
        data = carried[(row["event_seq"], row["id"])]
        sent = by_line[row["line_ref"]]
        payee = sent["payee"]
        assert data["amount_fen"] == row["amount_fen"] and data["amount"] == sent["amount"]
        assert data["reference"] == row["reference"] == row["payee"] == data["to"]["reference"] == payee_reference(
            payee["kind"], payee["name"], payee.get("household_id"))
        assert data["from"]["reference"] == row["project"] == data["project_code"] == sent["project_code"]
        assert data["line_ref"] == row["line_ref"] and data["purpose"] == row["purpose"] == sent["purpose"]
        assert data["payee"] == {"kind": payee["kind"], "name": payee["name"], "household_id": payee.get("household_id")}
        assert (data["document_no"], data["document_date"], data["on"], data["batch_ref"]) == (
            row["document_no"], row["document_date"].isoformat(), "2017-06-01", "精财拨〔2017〕1批")
        check_posting(Posting.from_dict(data))  # what the auditor replays is a posting the domain accepts
    # the auditor's replay from the events alone gives the balances of the database
    replayed = Ledger.replay(Posting.from_dict(d) for e in await all_events(f) for d in postings_of(e))
    stored = await f.db("SELECT division, role, channel, fiscal_year, kind, reference, balance_fen FROM accounts "
                        "WHERE balance_fen <> 0")
    assert {AccountKey(division=r["division"], role=r["role"], channel=r["channel"], fiscal_year=r["fiscal_year"],
                       kind=r["kind"], reference=r["reference"] or None): r["balance_fen"] for r in stored} == dict(
        replayed.balances)
    verified = await f.client.get("/events/verify", headers=bearer(f.settings, "auditor"))
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
    await f.zero_sum_and_no_negative()


async def test_a_batch_of_two_channels_is_recorded_in_events_of_one_channel_each(funds):
    from tests.service.funds_support import BOZHOU, CENTRAL, XINJIANG

    f = funds
    water = "agri_integrated_drinking_water"
    await ready(f)
    assert (await f.post("/appropriations", CENTRAL, channel=water, amount="500.00",
                         document_no="财农〔2017〕9号")).status_code == 201
    for source, target in ((CENTRAL, XINJIANG), (XINJIANG, BOZHOU), (BOZHOU, JINGHE)):
        assert (await f.post("/allocations", source, channel=water, amount="500.00", to_division=target,
                             document_no="文号")).status_code == 201
    assert (await f.post("/commitments", JINGHE, channel=water, amount="500.00", project_code="P-1",
                         source="available")).status_code == 201
    lines = [line(f"W-{n}", "7.00", channel=(CHANNEL, water)[n % 2]) for n in range(5)]
    answer = await send(f, batch(lines))
    assert answer.status_code == 201 and answer.json()["posted"] == 5, answer.text
    events = [e for e in await all_events(f) if e["type"] == DISBURSEMENT_BATCH_POSTED]
    assert [(e["data"]["channel"], e["data"]["part"], e["data"]["parts"], len(e["data"]["postings"])) for e in events] == [
        (CHANNEL, 1, 2, 3), (water, 2, 2, 2)]
    carried = {d["line_ref"]: (e["seq"], d) for e in events for d in postings_of(e)}
    assert [carried[x["line_ref"]][1]["from"]["channel"] for x in lines] == [x["channel"] for x in lines]
    assert all(carried[x["line_ref"]][1]["to"]["channel"] == x["channel"] for x in lines)
    rows = await f.db("SELECT line_ref, event_seq FROM postings WHERE line_ref LIKE 'W-%'")
    assert {r["line_ref"]: r["event_seq"] for r in rows} == {ref: seq for ref, (seq, _) in carried.items()}
    committed = await f.db("SELECT channel, balance_fen FROM accounts WHERE kind = 'committed' AND reference = 'P-1'")
    assert {r["channel"]: r["balance_fen"] for r in committed} == {CHANNEL: 4_000_000 - 2100, water: 50_000 - 1400}
    replayed = Ledger.replay(Posting.from_dict(d) for e in await all_events(f) for d in postings_of(e))
    assert replayed.total() == 0 and len(replayed) == (await counts(f))["postings"]
    await f.zero_sum_and_no_negative()


async def test_retried_lines_change_nothing_and_new_ones_are_posted(funds):
    f = funds
    await ready(f)
    lines = [line(f"R-{n}", "10.00") for n in range(40)]
    assert (await send(f, batch(lines))).status_code == 201
    before = await counts(f)
    again = await send(f, batch(lines, batch_ref="重发"))
    assert again.status_code == 201 and again.json()["posted"] == 0 and again.json()["already_posted"] == list(range(40))
    assert again.json()["posted_total"] == "0.00" and await counts(f) == before
    mixed = await send(f, batch([line("R-new", "5.00"), lines[3]]))
    assert mixed.json()["posted"] == 1 and mixed.json()["already_posted"] == [1]
    await f.zero_sum_and_no_negative()


async def test_a_refused_line_writes_nothing_not_even_accounts_unless_partial(funds):
    f = funds
    await ready(f, each="1000.00")
    lines = [line(f"A-{n}", "10.00") for n in range(60)]
    lines[17] = line("A-17", "990.00")  # over the commitment once the lines before it are paid
    lines[40]["purpose"] = "buildings_staff_housing"  # on the negative list
    before = await counts(f)
    refused = await send(f, batch(lines))
    assert refused.status_code == 422
    assert [(r["index"], r["line_ref"]) for r in refused.json()["refused"]] == [(17, "A-17"), (40, "A-40")]
    assert [e["field"] for e in refused.json()["errors"]] == ["lines.17", "lines.40"]
    assert await counts(f) == before
    partial = await send(f, batch(lines, partial=True))
    assert partial.status_code == 201 and partial.json()["posted"] == 58 and partial.json()["settled"] is False
    assert [r["index"] for r in partial.json()["refused"]] == [17, 40]
    after = await counts(f)
    # the accounts of the lines the domain accepted: the 58 paid, and A-17's (opened before the
    # balances were judged, left at zero)
    assert after["postings"] == before["postings"] + 58 and after["accounts"] == before["accounts"] + 59
    assert after["events"] == before["events"] + 1  # one batch event of 58 postings
    await f.zero_sum_and_no_negative()


async def test_bad_lines_are_named_like_any_invalid_body(funds):
    f = funds
    await ready(f)
    lines = [line(f"B-{n}", "10.00") for n in range(5)]
    lines[3]["amount"] = "10.001"
    bad = await send(f, batch(lines, total="50.00"))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in bad.json()["errors"]] == ["lines.3.amount"]
    not_json = await f.client.post("/disbursement-batches", content=b"{", headers={
        **f.headers(JINGHE), "Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.json()["errors"][0]["field"] == "body"
    twice = await send(f, batch([line("D-1", "1.00"), line("D-1", "2.00")]))
    assert twice.status_code == 409
    unknown = await send(f, batch([line("C-1", "1.00", channel="no_such_channel")]))
    assert unknown.status_code == 422
    assert (await counts(f))["postings"] == 4 + 1  # the set-up's appropriation, allocations and commitment


async def test_concurrent_batches_paying_the_same_payees_from_two_projects_both_post(funds):
    f = funds
    await ready(f, projects=("P-1", "P-2"))
    households = [str(uuid.uuid4()) for _ in range(80)]
    first = [line(f"X-{n}", "3.00", project="P-1", household=h) for n, h in enumerate(households)]
    second = [line(f"Y-{n}", "4.00", project="P-2", household=h) for n, h in enumerate(reversed(households))]
    answers = await asyncio.gather(send(f, batch(first, batch_ref="甲")), send(f, batch(second, batch_ref="乙")))
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    paid = await f.db("SELECT count(*) AS n, sum(balance_fen) AS total FROM accounts WHERE kind = 'disbursed'")
    assert (paid[0]["n"], paid[0]["total"]) == (80, 80 * 700)
    await f.zero_sum_and_no_negative()


# -- judged and recorded overlapped (issue 13) ---------------------------------------------------


async def _posted_as(f, path_chunk, monkeypatch, prefix, project, households, **envelope):
    """A partial batch of 450 lines to ``project`` whose line 300 is over what is left of the
    commitment, posted with ``batches.CHUNK = path_chunk`` (None: judge everything, then record):
    the answer, and its events and posting rows with what tells the two runs apart taken out."""
    from services.funds.usecases import batches as usecase

    monkeypatch.setattr(usecase, "CHUNK", path_chunk)
    overlapped, calls = usecase.post_overlapped, []

    async def counted(*args, **kwargs):
        calls.append(kwargs["chunk"])
        return await overlapped(*args, **kwargs)

    monkeypatch.setattr(usecase, "post_overlapped", counted)
    lines = [line(f"{prefix}-{n:04d}", f"{10 + n % 7}.{n % 100:02d}", project=project, household=households[n],
                  name=f"户{n}", purpose="industry_development" if n % 50 == 7 else None) for n in range(450)]
    lines[300]["amount"] = "39000.00"
    before = max(e["seq"] for e in await all_events(f))
    answer = await send(f, batch(lines, batch_ref=f"{prefix}批", partial=True, **envelope))
    assert answer.status_code == 201, answer.text
    assert calls == ([] if path_chunk is None else [path_chunk])  # the path asked for was taken
    events = [e for e in await all_events(f) if e["seq"] > before]
    for e in events:
        e["seq"] -= before
        e["data"]["batch_ref"] = e["subject"] = e["id"] = None
        e["data"]["postings"] = [[None, ref.removeprefix(prefix), None, *rest] for _, ref, _, *rest in e["data"]["postings"]]
    rows = await f.db("SELECT p.event_seq, p.line_ref, p.amount_fen, p.to_account, p.purpose, p.reference FROM postings p "
                      f"WHERE p.line_ref LIKE '{prefix}-%' ORDER BY p.line_ref")
    said = json.loads(answer.text.replace(f"{prefix}批", "批").replace(f"{prefix}-", "-").replace(project, "P-?"))
    return said, events, [(r["event_seq"] - before, r["line_ref"].removeprefix(prefix), *list(r.values())[2:])
                                   for r in rows]


async def test_the_overlapped_path_writes_the_refusals_rows_and_events_of_the_sequential_one(funds, monkeypatch):
    """Chunks of 16 (so that the refusal is in a late chunk and the event parts cross chunks)
    against the path that judges everything first: each from its own project with the same money,
    to the same payees."""
    f = funds
    await ready(f, projects=("P-1", "P-2"))
    households = [str(uuid.uuid4()) for _ in range(450)]
    sequential = await _posted_as(f, None, monkeypatch, "S", "P-1", households)
    overlapped = await _posted_as(f, 16, monkeypatch, "O", "P-2", households)
    for answer in (sequential[0], overlapped[0]):
        assert answer["posted"] == 449 and [r["index"] for r in answer["refused"]] == [300]
    assert sequential[0] == overlapped[0]
    assert [(e["data"]["part"], e["data"]["parts"], len(e["data"]["postings"])) for e in overlapped[1]] == [
        (1, 3, 200), (2, 3, 200), (3, 3, 49)]
    assert overlapped[1] == sequential[1]
    assert overlapped[2] == sequential[2] and len(overlapped[2]) == 449
    verified = await f.client.get("/events/verify", headers=bearer(f.settings, "auditor"))
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
    await f.zero_sum_and_no_negative()


async def test_a_refusal_in_a_late_chunk_leaves_nothing_written_unless_partial(funds, monkeypatch):
    from services.funds.usecases import batches as usecase

    monkeypatch.setattr(usecase, "CHUNK", 16)
    f = funds
    await ready(f, each="1000.00")
    lines = [line(f"Z-{n}", "5.00") for n in range(100)]
    lines[90] = line("Z-90", "600.00")  # over the commitment once the 90 lines before it are paid
    before = await counts(f)
    refused = await send(f, batch(lines))
    assert refused.status_code == 422, refused.text
    assert [(r["index"], r["code"]) for r in refused.json()["refused"]] == [(90, "insufficient_funds")]
    assert await counts(f) == before  # the rows of the chunks copied before roll back, accounts too
    partial = await send(f, batch(lines, partial=True))
    assert partial.status_code == 201 and partial.json()["posted"] == 99
    after = await counts(f)
    assert after["postings"] == before["postings"] + 99 and after["events"] == before["events"] + 1
    again = await send(f, batch(lines, batch_ref="重发", partial=True))  # retried: line 90 alone is judged again
    assert again.json()["already_posted"] == [n for n in range(100) if n != 90]
    assert [r["index"] for r in again.json()["refused"]] == [90] and await counts(f) == after
    await f.zero_sum_and_no_negative()


# -- the registry consumes the batch events -------------------------------------------------------


async def test_the_registry_records_each_household_of_a_batch_event_once(registry, funds):
    from services.registry.handlers import CONSUMES
    from shared.events.consumer import Consumer
    from tests.service.registry_support import VILLAGE, family, identify

    r, f = registry, funds
    households = [await identify(r, family(60 + n)) for n in range(2)]
    await ready(f)
    lines = [line("H-1", "800.50", household=households[0]), line("H-2", "300.00", household=households[1]),
             line("H-3", "99.00", kind="contractor", name="某公司"), line("H-4", "20.00", household=households[0])]
    assert (await send(f, batch(lines, batch_ref="精财拨〔2017〕9号"))).status_code == 201
    log = (await f.client.get("/events", params={"after": 0, "limit": 100},
                              headers=bearer(f.settings, "auditor"))).json()["events"]
    assert verify_chain(log).ok
    [event] = [e for e in log if e["type"] == DISBURSEMENT_BATCH_POSTED]
    engine = make_engine(r.settings.sqlalchemy_url, pool_size=2)
    try:
        consumer = Consumer(r.settings, make_sessionmaker(engine, "registry"), CONSUMES)
        await consumer.load_positions()
        for delivered in [*log, event]:  # the whole log in order (no gap to backfill), the batch twice
            await consumer.apply(delivered)
        await consumer.http.aclose()
    finally:
        await engine.dispose()
    funds_conn = await asyncpg.connect(libpq_url(r.settings.database_url, r.settings.database_name))
    try:
        benefits = await funds_conn.fetch("SELECT household_id::text AS h, reference, amount_fen, source_event FROM benefits "
                                    "ORDER BY reference")
        recorded = await funds_conn.fetch("SELECT causation_id FROM events WHERE type = 'registry.benefit.recorded'")
    finally:
        await funds_conn.close()
    assert [(b["h"], b["reference"], b["amount_fen"]) for b in benefits] == [
        (households[0], "H-1", 80050), (households[1], "H-2", 30000), (households[0], "H-4", 2000)]
    assert all(re.fullmatch(re.escape(event["id"]) + r"/[0-9a-f-]{36}", b["source_event"]) for b in benefits)
    assert [row["causation_id"] for row in recorded] == [event["id"]] * 3
    got = (await r.client.get(f"/households/{households[0]}/benefits", headers=r.token("village", VILLAGE))).json()
    assert got["by_kind"] == {"payment": "820.50"}


# -- the log written while the postings are copied, the pool's pings (issue 5, second round) ------


def test_a_payee_key_is_made_without_validating_the_template_again(monkeypatch):
    """A batch makes a key per payee from one validated template; the domain's ``replace`` of the
    reference alone must skip the full validation (~2× the CPU of a batch line), and keep the rest."""
    template = AccountKey(division="652722000000", role="finance", channel=CHANNEL, fiscal_year=2017, kind="disbursed",
                          reference="payee")

    def validating(self):
        raise AssertionError("the full constructor ran")

    monkeypatch.setattr(AccountKey, "__post_init__", validating)
    assert template.replace(reference="household:1").reference == "household:1"


async def test_prepared_events_chain_exactly_like_new_ones(databases):
    from shared.events import store
    from shared.events.chain import compute_hash

    settings = await databases.new("funds")
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    sessions = make_sessionmaker(engine, "funds")
    actor = {"sub": "tester", "roles": ["county_finance"], "division": JINGHE}
    new = [store.NewEvent("test.thing.happened", f"t-{i}", {"i": i, "名": "甲", "rows": [[i, "x", None]]}, actor)
           for i in range(40)]
    try:
        async with sessions() as session, session.begin():
            first = await store.append(session, new[:3])  # the plain path
        async with sessions() as session, session.begin():
            prepared = store.prepare(session, new[3:38])
            tail = await store.lock_log(session)
            assert (tail.seq, tail.hash) == (3, first[-1]["hash"])
            mixed = [*prepared[:20], new[38], *prepared[20:], new[39]]  # prepared and new ones in one call
            second = await store.append(session, mixed, tail=tail)
        assert [e["seq"] for e in second] == list(range(4, 41))
        assert [e["data"]["i"] for e in second] == [*range(3, 23), 38, *range(23, 38), 39]
        funds_conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
        try:
            stored = [e async for e in store.iter_events(funds_conn)]
            assert (await store.verify(funds_conn)).ok
        finally:
            await funds_conn.close()
        assert stored == first + second
        assert all(compute_hash(e) == e["hash"] for e in stored)
        assert len({e["time"] for e in second if e["data"]["i"] < 38}) == 1  # one recorded time per prepare call
    finally:
        await engine.dispose()


async def test_a_line_posted_concurrently_during_the_copy_is_a_conflict_and_leaves_the_session_usable(funds):
    """The posting rows are copied while the events are prepared: a duplicate line reference found
    by the COPY (a concurrent request posted it after our look-up) is the 409 it always was."""
    from services.funds.usecases.ledger import COPY_THRESHOLD, Entry, judge, post_many, record
    from shared.errors import Conflict

    f = funds
    await ready(f)
    engine = make_engine(f.settings.sqlalchemy_url, pool_size=1)
    sessions = make_sessionmaker(engine, "funds")
    source = AccountKey(division=JINGHE, role="finance", channel=CHANNEL, fiscal_year=2017, kind="committed",
                        reference="P-1")
    payee = source.replace(kind="disbursed", reference="household:x")
    n = COPY_THRESHOLD + 8
    actor = {"sub": "t", "roles": ["county_finance"], "division": JINGHE}

    def entries(prefix):
        return [Entry(Posting(posting_id=i, from_=source, to=payee.replace(reference=f"household:{k}"), amount_fen=100,
                                   operation="disburse", document_no="", document_date=date(2017, 6, 1), actor="t",
                                   purpose=None, reference=f"household:{k}"), None, f"{prefix}-{k}")
                for k, i in enumerate(new_posting_ids(n))]

    try:
        async with sessions() as session, session.begin():
            await post_many(session, entries("C"), actor=actor, posted_at=datetime.now(timezone.utc))
        before = await counts(f)
        async with sessions() as session:
            await session.begin()
            fresh = entries("D")
            judgement = await judge(session, fresh)  # looked up before the other request committed ...
            assert len(judgement.accepted) == n
            raced = [e._replace(line_ref=f"C-{k}") for k, e in enumerate(fresh)]  # ... which posted them
            with pytest.raises(Conflict):
                await record(session, raced, judgement, actor=actor, posted_at=datetime.now(timezone.utc))
            await session.rollback()
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
        assert await counts(f) == before
        await f.zero_sum_and_no_negative()
    finally:
        await engine.dispose()


async def test_a_pooled_connection_is_pinged_only_after_sitting_idle_and_replaced_if_dropped(databases, monkeypatch):
    settings = await databases.new("funds")
    engine = make_engine(settings.sqlalchemy_url, pool_size=1, ping_after_idle=0.3)
    pings = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(1) or real_ping(c))
    try:
        async with engine.begin() as funds_conn:
            pid = await funds_conn.scalar(text("SELECT pg_backend_pid()"))
        for _ in range(5):  # busy: no ping
            async with engine.begin() as funds_conn:
                assert await funds_conn.scalar(text("SELECT pg_backend_pid()")) == pid
        assert pings == []
        await asyncio.sleep(0.4)
        async with engine.begin() as funds_conn:  # idle: pinged, still the same connection
            assert await funds_conn.scalar(text("SELECT pg_backend_pid()")) == pid
        assert pings == [1]
        killer = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
        try:
            await killer.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        await asyncio.sleep(0.4)
        async with engine.begin() as funds_conn:  # dropped while idle: replaced, the caller sees nothing
            assert await funds_conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await engine.dispose()
