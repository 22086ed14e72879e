"""Deadlines created by receiving money (DOMAIN.md §4 "Deadlines"), computed from the policy table.

:func:`deadlines_for_receipt` returns, for one receipt of funds by a division:

* ``onward_allocation`` - a province or city must pass the money on (下达). The rule is picked by
  the channel's origin: 中央 funds ``funds.deadline.central_onward`` (or
  ``funds.deadline.central_advance_onward`` for 提前下达 advance funds), 省级 funds received by a
  city ``funds.deadline.provincial_onward``. Nationally 预算法 Art. 52: 30 days counted from the
  day after receipt (``add_days(receipt + 1 day, 30)``, i.e. receipt + 30 days); Shanxi 2014
  (seed 004 L27): 2 months from the central allocation, advance funds by 31 March of the budget
  year, provincial funds "the same as central" (a ``same_as`` rule; its ``central_allocation``
  basis then means the provincial allocation date).
* ``onto_projects`` - a county must put the money onto library projects. Only where a rule exists
  (Shanxi: "及时", no number of days: ``due`` is ``None`` - open until met, never missed).
* ``stranded_return`` - money of a division below the province that is stranded must be back at
  the provincial treasury by the end of the next fiscal year (``funds.stranded.return``):
  31 December of ``fiscal_year + 1``.

Rule value shapes (rules.yaml "CONVENTIONS"): ``{days, unit, from}``, ``{months, from}``,
``{by_month_day: "MM-DD", of: budget_year}``, ``{same_as: <rule id>}``, ``{within:
next_fiscal_year}``, and ``{days: null}`` for "promptly". Periods start the day after their basis
event (the law's rule for periods of days and months). A rule that needs a basis date the caller
did not give raises :class:`~.errors.DeadlineError` naming it.

:func:`evaluate` gives a deadline's state on a day: ``open`` / ``met`` / ``missed`` with days
remaining or overdue. Pure: no database, HTTP or Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shared.divisions import DivisionError, Level, level, normalize
from shared.policy import NoRuleError, PolicyTable, Rule, add_months
from shared.policy import deadline as policy_deadline

from .channels import CHANNELS
from .errors import DeadlineError

__all__ = [
    "DEADLINE_KINDS",
    "DEADLINE_STATES",
    "Deadline",
    "DeadlineStatus",
    "budget_year_of",
    "deadlines_for_receipt",
    "evaluate",
]

DEADLINE_KINDS = ("onward_allocation", "onto_projects", "usage_plan", "stranded_return")
DEADLINE_KIND_LABELS = {
    "onward_allocation": "资金下达时限",
    "onto_projects": "资金落实到项目时限",
    "usage_plan": "用款计划报送时限",
    "stranded_return": "滞留资金收回时限",
}
#: ``withdrawn``: its receipt was reversed (冲正) while it was open — never met or missed, not counted
DEADLINE_STATES = ("open", "met", "missed", "withdrawn")
BASES = ("receipt", "budget_approval", "central_allocation", "provincial_allocation")

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Deadline:
    """One deadline record: what must happen (``kind``) by when (``due``; ``None`` = promptly,
    no fixed day), the rule and citation it was computed from, and how (``basis`` event and its
    date). ``value_rule_id`` is the rule whose value was used when ``rule_id`` said ``same_as``."""

    kind: str
    due: date | None
    rule_id: str
    citation: str
    title: str
    receiver_division: str
    channel: str
    fiscal_year: int
    basis: str
    basis_on: date | None
    value_rule_id: str | None = None
    requirement: str | None = None
    exempt: str | None = None  # the rule's exemption that applies (no due day), e.g. 少量须省级审批的项目

    @property
    def label_zh(self) -> str:
        return DEADLINE_KIND_LABELS[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label_zh": self.label_zh,
            "due": self.due.isoformat() if self.due else None,
            "rule_id": self.rule_id,
            "value_rule_id": self.value_rule_id,
            "citation": self.citation,
            "title": self.title,
            "receiver_division": self.receiver_division,
            "channel": self.channel,
            "fiscal_year": self.fiscal_year,
            "basis": self.basis,
            "basis_on": self.basis_on.isoformat() if self.basis_on else None,
            "requirement": self.requirement,
            "exempt": self.exempt,
        }


def budget_year_of(received_on: date, advance: bool) -> int:
    """Default budget year of received money: the receipt year, except advance funds (提前下达,
    notified by the centre before 31 October of the year before, 预算法 Art. 52) received in
    October–December, which belong to the next year."""
    if advance and received_on.month >= 10:
        return received_on.year + 1
    return received_on.year


def deadlines_for_receipt(
    policy: PolicyTable,
    *,
    receiver_division: str,
    channel: str,
    received_on: date,
    advance: bool,
    central_allocated_on: date | None = None,
    fiscal_year: int | None = None,
    budget_approved_on: date | None = None,
    provincial_allocated_on: date | None = None,
    provincial_approval: bool = False,
) -> list[Deadline]:
    """The deadlines that receiving money of ``channel`` on ``received_on`` sets on
    ``receiver_division`` (see the module doc). ``fiscal_year`` defaults to
    :func:`budget_year_of`. Rules are looked up for the receiver on the receipt date; a kind
    without an applicable rule yields no deadline. Ordered: onward, onto projects, usage plan,
    stranded.

    A province "receiving" its own provincial funds (its appropriation) has the onward deadline of
    ``funds.deadline.provincial_onward`` too, like a city receiving them. ``provincial_approval``:
    the money is for one of the "少量须省级审批的项目" a rule's ``exempt`` names (Shanxi 2014, seed
    004 L27): the onward deadline is then recorded as exempt, with no due day. The usage plan
    (``funds.deadline.usage_plan``, 20 working days) is set on a county when the provincial
    allocation date is known (money allocated by the province)."""
    try:
        division = normalize(receiver_division)
    except DivisionError as exc:
        raise DeadlineError(f"收款区划无效: {exc}", code="invalid_division") from None
    if channel not in CHANNELS:
        raise DeadlineError(f"未知资金渠道 {channel!r} (unknown fund channel {channel!r})", code="unknown_channel")
    if not isinstance(received_on, date):
        raise DeadlineError("收款日期无效 (received_on must be a date)", code="invalid_date")
    origin = CHANNELS[channel].origin
    lvl = level(division)
    year = fiscal_year if fiscal_year is not None else budget_year_of(received_on, advance)
    bases: dict[str, date | None] = {
        "receipt": received_on,
        "budget_approval": budget_approved_on,
        "central_allocation": central_allocated_on,
        "provincial_allocation": provincial_allocated_on,
    }
    common = {"receiver_division": division, "channel": channel, "fiscal_year": year}
    out: list[Deadline] = []

    onward_id: str | None = None
    if lvl in (Level.PROVINCE, Level.CITY):
        if origin == "central":
            onward_id = "funds.deadline.central_advance_onward" if advance else "funds.deadline.central_onward"
        elif origin == "provincial":
            onward_id = "funds.deadline.provincial_onward"
    if onward_id is not None:
        rule = _lookup(policy, onward_id, division, received_on)
        if rule is not None:
            out.append(_compute("onward_allocation", rule, policy, division, received_on, bases, year, origin,
                                common, provincial_approval=provincial_approval))

    if lvl is Level.COUNTY:
        rule = _lookup(policy, "funds.deadline.onto_projects", division, received_on)
        if rule is not None:
            out.append(_compute("onto_projects", rule, policy, division, received_on, bases, year, origin, common))
        rule = _lookup(policy, "funds.deadline.usage_plan", division, received_on)
        if rule is not None and provincial_allocated_on is not None:
            out.append(_compute("usage_plan", rule, policy, division, received_on, bases, year, origin, common))

    if lvl not in (Level.CENTRAL, Level.PROVINCE):
        rule = _lookup(policy, "funds.stranded.return", division, received_on)
        if rule is not None:
            out.append(_compute("stranded_return", rule, policy, division, received_on, bases, year, origin,
                                common))
    return out


def _lookup(policy: PolicyTable, rule_id: str, division: str, on: date) -> Rule | None:
    try:
        return policy.lookup(rule_id, division, on)
    except NoRuleError:
        return None


def _resolve(policy: PolicyTable, rule: Rule, division: str, on: date) -> Rule:
    """Follow ``same_as`` references to the rule whose value applies."""
    seen = [rule.id]
    current = rule
    while isinstance(current.value, dict) and "same_as" in current.value:
        target = current.value["same_as"]
        if target in seen:
            raise DeadlineError(
                f"时限规则循环引用 (rule {rule.id} refers back to itself via {' → '.join([*seen, target])})",
                code="rule_cycle",
            )
        seen.append(target)
        try:
            current = policy.lookup(target, division, on)
        except NoRuleError as exc:
            raise DeadlineError(f"时限规则引用的规则不存在 ({exc})", code="rule_missing") from None
    return current


def _compute(
    kind: str,
    rule: Rule,
    policy: PolicyTable,
    division: str,
    received_on: date,
    bases: dict[str, date | None],
    year: int,
    origin: str,
    common: dict[str, Any],
    provincial_approval: bool = False,
) -> Deadline:
    source = _resolve(policy, rule, division, received_on)
    value = source.value
    if not isinstance(value, dict):
        raise DeadlineError(f"时限规则格式无效 (rule {source.id} value must be a mapping)", code="rule_shape")
    exempt = value.get("exempt") or (rule.value.get("exempt") if isinstance(rule.value, dict) else None)
    if provincial_approval and exempt:
        return Deadline(kind=kind, due=None, basis="exempt", basis_on=received_on, exempt=str(exempt),
                        requirement=f"豁免：{exempt}", rule_id=rule.id, citation=rule.citation, title=rule.title,
                        value_rule_id=source.id if source is not rule else None, **common)
    basis = value.get("from", "receipt")
    if origin == "provincial" and basis == "central_allocation" and source is not rule:
        # "省级资金与中央资金下达时限一致": the provincial allocation plays the central one's part.
        basis = "provincial_allocation"
    meta = {
        "rule_id": rule.id,
        "citation": rule.citation,
        "title": rule.title,
        "value_rule_id": source.id if source is not rule else None,
        **common,
    }

    def basis_date() -> date:
        if basis not in bases:
            raise DeadlineError(f"时限规则起算事件未知 (rule {source.id}: unknown basis {basis!r})",
                                code="rule_shape")
        day = bases[basis]
        if day is None:
            raise DeadlineError(
                f"计算{DEADLINE_KIND_LABELS[kind]}需要“{_BASIS_LABELS[basis]}”日期 "
                f"(rule {source.id} counts from {basis}: pass {_BASIS_ARGS[basis]})",
                code="missing_basis", basis=basis, rule=source.id,
            )
        return day

    if "days" in value:
        days = value["days"]
        if days is None:
            return Deadline(kind=kind, due=None, basis=basis, basis_on=bases.get(basis),
                            requirement=value.get("requirement"), **meta)
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise DeadlineError(f"时限规则天数无效 (rule {source.id}: days must be a positive int)", code="rule_shape")
        unit = value.get("unit", "calendar")
        start = basis_date() + _ONE_DAY
        due = policy_deadline(policy, start, days, unit, division)
        return Deadline(kind=kind, due=due, basis=basis, basis_on=bases[basis], **meta)
    if "months" in value:
        months = value["months"]
        if isinstance(months, bool) or not isinstance(months, int) or months < 1:
            raise DeadlineError(f"时限规则月数无效 (rule {source.id}: months must be a positive int)",
                                code="rule_shape")
        day = basis_date()
        return Deadline(kind=kind, due=add_months(day, months), basis=basis, basis_on=day, **meta)
    if "by_month_day" in value:
        if value.get("of", "budget_year") != "budget_year":
            raise DeadlineError(f"时限规则格式无效 (rule {source.id}: 'of' must be budget_year)", code="rule_shape")
        try:
            month, day_of_month = (int(part) for part in str(value["by_month_day"]).split("-"))
            due = date(year, month, day_of_month)
        except ValueError:
            raise DeadlineError(f"时限规则日期无效 (rule {source.id}: by_month_day must be 'MM-DD')",
                                code="rule_shape") from None
        return Deadline(kind=kind, due=due, basis="budget_year", basis_on=date(year, 1, 1), **meta)
    if value.get("within") == "next_fiscal_year":
        return Deadline(kind=kind, due=date(year + 1, 12, 31), basis="fiscal_year", basis_on=date(year, 1, 1),
                        **meta)
    raise DeadlineError(f"时限规则格式无法识别 (rule {source.id}: unknown value shape {value!r})", code="rule_shape")


_BASIS_ARGS = {
    "receipt": "received_on",
    "budget_approval": "budget_approved_on",
    "central_allocation": "central_allocated_on",
    "provincial_allocation": "provincial_allocated_on",
}
_BASIS_LABELS = {
    "receipt": "收到资金",
    "budget_approval": "本级人大批准预算",
    "central_allocation": "中央财政下达",
    "provincial_allocation": "省级下达",
}


class DeadlineStatus(str):
    """The state of a deadline on a day: compares equal to ``"open"``, ``"met"`` or ``"missed"``
    and carries ``days_remaining`` (open with a due date: days left, 0 on the due day) and
    ``days_overdue`` (missed: days past due - until ``today``, or until ``met_on`` if met late)."""

    days_remaining: int | None
    days_overdue: int | None

    def __new__(cls, state: str, days_remaining: int | None = None, days_overdue: int | None = None):
        if state not in DEADLINE_STATES:
            raise ValueError(f"deadline state must be one of {DEADLINE_STATES}, got {state!r}")
        obj = super().__new__(cls, state)
        obj.days_remaining = days_remaining
        obj.days_overdue = days_overdue
        return obj

    @property
    def state(self) -> str:
        return str(self)

    def as_dict(self) -> dict[str, Any]:
        return {"state": str(self), "days_remaining": self.days_remaining, "days_overdue": self.days_overdue}

    def __repr__(self) -> str:
        return f"DeadlineStatus({str(self)!r}, days_remaining={self.days_remaining}, days_overdue={self.days_overdue})"


def evaluate(deadline: Deadline, met_on: date | None, today: date) -> DeadlineStatus:
    """``met`` if met on or before the due day (or met at all when there is no due day);
    ``missed`` if met late or still unmet after the due day; else ``open``."""
    due = deadline.due
    if met_on is not None:
        if due is None or met_on <= due:
            return DeadlineStatus("met")
        return DeadlineStatus("missed", days_overdue=(met_on - due).days)
    if due is None:
        return DeadlineStatus("open")
    if today <= due:
        return DeadlineStatus("open", days_remaining=(due - today).days)
    return DeadlineStatus("missed", days_overdue=(today - due).days)
