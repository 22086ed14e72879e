"""The pure rules of results: the GB 32100 check of a credit code, the evaluation method (both
directions, the cap, the rating bands of the shipped rule)."""

from datetime import date
from fractions import Fraction

import pytest

from services.projects.domain import evaluation, pairing
from shared.policy import load_policy

SCHEME = load_policy().value("project.performance.rating", "652722102201", date(2018, 6, 1))


def test_a_credit_code_is_checked_by_its_18th_character():
    assert pairing.credit_code("91652722MA7788990X") == "91652722MA7788990X"
    for wrong in ("91652722MA77889901", "91652722MA7788990", "91652722MA7788990I"):
        with pytest.raises(pairing.PairingError) as caught:
            pairing.credit_code(wrong)
        assert caught.value.field == "credit_code"


@pytest.mark.parametrize(("target", "actual", "percent"), [
    ("500", "450", Fraction(90)), ("≥95%", "100%", Fraction(100)), ("≤3", "6", Fraction(50)), ("<=3", "0", Fraction(100)),
    ("0", "0", Fraction(100)), ("10", "25", Fraction(100))])
def test_completion_in_both_directions_is_capped(target, actual, percent):
    result = evaluation.evaluate([{"indicator": "指标甲", "target": target}], {"指标甲": actual}, SCHEME)
    assert result.indicators[0].completion * 100 == percent


@pytest.mark.parametrize(("score", "label"), [(Fraction(90), "优"), (Fraction(8999, 100), "良"), (Fraction(80), "良"),
                                              (Fraction(60), "中"), (Fraction(5999, 100), "差"), (Fraction(0), "差")])
def test_the_rating_bands_of_the_shipped_rule(score, label):
    assert evaluation.rating(score, SCHEME["bands"])[1] == label


def test_a_target_that_is_not_a_number_is_named():
    with pytest.raises(evaluation.EvaluationError) as caught:
        evaluation.evaluate([{"indicator": "群众满意度", "target": "较高"}], {"群众满意度": "90"}, SCHEME)
    assert caught.value.field == "targets.0.target"
