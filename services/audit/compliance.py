"""Compliance, pure: the rules an auditor checks on what the events rebuilt, as of a date, with
the policy in force then. Every :class:`Finding` names its rule id in ``shared/policy/rules.yaml``
and that rule's citation, the division it concerns, and the event (service and seq) it rests on.

=========================================== ========================================================
check                                       rule ids
=========================================== ========================================================
allocations past their deadline              the deadline record's own rule (``funds.deadline.*``,
                                            ``funds.stranded.return``), judged by the funds
                                            domain's ``evaluate`` as of the date
money committed outside the library          ``project.funding.library_required``
disbursement beyond commitment               ``funds.disbursement.within_commitment``
beneficiaries not registered                 ``project.beneficiaries.registered_only``
stranded funds not returned in time          ``funds.stranded.return``
negative-list and unknown purposes           ``funds.use.negative_list``, ``funds.use.declared_purpose``
                                            (funds ``check_purpose``)
management fee over the cap                  ``funds.use.project_management_fee_cap``
                                            (funds ``management_fee_ok``)
registrations / exits without a passed       ``household.identification.announced``,
announcement                                 ``household.exit.announced``
households without a helper / a measure      ``household.helper.required``,
                                            ``household.assistance.min_measures``
grievances not accepted / answered in time   ``grievance.handling`` (the registry's ``overdue``,
                                            read through ``services.registry.contract``)
payment instructions without their          ``funds.payment.instruction_matches_posting``
disbursement, refused money not returned     ``funds.payment.refused_returned``
reconciliations with differences             ``funds.payment.reconciled``
=========================================== ========================================================

The inputs are the state rebuilt from the events recorded up to the end of the as-of date (the
caller replays with that cutoff), so a later event never excuses an earlier breach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator

from services.audit.rebuild import Rebuilt
from services.audit.rebuild.funds import DeadlineRecord, FundsRebuilt
from services.audit.rebuild.projects import ProjectsRebuilt
from services.audit.rebuild.registry import RegistryRebuilt
from services.funds.contract import (
    Deadline,
    NegativeListPurpose,
    UnknownPurpose,
    check_purpose,
    evaluate,
    management_fee_ok,
)
from services.registry.contract import ON_ROLL
from shared import divisions
from shared.divisions import Level
from shared.money import format_fen
from shared.policy.citations import public_citation
from shared.policy import NoRuleError, PolicyTable

#: The purpose code of a project-management fee commitment (services/funds/usecases/commitments.py).
MANAGEMENT_FEE = "project_management_fee"
#: Statuses of a 建档立卡 household that may benefit: on the roll, or exited (policies continue).
BENEFICIARY_STATUSES = ON_ROLL | {"exited"}

LIBRARY_RULE = "project.funding.library_required"
PURPOSE_RULE = "funds.use.declared_purpose"
COMMITMENT_RULE = "funds.disbursement.within_commitment"
BENEFICIARY_RULE = "project.beneficiaries.registered_only"
STRANDED_RULE = "funds.stranded.return"
HELPER_RULE = "household.helper.required"
MEASURES_RULE = "household.assistance.min_measures"
INSTRUCTION_RULE = "funds.payment.instruction_matches_posting"
REFUSED_RULE = "funds.payment.refused_returned"
RECONCILED_RULE = "funds.payment.reconciled"
ANNOUNCED_RULES = {"identification": "household.identification.announced", "exit": "household.exit.announced"}


@dataclass(frozen=True)
class Finding:
    rule_id: str
    citation: str
    title: str
    division: str
    subject: str
    as_of: str
    detail: str
    source: str  # the service whose event the finding rests on
    seq: int | None
    amount_fen: int | None = None

    def as_dict(self) -> dict[str, Any]:
        # the report is read by people: the rule's document by name, never an internal reference
        return {"rule_id": self.rule_id, "citation": public_citation(self.citation), "title": self.title,
                "division": self.division,
                "subject": self.subject, "as_of": self.as_of, "detail": self.detail, "source": self.source,
                "seq": self.seq, "amount": None if self.amount_fen is None else format_fen(self.amount_fen)}


class _Checker:
    def __init__(self, policy: PolicyTable, as_of: date):
        self.policy, self.as_of = policy, as_of

    def finding(self, rule_id: str, division: str, on: date, *, subject: str, detail: str, source: str,
                seq: int | None, amount_fen: int | None = None, citation: str | None = None) -> Finding | None:
        """A finding under the rule in force for ``division`` on ``on``; None when no rule applies then."""
        try:
            rule = self.policy.lookup(rule_id, division, on)
        except NoRuleError:
            return None
        return Finding(rule_id, citation or rule.citation, rule.title, division, subject, self.as_of.isoformat(),
                       detail, source, seq, amount_fen)


def check(rebuilt: Rebuilt, policy: PolicyTable, as_of: date, division: str = "") -> list[Finding]:
    """Every finding as of ``as_of`` under the division prefix (``""``: national)."""
    checker = _Checker(policy, as_of)
    found: list[Finding | None] = []
    if rebuilt.funds is not None:
        found += deadlines_missed(checker, rebuilt.funds)
        found += committed_outside_library(checker, rebuilt.funds, rebuilt.projects)
        found += disbursed_beyond_commitment(checker, rebuilt.funds)
        found += stranded_not_returned(checker, rebuilt.funds)
        found += negative_list_purposes(checker, rebuilt.funds)
        found += management_fee_over_cap(checker, rebuilt.funds)
        found += payments_unaccounted(checker, rebuilt.funds)
    if rebuilt.registry is not None:
        found += beneficiaries_not_registered(checker, rebuilt.funds, rebuilt.projects, rebuilt.registry)
        found += steps_without_passed_notice(checker, rebuilt.registry)
        found += households_without_assistance(checker, rebuilt.registry)
        found += grievances_overdue(checker, rebuilt.registry)
    return sorted((f for f in found if f is not None and f.division.startswith(division)),
                  key=lambda f: (f.rule_id, f.division, f.source, f.seq or 0, f.subject))


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


# -- funds ----------------------------------------------------------------------------------------

def deadlines_missed(c: _Checker, funds: FundsRebuilt) -> Iterator[Finding | None]:
    for record in funds.deadlines.values():
        if record.state == "withdrawn":  # its allocation was reversed (冲正): no obligation left
            continue
        status = evaluate(_deadline(record), _day(record.met_on), c.as_of)
        if status != "missed":
            continue
        due = record.due or "—"
        met = f"met on {record.met_on}" if record.met_on else "not met"
        yield Finding(record.rule_id, record.citation, record.title, record.receiver, f"deadline {record.id} ({record.kind})",
                      c.as_of.isoformat(), f"{record.kind} due {due}, {met}: {status.days_overdue} days overdue; "
                      f"set by the receipt at funds seq {record.basis_seq}", "funds", record.set_seq, record.amount_fen)


def _deadline(record: DeadlineRecord) -> Deadline:
    return Deadline(kind=record.kind, due=_day(record.due), rule_id=record.rule_id, citation=record.citation,
                    title=record.title, receiver_division=record.receiver, channel=record.channel,
                    fiscal_year=record.fiscal_year, basis="receipt", basis_on=_day(record.basis_on))


def committed_outside_library(c: _Checker, funds: FundsRebuilt, projects: ProjectsRebuilt | None) -> Iterator[Finding | None]:
    known = projects.projects if projects is not None else {}
    for record in funds.postings:
        p = record.posting
        if p.operation != "commit":
            continue
        project = known.get(p.to.reference)
        if project is not None and project.fundable_at(record.recorded):
            continue
        if project is None:
            why = "the project is not in the audited project library"
        elif project.cancelled is not None and project.cancelled <= record.recorded:
            why = f"the project was cancelled (projects seq {project.cancelled_seq}) before"
        elif project.entered_library is None or project.entered_library > record.recorded:
            why = "the project had not entered the library (publicity not passed) at the time"
        else:
            why = "the project entered the library without its publicity passed"
        yield c.finding(LIBRARY_RULE, p.from_.division, p.document_date, subject=f"project {p.to.reference}",
                        detail=f"{format_fen(p.amount_fen)} yuan committed: {why}", source="funds", seq=record.seq,
                        amount_fen=p.amount_fen)


def disbursed_beyond_commitment(c: _Checker, funds: FundsRebuilt) -> Iterator[Finding | None]:
    for record, code, reason in funds.refused:
        p = record.posting
        if p.operation == "disburse" and code == "insufficient_funds":
            yield c.finding(COMMITMENT_RULE, p.from_.division, p.document_date, subject=f"project {p.from_.reference}",
                            detail=f"{format_fen(p.amount_fen)} yuan disbursed to {p.to.reference} beyond what was "
                            f"committed: {reason}", source="funds", seq=record.seq, amount_fen=p.amount_fen)


def stranded_not_returned(c: _Checker, funds: FundsRebuilt) -> Iterator[Finding | None]:
    """Money in a stranded account at the end of the fiscal year after its own (the rule's
    ``within: next_fiscal_year``) — late even if returned afterwards."""
    moves: dict[Any, list[tuple[date, int, int]]] = {}
    for record in funds.postings:
        p = record.posting
        for key, sign in ((p.to, 1), (p.from_, -1)):
            if key.kind == "stranded":
                moves.setdefault(key, []).append((p.document_date, sign * p.amount_fen, record.seq))
    for key, entries in moves.items():
        try:
            rule = c.policy.lookup(STRANDED_RULE, key.division, date(key.fiscal_year + 1, 12, 31))
        except NoRuleError:
            continue
        if rule.value.get("within") != "next_fiscal_year":
            continue
        cutoff = date(key.fiscal_year + 1, 12, 31)
        if c.as_of <= cutoff:
            continue
        left = sum(amount for day, amount, _ in entries if day <= cutoff)
        if left > 0:
            first = min(seq for _, amount, seq in entries if amount > 0)
            yield c.finding(STRANDED_RULE, key.division, cutoff, subject=f"stranded {key.reference or key.channel}",
                            detail=f"{format_fen(left)} yuan of fiscal year {key.fiscal_year} ({key.channel}) still "
                            f"stranded at {cutoff.isoformat()}, not returned to the province", source="funds",
                            seq=first, amount_fen=left)


def negative_list_purposes(c: _Checker, funds: FundsRebuilt) -> Iterator[Finding | None]:
    """Every posting whose purpose is on the negative list, or is no code of the purpose list
    (recorded before the list was closed, or written past the API)."""
    for record in funds.postings:
        p = record.posting
        if p.purpose is None:
            continue
        try:
            check_purpose(c.policy, p.from_.division, p.document_date, p.purpose)
        except UnknownPurpose:
            yield c.finding(PURPOSE_RULE, p.from_.division, p.document_date, subject=f"{p.operation} {p.to.reference or p.to}",
                            detail=f"{format_fen(p.amount_fen)} yuan for the unknown purpose {p.purpose!r}",
                            source="funds", seq=record.seq, amount_fen=p.amount_fen)
        except NegativeListPurpose as breach:
            rule, label = breach.extensions["rule"], breach.extensions["label"]
            yield c.finding(rule, p.from_.division, p.document_date, subject=f"{p.operation} {p.to.reference or p.to}",
                            detail=f"{format_fen(p.amount_fen)} yuan for “{label}” ({p.purpose})", source="funds",
                            seq=record.seq, amount_fen=p.amount_fen, citation=breach.extensions["citation"])


def management_fee_over_cap(c: _Checker, funds: FundsRebuilt) -> Iterator[Finding | None]:
    """Each fee commitment judged as the funds service judges it: the county's fees of the year so
    far plus this one against the cap of what the county had received by then."""
    received: dict[tuple[str, int], int] = {}
    fees: dict[tuple[str, int], int] = {}
    refused = {id(r) for r, _, _ in funds.refused}
    for record in funds.postings:
        p = record.posting
        if id(record) in refused:
            continue
        if p.operation in ("allocate", "reallocate") and p.to.kind == "available":
            account = (p.to.division, p.to.fiscal_year)
            received[account] = received.get(account, 0) + p.amount_fen
        elif p.operation == "commit" and p.purpose == MANAGEMENT_FEE and divisions.level(p.from_.division) is Level.COUNTY:
            account = (p.from_.division, p.from_.fiscal_year)
            so_far = fees.get(account, 0)
            fees[account] = so_far + p.amount_fen
            try:
                ok, cap, citation = management_fee_ok(c.policy, p.from_.division, p.document_date,
                                                      received.get(account, 0), so_far, p.amount_fen)
            except NoRuleError:
                continue
            if not ok:
                yield c.finding("funds.use.project_management_fee_cap", p.from_.division, p.document_date,
                                subject=f"project {p.to.reference}", detail=f"management fees of {p.from_.fiscal_year} "
                                f"reach {format_fen(so_far + p.amount_fen)} yuan, over the cap of {format_fen(cap)} yuan "
                                f"on {format_fen(received.get(account, 0))} yuan received", source="funds", seq=record.seq,
                                amount_fen=p.amount_fen, citation=citation)


# -- across services ------------------------------------------------------------------------------

def payments_unaccounted(c: _Checker, funds: FundsRebuilt) -> Iterator[Finding | None]:
    """Money that left the system, checked against the ledger: each payment instruction pays one
    recorded disbursement of its amount; each refused one's money came back (a ``payment_return``
    posting citing the disbursement); each reconciliation that found differences is one finding."""
    paid = {r.posting.posting_id: r.posting for r in funds.postings if r.posting.operation == "disburse"}
    returned = {r.posting.reference for r in funds.postings if r.posting.operation == "payment_return"}
    for record in funds.payments.values():
        on = _day(record.recorded[:10]) or c.as_of
        posting = paid.get(record.posting_id)
        if posting is None or posting.amount_fen != record.amount_fen:
            why = "no such disbursement" if posting is None else f"the disbursement is {format_fen(posting.amount_fen)} yuan"
            yield c.finding(INSTRUCTION_RULE, record.division, on, subject=f"instruction {record.id}",
                            detail=f"{format_fen(record.amount_fen)} yuan instructed for posting {record.posting_id}: {why}",
                            source="funds", seq=record.seq, amount_fen=record.amount_fen)
        if record.state in ("refused", "reissued") and record.posting_id not in returned:
            yield c.finding(REFUSED_RULE, record.division, on, subject=f"instruction {record.id}",
                            detail=f"{format_fen(record.amount_fen)} yuan refused by the bank and not returned to the "
                            "project by a payment_return posting", source="funds", seq=record.state_seq,
                            amount_fen=record.amount_fen)
    for reconciliation in funds.reconciliations:
        differences = reconciliation.get("differences") or []
        if differences:
            kinds = ", ".join(sorted({d["kind"] for d in differences}))
            yield c.finding(RECONCILED_RULE, reconciliation["division"], _day(reconciliation["on"]) or c.as_of,
                            subject=f"专户 {reconciliation.get('account_no', '')} {reconciliation['on']}",
                            detail=f"{len(differences)} difference(s) between the ledger and the bank statement "
                            f"({kinds})", source="funds", seq=reconciliation["seq"])


def beneficiaries_not_registered(c: _Checker, funds: FundsRebuilt | None, projects: ProjectsRebuilt | None,
                                 registry: RegistryRebuilt) -> Iterator[Finding | None]:
    """Households paid by funds or named by projects must be 建档立卡 (not removed) households
    under the paying county or the project's division, at the time."""
    claims: list[tuple[str, str, str, int, str, date, str]] = []  # (household, where, source, seq, recorded, on, what)
    if funds is not None:
        for record in funds.postings:
            payee = record.payee or {}
            if record.posting.operation == "disburse" and payee.get("kind") == "household":
                claims.append((str(payee.get("household_id")), record.posting.from_.division, "funds", record.seq,
                               record.recorded, record.posting.document_date,
                               f"{format_fen(record.posting.amount_fen)} yuan paid"))
    if projects is not None:
        for b in projects.beneficiaries:
            project = projects.projects.get(b.project_code or "")
            where = b.division or (project.division if project else "") or ""
            claims.append((b.household_id, where, "projects", b.seq, b.recorded, _day(b.recorded),
                           f"named by {b.type} of project {b.project_code}"))
    for household_id, where, source, seq, recorded, on, what in claims:
        household = registry.households.get(household_id)
        status = household.status_at(recorded) if household is not None else None
        if household is None:
            why = "no such household in the registry's log"
        elif status not in BENEFICIARY_STATUSES:
            why = f"household {household.number} was {status or 'not yet proposed'} at the time"
        elif where and not divisions.within(household.division, where):
            why = f"household {household.number} ({household.division}) is outside {where}"
        else:
            continue
        subject = f"household {household.number}" if household is not None else f"household id {household_id}"
        yield c.finding(BENEFICIARY_RULE, where or (household.division if household else divisions.NATIONAL), on, subject=subject,
                        detail=f"{what}: {why}",
                        source=source, seq=seq)


# -- registry -------------------------------------------------------------------------------------

def steps_without_passed_notice(c: _Checker, registry: RegistryRebuilt) -> Iterator[Finding | None]:
    """Each decision that needs a notice passed (两公示一公告, the exit notices) had it passed —
    closed without an open or upheld objection — before it was taken."""
    for step in registry.steps:
        household = registry.households[step.household_id]
        notice = registry.announcements.get(step.announcement_id or "")
        if notice and notice.get("outcome") == "passed" and (notice.get("closed_seq") or 0) < step.seq:
            continue
        if notice is None:
            why = f"no {step.notice} notice was posted"
        elif notice.get("outcome") is None or (notice.get("closed_seq") or 0) > step.seq:
            why = f"its {step.notice} notice {step.announcement_id} had not closed yet"
        else:
            why = f"its {step.notice} notice {step.announcement_id} closed {notice['outcome']}"
        rule = ANNOUNCED_RULES[step.notice.split(".", 1)[0]]
        yield c.finding(rule, household.division, _day(step.recorded), subject=f"household {household.number}",
                        detail=f"step {step.action} taken although {why}", source="registry", seq=step.seq)


def households_without_assistance(c: _Checker, registry: RegistryRebuilt) -> Iterator[Finding | None]:
    """On-roll households without their 帮扶责任人 or without the minimum of measures (DOMAIN §8:
    both must be zero) — the registry's own missing-assistance report, rebuilt."""
    for household in sorted(registry.on_roll(), key=lambda h: h.number):
        if not household.has_helper:
            yield c.finding(HELPER_RULE, household.division, c.as_of, subject=f"household {household.number}",
                            detail="no 帮扶责任人 assigned", source="registry", seq=household.last_seq)
        try:
            minimum = c.policy.value(MEASURES_RULE, household.division, c.as_of).get("min", 1)
        except NoRuleError:
            continue
        if household.measures < minimum:
            yield c.finding(MEASURES_RULE, household.division, c.as_of, subject=f"household {household.number}",
                            detail=f"{household.measures} assistance measure(s), at least {minimum} required",
                            source="registry", seq=household.last_seq)


def grievances_overdue(c: _Checker, registry: RegistryRebuilt) -> Iterator[Finding | None]:
    """Grievances not accepted or not answered by the due dates fixed at receipt (the rule and
    citation they were received under)."""
    for record in sorted(registry.grievances.values(), key=lambda g: (g.received_on, g.receipt)):
        late = record.late(c.as_of)
        if late:
            due = record.due.answer_by if "answer" in late else record.due.accept_by
            yield c.finding(record.rule_id, record.division, record.received_on, subject=f"grievance {record.receipt}",
                            detail=f"{' and '.join('not ' + ('accepted' if x == 'accept' else 'answered') for x in late)}"
                            f" by {due.isoformat()} (status {record.status})", source="registry",
                            seq=record.last_seq, citation=record.citation)
