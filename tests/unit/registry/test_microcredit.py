"""扶贫小额信贷 terms (seed 002 L804; seed 003 L473)."""

from __future__ import annotations

from datetime import date

import pytest

from services.registry.domain import check_microcredit
from shared.policy import load_policy

ON = date(2018, 3, 1)
VILLAGE = "652722101001"


def codes(violations: list[str]) -> list[str]:
    return [v.split(":", 1)[0] for v in violations]


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def test_limits_inclusive(policy):
    assert check_microcredit(policy, VILLAGE, ON, 5_000_000, 36, False) == []
    assert check_microcredit(policy, VILLAGE, ON, 1, 1, False) == []


def test_amount_over_50000_yuan(policy):
    [v] = check_microcredit(policy, VILLAGE, ON, 5_000_001, 36, False)
    assert v.startswith("amount_exceeds_limit")
    assert "50000.01" in v and "50000.00" in v and "seed 002 L804" in v and "seed 003 L473" in v


def test_term_over_36_months(policy):
    assert codes(check_microcredit(policy, VILLAGE, ON, 3_000_000, 37, False)) == ["term_exceeds_limit"]


def test_collateral_not_allowed(policy):
    assert codes(check_microcredit(policy, VILLAGE, ON, 3_000_000, 12, True)) == ["collateral_required"]


def test_all_violations_together(policy):
    assert codes(check_microcredit(policy, VILLAGE, ON, 6_000_000, 48, True)) == [
        "amount_exceeds_limit",
        "term_exceeds_limit",
        "collateral_required",
    ]


def test_non_positive_values(policy):
    assert codes(check_microcredit(policy, VILLAGE, ON, 0, 0, False)) == ["amount_not_positive", "term_not_positive"]


def test_types(policy):
    with pytest.raises(TypeError):
        check_microcredit(policy, VILLAGE, ON, 50000.0, 36, False)
