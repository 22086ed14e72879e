"""Cut tails, named by the service itself.

The hash chain cannot see a tail cut off the log: what is left still verifies. What outlives the
rows knows better — the service's latest signed checkpoint, its Merkle tree, the relay's
watermark and the last event on its topic each name a seq the log once held.

Guarantees:

1. :func:`find_truncation` (pure) compares the log's last seq with every piece of evidence; a log
   shorter than any of them is reported as ``log truncated: seqs N..M missing`` with M the
   largest seq any evidence names, and which evidence named what.
2. :class:`LogGuard` holds the current alarms of one service (truncation, a log that no longer
   extends its tree): each new alarm is logged once at ERROR, sets the
   ``fupin_log_missing_events`` / ``fupin_log_integrity_alarm`` metrics, and ``/readyz``
   reports it (degraded, 503) until the condition is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import asyncpg

from shared.logging import get_logger
from shared.metrics import LOG_INTEGRITY_ALARM, LOG_MISSING_EVENTS

log = get_logger("fupin.log-guard")


@dataclass(frozen=True)
class Truncation:
    log_last_seq: int
    first_missing: int
    last_missing: int
    evidence: Mapping[str, int]

    @property
    def message(self) -> str:
        return f"log truncated: seqs {self.first_missing}..{self.last_missing} missing"

    def as_dict(self) -> dict:
        return {"message": self.message, "log_last_seq": self.log_last_seq, "first_missing": self.first_missing,
                "last_missing": self.last_missing, "evidence": dict(self.evidence)}


def find_truncation(log_last_seq: int, evidence: Mapping[str, int | None]) -> Truncation | None:
    known = {name: seq for name, seq in evidence.items() if seq is not None}
    beyond = {name: seq for name, seq in known.items() if seq > log_last_seq}
    if not beyond:
        return None
    return Truncation(log_last_seq, log_last_seq + 1, max(beyond.values()), beyond)


async def local_evidence(conn: asyncpg.Connection, topic: str) -> dict[str, int | None]:
    """The last seq each record in the service's own database names besides ``events``."""
    row = await conn.fetchrow(
        "SELECT (SELECT max(size) FROM checkpoints) AS checkpoint, "
        "(SELECT max(idx) + 1 FROM merkle_nodes WHERE level = 0) AS tree, "
        "(SELECT last_seq FROM relay_watermark WHERE topic = $1) AS relay", topic)
    return dict(row)


class LogGuard:
    """The integrity alarms of one service's log (guarantee 2)."""

    def __init__(self, service: str):
        self.service = service
        self.topic_last_seq: int | None = None  # the last seq seen on the topic (set by the publisher)
        self.truncation: Truncation | None = None
        self.mismatch: str | None = None

    async def check_tail(self, conn: asyncpg.Connection, topic: str) -> Truncation | None:
        log_last = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM events")
        evidence = {**await local_evidence(conn, topic), "topic": self.topic_last_seq}
        found = find_truncation(log_last, evidence)
        if found and found != self.truncation:
            log.error(found.message, service=self.service, log_last_seq=log_last, evidence=dict(found.evidence))
        elif self.truncation and not found:
            log.warning("log no longer truncated", service=self.service, log_last_seq=log_last)
        self.truncation = found
        LOG_MISSING_EVENTS.labels(self.service).set(found.last_missing - log_last if found else 0)
        LOG_INTEGRITY_ALARM.labels(self.service, "truncated").set(1 if found else 0)
        return found

    def report_mismatch(self, message: str | None) -> None:
        if message and message != self.mismatch:
            log.error(message, service=self.service)
        self.mismatch = message
        LOG_INTEGRITY_ALARM.labels(self.service, "tree_mismatch").set(1 if message else 0)

    def alarms(self) -> list[str]:
        return [a for a in (self.truncation.message if self.truncation else None, self.mismatch) if a]
