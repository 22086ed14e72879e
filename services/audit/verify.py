"""Verification of event logs without trusting the services: each chain, the export manifest, and
the cross-service references. Pure: it reads event dicts (and, from an export, their raw lines).

Unlike :class:`shared.events.chain.ChainVerifier`, which stops at the first bad event (what a
consumer needs), :class:`ServiceChain` goes on and names *every* problem an auditor must see:

* ``gap`` — seqs missing (the chain must be gapless from 1; the manifest's last seq ends it);
* ``order`` — a seq at or below one already seen (a duplicate or an out-of-order copy);
* ``hash`` — an event whose stored hash is not the hash of its content (a row altered behind the
  append-only trigger);
* ``link`` — an event whose ``prev_hash`` is not its predecessor's stored hash (an altered row
  whose hash was recomputed, or events spliced together);
* ``manifest`` — the export's manifest disagrees with its file (last seq, last hash, count, digest);
* ``causation`` — a ``causation_id`` that names no event in any audited log;
* ``malformed`` — not an event at all: a line that is not JSON, not an object, or one of the
  members the verifier reads (:data:`READ_MEMBERS`) missing or of another type. It is neither
  hashed nor applied; with a usable seq it keeps its place in the chain.

After an altered row the check continues from its *stored* hash, so one altered event is one
problem, not a cascade.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, Iterable, Mapping

from services.audit.export import NotJson, loads
from shared.events.chain import GENESIS, compute_hash

#: Problems listed per service; the rest are only counted (a broken log can have millions).
MAX_LISTED = 1000


@dataclass(frozen=True)
class ChainProblem:
    service: str | None  # None: a checkpoint that opens for no audited log (unreadable, or of an unknown origin)
    seq: int | None
    kind: str  # a code of CHAIN_PROBLEM_KIND (GET /catalogue, list `chain_problem_kind`)
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "seq": self.seq, "kind": self.kind, "detail": self.detail}


@dataclass
class ChainResult:
    """The outcome of checking one service's log."""

    service: str
    checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    problems: list[ChainProblem] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "ok": self.ok, "checked": self.checked, "first_seq": self.first_seq,
                "last_seq": self.last_seq, "last_hash": self.last_hash, "problem_count": self.problem_count,
                "problems": [p.as_dict() for p in self.problems]}


def hash_matches(event: Mapping[str, Any], line: bytes | None = None) -> bool:
    """Whether ``event['hash']`` is the hash of the event's content.

    Fast path for export lines, which are the canonical JSON of the whole event: the hashed body
    is that line without its ``"hash"`` member, so no re-serialisation is needed. It is sound
    because a SHA-256 match means the remaining text *is* the body the service hashed (which has
    no top-level ``hash`` member, so the member removed was the top-level one). Any other line
    (another tool's formatting) falls back to canonicalising the event read from it.
    """
    stored = event["hash"]
    if line is not None:
        # sha256(prev_hash + the line without its first `,"hash":"<stored>"`), fed in pieces (no copies)
        member = b',"hash":"' + stored.encode() + b'"'
        digest = hashlib.sha256(event["prev_hash"].encode())
        at = line.find(member)
        if at < 0:
            digest.update(line)
        else:
            view = memoryview(line)
            digest.update(view[:at])
            digest.update(view[at + len(member):])
        if digest.hexdigest() == stored:
            return True
        # the whole event, read again from its line: the caller may hold only some of its members
        # (export.members_reader), and a line in another formatting is hashed by its content
        event = loads(line)  # raises when the line is not JSON after all (ServiceChain.feed reports it)
    try:
        return compute_hash(event) == stored
    except (KeyError, TypeError, ValueError, RecursionError):  # a hashed member missing, a value RFC
        return False  # 8785 cannot write (an integer beyond I-JSON), nesting too deep: not what was hashed


#: the members of an event the verifier reads, with the JSON type each must have (causation_id: a
#: str or null; time: also an RFC 3339 UTC time, :func:`is_time`); the rest is the rebuilders' and the hash's
READ_MEMBERS: dict[str, type] = {"seq": int, "hash": str, "prev_hash": str, "id": str, "time": str}

_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\.[0-9]{1,6})?Z")


@lru_cache(maxsize=1 << 12)
def _is_day(text: str) -> bool:
    try:
        return 1 <= date.fromisoformat(text).year <= 9998  # (a China day of 9999-12-31T20:00Z would overflow)
    except ValueError:
        return False


def is_time(value: Any) -> bool:
    """Whether ``value`` is an event's ``time`` as the services write it (UTC, ``…Z``): the
    audit's checks read the day and the China day of it."""
    match = _TIME.fullmatch(value) if type(value) is str else None
    return match is not None and _is_day(match[1])


def placed(event: Any) -> bool:
    """Whether a pass that does not verify can place ``event`` (its seq and time: what it reads)."""
    return type(event) is dict and type(event.get("seq")) is int and is_time(event.get("time"))


def envelope_problem(event: Any) -> str | None:
    """Why ``event`` is not an event the audit can check (None: it is one)."""
    if type(event) is dict:
        try:  # nearly every event: one expression, then the reason only when it fails
            if (type(event["seq"]) is int and type(event["hash"]) is str and type(event["prev_hash"]) is str
                    and type(event["id"]) is str and is_time(event["time"])
                    and ((cause := event["causation_id"]) is None or type(cause) is str)):
                return None
        except KeyError:
            pass
        for name, kind in {**READ_MEMBERS, "causation_id": str}.items():
            if name not in event:
                return f"no {name!r} member"
            value = event[name]
            if type(value) is not kind and not (name == "causation_id" and value is None):
                return f"{name!r} is {_json_type(value)}, not {_json_type(kind())}"
        return f"'time' is {event['time']!r}, not a UTC time (YYYY-MM-DDThh:mm:ss[.ffffff]Z)"
    if isinstance(event, NotJson):
        return f"not JSON ({event})"
    return f"not a JSON object but {_json_type(event)}"


def _json_type(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


class ServiceChain:
    """Feed one service's events in the order the source gives them; read :meth:`result`."""

    def __init__(self, service: str):
        self.result = ChainResult(service)
        self.expected_seq = 1
        self.expected_prev = GENESIS

    def problem(self, seq: int | None, kind: str, detail: str) -> None:
        result = self.result
        result.problem_count += 1
        if len(result.problems) < MAX_LISTED:
            result.problems.append(ChainProblem(result.service, seq, kind, detail))

    def feed(self, event: Mapping[str, Any], line: bytes | None = None) -> bool:
        """Check one event. False when it is a duplicate, out of order or malformed: the caller
        skips it."""
        result = self.result
        malformed = envelope_problem(event)
        if malformed is not None:
            return self._malformed(event, malformed)
        seq = event["seq"]
        if seq < self.expected_seq:
            self.problem(seq, "order", f"seq {seq} arrives after seq {self.expected_seq - 1} "
                         "(a duplicate or an out-of-order copy)")
            return False
        try:
            matches = hash_matches(event, line)
        except (ValueError, RecursionError) as error:  # the line is not JSON after all: bytes inside a member
            # read unparsed (export.members_reader) - what a reader of the whole line finds, found the same
            self.problem(None, "malformed", f"a line is not an event: not JSON ({type(error).__name__}: {error})")
            return False
        if seq > self.expected_seq:
            missing = (f"seq {self.expected_seq}" if seq == self.expected_seq + 1
                       else f"seqs {self.expected_seq}..{seq - 1}")
            self.problem(self.expected_seq, "gap", f"{missing} missing: the log jumps to seq {seq}")
        elif event["prev_hash"] != self.expected_prev:
            self.problem(seq, "link", f"prev_hash of seq {seq} is not the stored hash of seq {seq - 1}"
                         if seq > 1 else "prev_hash of seq 1 is not the genesis hash")
        if not matches:
            self.problem(seq, "hash", f"the stored hash of seq {seq} does not match its content (altered)")
        if result.first_seq is None:
            result.first_seq = seq
        result.checked += 1
        result.last_seq, result.last_hash = seq, event["hash"]
        self.expected_seq, self.expected_prev = seq + 1, event["hash"]
        return True

    def _malformed(self, event: Any, why: str) -> bool:
        seq = event.get("seq") if type(event) is dict else None
        seq = seq if type(seq) is int else None
        self.problem(seq, "malformed", f"{'a line' if seq is None else f'seq {seq}'} is not an event: {why}")
        if seq == self.expected_seq:  # it holds its place: what follows links to its hash, if it has one
            result = self.result
            result.checked += 1
            if result.first_seq is None:
                result.first_seq = seq
            stored = event.get("hash")
            result.last_seq, result.last_hash = seq, stored if type(stored) is str else None
            self.expected_seq, self.expected_prev = seq + 1, result.last_hash
        return False

    def finish(self, manifest: Mapping[str, Any] | None = None) -> ChainResult:
        """Close the check, against the export manifest's entry for this service when there is one."""
        result = self.result
        if manifest is not None and not (type(manifest.get("last_seq")) is int and (
                manifest.get("events") is None or type(manifest["events"]) is int)):
            self.problem(None, "manifest", f"the manifest's last_seq {manifest.get('last_seq')!r} or events "
                         f"{manifest.get('events')!r} is not a number")
        elif manifest is not None:
            last = result.last_seq or 0
            if last < manifest["last_seq"]:
                missing = f"seq {last + 1}" if manifest["last_seq"] == last + 1 else f"seqs {last + 1}..{manifest['last_seq']}"
                self.problem(last + 1, "gap", f"{missing} missing: the manifest says the log ends at seq "
                             f"{manifest['last_seq']}")
            elif last > manifest["last_seq"]:
                self.problem(manifest["last_seq"] + 1, "manifest",
                             f"the file goes on to seq {last}, past the manifest's last seq {manifest['last_seq']}")
            elif manifest.get("last_hash") is not None and manifest["last_hash"] != result.last_hash:
                self.problem(last, "manifest", f"the hash of seq {last} differs from the manifest's last hash")
            if manifest.get("events") is not None and manifest["events"] != result.checked:
                self.problem(None, "manifest", f"the file has {result.checked} events, the manifest says "
                             f"{manifest['events']}")
        return result


def verify_events(service: str, events: Iterable[Mapping[str, Any]],
                  manifest: Mapping[str, Any] | None = None) -> ChainResult:
    chain = ServiceChain(service)
    for event in events:
        chain.feed(event)
    return chain.finish(manifest)


@dataclass
class References:
    """Every event id seen, and every causation to resolve once all logs are read."""

    ids: set[str] = field(default_factory=set)
    causations: list[tuple[str, int, str]] = field(default_factory=list)  # (service, seq, causation_id)

    def add(self, service: str, event: Mapping[str, Any]) -> None:
        self.ids.add(event["id"])
        cause = event["causation_id"]
        if cause is not None:
            self.causations.append((service, event["seq"], cause))

    def merge(self, other: References) -> None:
        self.ids |= other.ids
        self.causations.extend(other.causations)

    def unresolved(self) -> list[ChainProblem]:
        return [ChainProblem(service, seq, "causation",
                             f"causation_id {cause} of seq {seq} names no event in the audited logs")
                for service, seq, cause in self.causations if cause not in self.ids]
