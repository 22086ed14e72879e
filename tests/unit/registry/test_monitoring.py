"""Monitoring line and classification (DOMAIN.md §3 item 6)."""

from __future__ import annotations

import pytest

from services.registry.domain import MonitoringCategory, NoMonitoringLineError, classify, monitoring_line
from shared.policy import NoRuleError, load_policy

LINE = 600000


def test_line_2021_from_the_table():
    assert monitoring_line(load_policy(), "652722101001", 2021) == 600000


@pytest.mark.parametrize("year", [2020, 2022])
def test_missing_line_is_a_clear_error(year):
    with pytest.raises(NoMonitoringLineError) as info:
        monitoring_line(load_policy(), "652722101001", year)
    assert isinstance(info.value, NoRuleError)
    assert "set yearly by each province" in str(info.value)
    assert "各省每年确定" in str(info.value)


def test_sudden_hardship_wins_whatever_the_income():
    for exited in (True, False):
        assert classify(exited=exited, per_capita_income_fen=10**7, line_fen=LINE, sudden_hardship=True) is (
            MonitoringCategory.SUDDEN_HARDSHIP
        )


def test_exited_below_line_is_unstable():
    assert classify(exited=True, per_capita_income_fen=LINE - 1, line_fen=LINE, sudden_hardship=False) is (
        MonitoringCategory.UNSTABLE_EXITED
    )


def test_not_registered_below_line_is_marginal():
    assert classify(exited=False, per_capita_income_fen=LINE - 1, line_fen=LINE, sudden_hardship=False) is (
        MonitoringCategory.MARGINAL
    )


def test_exactly_at_the_line_is_not_below():
    assert classify(exited=True, per_capita_income_fen=LINE, line_fen=LINE, sudden_hardship=False) is None
    assert classify(exited=False, per_capita_income_fen=LINE, line_fen=LINE, sudden_hardship=False) is None
    assert classify(exited=False, per_capita_income_fen=LINE + 1, line_fen=LINE, sudden_hardship=False) is None


def test_households_still_on_the_roll_are_not_monitored():
    assert classify(
        exited=False, per_capita_income_fen=0, line_fen=LINE, sudden_hardship=True, registered_poor=True
    ) is None


def test_money_must_be_int():
    with pytest.raises(TypeError):
        classify(exited=True, per_capita_income_fen=5999.99, line_fen=LINE, sudden_hardship=False)
    with pytest.raises(TypeError):
        classify(exited=True, per_capita_income_fen=True, line_fen=LINE, sudden_hardship=False)
