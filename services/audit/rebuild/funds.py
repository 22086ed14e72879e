"""The funds ledger rebuilt from the funds service's events alone, with the funds domain's own
``Ledger`` (ARCHITECTURE.md rule 6): every posting read through ``contract.postings_of``, replayed
with ``Ledger.apply_all`` — which judges each posting exactly as the service did (kinds, holders,
channel and year kept, no overdraft).

A posting the ledger refuses is not applied and is kept with the domain's reason: the service
should never have recorded it (a disbursement beyond its commitment, say), so it is a finding,
not a crash. What compliance needs besides balances — each posting with its event's seq, date and
extras (payee, project), and the deadline records — is kept in plain tuples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from services.funds.contract import postings_of
from services.funds.domain import AccountKey, Ledger, LedgerError, Posting

SERVICE = "funds"


@dataclass(frozen=True)
class PostingRecord:
    """A posting as the audit keeps it: the domain's Posting and where it came from."""

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
    settled: str | None = None  # met | missed, from the service's scheduler events
    settled_seq: int | None = None
    settled_recorded: str | None = None


@dataclass
class FundsRebuilt:
    balances: dict[AccountKey, int]
    explained_by: dict[AccountKey, int]  # account → seq of the last posting that moved it
    postings: list[PostingRecord]
    refused: list[tuple[PostingRecord, str, str]]  # (posting, domain error code, reason)
    deadlines: dict[str, DeadlineRecord]
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (seq, why) of unreadable postings
    events: int = 0

    def summary(self) -> dict[str, Any]:
        return {"postings": len(self.postings), "refused": len(self.refused),
                "unreadable": len(self.unreadable), "accounts": len(self.balances), "deadlines": len(self.deadlines),
                "total_fen": sum(self.balances.values())}


class PostingReader:
    """``Posting.from_dict`` with each distinct account key built once.

    ``from_dict`` validates both keys of every posting (division normalisation, level, channel),
    which is most of a million-posting replay; keys repeat, so each is built once by the domain's
    own ``AccountKey`` and reused. A unit test holds this equal to ``Posting.from_dict``.
    """

    def __init__(self) -> None:
        self.keys: dict[tuple, AccountKey] = {}

    def key(self, data: Mapping[str, Any]) -> AccountKey:
        marker = tuple(data.items())  # keys included: the same key written in another order is only a miss
        found = self.keys.get(marker)
        if found is None:
            found = self.keys[marker] = AccountKey(**data)
        return found

    def posting(self, data: Mapping[str, Any]) -> Posting:
        doc_date = data["document_date"]
        return Posting(posting_id=data["posting_id"], from_=self.key(data["from"]), to=self.key(data["to"]),
                       amount_fen=data["amount_fen"], operation=data["operation"], document_no=data["document_no"],
                       document_date=date.fromisoformat(doc_date) if isinstance(doc_date, str) else doc_date,
                       actor=data["actor"], purpose=data.get("purpose"), reference=data.get("reference"))


class FundsRebuild:
    service = SERVICE

    def __init__(self) -> None:
        self.reader = PostingReader()
        self.records: list[PostingRecord] = []
        self.deadlines: dict[str, DeadlineRecord] = {}
        self.unreadable: list[tuple[int, str]] = []
        self.events = 0

    def apply(self, event: Mapping[str, Any]) -> None:
        self.events += 1
        for data in postings_of(event):
            try:
                posting = self.reader.posting(data)
            except (LedgerError, KeyError, TypeError, ValueError) as error:  # not even a posting
                self.unreadable.append((event["seq"], f"{type(error).__name__}: {error}"))
                continue
            self.records.append(PostingRecord(event["seq"], event["id"], event["time"], posting,
                                              data.get("payee"), data.get("project_code")))
        kind = event["type"]
        if kind == "funds.deadline.set":
            d = event["data"]
            self.deadlines[d["id"]] = DeadlineRecord(
                id=d["id"], receiver=d["receiver"], kind=d["kind"], due=d.get("due"), rule_id=d["rule_id"],
                citation=d["citation"], title=d.get("title", ""), amount_fen=d.get("amount_fen", 0),
                basis_seq=d.get("basis_seq", 0), set_seq=event["seq"], recorded=event["time"],
                channel=d.get("channel", ""), fiscal_year=d.get("fiscal_year", 0), basis_on=d.get("basis_on"))
        elif kind in ("funds.deadline.met", "funds.deadline.missed"):
            record = self.deadlines.get(event["subject"])
            if record is not None:
                record.settled, record.met_on = kind.rsplit(".", 1)[1], event["data"].get("met_on")
                record.settled_seq, record.settled_recorded = event["seq"], event["time"]

    def result(self) -> FundsRebuilt:
        ledger, refused = replay(self.records)
        # by object identity (the reader hands out one AccountKey per account): hashing a key
        # dataclass for every posting costs more than the rest of this loop
        last: dict[int, int] = {}
        refused_ids = {id(r) for r, _, _ in refused}
        for record in self.records:
            if id(record) not in refused_ids:
                last[id(record.posting.from_)] = last[id(record.posting.to)] = record.seq
        explained = {key: last[id(key)] for key in self.reader.keys.values() if id(key) in last}
        return FundsRebuilt(dict(ledger.balances), explained, self.records, refused, self.deadlines,
                            self.unreadable, self.events)


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
