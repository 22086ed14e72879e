"""A witness (the audit service's) over a real origin log (funds) on real PostgreSQL: co-signing
after a consistency proof fetched from the origin over HTTP, the co-signed note served, and the
alarms — fork, rewritten history, cut tail — each with both signed checkpoints kept as evidence."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest

from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker
from shared.events import NewEvent, append
from shared.events.chain import compute_hash
from shared.events.checkpoints import log_signer
from shared.events.note import Checkpoint, Signer, Verifier, open_note, sign_note, verify_cosignature
from shared.events.store import record_to_event
from shared.witness.witness import Witness
from tests.conftest import fetch as sql
from tests.conftest import serving
from tests.service import webapp
from tests.stack import wait_until

ACTOR = {"sub": "tester", "roles": ["county_finance"], "division": "652722000000"}



async def behind_the_trigger(settings, *statements: tuple) -> None:
    """What the database's owner can do: statements as superuser with the triggers off."""
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            for statement, *args in statements:
                await conn.execute(statement, *args)
    finally:
        await conn.close()


async def rewrite_from(settings, seq: int) -> None:
    """Rewrite event ``seq``, recompute every later hash (the whole chain verifies again) and throw the
    Merkle tree and the checkpoints away, so that the service grows a new tree over the new history."""
    rows = await sql(settings, "SELECT * FROM events WHERE seq >= $1 ORDER BY seq", seq)
    prev = (await sql(settings, "SELECT hash FROM events WHERE seq = $1", seq - 1))[0]["hash"]
    updates = []
    for row in rows:
        event = record_to_event(row)
        if event["seq"] == seq:
            event["data"] = {**event["data"], "i": 999}
        event["prev_hash"] = prev
        event["hash"] = prev = compute_hash(event)
        updates.append(("UPDATE events SET data = $1::jsonb, prev_hash = $2, hash = $3 WHERE seq = $4",
                        json.dumps(event["data"]), event["prev_hash"], event["hash"], event["seq"]))
    await behind_the_trigger(settings, *updates, ("DELETE FROM merkle_nodes",), ("DELETE FROM checkpoints",))


@pytest.fixture
async def world(databases, tmp_path):
    """The funds log (served, its checkpointer signing every 5 events) and the audit's witness of it."""
    origin = await databases.new("funds", checkpoint_every_events=5, checkpoint_every_seconds=3600,
                                 tail_check_seconds=0.2, data_dir=str(tmp_path))
    witness_settings = await databases.new("audit", data_dir=str(tmp_path))
    engines = [make_engine(s.sqlalchemy_url, pool_size=2) for s in (origin, witness_settings)]
    origin_sessions = make_sessionmaker(engines[0], "funds")

    async def write(count: int) -> None:
        async with origin_sessions() as session, session.begin():
            await append(session, [NewEvent(type="test.thing.happened", subject=f"t-{i % 3}", data={"i": i},
                                            actor=ACTOR) for i in range(count)])

    world = World(origin, witness_settings, write, make_sessionmaker(engines[1], "audit"))
    yield world
    for engine in engines:
        await engine.dispose()


class World:
    def __init__(self, origin, witness_settings, write, witness_sessions):
        self.origin, self.witness_settings, self.write = origin, witness_settings, write
        self.witness_sessions = witness_sessions
        self.origin_key = log_signer(origin)

    def witness(self, origin_app) -> Witness:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=origin_app), base_url="http://funds")
        return Witness(self.witness_settings, self.witness_sessions, origins={"funds": self.origin_key.verifier()},
                       http=http)

    async def signed(self, client, size: int) -> str:
        async def latest():
            r = await client.get("/checkpoints/latest")
            return r.status_code == 200 and r.json()["size"] == size and r.json()["note"]
        return await wait_until(latest, timeout=30)

    async def witness_events(self) -> list[str]:
        return [r["type"] for r in await sql(self.witness_settings, "SELECT type FROM events ORDER BY seq")]


async def test_a_witness_cosigns_after_a_consistency_proof_and_serves_the_cosigned_note(world):
    await world.write(5)
    origin_app = webapp.build(world.origin)
    async with serving(origin_app) as origin, serving(webapp.build(world.witness_settings,
                                                                    run_background=False)) as public:
        witness = world.witness(origin_app)
        first = await world.signed(origin, 5)
        assert (await witness.observe("funds", first)).verdict == "cosign"  # the first: on trust
        await world.write(6)
        second = await world.signed(origin, 11)
        assert (await witness.observe("funds", second)).verdict == "cosign"  # after the proof 5 → 11
        assert (await witness.observe("funds", second)).verdict == "known"
        assert (await witness.observe("funds", first)).verdict == "known"
        stranger = sign_note(Checkpoint(world.origin_key.name, 12, b"\1" * 32).body(),
                             [Signer.generate(world.origin_key.name)])
        assert (await witness.observe("funds", stranger)).verdict == "rejected"

        origin_name = world.origin_key.name
        listed = (await public.get("/witness/cosignatures", params={"origin": origin_name})).json()
        assert [c["size"] for c in listed["items"]] == [5, 11]
        key = (await public.get("/witness")).json()["cosigner_key"]
        cosigned = (await public.get("/witness/checkpoint", params={"origin": origin_name})).text
        assert cosigned.startswith(second.rstrip("\n"))
        verify_cosignature(cosigned, Verifier.from_key_string(key))
        assert open_note(cosigned, [world.origin_key.verifier()])[1] == [origin_name]
        assert (await public.get("/witness/checkpoint", params={"origin": origin_name, "size": 5})).text.startswith(
            first.rstrip("\n"))
        # the first cosignature is recorded in the witness's own log at once; the second waits for another
        # event of that log (a record right after a record would keep the logs growing by themselves)
        assert await world.witness_events() == ["audit.witness.cosigned"]
        async with world.witness_sessions() as session, session.begin():
            await append(session, [NewEvent(type="audit.test.noted", subject="x", data={}, actor=ACTOR)])
            await witness.record_cosignatures(session)
        assert await world.witness_events() == ["audit.witness.cosigned", "audit.test.noted", "audit.witness.cosigned"]
        records = await sql(world.witness_settings, "SELECT data FROM events WHERE type = 'audit.witness.cosigned'")
        assert [[c["size"] for c in json.loads(r["data"])["cosignatures"]] for r in records] == [[5], [11]]
        assert (await public.get("/witness/alarms")).json()["items"] == []
        await witness.http.aclose()


async def test_a_fork_and_a_rewritten_history_are_alarms_that_keep_both_checkpoints(world):
    await world.write(10)
    origin_app = webapp.build(world.origin)
    async with serving(origin_app) as origin:
        witness = world.witness(origin_app)
        held = await world.signed(origin, 10)
        assert (await witness.observe("funds", held)).verdict == "cosign"
    # whoever holds the database (and the key) rewrites seq 6, recomputes the whole chain and the tree
    await rewrite_from(world.origin, 6)
    origin_app = webapp.build(world.origin)
    async with serving(origin_app) as origin, serving(webapp.build(world.witness_settings,
                                                                    run_background=False)) as public:
        witness = world.witness(origin_app)
        forked = await world.signed(origin, 10)  # the new tree's head, of the same size
        assert forked != held
        outcome = await witness.observe("funds", forked)
        assert outcome.verdict == "alarm" and outcome.detail.startswith("fork: two signed roots for size 10")
        await world.write(5)
        extended = await world.signed(origin, 15)
        outcome = await witness.observe("funds", extended)
        assert outcome.verdict == "alarm"
        assert outcome.detail.startswith("rewritten at or before seq 10: the checkpoint of size 15 is inconsistent "
                                         "with the co-signed checkpoint of size 10")
        assert (await witness.observe("funds", forked)).verdict == "alarm"  # re-delivered: the same alarm
        alarms = (await public.get("/witness/alarms")).json()["items"]
        assert [(a["kind"], a["held_size"], a["received_size"]) for a in alarms] == [
            ("fork", 10, 10), ("inconsistent", 10, 15)]
        assert all(a["held_checkpoint"] == held for a in alarms)  # the evidence: both signed notes
        assert [a["received_checkpoint"] for a in alarms] == [forked, extended]
        for note in (held, forked):
            open_note(note, [world.origin_key.verifier()])  # both really signed by the origin
        ready = await public.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "degraded"
        assert "rewritten at or before seq 10" in ready.json()["checks"]["witness"]
        metrics = (await public.get("/metrics")).text
        assert 'fupin_witness_alarms_total{kind="fork",origin="funds",service="audit"} 1.0' in metrics
        assert await world.witness_events() == ["audit.witness.cosigned", "audit.witness.alarm_raised",
                                                "audit.witness.alarm_raised"]
        await witness.http.aclose()


async def test_a_cut_tail_is_named_with_the_exact_missing_seqs(world):
    await world.write(10)
    origin_app = webapp.build(world.origin)
    async with serving(origin_app) as origin, serving(webapp.build(world.witness_settings,
                                                                    run_background=False)) as public:
        witness = world.witness(origin_app)
        assert (await witness.observe("funds", await world.signed(origin, 10))).verdict == "cosign"
        await witness.check_tails()
        assert (await public.get("/witness/alarms")).json()["items"] == []
        await behind_the_trigger(world.origin, ("DELETE FROM events WHERE seq > 7",))
        await witness.check_tails()
        await witness.check_tails()  # one condition, one alarm
        [alarm] = (await public.get("/witness/alarms", params={"origin": world.origin_key.name})).json()["items"]
        assert alarm["kind"] == "truncated" and alarm["received_size"] == 7
        assert alarm["detail"].startswith("log truncated: seqs 8..10 missing")
        await witness.http.aclose()

