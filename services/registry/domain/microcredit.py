"""扶贫小额信贷 (poverty-alleviation micro-credit) terms check.

What: :func:`check_microcredit` lists what is wrong with a proposed loan — amount above the limit,
term too long, collateral required — as bilingual messages; an empty list means the terms comply.

Why: 5万元以下、3年以内, 免抵押免担保, 基准利率, 财政贴息 (seed 002 L804; seed 003 L473), kept as
the rule ``microcredit.limits`` (ARCHITECTURE.md rule 7) so a province can change it without code.
"5万元以下" is read as *at most* 50,000 yuan and "3年以内" as at most 36 months. Pure; money in fen.
"""

from __future__ import annotations

from datetime import date

from shared.money import format_fen
from shared.policy import PolicyTable

__all__ = ["check_microcredit"]


def check_microcredit(
    policy: PolicyTable,
    division: str,
    on: date,
    amount_fen: int,
    term_months: int,
    collateral: bool,
) -> list[str]:
    """Violations of ``microcredit.limits`` (in force on ``on`` for ``division``) by a loan.

    Each message starts with a stable code (``amount_not_positive``, ``amount_exceeds_limit``,
    ``term_not_positive``, ``term_exceeds_limit``, ``collateral_required``), then Chinese and
    English text and the rule's citation. Raises ``TypeError`` if amount or term is not an int.
    """
    for name, value in (("amount_fen", amount_fen), ("term_months", term_months)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} 必须是整数 ({name} must be an int, got {value!r})")
    rule = policy.lookup("microcredit.limits", division, on)
    limits = rule.value
    cite = rule.citation
    violations: list[str] = []

    max_amount = limits.get("max_amount_fen")
    if amount_fen <= 0:
        violations.append(
            f"amount_not_positive: 贷款金额必须大于零 (the loan amount must be positive, got "
            f"{format_fen(amount_fen)} yuan)"
        )
    elif max_amount is not None and amount_fen > max_amount:
        violations.append(
            f"amount_exceeds_limit: 贷款金额 {format_fen(amount_fen)} 元超过扶贫小额信贷上限 "
            f"{format_fen(max_amount)} 元 (amount {format_fen(amount_fen)} yuan exceeds the limit of "
            f"{format_fen(max_amount)} yuan; {cite})"
        )

    max_term = limits.get("max_term_months")
    if term_months <= 0:
        violations.append(
            f"term_not_positive: 贷款期限必须大于零 (the term must be positive, got {term_months} months)"
        )
    elif max_term is not None and term_months > max_term:
        violations.append(
            f"term_exceeds_limit: 贷款期限 {term_months} 个月超过上限 {max_term} 个月 "
            f"(term of {term_months} months exceeds the limit of {max_term} months; {cite})"
        )

    if collateral and limits.get("collateral_free", False):
        violations.append(
            f"collateral_required: 扶贫小额信贷免抵押，不得要求抵押 "
            f"(poverty micro-credit is collateral-free; no collateral may be required; {cite})"
        )
    return violations
