"""Allocation by factors (因素法分配, DOMAIN.md §4; seed 004 L25, seed 003 L481).

Method, exactly and deterministically:

1. **Weights** (``{factor: weight}``, ints or Fractions ≥ 0, not necessarily summing to 1) are
   divided by their sum. A factor whose values are zero for every recipient carries no
   information; it is dropped and the remaining weights are renormalised.
2. **Normalise each factor**: a recipient's share of factor *f* is its value divided by the sum of
   all recipients' values of *f* (values are ints, Fractions, Decimals or decimal strings ≥ 0 -
   never floats). A factor that should favour *lower* values (e.g. local fiscal capacity) must be
   given already inverted.
3. **Share** of recipient *r* = Σ_f weight_f × value_{r,f} / Σ_r' value_{r',f} - an exact
   Fraction; the shares sum to exactly 1.
4. **Largest remainder** (Hamilton) rounding to fen: every recipient gets
   ``floor(total × share)``; the fen left over (fewer than the number of recipients) go one each
   to the recipients with the largest fractional remainders, ties broken by division code
   ascending. The parts therefore sum to ``total_fen`` exactly and no part differs from its exact
   quota by a fen or more.

Every recipient must give a value for every weighted factor; unknown factors are refused (a typo
must not silently drop a factor). Pure: no database, HTTP or Kafka. Money is int fen.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from shared.divisions import DivisionError, normalize
from shared.money import MAX_FEN, format_fen

from .errors import FactorError

__all__ = ["allocate_by_factors", "allocation_shares", "check_allocation_by_factors"]


def _number(value: Any, what: str) -> Fraction:
    if isinstance(value, bool) or isinstance(value, float):
        raise FactorError(f"{what} 不能是浮点数或布尔值 ({what} must be an int, Fraction, Decimal or decimal "
                          f"string, not {type(value).__name__})")
    if isinstance(value, (int, Fraction)):
        number = Fraction(value)
    elif isinstance(value, (Decimal, str)):
        try:
            number = Fraction(value)
        except (ValueError, ZeroDivisionError, ArithmeticError):
            raise FactorError(f"{what} 不是数字 ({what} is not a number: {value!r})") from None
    else:
        raise FactorError(f"{what} 类型无效 ({what} must be a number, got {type(value).__name__})")
    if number < 0:
        raise FactorError(f"{what} 不能为负 ({what} must not be negative: {value!r})")
    return number


def allocation_shares(
    recipients: Mapping[str, Mapping[str, Any]], weights: Mapping[str, Any]
) -> dict[str, Fraction]:
    """Each recipient's exact share (steps 1–3 of the module doc); the shares sum to 1.
    Keys are 12-digit division codes in ascending order."""
    if not recipients:
        raise FactorError("没有分配对象 (no recipients to allocate to)", code="no_recipients")
    if not weights:
        raise FactorError("没有分配因素 (no factors with weights)", code="no_factors")
    w = {str(f): _number(v, f"因素权重 {f}") for f, v in weights.items()}
    values: dict[str, dict[str, Fraction]] = {}
    for raw_code, factor_values in recipients.items():
        try:
            code = normalize(raw_code)
        except DivisionError as exc:
            raise FactorError(f"分配对象区划无效: {exc}", code="invalid_division") from None
        if code in values:
            raise FactorError(f"分配对象重复 (recipient {code} appears twice)", code="duplicate_recipient")
        unknown = sorted(set(factor_values) - set(w))
        if unknown:
            raise FactorError(f"未设置权重的因素 (factors without a weight for {code}: {', '.join(unknown)})",
                              code="unknown_factor")
        missing = sorted(set(w) - set(factor_values))
        if missing:
            raise FactorError(f"分配对象缺少因素值 (recipient {code} lacks factors: {', '.join(missing)})",
                              code="missing_factor")
        values[code] = {f: _number(factor_values[f], f"{code} 的因素 {f}") for f in w}

    sums = {f: sum((values[c][f] for c in values), Fraction(0)) for f in w}
    live = {f: wt for f, wt in w.items() if wt > 0 and sums[f] > 0}
    weight_total = sum(live.values(), Fraction(0))
    if weight_total == 0:
        raise FactorError("所有因素权重为零或因素值全为零 (every weighted factor is zero for all recipients)",
                          code="no_factors")
    shares = {
        code: sum((live[f] / weight_total * values[code][f] / sums[f] for f in live), Fraction(0))
        for code in sorted(values)
    }
    return shares


def allocate_by_factors(
    total_fen: int,
    recipients: Mapping[str, Mapping[str, Any]],
    weights: Mapping[str, Any],
) -> dict[str, int]:
    """Split ``total_fen`` among ``recipients`` (division → {factor: value}) by ``weights``
    (factor → weight); the parts (int fen, keyed by 12-digit code, ascending) sum to ``total_fen``
    exactly. See the module doc for the method."""
    if isinstance(total_fen, bool) or not isinstance(total_fen, int) or not 0 <= total_fen <= MAX_FEN:
        raise FactorError(f"分配总额必须是非负整数分 (total must be an int of fen in 0..{MAX_FEN}, got {total_fen!r})",
                          code="invalid_amount")
    shares = allocation_shares(recipients, weights)
    parts: dict[str, int] = {}
    remainders: list[tuple[Fraction, str]] = []
    for code, share in shares.items():
        quota = total_fen * share
        whole = quota.numerator // quota.denominator
        parts[code] = whole
        remainders.append((quota - whole, code))
    left = total_fen - sum(parts.values())
    # largest remainder first; equal remainders: lower division code first
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, code in remainders[:left]:
        parts[code] += 1
    return parts


def check_allocation_by_factors(
    total_fen: int,
    recipients: Mapping[str, Mapping[str, Any]],
    weights: Mapping[str, Any],
    *,
    to_division: str,
    amount_fen: int,
) -> dict[str, int]:
    """The parts of a factor sheet, refusing an allocation that is not the part the sheet gives its
    receiver: the receiver must be one of the sheet's recipients and the amount its part exactly."""
    parts = allocate_by_factors(total_fen, recipients, weights)
    receiver = normalize(to_division)
    if receiver not in parts:
        raise FactorError(f"接收方 {receiver} 不在因素分配表中 (the receiver is not a recipient of the factor sheet)",
                          code="receiver_not_in_sheet",
                          errors=[{"field": "factor_sheet.recipients", "reason": f"{receiver} missing"}])
    if parts[receiver] != amount_fen:
        expected, given = format_fen(parts[receiver]), format_fen(amount_fen)
        raise FactorError(f"按因素法应分配 {expected} 元，本次下达 {given} 元 (the factor sheet gives {receiver} "
                          f"{expected}, the allocation says {given})", code="amount_differs_from_sheet",
                          errors=[{"field": "amount", "reason": f"factor sheet gives {expected}"}], expected=expected)
    return parts
