"""A log checked against signed checkpoints kept earlier and against its topic's copies: a cut
tail, a rewritten history (every later hash recomputed, so the chain itself verifies) and a fork
are each named exactly."""

from __future__ import annotations

import pytest

from services.audit.checkpoints import Outside
from services.audit.run import replay
from services.audit.sources import Loaded
from services.audit.verify import verify_events
from shared.events.chain import compute_hash
from shared.events.merkle import event_leaf, root
from shared.events.note import Checkpoint, Signer, sign_note
from tests.unit.audit.logs import Log
from services.audit.api.report_schemas import ChainProblemOut

ORIGIN = "fupin.test/funds"
SERVICE_OF = {ORIGIN: "funds"}
SIGNER = Signer.generate(ORIGIN)


def checkpoint(events: list[dict], size: int, signer: Signer = SIGNER) -> str:
    """The log's signed checkpoint at ``size``, as the service would have published it."""
    head = root([event_leaf(e["hash"]) for e in events[:size]])
    return sign_note(Checkpoint(ORIGIN, size, head).body(), [signer])


@pytest.fixture
def log() -> Log:
    log = Log("funds")
    for n in range(1, 11):
        log.add("funds.test.happened", f"s-{n}", {"n": n})
    return log


def check(events: list[dict], notes: dict[str, str], topic: dict[int, str] | None = None):
    outside = Outside.of(notes.items(), [SIGNER.verifier()], SERVICE_OF,
                         topics=None if topic is None else {"funds": topic},
                         topic_names={"funds": "fupin.funds.events"})
    result = replay(Loaded("test", {"funds": events}), outside=outside).chains["funds"]
    return result, outside.problems


def test_a_log_that_matches_every_checkpoint_has_no_problem(log):
    result, problems = check(log.events, {f"ck{n}": checkpoint(log.events, n) for n in (1, 4, 7, 10)})
    assert result.ok and problems == []


def test_a_cut_tail_is_named_with_the_missing_seqs(log):
    notes = {"ck10.txt": checkpoint(log.events, 10)}
    result, _ = check(log.events[:7], notes)
    assert [(p.kind, p.seq) for p in result.problems] == [("truncated", 8)]
    assert result.problems[0].detail.startswith("log truncated: seqs 8..10 missing (checkpoint ck10.txt")


def test_a_rewritten_history_with_every_hash_recomputed_is_named(log):
    notes = {"ck4": checkpoint(log.events, 4), "ck8": checkpoint(log.events, 8), "ck10": checkpoint(log.events, 10)}
    log.events[5]["data"]["n"] = 600  # seq 6 rewritten, then the whole chain after it
    for previous, event in zip(log.events[4:], log.events[5:]):
        event["prev_hash"] = previous["hash"]
        event["hash"] = compute_hash(event)
    assert verify_events("funds", log.events).ok  # the chain alone cannot tell
    result, _ = check(log.events, notes)
    assert [(p.kind, p.seq) for p in result.problems] == [("rewritten", 8)]
    assert result.problems[0].detail == ("rewritten at or before seq 8 (inconsistent with checkpoint ck8); "
                                         "seqs 1..4 agree with checkpoint ck4; 1 later checkpoints disagree too")


def test_two_signed_roots_for_one_size_are_a_fork(log):
    other = Log("funds")
    for n in range(1, 6):
        other.add("funds.test.happened", f"s-{n}", {"n": -n})
    notes = {"mine": checkpoint(log.events, 5), "newspaper": checkpoint(other.events, 5),
             "copy": checkpoint(log.events, 5)}
    _, problems = check(log.events, notes)
    assert [(p.kind, p.service, p.seq) for p in problems] == [("fork", "funds", 5)]
    assert "checkpoint mine" in problems[0].detail and "checkpoint newspaper" in problems[0].detail


def test_a_checkpoint_that_does_not_verify_is_a_problem_not_a_reference(log):
    forged = checkpoint(log.events, 10, Signer.generate(ORIGIN))
    tampered = checkpoint(log.events, 10).replace("\n10\n", "\n11\n")
    stranger = sign_note(Checkpoint("elsewhere/log", 3, b"\0" * 32).body(), [SIGNER])
    result, problems = check(log.events[:7], {"forged": forged, "tampered": tampered, "stranger": stranger})
    assert result.ok  # none of them is used against the log
    assert [(p.kind, p.service) for p in problems] == [("checkpoint", None)] * 3  # of no audited log
    for problem in problems:  # as the report documents them (a service outside its list was a wrong answer)
        ChainProblemOut.model_validate(problem.as_dict())
    assert "checkpoint stranger: origin 'elsewhere/log' is no audited log" in problems[2].detail


def test_the_topic_names_a_cut_tail_and_a_rewritten_copy(log):
    topic = {e["seq"]: e["hash"] for e in log.events}
    result, _ = check(log.events[:8], {}, topic)
    assert [(p.kind, p.seq) for p in result.problems] == [("truncated", 9)]
    assert result.problems[0].detail.startswith("log truncated: seqs 9..10 missing (fupin.funds.events holds them")
    topic[3] = "0" * 64
    result, _ = check(log.events, {}, topic)
    assert [(p.kind, p.seq) for p in result.problems] == [("rewritten", 3)]


async def test_fupin_audit_verify_checks_an_export_against_saved_checkpoints(log, tmp_path):
    from services.audit.export import write_export
    from tests.conftest import run_cli

    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "funds-4.txt").write_text(checkpoint(log.events, 4))
    (kept / "funds-8.txt").write_text(checkpoint(log.events, 8))
    (kept / "funds-10.txt").write_text(checkpoint(log.events, 10))
    key = ["--key", SIGNER.verifier_key()]
    files = [arg for n in (4, 8, 10) for arg in ("--checkpoint", str(kept / f"funds-{n}.txt"))]
    env = {"FUPIN_LOG_ORIGIN_PREFIX": "fupin.test"}
    write_export(tmp_path / "whole", {"funds": log.events}, source="test", created_at="2018-01-02T09:00:00+08:00")
    code, output = await run_cli("audit", "verify", "--export", str(tmp_path / "whole"), *files, *key, env=env)
    assert code == 0 and "audit verify: 10 events verified against 3 checkpoints" in output, output

    log.events[5]["data"]["n"] = 600  # rewritten, with the whole chain after it recomputed, then the tail cut
    for previous, event in zip(log.events[4:], log.events[5:]):
        event["prev_hash"], event["hash"] = previous["hash"], None
        event["hash"] = compute_hash(event)
    write_export(tmp_path / "cut", {"funds": log.events[:8]}, source="test", created_at="2018-01-02T09:00:00+08:00")
    code, output = await run_cli("audit", "verify", "--export", str(tmp_path / "cut"), *files, *key, env=env)
    assert code == 1
    assert f"funds: truncated at seq 9: log truncated: seqs 9..10 missing (checkpoint {kept / 'funds-10.txt'}" in output
    assert (f"funds: rewritten at seq 8: rewritten at or before seq 8 (inconsistent with checkpoint {kept / 'funds-8.txt'}); "
            f"seqs 1..4 agree with checkpoint {kept / 'funds-4.txt'}") in output
    code, output = await run_cli("audit", "verify", "--export", str(tmp_path / "cut"), *files, "--key",
                                 Signer.generate(ORIGIN).verifier_key(), env=env)
    assert code == 1 and "no verifiable signatures" in output
