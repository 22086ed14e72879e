"""The funds ledger rebuilt from the funds service's events alone, with the funds domain's own
``Ledger`` (ARCHITECTURE.md rule 6): every posting read through ``contract.postings_of``, replayed
with ``Ledger.apply_all`` — which judges each posting exactly as the service did (kinds, holders,
channel and year kept, no overdraft).

A posting the ledger refuses is not applied and is kept with the domain's reason: the service
should never have recorded it (a disbursement beyond its commitment, say), so it is a finding,
not a crash. What compliance needs besides balances — each posting with its event's seq, date and
extras (payee, project), and the deadline records — is kept in plain tuples. Every deadline event
type is rebuilt (``set``, ``met``, ``missed``, ``settled_late``: a late settlement keeps the state
missed and records the day it was met).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, NamedTuple, NotRequired, TypedDict

import msgspec

from services.audit.export import members_reader
from services.audit.rebuild.reading import Day, Division, DivisionOrEmpty, Text, checker
from services.funds.contract import (
    BATCH_EVENT_TYPES,
    DEADLINE_SET,
    DEADLINE_TRANSITIONS,
    PAYMENT_EVENT_TYPES,
    POSTING_EVENT_TYPES,
    RECONCILIATION_RECORDED,
    AccountKey,
    Ledger,
    LedgerError,
    Posting,
    PostingReader,
    is_line_reference,
    postings_of,
)

SERVICE = "funds"


class PostingRecord(NamedTuple):
    """A posting as the audit keeps it: the domain's Posting and where it came from (a named tuple:
    immutable and built in one call, one per posting replayed)."""

    seq: int
    event_id: str
    recorded: str  # the event's time (UTC, RFC 3339)
    posting: Posting
    payee: Mapping[str, Any] | None = None
    project_code: str | None = None


@dataclass
class DeadlineRecord:
    id: str
    receiver: str
    kind: str
    due: str | None
    rule_id: str
    citation: str
    title: str
    amount_fen: int
    basis_seq: int
    set_seq: int
    recorded: str
    channel: str = ""
    fiscal_year: int = 0
    basis_on: str | None = None
    met_on: str | None = None
    settled: str | None = None  # met | missed | withdrawn, from the service's scheduler / reversal events
    settled_seq: int | None = None  # the last transition (met, missed, settled_late)
    settled_recorded: str | None = None

    @property
    def state(self) -> str:
        """As the funds service states it: open, met, missed (a late settlement stays missed) or
        withdrawn (its allocation reversed)."""
        return self.settled or "open"


@dataclass
class PaymentRecord:
    """A payment instruction as its events state it (``funds.payment.*``)."""

    id: str
    division: str
    posting_id: str  # the disbursement it pays
    amount_fen: int
    state: str
    seq: int  # the event that made it
    recorded: str
    returned_posting: str | None = None  # the payment_return posting of a refusal
    state_seq: int = 0


@dataclass
class FundsRebuilt:
    balances: dict[AccountKey, int]
    explained_by: dict[AccountKey, int]  # account → seq of the last posting that moved it
    postings: list[PostingRecord]
    refused: list[tuple[PostingRecord, str, str]]  # (posting, domain error code, reason)
    deadlines: dict[str, DeadlineRecord]
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (seq, why) of unreadable postings
    events: int = 0
    payments: dict[str, PaymentRecord] = field(default_factory=dict)  # instruction id → its record
    reconciliations: list[dict[str, Any]] = field(default_factory=list)  # each with its event's seq and time
    #: (seq, why) of each event whose data could not be read (services.audit.run.unreadable)
    unreadable_events: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"postings": len(self.postings), "refused": len(self.refused),
                "unreadable": len(self.unreadable), "unreadable_events": len(self.unreadable_events),
                "accounts": len(self.balances), "deadlines": len(self.deadlines), "total_fen": sum(self.balances.values())}


#: every deadline transition → the state it leaves (a late settlement: missed, with its met date)
_TRANSITIONS = {event_type: name if name in ("met", "withdrawn") else "missed"
                for name, event_type in DEADLINE_TRANSITIONS.items()}


class _Account(msgspec.Struct, forbid_unknown_fields=True):
    """An account key as a posting's data writes it: exactly its six fields, of plain types
    (anything else does not decode and takes the general path, :meth:`FundsRebuild.apply`)."""

    division: str
    role: str
    channel: str
    fiscal_year: int
    kind: str
    reference: str | None


class _PostingData(msgspec.Struct, rename={"from_": "from"}):
    """A single posting's event data as the funds service writes it: the members the rebuild reads
    (``PostingReader.posting`` and the record's extras); the others are parsed and skipped."""

    posting_id: str  # of the types _check_kept asks for: any other takes the general path
    from_: _Account
    to: _Account
    amount_fen: int
    operation: str
    document_no: str
    document_date: str
    actor: str
    purpose: str | None = None
    reference: str | None = None
    payee: dict[str, Any] | None = None
    project_code: str | None = None


class _PostingEvent(msgspec.Struct):
    data: _PostingData
    id: Any
    seq: Any
    time: Any
    type: Any


def _check_kept(posting: Posting, payee: Any, project_code: Any) -> None:
    """Raise (TypeError) unless what the audit keeps of a posting is of the types its checks read
    - also of a posting the ledger will refuse, which compliance reads too: the ids and texts
    text, the amount an int, the document date a date, a disbursement's payee an object (another
    operation's is the service's to write: a payment return names its payee by reference)."""
    p = posting
    if not (type(p.posting_id) is str and type(p.amount_fen) is int and type(p.operation) is str
            and type(p.document_no) is str and type(p.actor) is str and type(p.document_date) is date
            and (p.purpose is None or type(p.purpose) is str) and (p.reference is None or type(p.reference) is str)
            and (payee is None or type(payee) is dict or p.operation != "disburse")
            and (project_code is None or type(project_code) is str)):
        fields = {"posting_id": p.posting_id, "amount_fen": p.amount_fen, "operation": p.operation,
                  "document_no": p.document_no, "actor": p.actor, "document_date": p.document_date,
                  "purpose": p.purpose, "reference": p.reference, "payee": payee, "project_code": project_code}
        raise TypeError("a member of the posting is not of its type: " + ", ".join(
            f"{name}={value!r}" for name, value in fields.items()))


class _Deadline(TypedDict):
    id: Text
    receiver: Division
    kind: str
    rule_id: str
    citation: str
    due: NotRequired[Day | None]
    title: NotRequired[str]
    amount_fen: NotRequired[int]
    basis_seq: NotRequired[int]
    channel: NotRequired[str]
    fiscal_year: NotRequired[int]
    basis_on: NotRequired[Day | None]


class _Transition(TypedDict):
    met_on: NotRequired[Day | None]


class _Payment(TypedDict):
    state: str
    id: NotRequired[Text]
    division: NotRequired[DivisionOrEmpty]
    posting_id: NotRequired[str]
    amount_fen: NotRequired[int]
    returned_posting: NotRequired[str | None]


class _Difference(TypedDict):
    kind: str


class _Reconciliation(TypedDict):
    division: Division
    on: Day
    differences: NotRequired[list[_Difference] | None]
    account_no: NotRequired[str]


_check = checker({DEADLINE_SET: _Deadline, RECONCILIATION_RECORDED: _Reconciliation,
                  **{kind: _Transition for kind in DEADLINE_TRANSITIONS.values()},
                  **{kind: _Payment for kind in PAYMENT_EVENT_TYPES}})

_decode_posting_event = msgspec.json.Decoder(_PostingEvent).decode
_SINGLE_POSTING_TYPES = POSTING_EVENT_TYPES - BATCH_EVENT_TYPES


class FundsRebuild:
    service = SERVICE
    #: the members of an event that apply reads (postings_of: type, data; the rest below): an
    #: export is read for these only (services.audit.export.members_reader)
    members = ("data", "id", "seq", "subject", "time", "type")

    def __init__(self) -> None:
        self.reader = PostingReader()
        self.records: list[PostingRecord] = []
        self.deadlines: dict[str, DeadlineRecord] = {}
        self.unreadable: list[tuple[int, str]] = []
        self.unreadable_events: list[tuple[int, str]] = []
        self.events = 0
        self.payments: dict[str, PaymentRecord] = {}
        self.reconciliations: list[dict[str, Any]] = []

    def apply(self, event: Mapping[str, Any]) -> None:
        kind = event["type"]
        postings = kind in POSTING_EVENT_TYPES  # (a type that is no key raises here, before it is counted)
        self.events += 1
        if postings:  # nearly every event: nothing else to look at (the sets are disjoint)
            read, add = self.reader.posting, self.records.append
            for data in postings_of(event):
                try:
                    posting = read(data)
                    payee, project_code = data.get("payee"), data.get("project_code")
                    _check_kept(posting, payee, project_code)
                except (LedgerError, KeyError, TypeError, ValueError) as error:  # not even a posting
                    self.unreadable.append((event["seq"], f"{type(error).__name__}: {error}"))
                    continue
                add(PostingRecord(event["seq"], event["id"], event["time"], posting, payee, project_code))
            return
        _check(event)  # what the handlers below keep, of the types the audit's checks read
        if kind == DEADLINE_SET:
            d = event["data"]
            self.deadlines[d["id"]] = DeadlineRecord(
                id=d["id"], receiver=d["receiver"], kind=d["kind"], due=d.get("due"), rule_id=d["rule_id"],
                citation=d["citation"], title=d.get("title", ""), amount_fen=d.get("amount_fen", 0),
                basis_seq=d.get("basis_seq", 0), set_seq=event["seq"], recorded=event["time"],
                channel=d.get("channel", ""), fiscal_year=d.get("fiscal_year", 0), basis_on=d.get("basis_on"))
        elif kind in PAYMENT_EVENT_TYPES:
            self._payment(event)
        elif kind == RECONCILIATION_RECORDED:
            self.reconciliations.append({**event["data"], "seq": event["seq"], "recorded": event["time"]})
        elif kind in _TRANSITIONS:
            record = self.deadlines.get(event["subject"])
            if record is not None:
                record.settled, record.met_on = _TRANSITIONS[kind], event["data"].get("met_on")
                record.settled_seq, record.settled_recorded = event["seq"], event["time"]

    def apply_line(self, line: bytes) -> None:
        """:meth:`apply` of an exported event's line (what the split replay rebuilds from,
        services.audit.run). A single posting's event in the form the service writes it (nearly
        every event) is decoded into typed fields and its posting built from them, not from the
        dicts :meth:`apply` reads: 5.5-5.7 µs a line against 7.0 (bench/RESULTS.md, 2026-12-05
        evening). Any other line - another type, a batch, a version-1 disbursement
        (``contract.is_line_reference``), an account of another shape or type, not JSON - is read
        and applied as :meth:`apply` reads it. The outcome is the same either way
        (tests/unit/audit/test_rebuild_lines.py), with one exception: bytes that are not UTF-8
        inside a member of ``data`` this path does not declare (``amount``, ``on`` …) are skipped
        unread here, where :meth:`apply`'s reader refuses the line (the chain check reports it)."""
        try:
            event = _decode_posting_event(line)
        except msgspec.MsgspecError:
            event = None
        if event is None or event.type not in _SINGLE_POSTING_TYPES or is_line_reference(
                event.data.operation, event.data.reference, event.data.to.reference):
            self.apply(_read_members(line))
            return
        self.events += 1
        data, reader = event.data, self.reader
        src, dst = data.from_, data.to
        try:  # PostingReader.posting from the typed fields, in its order
            posting = Posting(data.posting_id,
                              reader.known_key((src.division, src.role, src.channel, src.fiscal_year, src.kind),
                                               src.reference),
                              reader.known_key((dst.division, dst.role, dst.channel, dst.fiscal_year, dst.kind),
                                               dst.reference),
                              data.amount_fen, data.operation, data.document_no, reader.day(data.document_date),
                              data.actor, data.purpose, data.reference)
        except (LedgerError, KeyError, TypeError, ValueError) as error:  # as apply: not even a posting
            self.unreadable.append((event.seq, f"{type(error).__name__}: {error}"))
            return
        self.records.append(PostingRecord(event.seq, event.id, event.time, posting, data.payee, data.project_code))

    def _payment(self, event: Mapping[str, Any]) -> None:
        d = event["data"]
        record = self.payments.get(event["subject"])
        if record is None:
            if d.get("state") != "instructed":
                return  # a step of an instruction whose making is not in the log: the chain check's concern
            record = self.payments[event["subject"]] = PaymentRecord(
                id=d["id"], division=d.get("division", ""), posting_id=d["posting_id"], amount_fen=d["amount_fen"],
                state="instructed", seq=event["seq"], recorded=event["time"], state_seq=event["seq"])
            return
        record.state, record.state_seq = d["state"], event["seq"]
        if d.get("returned_posting"):
            record.returned_posting = d["returned_posting"]

    def result(self) -> FundsRebuilt:
        ledger, refused = replay(self.records)
        explained: dict[AccountKey, int] = {}  # an AccountKey keeps its hash: cheap dict keys
        refused_ids = {id(r) for r, _, _ in refused}
        for record in self.records:
            if not refused_ids or id(record) not in refused_ids:
                posting = record.posting
                explained[posting.from_] = explained[posting.to] = record.seq
        return FundsRebuilt(ledger.balances.copy(), explained, self.records, refused, self.deadlines,
                            self.unreadable, self.events, self.payments, self.reconciliations, self.unreadable_events)


def replay(records: list[PostingRecord]) -> tuple[Ledger, list[tuple[PostingRecord, str, str]]]:
    """``Ledger.apply_all`` over every posting; one the domain refuses is set aside with its
    reason and the replay goes on after it (``apply_all`` is all-or-nothing, so the postings
    before a refused one are applied again without it)."""
    ledger, refused, start = Ledger(), [], 0
    postings = [r.posting for r in records]
    while start < len(postings):
        try:
            ledger = ledger.apply_all(postings[start:])
            break
        except LedgerError as error:
            index = start + error.extensions.get("index", 0)
            ledger = ledger.apply_all(postings[start:index])
            refused.append((records[index], getattr(error, "code", type(error).__name__), str(error)))
            start = index + 1
    return ledger, refused


_read_members = members_reader(FundsRebuild.members)
