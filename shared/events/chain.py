"""The hash chain, pure: canonical JSON, event hashes, and chain verification.

Guarantee (rule 3): for every event ``e`` of a service,

    e.hash = sha256( e.prev_hash (64 lowercase hex, ASCII) || JCS(body(e)) ).hexdigest()

where ``body(e)`` is the event's :data:`HASHED_FIELDS` and JCS is RFC 8785 canonical JSON; the
first event's ``prev_hash`` is :data:`GENESIS` and every later one's is its predecessor's hash.
Verifying needs nothing but the events: :func:`verify_chain` works on any iterable of event
dicts (a database page, an HTTP feed, a JSONL export).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import orjson
import rfc8785

GENESIS = "0" * 64

#: The envelope attributes covered by the hash (CloudEvents names; ``hash`` itself excluded).
HASHED_FIELDS = (
    "actor",
    "causation_id",
    "correlation_id",
    "data",
    "id",
    "prev_hash",
    "seq",
    "source",
    "subject",
    "time",
    "type",
)

_I_JSON_MAX = 2**53 - 1
_plain_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def _plain(value: Any) -> bool:
    """True when json.dumps(sort_keys=True) — and orjson with sorted keys — already yields the
    RFC 8785 form of ``value``.

    That holds for str/int/bool/None/list/dict trees without floats, with integers inside the
    I-JSON range, and with keys below U+E000 (where UTF-16 and code-point order agree). Money is
    integer fen and dates are strings, so every event we write takes this path; anything else
    falls back to the ``rfc8785`` library (the reference; a property test checks they agree).
    (Plain loops and ``str.isascii`` — O(1) in CPython — keep this walk at a fraction of the
    encoding's cost: it runs for every event appended, verified or consumed.)
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_I_JSON_MAX <= value <= _I_JSON_MAX
    if kind is dict:
        for k, v in value.items():
            if type(k) is not str or not (k.isascii() or max(k) < "\ue000"):
                return False
            kind = type(v)
            if kind is not str and v is not None and not _plain(v):
                return False
        return True
    if kind is list or kind is tuple:
        for v in value:
            if type(v) is not str and not _plain(v):
                return False
        return True
    return False


def canonical_json(value: Any) -> str:
    """RFC 8785 (JCS) canonical JSON of ``value`` as text.

    A plain tree (:func:`_plain`) is encoded by orjson (~4x the standard library's speed; it
    escapes strings exactly as RFC 8785 does — a unit test holds the two together over every code
    point), or by the standard library when orjson refuses it (a lone surrogate, nesting deeper
    than orjson's limit); anything else by the ``rfc8785`` reference."""
    if _plain(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except orjson.JSONEncodeError:
            return _plain_dumps(value)
    return rfc8785.dumps(value).decode("utf-8")


def hash_event(prev_hash: str, canonical_body: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_body.encode("utf-8")).hexdigest()


def canonical_body(event: Mapping[str, Any]) -> str:
    """Canonical JSON of the hashed part of an event (any extra keys are ignored)."""
    return canonical_json({field: event[field] for field in HASHED_FIELDS})


def compute_hash(event: Mapping[str, Any]) -> str:
    return hash_event(event["prev_hash"], canonical_body(event))


@dataclass(frozen=True)
class ChainReport:
    """The outcome of verifying a range of one service's chain."""

    ok: bool
    checked: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None
    first_bad_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


class ChainVerifier:
    """Incremental verifier: feed events in order, read :attr:`report` at any point.

    ``expected_seq`` / ``expected_prev`` describe where the range starts: seq 1 and GENESIS for a
    whole chain, or the predecessor's seq + 1 and hash for a sub-range.
    """

    def __init__(self, expected_seq: int = 1, expected_prev: str = GENESIS):
        self.expected_seq = expected_seq
        self.expected_prev = expected_prev
        self.checked = 0
        self.first_seq: int | None = None
        self.bad: tuple[int, str] | None = None

    def feed(self, event: Mapping[str, Any]) -> bool:
        """Check one event; returns False (and stops checking) at the first bad one."""
        if self.bad is not None:
            return False
        seq = event["seq"]
        if self.first_seq is None:
            self.first_seq = seq
        if seq != self.expected_seq:
            kind = "gap" if seq > self.expected_seq else "out of order or duplicate"
            self.bad = (self.expected_seq, f"{kind}: expected seq {self.expected_seq}, found {seq}")
            return False
        if event["prev_hash"] != self.expected_prev:
            self.bad = (seq, "prev_hash does not match the previous event's hash")
            return False
        if compute_hash(event) != event["hash"]:
            self.bad = (seq, "hash does not match the event's content")
            return False
        self.checked += 1
        self.expected_seq = seq + 1
        self.expected_prev = event["hash"]
        return True

    def report(self, *, expected_last_seq: int | None = None) -> ChainReport:
        last_seq = self.expected_seq - 1 if self.checked else None
        last_hash = self.expected_prev if self.checked else None
        if self.bad is None and expected_last_seq is not None and (last_seq or 0) < expected_last_seq:
            self.bad = (
                (last_seq or 0) + 1,
                f"missing events: the range ends at seq {last_seq or 0}, expected {expected_last_seq}",
            )
        bad_seq, reason = self.bad if self.bad else (None, None)
        return ChainReport(
            ok=self.bad is None,
            checked=self.checked,
            first_seq=self.first_seq,
            last_seq=last_seq,
            last_hash=last_hash,
            first_bad_seq=bad_seq,
            reason=reason,
        )


def verify_chain(
    events: Iterable[Mapping[str, Any]], expected_seq: int = 1, expected_prev: str = GENESIS
) -> ChainReport:
    verifier = ChainVerifier(expected_seq, expected_prev)
    for event in events:
        if not verifier.feed(event):
            break
    return verifier.report()
