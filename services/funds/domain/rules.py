"""Use rules of poverty funds (DOMAIN.md §4 "Use rules"), from the policy table.

* :func:`check_purpose` refuses a purpose that is not a code of the closed list
  (:mod:`.purposes`, with the valid codes) and a code on the negative list of 财农〔2017〕8号
  (rule ``funds.use.negative_list``: nine ``{code, label}`` items) with the item's label and the
  rule's citation. Before the list is in force (no applicable rule) no known code is refused.
* :func:`management_fee_ok` checks the county project-management fee against its cap
  (rule ``funds.use.project_management_fee_cap``: ``{max_percent: 1, level: county}``): the cap
  is ``floor(county_total_fen × max_percent / 100)`` computed exactly (``max_percent`` may be an
  int or a decimal string such as ``"1.5"``; never a float).

Pure: no database, HTTP or Kafka. Money is int fen.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from shared.money import format_fen
from shared.policy import NoRuleError, PolicyTable, Rule

from .errors import FundsError, NegativeListPurpose
from .purposes import known_purpose

__all__ = [
    "FEE_CAP_RULE",
    "NEGATIVE_LIST_RULE",
    "NOT_REACHING_RULE",
    "STRANDED_RETURN_RULE",
    "check_full_return",
    "check_purpose",
    "management_fee_cap_fen",
    "management_fee_ok",
    "negative_list",
    "not_reaching_households",
]

NEGATIVE_LIST_RULE = "funds.use.negative_list"
FEE_CAP_RULE = "funds.use.project_management_fee_cap"


def negative_list(policy: PolicyTable, division: str, on: date) -> list[dict[str, str]]:
    """The negative list in force (``[{code, label}]``); empty when no rule applies."""
    try:
        rule = policy.lookup(NEGATIVE_LIST_RULE, division, on)
    except NoRuleError:
        return []
    return [dict(item) for item in rule.value]


def check_purpose(policy: PolicyTable, division: str, on: date, purpose_code: str) -> None:
    """Raise :class:`~.purposes.UnknownPurpose` when ``purpose_code`` is not a purpose code, and
    :class:`NegativeListPurpose` (with ``purpose``, ``label``, ``citation``, ``rule``) when it is
    on the negative list in force for ``division`` on ``on``."""
    known_purpose(purpose_code)
    try:
        rule = policy.lookup(NEGATIVE_LIST_RULE, division, on)
    except NoRuleError:
        return
    for item in rule.value:
        if item.get("code") == purpose_code:
            label = item.get("label", purpose_code)
            raise NegativeListPurpose(
                f"财政专项扶贫资金不得用于“{label}”（{rule.citation}） "
                f"(poverty funds may not be used for {purpose_code}: negative list, {rule.citation})",
                purpose=purpose_code,
                label=label,
                citation=rule.citation,
                rule=rule.id,
            )


def _percent(value: Any, rule_id: str) -> Fraction:
    if isinstance(value, bool) or isinstance(value, float) or not isinstance(value, (int, str)):
        raise FundsError(f"费用上限比例无效 (rule {rule_id}: max_percent must be an int or a decimal string)",
                         code="rule_shape")
    try:
        percent = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise FundsError(f"费用上限比例无效 (rule {rule_id}: max_percent {value!r} is not a number)",
                         code="rule_shape") from None
    if percent < 0:
        raise FundsError(f"费用上限比例无效 (rule {rule_id}: max_percent must not be negative)", code="rule_shape")
    return percent


def _fen(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FundsError(f"{name} 必须是非负整数分 ({name} must be a non-negative int of fen, got {value!r})",
                         code="invalid_amount")
    return value


def management_fee_cap_fen(policy: PolicyTable, division: str, on: date, county_total_fen: int) -> tuple[int, str]:
    """(cap in fen, citation): ``floor(county_total_fen × max_percent / 100)``."""
    total = _fen("county_total_fen", county_total_fen)
    rule = policy.lookup(FEE_CAP_RULE, division, on)
    percent = _percent(rule.value.get("max_percent"), rule.id)
    cap = total * percent.numerator // (100 * percent.denominator)
    return cap, rule.citation


def management_fee_ok(
    policy: PolicyTable,
    division: str,
    on: date,
    county_total_fen: int,
    fees_so_far_fen: int,
    new_fee_fen: int,
) -> tuple[bool, int, str]:
    """Whether a new project-management fee keeps the county's fees for the year within the cap:
    ``(fees_so_far + new_fee ≤ cap, cap_fen, citation)``. ``county_total_fen`` is the county's
    poverty funds for the year."""
    so_far = _fen("fees_so_far_fen", fees_so_far_fen)
    new = _fen("new_fee_fen", new_fee_fen)
    cap, citation = management_fee_cap_fen(policy, division, on, county_total_fen)
    return so_far + new <= cap, cap, citation


# --------------------------------------------------------------------------------------------
# stranded funds (滞留资金, seed 004 L27): returned in full; money not reaching households in time
# --------------------------------------------------------------------------------------------

STRANDED_RETURN_RULE = "funds.stranded.return"
NOT_REACHING_RULE = "funds.stranded.not_reaching_households"


def check_full_return(policy: PolicyTable, division: str, on: date, held_fen: int, amount_fen: int) -> None:
    """Where the rule in force says ``in_full`` (全额无条件返还, seed 004 L27), stranded money goes back
    all at once: a return of less than what is held is refused with the rule and its citation."""
    try:
        rule = policy.lookup(STRANDED_RETURN_RULE, division, on)
    except NoRuleError:
        return
    if rule.value.get("in_full") and amount_fen != held_fen:
        raise FundsError(
            f"滞留资金须全额返还：滞留 {format_fen(held_fen)} 元，本次 {format_fen(amount_fen)} 元（{rule.citation}） "
            f"(stranded money is returned in full: {format_fen(held_fen)} yuan held, {format_fen(amount_fen)} given; "
            f"{rule.citation})", code="return_not_in_full", rule=rule.id, citation=rule.citation,
            held=format_fen(held_fen))


def not_reaching_households(policy: PolicyTable, division: str, today: date, inflows: Iterable[tuple[date, int]],
                            outflow_fen: int, balance_fen: int) -> tuple[int, Rule] | None:
    """Money committed to a project that has not reached villages and households in time
    (不能按时到村到户, seed 004 L27): of the commitment, the part older than the rule's
    ``committed_unpaid_days`` that the money paid (or otherwise gone out) since has not covered,
    first in, first out. ``inflows``: (date, fen) of the money into the commitment; ``outflow_fen``:
    all that left it; ``balance_fen``: what it holds now. (amount, rule), or None (nothing overdue
    or no rule)."""
    try:
        rule = policy.lookup(NOT_REACHING_RULE, division, today)
    except NoRuleError:
        return None
    days = rule.value.get("committed_unpaid_days")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise FundsError(f"规则格式无效 (rule {rule.id}: committed_unpaid_days must be a positive int)", code="rule_shape")
    cutoff = today - timedelta(days=days)
    old = sum(fen for on, fen in inflows if on <= cutoff)
    overdue = min(balance_fen, old - outflow_fen)
    return (overdue, rule) if overdue > 0 else None
