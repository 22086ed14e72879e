"""Deadline records: set when an allocation is received, then marked met or missed on the clock
(events ``funds.deadline.met`` / ``.missed``; a missed one later settled: ``.settled_late``), or
withdrawn while open when the allocation is reversed (``.withdrawn``).

When is a deadline met? Receipts into an account and the money leaving it are matched first in,
first out: the deadline set by a receipt is met on the day the relevant outflow from the receiver
— onward allocation (预算法 Art. 52), commitment to projects, or spending and returning (stranded
funds) — has covered every receipt up to and including that one.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Mapping

import uuid6
from sqlalchemy import and_, func, or_, select, update

from services.funds.contract import DEADLINE_SET, DEADLINE_TRANSITIONS
from services.funds.domain import Deadline, DeadlineError, deadlines_for_receipt, evaluate
from services.funds.domain.code_lists import label
from services.funds.models import accounts, deadlines, postings
from shared.auth import SYSTEM
from shared.divisions import NATIONAL, Level, level
from shared.events import NewEvent, append
from shared.events.worker import Worker
from shared.logging import get_logger
from shared.policy.citations import public_citation

log = get_logger("fupin.funds.deadlines")

#: deadline kind → (operations that meet it, kinds of the receiver's accounts they leave from)
OUTFLOW = {
    "onward_allocation": (("allocate",), ("available",)),
    "onto_projects": (("commit",), ("available", "pool")),
    # the usage plan (用款计划) is shown by the money put into the integration pool or onto projects
    "usage_plan": (("integrate", "commit"), ("available",)),
    # money must reach payees (or the level below, for a city) or go back by the end of the next year
    "stranded_return": (("allocate", "disburse", "return"), ("available", "committed", "stranded")),
}


async def set_for_receipt(session, policy, *, event: dict[str, Any], sender: str, advance: bool,
                          budget_approved_on: date | None = None, provincial_approval: bool = False,
                          ) -> list[dict[str, Any]]:
    """The deadlines money received (an allocation, or a province's appropriation of its own funds:
    ``sender`` = the receiver) sets on its receiver, recorded with their events. Money from the
    central level dates the central allocation, money from a province the provincial one (so a
    county gets its usage-plan deadline, and a province its own funds' onward deadline);
    ``provincial_approval``: the money is for a project needing provincial approval (the exemption
    of seed 004 L27 where a rule names it)."""
    data = event["data"]
    receiver, received_on = data["to"]["division"], date.fromisoformat(data["document_date"])
    from_province = sender != NATIONAL and level(sender) is Level.PROVINCE
    try:
        found = deadlines_for_receipt(
            policy, receiver_division=receiver, channel=data["to"]["channel"], received_on=received_on,
            advance=advance, fiscal_year=data["to"]["fiscal_year"],
            central_allocated_on=received_on if sender == NATIONAL else None,
            provincial_allocated_on=received_on if from_province else None,
            budget_approved_on=budget_approved_on, provincial_approval=provincial_approval)
    except DeadlineError as exc:  # a rule needs a date this receipt does not give
        log.warning("deadline not set", receiver=receiver, reason=str(exc))
        return []
    rows = [{"id": str(uuid6.uuid7()), "receiver": receiver, "channel": d.channel, "fiscal_year": d.fiscal_year,
             "kind": d.kind, "due": d.due, "rule_id": d.rule_id, "citation": d.citation, "title": d.title,
             "basis_seq": event["seq"], "basis_on": received_on, "amount_fen": data["amount_fen"], "state": "open",
             "exempt": d.exempt} for d in found]
    if rows:
        await session.execute(deadlines.insert(), rows)
        await append(session, [NewEvent(DEADLINE_SET, row["id"], {
            **{k: v for k, v in row.items() if k not in ("due", "basis_on")},
            "due": row["due"].isoformat() if row["due"] else None, "basis_on": received_on.isoformat()},
            SYSTEM.actor()) for row in rows])
    return rows


def _domain(row) -> Deadline:
    return Deadline(kind=row["kind"], due=row["due"], rule_id=row["rule_id"], citation=row["citation"], title=row["title"],
                    receiver_division=row["receiver"], channel=row["channel"], fiscal_year=row["fiscal_year"],
                    basis="receipt", basis_on=row["basis_on"])


async def _met_on(session, row) -> date | None:
    """The day the outflow from the receiver covered all receipts up to this deadline's (FIFO)."""
    own = and_(accounts.c.division == row["receiver"], accounts.c.channel == row["channel"],
               accounts.c.fiscal_year == row["fiscal_year"])
    received = int(await session.scalar(
        select(func.coalesce(func.sum(postings.c.amount_fen), 0))
        .select_from(postings.join(accounts, accounts.c.id == postings.c.to_account))
        .where(own, accounts.c.kind == "available", postings.c.operation.in_(["allocate", "reallocate", "appropriate"]),
               postings.c.event_seq <= row["basis_seq"])))
    operations, kinds = OUTFLOW[row["kind"]]
    out = (await session.execute(
        select(postings.c.amount_fen, postings.c.document_date).join(accounts, accounts.c.id == postings.c.from_account)
        .where(own, accounts.c.kind.in_(kinds), postings.c.operation.in_(operations)).order_by(postings.c.event_seq))).all()
    running = 0
    for amount, on in out:
        running += amount
        if running >= received:
            return on
    return None


async def evaluate_open(session, today: date) -> list[dict[str, Any]]:
    """Mark the open deadlines that are now met or missed, and record the day a missed one was
    finally settled (late); each transition is an event."""
    changed = []
    rows = (await session.execute(
        select(deadlines).where(or_(deadlines.c.state == "open",
                                    and_(deadlines.c.state == "missed", deadlines.c.settled_on.is_(None))))
        .order_by(deadlines.c.basis_seq).with_for_update(skip_locked=True))).mappings().all()
    for row in rows:
        met_on = await _met_on(session, row)
        if row["state"] == "missed":
            if met_on is not None:
                await _transition(session, row, "settled_late", met_on, days_overdue=(met_on - row["due"]).days)
                changed.append({"id": str(row["id"]), "state": "settled_late"})
            continue
        status = evaluate(_domain(row), met_on, today)
        if status == "open":
            continue
        await _transition(session, row, str(status), met_on, days_overdue=status.days_overdue)
        changed.append({"id": str(row["id"]), "state": str(status)})
    return changed


async def _transition(session, row, event_name: str, met_on: date | None, *, days_overdue: int | None,
                      actor: Mapping[str, Any] | None = None, **extra: Any) -> None:
    state = "missed" if event_name == "settled_late" else event_name
    await session.execute(update(deadlines).where(deadlines.c.id == row["id"]).values(state=state, settled_on=met_on))
    await append(session, [NewEvent(DEADLINE_TRANSITIONS[event_name], str(row["id"]), {
        "kind": row["kind"], "receiver": row["receiver"], "due": row["due"] and row["due"].isoformat(),
        "met_on": met_on and met_on.isoformat(), "days_overdue": days_overdue, "rule_id": row["rule_id"],
        "citation": row["citation"], **extra}, actor or SYSTEM.actor())])


async def withdraw_set_by(session, *, basis_seq: int, receiver: str, channel: str, fiscal_year: int,
                          reversal: Mapping[str, Any], reason: str, actor: Mapping[str, Any]) -> list[str]:
    """The open deadlines a receipt set on ``receiver`` (its event ``basis_seq``), withdrawn because
    the receipt was reversed (冲正): ``reversal`` is the reversal's event. Each is an event citing the
    reversal; the scheduler then never marks them met or missed and the compliance figures do not
    count them. A deadline already met or missed stays as recorded (it was judged while the money
    was there). Returns the withdrawn deadlines' ids."""
    rows = (await session.execute(select(deadlines).where(
        deadlines.c.basis_seq == basis_seq, deadlines.c.receiver == receiver, deadlines.c.channel == channel,
        deadlines.c.fiscal_year == fiscal_year, deadlines.c.state == "open")
        .order_by(deadlines.c.id).with_for_update())).mappings().all()
    data = reversal["data"]
    for row in rows:
        await _transition(session, row, "withdrawn", None, days_overdue=None, actor=actor,
                          reversed_posting_id=data["reverses"], reversal_posting_id=data["posting_id"],
                          reversal_seq=reversal["seq"], document_no=data["document_no"], reason=reason)
    return [str(row["id"]) for row in rows]


class DeadlineScheduler(Worker):
    """On the service's clock: declares stranded the commitments not reaching households in time
    (:func:`~services.funds.usecases.stranded.strand_not_reaching`, when given the policy), then
    marks the deadlines met or missed."""

    def __init__(self, sessionmaker, clock, every_seconds: float, policy=None):
        super().__init__()
        self.name = "funds-deadlines"
        self.sessionmaker, self.clock, self.every, self.policy = sessionmaker, clock, every_seconds, policy

    async def tick(self) -> list[dict[str, Any]]:
        async with self.sessionmaker() as session, session.begin():
            return await evaluate_open(session, self.clock.today())

    async def strand_tick(self) -> list[dict[str, Any]]:
        from services.funds.usecases.stranded import strand_not_reaching  # it posts through the ledger use case

        if self.policy is None:
            return []
        async with self.sessionmaker() as session, session.begin():
            return await strand_not_reaching(session, self.policy, self.clock.today(), self.clock.now())

    async def session(self) -> None:
        while not self._stopping:
            await self.strand_tick()
            await self.tick()
            await asyncio.sleep(self.every)


async def as_of(session, rows, today: date) -> list[dict[str, Any]]:
    """The deadline rows as they stand on ``today`` (the service's clock), without waiting for the
    scheduler: an open one is met if the money has gone on (read from the postings now), missed
    if its due day has passed. Settled records are shown as recorded. ``recorded_state`` and
    ``recorded_settled_on`` keep what the scheduler has recorded (its events; the audit compares
    those). Nothing is written."""
    out = []
    for row in rows:
        row = dict(row)
        row["recorded_state"], row["recorded_settled_on"] = row["state"], row.get("settled_on")
        if row["state"] == "open":
            met_on = await _met_on(session, row)
            status = evaluate(_domain(row), met_on, today)
            row["state"] = str(status)
            if status != "open":
                row["settled_on"] = met_on
        out.append(row)
    return out


def view(row, today: date) -> dict[str, Any]:
    """A deadline as listed: days remaining while open, days overdue once missed."""
    remaining = overdue = None
    settled_on = row.get("settled_on")
    if row["state"] == "open":
        status = evaluate(_domain(row), None, today)
        remaining, overdue = status.days_remaining, status.days_overdue
    elif row["state"] == "missed" and row["due"]:
        overdue = ((settled_on or today) - row["due"]).days
    return {"id": str(row["id"]), "receiver": row["receiver"], "channel": row["channel"],
            "channel_label": label("channel", row["channel"]), "fiscal_year": row["fiscal_year"],
            "kind": row["kind"], "kind_label": label("deadline_kind", row["kind"]),
            "due": row["due"] and row["due"].isoformat(), "state": row["state"],
            "state_label": label("deadline_state", row["state"]),
            "settled_on": settled_on and settled_on.isoformat(), "days_remaining": remaining,
            "days_overdue": overdue, "amount_fen": row["amount_fen"], "rule_id": row["rule_id"],
            "citation": public_citation(row["citation"]), "title": row["title"], "exempt": row.get("exempt"),
            **({"recorded_state": row["recorded_state"], "recorded_settled_on": _iso(row["recorded_settled_on"])}
               if "recorded_state" in row else {})}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
