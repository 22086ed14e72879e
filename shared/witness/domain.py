"""What a witness does with a checkpoint it receives, pure (C2SP tlog-witness, adapted to a
witness that follows the log's checkpoint topic instead of being sent add-checkpoint requests).

Guarantees:

1. A witness co-signs only checkpoints that extend the newest one it co-signed for that log,
   proven by a consistency proof from that size (:func:`shared.events.merkle.verify_consistency`);
   the first checkpoint of a log is co-signed on trust (there is nothing to be consistent with).
2. It never co-signs a checkpoint older than its newest one; an older checkpoint is still checked
   (consistency proof up to the newest) and is evidence if it does not fit.
3. Two different roots for one size are a ``fork``; a checkpoint without a valid consistency proof
   to or from the held one is ``inconsistent``; a log whose last seq is below the size held is
   ``truncated`` — each an :class:`Alarm` that keeps both sides as evidence.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

from shared.events.merkle import ProofError, verify_consistency
from shared.events.note import Checkpoint


class Verdict(StrEnum):
    cosign = "cosign"  # extends the held checkpoint: co-sign and keep it
    known = "known"  # co-signed already (a re-delivery)
    older = "older"  # consistent with the held one, but smaller: nothing to co-sign
    alarm = "alarm"


@dataclass(frozen=True)
class Held:
    """A checkpoint the witness co-signed: its size, root and the origin's signed note."""

    size: int
    root_hash: bytes
    note: str


@dataclass(frozen=True)
class Alarm:
    kind: str  # fork | inconsistent | truncated
    detail: str
    held: Held
    received_size: int | None = None  # the received checkpoint's size, or the log's last seq (truncated)
    received_note: str | None = None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def proof_needed(received: Checkpoint, same_size: Held | None, latest: Held | None) -> tuple[int, int] | None:
    """The consistency proof (from, to) the witness must fetch before judging, if any."""
    if same_size is not None or latest is None or received.size == latest.size or received.size == 0:
        return None
    return (latest.size, received.size) if received.size > latest.size else (received.size, latest.size)


def judge(received: Checkpoint, note: str, same_size: Held | None, latest: Held | None,
          proof: Sequence[bytes] | None) -> tuple[Verdict, Alarm | None]:
    """The verdict on a checkpoint whose origin signature verified; ``proof`` is the one
    :func:`proof_needed` asked for (None when it asked for none)."""
    if same_size is not None:
        if same_size.root_hash == received.root_hash:
            return Verdict.known, None
        return Verdict.alarm, Alarm("fork", f"fork: two signed roots for size {received.size}: "
                                    f"{_b64(same_size.root_hash)} (co-signed) and {_b64(received.root_hash)}",
                                    same_size, received.size, note)
    if latest is None:
        return (Verdict.cosign, None) if received.size > 0 else (Verdict.older, None)
    if received.size == 0:
        return Verdict.older, None
    ends: tuple[Checkpoint | Held, Checkpoint | Held] = (received, latest)
    small, large = sorted(ends, key=lambda c: c.size)
    try:
        verify_consistency(small.size, large.size, small.root_hash, large.root_hash, proof or [])
    except ProofError as exc:
        first_differing = min(received.size, latest.size)
        return Verdict.alarm, Alarm("inconsistent", f"rewritten at or before seq {first_differing}: the checkpoint "
                                    f"of size {received.size} is inconsistent with the co-signed checkpoint of size "
                                    f"{latest.size} ({exc})", latest, received.size, note)
    return (Verdict.cosign if received.size > latest.size else Verdict.older), None


def truncation(latest: Held | None, log_last_seq: int) -> Alarm | None:
    """A log that no longer holds what the witness co-signed (guarantee 3)."""
    if latest is None or log_last_seq >= latest.size:
        return None
    missing = (f"seq {latest.size}" if log_last_seq + 1 == latest.size
               else f"seqs {log_last_seq + 1}..{latest.size}")
    return Alarm("truncated", f"log truncated: {missing} missing (the log ends at seq {log_last_seq}, the "
                 f"co-signed checkpoint has size {latest.size})", latest, log_last_seq)
