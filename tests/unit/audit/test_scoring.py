"""The pure division score: each component's ratio at its edges, the weights' sum checked."""

from datetime import date
from fractions import Fraction

import pytest

from services.audit.domain.scoring import ScoreInputs, ScoringError, inverted, score
from shared.policy import load_policy

RULE = load_policy().value("division.performance.score", "652722000000", date(2017, 12, 31))


def inputs(**overrides) -> ScoreInputs:
    base = dict(division="652722000000", year=2017, deadlines_met=3, deadlines_missed=1, received_fen=100_00,
                disbursed_fen=50_00, stranded_fen=0, poor_at_start=100, exited=10, objections_upheld=0, findings=0)
    return ScoreInputs(**{**base, **overrides})


def ratios(**overrides) -> dict[str, Fraction]:
    return {c.key: c.ratio for c in score(inputs(**overrides), RULE).components}


def test_each_component_at_its_edges():
    assert ratios()["deadlines_met"] == Fraction(3, 4)
    assert ratios(deadlines_met=0, deadlines_missed=0)["deadlines_met"] == 1  # nothing fell due
    assert ratios(disbursed_fen=200_00)["spending_progress"] == 1  # capped (last year's money spent too)
    assert ratios(received_fen=0)["spending_progress"] == 1 and ratios(received_fen=0)["stranded_money"] == 1
    assert ratios()["exits_achieved"] == Fraction(10, 100) / Fraction(25, 100)
    assert ratios(poor_at_start=0, exited=0)["exits_achieved"] == 1
    assert ratios(exited=0)["funds_per_exit"] == 0  # money spent, nobody out of poverty
    assert ratios(disbursed_fen=0, exited=0)["funds_per_exit"] == 1
    assert ratios(objections_upheld=5)["objections"] == 0 and ratios(findings=3)["audit_findings"] == Fraction(2, 5)


def test_the_weights_must_sum_to_100():
    broken = {"components": {**RULE["components"], "objections": {"weight": 11, "deduct_percent_each": 25}}}
    with pytest.raises(ScoringError):
        score(inputs(), broken)


def test_inverted_factors_are_exact_decimal_strings():
    assert inverted("9500.00") == "105.263158" and inverted("3000") == "333.333333"
    with pytest.raises(ScoringError):
        inverted("0")
