"""Allocation by factors (因素法): exact fractions, largest-remainder rounding, exact totals."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.funds.domain import FactorError, allocate_by_factors, allocation_shares

# 博州's counties with illustrative factor values
BOLE, JINGHE, WENQUAN = "652701000000", "652722000000", "652723000000"


def test_worked_example():
    recipients = {
        "652701": {"poor_population": 2_000, "performance": 80},
        "652722": {"poor_population": 4_340, "performance": 90},
        "652723": {"poor_population": 1_660, "performance": 70},
    }
    weights = {"poor_population": Fraction(7, 10), "performance": Fraction(3, 10)}
    shares = allocation_shares(recipients, weights)
    assert sum(shares.values()) == 1
    # 精河: 0.7 × 4340/8000 + 0.3 × 90/240 = 0.379750 + 0.1125 = 0.49225
    assert shares[JINGHE] == Fraction(7, 10) * Fraction(4340, 8000) + Fraction(3, 10) * Fraction(90, 240)
    parts = allocate_by_factors(100_000_000, recipients, weights)
    assert list(parts) == [BOLE, JINGHE, WENQUAN]
    assert parts[JINGHE] == 49_225_000
    assert sum(parts.values()) == 100_000_000


def test_largest_remainder_and_ties_by_code():
    equal = {code: {"f": 1} for code in (WENQUAN, JINGHE, BOLE)}
    assert allocate_by_factors(100, equal, {"f": 1}) == {BOLE: 34, JINGHE: 33, WENQUAN: 33}
    assert allocate_by_factors(101, equal, {"f": 1}) == {BOLE: 34, JINGHE: 34, WENQUAN: 33}
    # remainders 0.6 / 0.3 / 0.1 → the largest gets the spare fen, not the lowest code
    uneven = {BOLE: {"f": 1}, JINGHE: {"f": 3}, WENQUAN: {"f": 6}}
    assert allocate_by_factors(1, uneven, {"f": 1}) == {BOLE: 0, JINGHE: 0, WENQUAN: 1}
    assert allocate_by_factors(2, uneven, {"f": 1}) == {BOLE: 0, JINGHE: 1, WENQUAN: 1}


def test_weights_need_not_sum_to_one_and_value_types():
    a = allocate_by_factors(1_000, {BOLE: {"x": 1, "y": "2.5"}, JINGHE: {"x": 3, "y": Decimal("7.5")}},
                            {"x": 2, "y": 2})
    b = allocate_by_factors(1_000, {BOLE: {"x": 1, "y": 1}, JINGHE: {"x": 3, "y": 3}},
                            {"x": Fraction(1, 2), "y": Fraction(1, 2)})
    assert a == b == {BOLE: 250, JINGHE: 750}


def test_all_zero_factor_is_dropped():
    parts = allocate_by_factors(900, {BOLE: {"pop": 1, "score": 0}, JINGHE: {"pop": 2, "score": 0}},
                                {"pop": 1, "score": 1})
    assert parts == {BOLE: 300, JINGHE: 600}


@pytest.mark.parametrize(
    "total, recipients, weights, code",
    [
        (100, {}, {"f": 1}, "no_recipients"),
        (100, {BOLE: {"f": 1}}, {}, "no_factors"),
        (100, {BOLE: {"f": 0}}, {"f": 1}, "no_factors"),
        (100, {BOLE: {"f": 1}}, {"f": 0}, "no_factors"),
        (100, {BOLE: {"f": 1, "typo": 2}}, {"f": 1}, "unknown_factor"),
        (100, {BOLE: {"f": 1}, JINGHE: {}}, {"f": 1}, "missing_factor"),
        (100, {"652701": {"f": 1}, BOLE: {"f": 1}}, {"f": 1}, "duplicate_recipient"),
        (100, {"6527011": {"f": 1}}, {"f": 1}, "invalid_division"),
        (100, {BOLE: {"f": 1.5}}, {"f": 1}, None),
        (100, {BOLE: {"f": -1}}, {"f": 1}, None),
        (100, {BOLE: {"f": "abc"}}, {"f": 1}, None),
        (100, {BOLE: {"f": 1}}, {"f": 0.5}, None),
        (100, {BOLE: {"f": 1}}, {"f": True}, None),
        (-1, {BOLE: {"f": 1}}, {"f": 1}, "invalid_amount"),
        (1.0, {BOLE: {"f": 1}}, {"f": 1}, "invalid_amount"),
    ],
)
def test_invalid_factor_sheets(total, recipients, weights, code):
    with pytest.raises(FactorError) as info:
        allocate_by_factors(total, recipients, weights)
    if code:
        assert info.value.code == code


DIVS = [f"6527{c:02d}000000" for c in range(1, 30)]
values = st.one_of(st.integers(0, 10**9), st.fractions(min_value=0, max_value=10**6, max_denominator=1000))


@given(
    total=st.integers(0, 10**15),
    sheet=st.dictionaries(st.sampled_from(DIVS), st.tuples(values, values, values), min_size=1, max_size=20),
    weights=st.tuples(st.integers(0, 100), st.integers(0, 100), st.fractions(0, 1, max_denominator=100)),
)
def test_parts_sum_exactly_to_the_total(total, sheet, weights):
    factors = ("population", "income", "performance")
    recipients = {div: dict(zip(factors, vals)) for div, vals in sheet.items()}
    w = dict(zip(factors, weights))
    live = [f for f in factors if w[f] > 0 and any(r[f] > 0 for r in recipients.values())]
    assume(live)
    parts = allocate_by_factors(total, recipients, w)
    assert sum(parts.values()) == total
    assert all(isinstance(v, int) and v >= 0 for v in parts.values())
    shares = allocation_shares(recipients, w)
    assert sum(shares.values()) == 1
    for div, part in parts.items():
        assert abs(part - total * shares[div]) < 1  # within one fen of the exact quota
