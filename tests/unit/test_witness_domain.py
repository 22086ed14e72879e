"""The witness's judgement, pure: co-sign what extends the held checkpoint (by a consistency
proof), never an older one; a fork, an inconsistent checkpoint or a cut tail is an alarm that
keeps both sides as evidence."""

from __future__ import annotations

from shared.events.merkle import consistency_proof, leaf_hash, root
from shared.events.note import Checkpoint
from shared.witness.domain import Held, Verdict, judge, proof_needed, truncation

LEAVES = [leaf_hash(bytes([n])) for n in range(20)]
OTHER = [leaf_hash(bytes([n, 1])) for n in range(20)]


def cp(size: int, leaves=LEAVES) -> Checkpoint:
    return Checkpoint("fupin.test/funds", size, root(leaves[:size]))


def held(size: int, leaves=LEAVES) -> Held:
    return Held(size, root(leaves[:size]), f"note {size}")


def proof(m: int, n: int, leaves=LEAVES) -> list[bytes]:
    return consistency_proof(m, n, lambda a, b: root(leaves[a:b]))


def test_the_first_checkpoint_is_cosigned_and_an_extension_needs_a_proof():
    assert proof_needed(cp(5), None, None) is None
    assert judge(cp(5), "n", None, None, None) == (Verdict.cosign, None)
    assert proof_needed(cp(9), None, held(5)) == (5, 9)
    assert judge(cp(9), "n", None, held(5), proof(5, 9)) == (Verdict.cosign, None)


def test_a_redelivered_checkpoint_is_known_and_an_older_consistent_one_is_not_cosigned():
    assert judge(cp(5), "n", held(5), held(9), None) == (Verdict.known, None)
    assert proof_needed(cp(3), None, held(9)) == (3, 9)
    assert judge(cp(3), "n", None, held(9), proof(3, 9)) == (Verdict.older, None)


def test_two_roots_for_one_size_are_a_fork_with_both_notes_kept():
    verdict, alarm = judge(cp(9, OTHER), "their note", held(9), held(12), None)
    assert verdict == Verdict.alarm and alarm.kind == "fork"
    assert (alarm.held.note, alarm.received_note, alarm.received_size) == ("note 9", "their note", 9)
    assert alarm.detail.startswith("fork: two signed roots for size 9")


def test_a_checkpoint_that_does_not_extend_the_held_one_is_inconsistent():
    rewritten = LEAVES[:4] + OTHER[4:]
    verdict, alarm = judge(cp(12, rewritten), "n12", None, held(9), proof(9, 12, rewritten))
    assert verdict == Verdict.alarm and alarm.kind == "inconsistent"
    assert alarm.detail.startswith("rewritten at or before seq 9: the checkpoint of size 12 is inconsistent")
    assert judge(cp(12), "n12", None, held(9), [])[1].kind == "inconsistent"  # the origin gave no proof


def test_a_log_shorter_than_the_cosigned_size_is_truncated_with_the_missing_seqs():
    assert truncation(held(9), 9) is None and truncation(None, 0) is None
    alarm = truncation(held(9), 6)
    assert alarm.kind == "truncated" and alarm.received_size == 6
    assert alarm.detail.startswith("log truncated: seqs 7..9 missing")
    assert truncation(held(9), 8).detail.startswith("log truncated: seq 9 missing")
