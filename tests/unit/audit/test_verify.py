"""Verification of chains, exports and references, on logs built in memory."""

from __future__ import annotations

import json

import pytest

from services.audit.export import write_export, iter_lines
from services.audit.sources import ExportSource
from services.audit.run import replay
from services.audit.verify import References, ServiceChain, hash_matches, verify_events
from shared.events.chain import canonical_json
from tests.unit.audit.logs import Log


@pytest.fixture
def log() -> Log:
    log = Log("funds")
    for n in range(1, 8):
        log.add("funds.test.happened", f"s-{n}", {"n": n, "text": "下达"})
    return log


def test_a_clean_chain_verifies(log):
    result = verify_events("funds", log.events, {"last_seq": 7, "last_hash": log.events[-1]["hash"], "events": 7})
    assert result.ok and (result.checked, result.first_seq, result.last_seq) == (7, 1, 7)


def test_an_altered_event_is_one_hash_problem_at_its_seq(log):
    log.events[3]["data"]["n"] = 400  # altered behind the trigger: its stored hash no longer matches
    result = verify_events("funds", log.events)
    assert [(p.kind, p.seq) for p in result.problems] == [("hash", 4)]


def test_a_rehashed_event_breaks_the_link_of_the_next(log):
    from shared.events.chain import compute_hash

    log.events[3]["data"]["n"] = 400
    log.events[3]["hash"] = compute_hash(log.events[3])
    result = verify_events("funds", log.events)
    assert [(p.kind, p.seq) for p in result.problems] == [("link", 5)]


def test_a_missing_event_is_a_gap_naming_its_seq(log):
    del log.events[2]
    result = verify_events("funds", log.events)
    assert [(p.kind, p.seq) for p in result.problems] == [("gap", 3)]
    assert "seq 3 missing" in result.problems[0].detail


def test_a_duplicate_is_reported_and_skipped(log):
    chain = ServiceChain("funds")
    for event in log.events[:4]:
        assert chain.feed(event)
    assert not chain.feed(log.events[1])
    assert [(p.kind, p.seq) for p in chain.finish().problems] == [("order", 2)]


def test_the_manifest_fixes_the_end_of_the_log(log):
    entry = {"last_seq": 7, "last_hash": log.events[-1]["hash"], "events": 7}
    truncated = verify_events("funds", log.events[:5], entry)
    assert [(p.kind, p.seq) for p in truncated.problems][0] == ("gap", 6)
    other = verify_events("funds", log.events, {**entry, "last_hash": "f" * 64})
    assert [p.kind for p in other.problems] == ["manifest"]


def test_the_fast_path_hashes_the_canonical_line_and_falls_back_for_other_formatting(log):
    event = log.events[2]
    line = canonical_json(event).encode()
    assert hash_matches(event, line)
    assert hash_matches(event, json.dumps(event, indent=2).encode())  # not canonical: re-serialised instead
    tampered = {**event, "data": {**event["data"], "text": "上报"}}
    assert not hash_matches(tampered, canonical_json(tampered).encode())


def test_causations_must_name_an_audited_event():
    refs = References()
    source, other = Log("projects"), Log("funds")
    cause = source.add("projects.project.cancelled", "P-1", {"code": "P-1"})
    effect = other.add("funds.stranding.posted", "x", {}, causation_id=cause["id"])
    dangling = other.add("funds.stranding.posted", "y", {}, causation_id="0192f0a4-0000-7000-8000-000000000000")
    for service, event in (("projects", cause), ("funds", effect), ("funds", dangling)):
        refs.add(service, event)
    assert [(p.service, p.seq, p.kind) for p in refs.unresolved()] == [("funds", 2, "causation")]


def test_an_export_round_trips_and_a_removed_line_is_a_gap(tmp_path, log):
    manifest = write_export(tmp_path, {"funds": log.events}, source="test", created_at="2017-03-01T10:00:00+08:00")
    assert manifest["services"]["funds"]["last_seq"] == 7
    assert [event for event, _ in iter_lines(tmp_path / "funds.jsonl")] == log.events
    assert replay(ExportSource(tmp_path)).chains["funds"].ok
    lines = (tmp_path / "funds.jsonl").read_bytes().splitlines(keepends=True)
    (tmp_path / "funds.jsonl").write_bytes(b"".join(lines[:4] + lines[5:]))
    source = ExportSource(tmp_path)
    result = replay(source).chains["funds"]
    assert [(p.kind, p.seq) for p in result.problems] == [("gap", 5), ("manifest", None)]
    assert "funds" in source.digest_notes()


def test_the_line_fast_path_removes_the_first_hash_member_only():
    """``hash_matches`` hashes the export line without its first ``,"hash":"<stored>"`` member, as
    ``bytes.replace(…, 1)`` would; a line without that member is hashed whole (and does not match)."""
    import hashlib

    from services.audit.verify import hash_matches
    from shared.events.chain import GENESIS, canonical_json, compute_hash

    event = {"actor": None, "causation_id": None, "correlation_id": "c", "data": {"note": 'x,"hash":"y"'},
             "id": "e-1", "prev_hash": GENESIS, "seq": 1, "source": "funds", "subject": "s", "time": "t", "type": "k"}
    event["hash"] = compute_hash(event)
    line = canonical_json(event).encode()
    assert hash_matches(event, line)
    body = line.replace(b',"hash":"' + event["hash"].encode() + b'"', b"", 1)
    assert hashlib.sha256(GENESIS.encode() + body).hexdigest() == event["hash"]
    assert not hash_matches({**event, "hash": "0" * 64}, line)
    assert hash_matches(event, line.replace(b'"seq":1', b'"seq": 1'))  # another tool's formatting: the slow path
    assert not hash_matches({**event, "seq": 2}, line.replace(b'"seq":1', b'"seq":2'))
