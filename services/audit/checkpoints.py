"""Checking a log against what outlives its database: signed checkpoints kept earlier (by the
audit as a witness, by an auditor, a newspaper, a villager) and the copies on the broker's topic.
Pure: fed the log's events in seq order, it names what does not match.

Guarantees:

1. A checkpoint is used only after its origin's signature verified (:func:`open_held`); one that
   does not verify is itself a problem (``checkpoint``), never silently skipped.
2. The Merkle root of the first ``n`` events is recomputed from the events' chain hashes (leaf data
   = the 32-byte chain hash, :mod:`shared.events.merkle` guarantee 2) with a compact range: each
   event is hashed once, memory is O(log n), whatever the number of checkpoints.
3. ``truncated``: the log ends at seq ``N - 1`` but a checkpoint (or the topic) shows seq ``M``:
   "log truncated: seqs N..M missing".
4. ``rewritten``: the smallest checkpoint size ``N`` whose root is not the log's root at ``N``:
   "rewritten at or before seq N (inconsistent with checkpoint K)", narrowed by the largest
   checkpoint below ``N`` that still matches; or a topic copy of seq ``N`` whose hash differs.
5. ``fork``: two verified checkpoints of one origin with one size and different roots — evidence
   on its own, whatever the log says.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from services.audit.verify import ChainProblem
from shared.events.merkle import border_root, event_leaf, extend
from shared.events.note import Checkpoint, NoteError, Verifier, open_checkpoint

#: Leaves hashed into the compact range at a time (bounds the memory of one extend call).
_CHUNK = 4096


@dataclass(frozen=True)
class Held:
    """A signed checkpoint someone kept, opened: ``label`` names it in every message (a file name,
    ``audit witness``)."""

    label: str
    service: str
    checkpoint: Checkpoint
    note: str

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.checkpoint.root_hash).decode()


def open_held(label: str, note: str, verifiers: Iterable[Verifier],
              service_of: Mapping[str, str]) -> tuple[Held | None, ChainProblem | None]:
    """Open a kept checkpoint: its signature must verify with one of ``verifiers`` and its origin
    be one of ``service_of`` (origin → service). Otherwise the problem says why."""
    try:
        checkpoint = open_checkpoint(note, verifiers)
    except NoteError as exc:
        return None, ChainProblem(None, None, "checkpoint", f"checkpoint {label}: {exc}")
    service = service_of.get(checkpoint.origin)
    if service is None:
        return None, ChainProblem(None, None, "checkpoint",
                                  f"checkpoint {label}: origin {checkpoint.origin!r} is no audited log")
    return Held(label, service, checkpoint, note), None


def forks(held: Iterable[Held]) -> list[ChainProblem]:
    """Two signed roots for one size of one log (guarantee 5), each pair once."""
    first: dict[tuple[str, int, bytes], Held] = {}
    by_size: dict[tuple[str, int], Held] = {}
    out = []
    for h in held:
        key = (h.service, h.size)
        if (h.service, h.size, h.checkpoint.root_hash) in first:
            continue
        first[(h.service, h.size, h.checkpoint.root_hash)] = h
        if key in by_size:
            other = by_size[key]
            out.append(ChainProblem(h.service, h.size, "fork",
                                    f"fork: two signed roots for size {h.size}: checkpoint {other.label} "
                                    f"({other.root_b64}) and checkpoint {h.label} ({h.root_b64})"))
        else:
            by_size[key] = h
    return out


@dataclass
class LogAgainst:
    """Feed one service's events in seq order (:meth:`feed`), then read :meth:`finish`.

    ``held``: the checkpoints of this service's log; ``topic``: {seq: hash} of the copies on its
    topic (None: not compared); ``topic_name`` names it in messages."""

    service: str
    held: Sequence[Held] = ()
    topic: Mapping[int, str] | None = None
    topic_name: str = "the topic"
    size: int = 0  # leaves in the compact range
    border: list[bytes] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # chain hashes (hex) not yet in the range
    roots: dict[int, bytes] = field(default_factory=dict)
    broken_at: int | None = None  # the first seq that did not continue the log
    topic_differs: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.wanted = sorted({h.size for h in self.held if h.size > 0}, reverse=True)  # next size last

    @property
    def contiguous(self) -> int:
        return self.size + len(self.pending)

    def feed(self, event: Mapping[str, Any]) -> None:
        seq, digest = event["seq"], event["hash"]
        if self.topic is not None:
            copy = self.topic.get(seq)
            if copy is not None and copy != digest:
                self.topic_differs.append(seq)
        if self.broken_at is not None or not self.wanted:
            return
        if seq != self.contiguous + 1:
            self.broken_at = self.contiguous + 1
            return
        self.pending.append(digest)  # hashed into leaves a chunk at a time (_flush)
        if seq == self.wanted[-1]:
            self._flush()
            self.roots[seq] = border_root(self.border)
            self.wanted.pop()
        elif len(self.pending) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        self.size, self.border, _ = extend(self.size, self.border, [event_leaf(h) for h in self.pending])
        self.pending = []

    def finish(self, last_seq: int | None) -> list[ChainProblem]:
        """The problems found; ``last_seq``: where the log as read ends."""
        end = last_seq or 0
        return [*self._against_checkpoints(end), *self._against_topic(end)]

    def _problem(self, seq: int | None, kind: str, detail: str) -> ChainProblem:
        return ChainProblem(self.service, seq, kind, detail)

    def _against_checkpoints(self, end: int) -> list[ChainProblem]:
        out: list[ChainProblem] = []
        matched: Held | None = None
        mismatched: list[Held] = []
        for h in sorted(self.held, key=lambda h: h.size):
            got = self.roots.get(h.size)
            if got is None:
                continue
            if got == h.checkpoint.root_hash:
                if not mismatched:
                    matched = h
            else:
                mismatched.append(h)
        if mismatched:
            first = mismatched[0]
            agree = (f"; seqs 1..{matched.size} agree with checkpoint {matched.label}" if matched else "")
            more = f"; {len(mismatched) - 1} later checkpoints disagree too" if len(mismatched) > 1 else ""
            out.append(self._problem(first.size, "rewritten",
                                     f"rewritten at or before seq {first.size} (inconsistent with checkpoint "
                                     f"{first.label}){agree}{more}"))
        beyond = [h for h in self.held if h.size > end]
        if beyond:
            top = max(beyond, key=lambda h: h.size)
            out.append(self._problem(end + 1, "truncated",
                                     f"log truncated: {_seqs(end + 1, top.size)} missing (checkpoint {top.label} "
                                     f"is signed for size {top.size}, the log ends at seq {end})"))
        unchecked = [h for h in self.held if self.broken_at is not None and self.broken_at <= h.size <= end]
        if unchecked:
            out.append(self._problem(self.broken_at, "checkpoint",
                                     f"{len(unchecked)} checkpoints up to size {max(h.size for h in unchecked)} "
                                     f"cannot be checked: seq {self.broken_at} does not follow seq "
                                     f"{self.broken_at - 1}"))
        return out

    def _against_topic(self, end: int) -> list[ChainProblem]:
        if self.topic is None:
            return []
        out = []
        if self.topic_differs:
            seq = self.topic_differs[0]
            more = f"; {len(self.topic_differs) - 1} later seqs differ too" if len(self.topic_differs) > 1 else ""
            out.append(self._problem(seq, "rewritten", f"rewritten at seq {seq}: the copy published on "
                                     f"{self.topic_name} has another hash{more}"))
        top = max(self.topic, default=0)
        if top > end:
            out.append(self._problem(end + 1, "truncated", f"log truncated: {_seqs(end + 1, top)} missing "
                                     f"({self.topic_name} holds them; the log ends at seq {end})"))
        return out


def _seqs(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seqs {first}..{last}"


@dataclass
class Outside:
    """What the logs are compared with besides themselves: the opened checkpoints, the topics'
    copies ({service: {seq: hash}}), and the problems found while opening the checkpoints."""

    held: list[Held] = field(default_factory=list)
    topics: dict[str, dict[int, str]] | None = None
    topic_names: dict[str, str] = field(default_factory=dict)
    problems: list[ChainProblem] = field(default_factory=list)

    @classmethod
    def of(cls, notes: Iterable[tuple[str, str]], verifiers: Sequence[Verifier], service_of: Mapping[str, str],
           **topics: Any) -> "Outside":
        """``notes``: (label, signed note) pairs, opened with :func:`open_held`."""
        outside = cls(**topics)
        for label, note in notes:
            held, problem = open_held(label, note, verifiers, service_of)
            if held is not None:
                outside.held.append(held)
            else:
                outside.problems.append(problem)
        outside.problems += forks(outside.held)
        return outside

    def against(self, service: str) -> LogAgainst:
        topic = None if self.topics is None else self.topics.get(service, {})
        return LogAgainst(service, [h for h in self.held if h.service == service], topic,
                          self.topic_names.get(service, "the topic"))
