"""Verifiable history on real PostgreSQL: the Merkle tree grown after commit, signed checkpoints,
inclusion and consistency proofs over HTTP, log keys, and cut tails named by the service."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import asyncpg
import pytest

from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker
from shared.events import NewEvent, append, merkle
from shared.events.chain import compute_hash
from shared.events.checkpoints import MissingLogKey, log_signer
from shared.events.note import Checkpoint, Signer, Verifier, open_checkpoint
from shared.events.store import read_after
from shared.events.tree import TreeState
from tests.conftest import bearer, serving
from tests.conftest import fetch as sql
from tests.service import webapp
from tests.stack import wait_until

ACTOR = {"sub": "tester", "roles": ["county_finance"], "division": "652722000000"}
b64 = base64.b64decode


@pytest.fixture
async def log(databases, tmp_path):
    settings = await databases.new("funds", checkpoint_every_events=5, checkpoint_every_seconds=3600,
                                   tail_check_seconds=0.2, data_dir=str(tmp_path))
    engine = make_engine(settings.sqlalchemy_url, pool_size=2)
    sessions = make_sessionmaker(engine, "funds")

    async def write(count: int) -> None:
        async with sessions() as session, session.begin():
            await append(session, [NewEvent(type="test.thing.happened", subject=f"t-{i % 3}", data={"i": i},
                                            actor=ACTOR) for i in range(count)])
    yield settings, write
    await engine.dispose()



async def delete_tail_behind_the_trigger(settings, after_seq: int) -> None:
    """What the database's owner can do: delete the last events as superuser, triggers off."""
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("DELETE FROM events WHERE seq > $1", after_seq)
    finally:
        await conn.close()


async def leaves(settings) -> list[bytes]:
    return [merkle.event_leaf(r["hash"]) for r in await sql(settings, "SELECT hash FROM events ORDER BY seq")]


async def tree_reaches(client, size: int) -> None:
    async def reached():
        r = await client.get(f"/events/{size}/proof", params={"size": size})
        return r.status_code == 200
    await wait_until(reached, timeout=30)


async def test_the_tree_follows_the_log_and_every_proof_verifies(log):
    settings, write = log
    for count in (1, 6, 2, 13, 1):
        await write(count)
    async with serving(webapp.build(settings)) as client:
        await tree_reaches(client, 23)
        reference = await leaves(settings)
        for size in (1, 2, 5, 8, 13, 23):
            for seq in range(1, size + 1):
                body = (await client.get(f"/events/{seq}/proof", params={"size": size})).json()
                assert body["leaf_index"] == seq - 1 and body["tree_size"] == size
                assert b64(body["leaf_hash"]) == reference[seq - 1] == merkle.event_leaf(body["event_hash"])
                assert b64(body["root_hash"]) == merkle.root(reference[:size])
                merkle.verify_inclusion(reference[seq - 1], seq - 1, size, [b64(h) for h in body["hashes"]],
                                        merkle.root(reference[:size]))
            for first in range(1, size + 1):
                body = (await client.get("/checkpoints/proof", params={"from": first, "to": size})).json()
                merkle.verify_consistency(first, size, b64(body["from_root"]), b64(body["to_root"]),
                                          [b64(h) for h in body["hashes"]])
                assert b64(body["to_root"]) == merkle.root(reference[:size])
    # the stored tree is what a fresh follower reloads: same size, same root, nothing recomputed
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        state = await TreeState.load(conn)
    finally:
        await conn.close()
    assert (state.size, state.root) == (23, merkle.root(reference))
    assert len(await sql(settings, "SELECT 1 FROM merkle_nodes")) == 23 + 11 + 5 + 2 + 1  # each node once


async def test_checkpoints_are_signed_every_n_events_and_verify_with_the_published_key(log):
    settings, write = log
    await write(4)
    async with serving(webapp.build(settings)) as client:
        await tree_reaches(client, 4)
        assert (await client.get("/checkpoints/latest")).status_code == 404  # 4 < 5 events: not yet
        await write(3)
        await wait_until(lambda: _latest_size(client, 7))
        await write(12)
        await wait_until(lambda: _latest_size(client, 19))
        keys = (await client.get("/.well-known/fupin-keys")).json()
        assert keys["origin"] == "fupin.example/dev/funds" == keys["log"][0].split("+")[0]
        verifier = Verifier.from_key_string(keys["log"][0])
        latest = (await client.get("/checkpoints/latest")).json()
        assert latest["key_id"] == verifier.key_id.hex()
        checkpoint = open_checkpoint(latest["note"], [verifier])
        assert checkpoint == Checkpoint("fupin.example/dev/funds", 19, merkle.root(await leaves(settings)))
        text = await client.get("/checkpoints/latest", params={"format": "note"})
        assert text.headers["content-type"].startswith("text/plain") and text.text == latest["note"]
        first = (await client.get("/checkpoints", params={"limit": 1})).json()
        assert [c["size"] for c in first["items"]] == [7]
        rest = (await client.get("/checkpoints", params={"cursor": first["next_cursor"]})).json()
        assert [c["size"] for c in rest["items"]] == [19] and rest["next_cursor"] is None
        proof = (await client.get("/events/3/proof")).json()  # default size: the latest checkpoint
        assert proof["tree_size"] == 19 and proof["checkpoint"] == latest["note"]
        consistency = (await client.get("/checkpoints/proof", params={"from": 7})).json()
        assert consistency["to"] == 19 and consistency["from_checkpoint"] == first["items"][0]["note"]


async def _latest_size(client, size: int) -> bool:
    r = await client.get("/checkpoints/latest")
    return r.status_code == 200 and r.json()["size"] == size


async def test_checkpoints_are_signed_after_t_seconds_when_the_log_grew(databases, tmp_path):
    settings = await databases.new("funds", checkpoint_every_events=1000, checkpoint_every_seconds=0.3,
                                   data_dir=str(tmp_path))
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with serving(webapp.build(settings)) as client:
            async with make_sessionmaker(engine, "funds")() as session, session.begin():
                await append(session, [NewEvent(type="t.x", subject="s", data={}, actor=ACTOR)] * 2)
            await wait_until(lambda: _latest_size(client, 2))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("path, params, field", [
    ("/events/5/proof", {"size": 99}, "size"),
    ("/events/99/proof", {"size": 5}, "seq"),
    ("/events/6/proof", {"size": 5}, "seq"),
    ("/events/0/proof", {}, "seq"),
    ("/events/2/proof", {"size": 0}, "size"),
    ("/checkpoints/proof", {"from": 6, "to": 5}, "from"),
    ("/checkpoints/proof", {"from": 0, "to": 5}, "from"),
    ("/checkpoints/proof", {"from": 1, "to": 50}, "to"),
    ("/checkpoints/proof", {"to": 5}, "from"),
    ("/checkpoints", {"cursor": "nonsense!"}, "cursor"),
])
async def test_impossible_proofs_are_422_problems_naming_the_field(log, path, params, field):
    settings, write = log
    await write(8)
    async with serving(webapp.build(settings)) as client:
        await tree_reaches(client, 8)
        r = await client.get(path, params=params)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"].split(".")[-1] for e in r.json()["errors"]], r.json()


async def test_a_tree_behind_the_log_is_503_with_retry_after(log):
    settings, write = log
    await write(3)
    async with serving(webapp.build(settings, run_background=False)) as client:
        r = await client.get("/events/2/proof", params={"size": 3})
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.headers["content-type"] == "application/problem+json"


async def test_deleted_tail_is_named_with_its_exact_seqs(log):
    settings, write = log
    await write(12)
    async with serving(webapp.build(settings)) as client:
        await wait_until(lambda: _latest_size(client, 12))
        assert (await client.get("/readyz")).json()["status"] == "ready"
        await delete_tail_behind_the_trigger(settings, 9)

        async def degraded():
            r = await client.get("/readyz")
            return r.status_code == 503 and r
        r = await wait_until(degraded, timeout=30)
        assert r.json()["status"] == "degraded"
        assert r.json()["checks"]["log"] == "log truncated: seqs 10..12 missing"
        metrics = (await client.get("/metrics")).text
        assert 'fupin_log_missing_events{service="funds"} 3.0' in metrics
        assert 'fupin_log_integrity_alarm{kind="truncated",service="funds"} 1.0' in metrics
        # the chain alone still verifies: only the tree and the checkpoint remember seqs 10..12
        assert (await client.get("/events/verify", headers=webapp_auditor(settings))).json()["ok"] is True

        # refilling the cut tail with other events is a log that no longer extends its tree
        await write(4)

        async def rewritten():
            r = await client.get("/readyz")
            alarm = r.json()["checks"].get("log", "")
            return alarm.startswith("log rewritten from seq 10: it no longer extends its Merkle tree") and \
                "at seq 13" in alarm and "truncated" not in alarm
        await wait_until(rewritten, timeout=30)
        assert (await client.get("/checkpoints/latest")).json()["size"] == 12  # nothing signed over it


def webapp_auditor(settings):
    return bearer(settings, "auditor")


async def test_keys_generated_once_in_development_and_required_in_production(databases, tmp_path):
    settings = await databases.new("registry", data_dir=str(tmp_path))
    first = log_signer(settings)
    assert (tmp_path / "keys" / "registry.key").read_text().startswith("PRIVATE+KEY+fupin.example/dev/registry+")
    assert log_signer(settings).verifier_key() == first.verifier_key()
    configured = Signer.generate("fupin.example/prod/registry")
    production = settings.model_copy(update={"env": "production", "log_origin_prefix": "fupin.example/prod"})
    with pytest.raises(MissingLogKey):
        log_signer(production)
    keyed = production.model_copy(update={"log_keys": {"registry": configured.key_string()}})
    assert log_signer(keyed).verifier_key() == configured.verifier_key()
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "registry.key").write_text(configured.key_string() + "\n")
    from_file = production.model_copy(update={"log_key_dir": str(tmp_path / "prod")})
    assert log_signer(from_file).verifier_key() == configured.verifier_key()
    misnamed = production.model_copy(update={"log_keys": {"registry": Signer.generate("other").key_string()}})
    with pytest.raises(MissingLogKey, match="origin"):
        log_signer(misnamed)


async def test_the_public_atom_feed_carries_the_latest_signed_checkpoint(log):
    settings, write = log
    await write(5)
    async with serving(webapp.build(settings)) as client:
        await wait_until(lambda: _latest_size(client, 5))
        feed = ET.fromstring((await client.get("/public/board/652722/feed.atom")).content)
        verifier = Verifier.from_key_string((await client.get("/.well-known/fupin-keys")).json()["log"][0])
    ns = {"a": "http://www.w3.org/2005/Atom"}
    [entry] = feed.findall("a:entry", ns)
    assert entry.find("a:id", ns).text == "urn:fupin:checkpoint:fupin.example/dev/funds:5"
    assert open_checkpoint(entry.find("a:content", ns).text, [verifier]).size == 5
    related = [link.get("href") for link in feed.findall("a:link", ns) if link.get("rel") == "related"]
    assert related == ["http://testserver/checkpoints/latest?format=note"]


async def test_a_history_rewritten_with_every_later_hash_recomputed_is_named_by_the_service(log):
    settings, write = log
    await write(9)
    async with serving(webapp.build(settings)) as client:
        await wait_until(lambda: _latest_size(client, 9))
        conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
        try:
            events = await read_after(conn, 0, 100)
            events[4]["data"] = {"i": 999}  # seq 5, then the whole chain recomputed from there
            prev = events[3]["hash"]
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
                for event in events[4:]:
                    event["prev_hash"] = prev
                    event["hash"] = prev = compute_hash({k: v for k, v in event.items() if k != "hash"})
                    await conn.execute("UPDATE events SET data = $1::jsonb, prev_hash = $2, hash = $3 WHERE seq = $4",
                                       json.dumps(event["data"]), event["prev_hash"], event["hash"],
                                       event["seq"])
        finally:
            await conn.close()
        assert (await client.get("/events/verify", headers=webapp_auditor(settings))).json()["ok"] is True

        async def named():
            r = await client.get("/readyz")
            return r.status_code == 503 and r.json()["checks"].get("log", "").startswith("log rewritten from seq 5:")
        await wait_until(named, timeout=30)
