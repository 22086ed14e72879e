"""Household exit check (DOMAIN.md §3.4) and the post-exit policy switch."""

from __future__ import annotations

from datetime import date

import pytest

from services.registry.domain import (
    INCOME_BELOW_STANDARD,
    INCOME_MISSING,
    ExitCheck,
    check_exit,
    income_standard_fen,
    post_exit_policies_continue,
)
from shared.policy import NoRuleError, PolicyTable, load_policy, parse_rules

JINGHE = "652722101001"  # 精河县 village: 2 consecutive years, Jinghe standards, 四具有
XINJIANG_OTHER = "650102001001"  # Xinjiang, not Jinghe: national standard, 1 year, 四具有
HEBEI = "130721100200"  # national rules only
SHANXI = "140121100200"

ALL_CHECKS = {c.value: True for c in ExitCheck}
BASIC_CHECKS = {c.value: True for c in ExitCheck if c.group != "四具有"}


@pytest.fixture(scope="module")
def policy() -> PolicyTable:
    return load_policy()


def test_standards_from_the_table(policy):
    assert income_standard_fen(policy, JINGHE, 2016) == (314600, "seed 003 L193")
    assert income_standard_fen(policy, JINGHE, 2020)[0] == 397200
    assert income_standard_fen(policy, JINGHE, 2015)[0] == 230000  # national rule before Jinghe's
    assert income_standard_fen(policy, HEBEI, 2017)[0] == 230000


def test_jinghe_eligible_after_two_years_above_each_years_standard(policy):
    result = check_exit(policy, division=JINGHE, year=2017, incomes={2016: 314601, 2017: 333501}, checks=ALL_CHECKS)
    assert result.eligible and result.unmet == []
    assert result.consecutive_years == 2
    assert dict(result.standards) == {2016: 314600, 2017: 333500}
    assert "seed 003 L497" in " ".join(result.citations)
    assert result.as_dict()["standards"] == {"2016": "3146.00", "2017": "3335.00"}


def test_income_below_standard_is_named_with_its_year(policy):
    result = check_exit(policy, division=JINGHE, year=2017, incomes={2016: 400000, 2017: 333400}, checks=ALL_CHECKS)
    assert not result.eligible
    [unmet] = result.unmet
    assert (unmet.code, unmet.year) == (INCOME_BELOW_STANDARD, 2017)
    assert "3334.00" in unmet.detail and "3335.00" in unmet.detail
    assert "seed 003 L193" in unmet.citation


def test_income_equal_to_standard_is_not_above(policy):
    result = check_exit(policy, division=HEBEI, year=2017, incomes={2017: 230000}, checks=BASIC_CHECKS)
    assert [u.code for u in result.unmet] == [INCOME_BELOW_STANDARD]
    assert check_exit(policy, division=HEBEI, year=2017, incomes={2017: 230001}, checks=BASIC_CHECKS).eligible


def test_previous_year_income_must_beat_that_years_standard_in_jinghe(policy):
    # 2016 income is above 2,300 (national) but not above Jinghe's 2016 standard of 3,146
    result = check_exit(policy, division=JINGHE, year=2017, incomes={2016: 300000, 2017: 400000}, checks=ALL_CHECKS)
    assert [(u.code, u.year) for u in result.unmet] == [(INCOME_BELOW_STANDARD, 2016)]


def test_previous_year_missing_is_unmet_in_jinghe_but_not_required_nationally(policy):
    jinghe = check_exit(policy, division=JINGHE, year=2017, incomes={2017: 400000}, checks=ALL_CHECKS)
    assert not jinghe.eligible
    assert [(u.code, u.year) for u in jinghe.unmet] == [(INCOME_MISSING, 2016)]
    assert "seed 003 L497" in jinghe.unmet[0].citation
    national = check_exit(policy, division=HEBEI, year=2017, incomes={2017: 400000}, checks=BASIC_CHECKS)
    assert national.eligible and national.consecutive_years == 1
    assert dict(national.standards) == {2017: 230000}


def test_current_year_missing(policy):
    result = check_exit(policy, division=HEBEI, year=2017, incomes={2016: 900000}, checks=BASIC_CHECKS)
    assert [(u.code, u.year) for u in result.unmet] == [(INCOME_MISSING, 2017)]


def test_jinghe_2016_compares_2015_with_the_national_standard(policy):
    result = check_exit(policy, division=JINGHE, year=2016, incomes={2015: 230001, 2016: 314601}, checks=ALL_CHECKS)
    assert result.eligible
    assert dict(result.standards) == {2015: 230000, 2016: 314600}


def test_failed_and_missing_checks_are_named(policy):
    checks = dict(BASIC_CHECKS, housing_safety=False)
    del checks["food"]
    result = check_exit(policy, division=HEBEI, year=2017, incomes={2017: 400000}, checks=checks)
    assert [u.code for u in result.unmet] == ["food", "housing_safety"]
    food, housing = result.unmet
    assert food.label_zh == "不愁吃" and "not recorded" in food.detail
    assert housing.label_zh == "住房安全有保障" and "not met" in housing.detail
    assert "seed 002 L45" in housing.citation


def test_four_haves_required_only_under_65(policy):
    hebei = check_exit(policy, division=HEBEI, year=2017, incomes={2017: 400000}, checks=BASIC_CHECKS)
    assert hebei.eligible and len(hebei.required_checks) == 5
    xinjiang = check_exit(policy, division=XINJIANG_OTHER, year=2017, incomes={2017: 400000}, checks=BASIC_CHECKS)
    assert [u.code for u in xinjiang.unmet] == ["skills", "employment", "sustained_income", "cultural_life"]
    assert all("seed 003 L187" in u.citation for u in xinjiang.unmet)
    assert xinjiang.consecutive_years == 1  # only 精河县 asks for two years
    assert check_exit(policy, division=XINJIANG_OTHER, year=2017, incomes={2017: 400000}, checks=ALL_CHECKS).eligible


def test_several_unmet_at_once(policy):
    result = check_exit(policy, division=JINGHE, year=2018, incomes={2018: 100}, checks={})
    codes = [u.code for u in result.unmet]
    assert codes[:2] == [INCOME_MISSING, INCOME_BELOW_STANDARD]
    assert len(codes) == 2 + 9


def test_money_must_be_int_fen(policy):
    with pytest.raises(TypeError):
        check_exit(policy, division=HEBEI, year=2017, incomes={2017: 2300.5}, checks=BASIC_CHECKS)


def test_no_standard_before_2011(policy):
    with pytest.raises(NoRuleError):
        check_exit(policy, division=HEBEI, year=2010, incomes={2010: 1}, checks=BASIC_CHECKS)


def test_post_exit_policies_continue_national_and_shanxi_switch(policy):
    assert post_exit_policies_continue(policy, JINGHE, date(2016, 12, 1), date(2018, 1, 1)) == (
        True,
        "seed 003 L481; seed 003 L497; seed 002 L788",
    )
    assert post_exit_policies_continue(policy, SHANXI, date(2016, 12, 1), date(2017, 1, 1)) == (False, "seed 004 L19")


def test_post_exit_period_bounded_by_a_deployment_rule(policy):
    extra = parse_rules(
        """
- id: household.post_exit.policy_continuation
  jurisdiction: "65"
  effective_from: 2016-01-01
  value: {continues: true, years: 3, until: 2020-12-31}
  citation: "test deployment"
  title: t
"""
    )
    table = PolicyTable([*policy, *extra])
    exit_on = date(2016, 6, 30)
    assert post_exit_policies_continue(table, JINGHE, exit_on, date(2019, 6, 29)) == (True, "test deployment")
    assert post_exit_policies_continue(table, JINGHE, exit_on, date(2019, 6, 30))[0] is False
    assert post_exit_policies_continue(table, JINGHE, date(2018, 6, 1), date(2020, 12, 31))[0] is True
    assert post_exit_policies_continue(table, JINGHE, date(2018, 6, 1), date(2021, 1, 1))[0] is False
    assert post_exit_policies_continue(table, HEBEI, exit_on, date(2030, 1, 1))[0] is True
    with pytest.raises(ValueError):
        post_exit_policies_continue(table, JINGHE, exit_on, date(2016, 6, 29))
