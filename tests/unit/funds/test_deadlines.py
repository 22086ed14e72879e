"""Deadlines set by a receipt of funds (DOMAIN.md §4), from the policy table: 预算法 Art. 52 in
Xinjiang, Shanxi's "2 months / 31 March" rules (seed 004 L27), stranded funds by the end of the
next fiscal year; and their evaluation as the clock moves."""

from __future__ import annotations

import textwrap
from datetime import date, timedelta

import pytest

from services.funds.domain import (
    Deadline,
    DeadlineError,
    DeadlineStatus,
    budget_year_of,
    deadlines_for_receipt,
    evaluate,
)
from shared.policy import load_policy

from .helpers import BOZHOU, JINGHE, SHANXI, SHANXI_CITY, XINJIANG

SHANXI_COUNTY = "142301000000"


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def receipt(policy, division, channel="central_special", received_on=date(2017, 3, 1), advance=False, **kw):
    return {d.kind: d for d in deadlines_for_receipt(policy, receiver_division=division, channel=channel,
                                                     received_on=received_on, advance=advance, **kw)}


def test_xinjiang_province_budget_law_30_days(policy):
    found = receipt(policy, XINJIANG, central_allocated_on=date(2017, 2, 20))
    assert list(found) == ["onward_allocation"]
    d = found["onward_allocation"]
    # 30 days counted from the day after receipt: 2 March is day 1, 31 March day 30
    assert d.due == date(2017, 3, 31)
    assert d.rule_id == "funds.deadline.central_onward"
    assert "预算法" in d.citation and "第五十二条" in d.citation
    assert (d.basis, d.basis_on, d.receiver_division, d.fiscal_year) == ("receipt", date(2017, 3, 1), XINJIANG, 2017)


def test_shanxi_province_two_months_from_central_allocation(policy):
    # in 2014, before 预算法 (2014年修正) came into force, Shanxi's own rule (seed 004 L27) applies
    d = receipt(policy, SHANXI, received_on=date(2014, 3, 1), central_allocated_on=date(2014, 2, 20))["onward_allocation"]
    assert d.due == date(2014, 4, 20)
    assert d.rule_id == "funds.deadline.central_onward" and d.citation == "seed 004 L27"
    assert (d.basis, d.basis_on) == ("central_allocation", date(2014, 2, 20))
    # month ends clamp: allocated 31 December → due 28 February
    assert receipt(policy, SHANXI, received_on=date(2014, 1, 5), central_allocated_on=date(2013, 12, 31))[
        "onward_allocation"].due == date(2014, 2, 28)


def test_the_newer_national_law_wins_over_the_older_shanxi_rule(policy):
    """Precedence (policy.precedence, 立法法): 预算法 Art. 52 (a law, in force 2015-01-01) is newer
    than Shanxi's 2014 rule, so from 2015 on Shanxi passes central money on within 30 days."""
    d = receipt(policy, SHANXI, central_allocated_on=date(2017, 2, 20))["onward_allocation"]
    assert d.due == date(2017, 3, 31) and "预算法" in d.citation and d.rule_id == "funds.deadline.central_onward"
    why = policy.explain("funds.deadline.central_onward", SHANXI, date(2017, 3, 1))
    assert why["rule"].authority == "law" and [r.citation for r in why["overrides"]] == ["seed 004 L27"]
    assert why["precedence"].id == "policy.precedence" and "立法法" in why["precedence"].citation


def test_shanxi_exempts_projects_needing_provincial_approval(policy):
    """"除少量须省级审批的项目外" (seed 004 L27, value ``exempt``): no due day, the exemption cited."""
    d = receipt(policy, SHANXI, received_on=date(2014, 3, 1), central_allocated_on=date(2014, 2, 20),
                provincial_approval=True)["onward_allocation"]
    assert (d.due, d.exempt, d.citation, d.basis) == (None, "少量须省级审批的项目", "seed 004 L27", "exempt")
    # the national law knows no such exemption
    law = receipt(policy, SHANXI, central_allocated_on=date(2017, 2, 20), provincial_approval=True)["onward_allocation"]
    assert law.exempt is None and law.due == date(2017, 3, 31)


def test_a_province_passes_on_its_own_funds(policy):
    """The province's own 省级财政专项扶贫资金: 60 days from budget approval (预算法 Art. 52), or in
    Shanxi 2014 two months from its own allocation (seed 004 L27 "下达时限要求原则上一致")."""
    xj = receipt(policy, XINJIANG, channel="provincial_special", budget_approved_on=date(2017, 1, 15))
    d = xj["onward_allocation"]
    assert (d.rule_id, d.value_rule_id, d.due) == ("funds.deadline.provincial_onward",
                                                   "funds.deadline.special_transfer_onward", date(2017, 3, 16))
    assert list(xj) == ["onward_allocation"]
    sx = receipt(policy, SHANXI, channel="provincial_special", received_on=date(2014, 5, 31),
                 provincial_allocated_on=date(2014, 5, 31))["onward_allocation"]
    assert (sx.citation, sx.basis, sx.due) == ("seed 004 L27", "provincial_allocation", date(2014, 7, 31))


def test_usage_plan_twenty_working_days_after_the_provincial_allocation(policy):
    found = receipt(policy, JINGHE, received_on=date(2017, 9, 25), provincial_allocated_on=date(2017, 9, 25))
    d = found["usage_plan"]
    # 20 working days from 26 September 2017: 30 September is a make-up workday, 1–8 October a holiday
    assert d.due == date(2017, 10, 27) and d.rule_id == "funds.deadline.usage_plan" and d.citation
    assert list(found) == ["usage_plan", "stranded_return"]


def test_shanxi_needs_the_central_allocation_date(policy):
    with pytest.raises(DeadlineError) as info:
        receipt(policy, SHANXI, received_on=date(2014, 3, 1))
    assert info.value.code == "missing_basis"
    assert "central_allocated_on" in info.value.detail and "中央财政下达" in info.value.detail


def test_advance_funds_xinjiang_vs_shanxi(policy):
    received = date(2016, 11, 15)  # 提前下达 of the 2017 budget
    assert budget_year_of(received, advance=True) == 2017
    assert budget_year_of(received, advance=False) == 2016
    xj = receipt(policy, XINJIANG, received_on=received, advance=True)["onward_allocation"]
    assert xj.rule_id == "funds.deadline.central_advance_onward"
    assert xj.due == date(2016, 12, 15) and xj.fiscal_year == 2017
    received = date(2014, 11, 15)  # Shanxi's own rule applies to 2014 receipts (预算法修正 from 2015)
    sx = receipt(policy, SHANXI, received_on=received, advance=True)["onward_allocation"]
    assert sx.due == date(2015, 3, 31) and sx.citation == "seed 004 L27"
    assert sx.basis == "budget_year"
    # an explicit fiscal year wins
    assert receipt(policy, SHANXI, received_on=received, advance=True, fiscal_year=2016)["onward_allocation"].due \
        == date(2016, 3, 31)


def test_county_receipts_xinjiang_vs_shanxi(policy):
    xj = receipt(policy, JINGHE)
    assert list(xj) == ["stranded_return"]
    assert xj["stranded_return"].due == date(2018, 12, 31)
    assert xj["stranded_return"].rule_id == "funds.stranded.return"
    assert xj["stranded_return"].citation == "DOMAIN.md §4"

    sx = receipt(policy, SHANXI_COUNTY)
    assert list(sx) == ["onto_projects", "stranded_return"]
    onto = sx["onto_projects"]
    assert onto.due is None and onto.citation == "seed 004 L27" and "及时" in onto.requirement
    assert sx["stranded_return"].citation == "seed 004 L27"


def test_city_receipts(policy):
    # 博州 passes central money on within 30 days of its own receipt; strands return by end of next year
    bz = receipt(policy, BOZHOU, received_on=date(2017, 4, 10))
    assert bz["onward_allocation"].due == date(2017, 5, 10)
    assert bz["stranded_return"].due == date(2018, 12, 31)
    # Shanxi provincial funds follow the central limits: 2 months from the provincial allocation
    sx = receipt(policy, SHANXI_CITY, channel="provincial_special", received_on=date(2014, 6, 1),
                 provincial_allocated_on=date(2014, 5, 31))
    d = sx["onward_allocation"]
    assert d.rule_id == "funds.deadline.provincial_onward" and d.value_rule_id == "funds.deadline.central_onward"
    assert (d.basis, d.due) == ("provincial_allocation", date(2014, 7, 31))
    # elsewhere provincial funds are special transfers: 60 days from budget approval
    xj = receipt(policy, BOZHOU, channel="provincial_special", budget_approved_on=date(2017, 1, 15))
    d = xj["onward_allocation"]
    assert d.value_rule_id == "funds.deadline.special_transfer_onward"
    assert d.due == date(2017, 3, 16)
    with pytest.raises(DeadlineError, match="budget_approved_on"):
        receipt(policy, BOZHOU, channel="provincial_special")


def test_no_rule_no_deadline(policy):
    # 预算法 (2014年修正) is in force from 2015: a 2014 receipt in Xinjiang has no onward deadline
    assert "onward_allocation" not in receipt(policy, XINJIANG, received_on=date(2014, 6, 1))
    # money from paired assistance has no onward rule
    assert receipt(policy, XINJIANG, channel="east_west") == {}


def test_invalid_inputs(policy):
    with pytest.raises(DeadlineError) as info:
        receipt(policy, "65272")
    assert info.value.code == "invalid_division"
    with pytest.raises(DeadlineError) as info:
        receipt(policy, XINJIANG, channel="nope")
    assert info.value.code == "unknown_channel"


def test_deployment_override_with_working_days(tmp_path):
    override = tmp_path / "policy-65.yaml"
    override.write_text(textwrap.dedent("""\
        - id: funds.deadline.central_onward
          jurisdiction: "65"
          effective_from: 2017-01-01
          value: {days: 20, unit: working, from: receipt}
          citation: "新财农〔2017〕99号 (test)"
          title: test override
        """), encoding="utf-8")
    policy = load_policy([override])
    d = receipt(policy, XINJIANG, received_on=date(2017, 9, 25))["onward_allocation"]
    # from 26 Sep: 30 Sep is a make-up workday, 1–8 Oct National Day holidays
    assert d.due == date(2017, 10, 27)
    assert d.citation == "新财农〔2017〕99号 (test)"


def test_evaluate_states():
    d = Deadline(kind="onward_allocation", due=date(2017, 3, 31), rule_id="r", citation="c", title="t",
                 receiver_division=XINJIANG, channel="central_special", fiscal_year=2017, basis="receipt",
                 basis_on=date(2017, 3, 1))
    s = evaluate(d, None, date(2017, 3, 21))
    assert s == "open" and s.days_remaining == 10 and s.days_overdue is None
    assert evaluate(d, None, date(2017, 3, 31)).days_remaining == 0
    s = evaluate(d, None, date(2017, 4, 3))
    assert s == "missed" and s.days_overdue == 3 and s.days_remaining is None
    assert evaluate(d, date(2017, 3, 31), date(2017, 6, 1)) == "met"
    late = evaluate(d, date(2017, 4, 2), date(2017, 6, 1))
    assert late == "missed" and late.days_overdue == 2
    assert isinstance(s, DeadlineStatus) and s.state == "missed"
    assert s.as_dict() == {"state": "missed", "days_remaining": None, "days_overdue": 3}
    prompt = Deadline(kind="onto_projects", due=None, rule_id="r", citation="c", title="t",
                      receiver_division=SHANXI_COUNTY, channel="central_special", fiscal_year=2017,
                      basis="receipt", basis_on=date(2017, 3, 1))
    assert evaluate(prompt, None, date(2030, 1, 1)) == "open"
    assert evaluate(prompt, None, date(2030, 1, 1)).days_remaining is None
    assert evaluate(prompt, date(2017, 9, 1), date(2030, 1, 1)) == "met"


def test_one_missed_one_met_as_the_clock_moves(policy):
    """精河县's province receives two central receipts; one is passed on in time, one is not."""
    first = receipt(policy, XINJIANG, received_on=date(2017, 3, 1))["onward_allocation"]
    second = receipt(policy, XINJIANG, received_on=date(2017, 6, 1))["onward_allocation"]
    met_on: dict[Deadline, date | None] = {first: None, second: None}
    transitions: dict[Deadline, list[tuple[date, str]]] = {first: [], second: []}
    today = date(2017, 3, 1)
    while today <= date(2017, 8, 1):  # the scheduler's daily run on a moving clock
        if today == date(2017, 3, 20):
            met_on[first] = today  # the onward allocation to 博州 is issued in time
        for d in transitions:
            state = str(evaluate(d, met_on[d], today))
            if not transitions[d] or transitions[d][-1][1] != state:
                transitions[d].append((today, state))
        today += timedelta(days=1)
    assert transitions[first] == [(date(2017, 3, 1), "open"), (date(2017, 3, 20), "met")]
    assert transitions[second] == [(date(2017, 3, 1), "open"), (date(2017, 7, 2), "missed")]
    assert evaluate(second, None, date(2017, 8, 1)).days_overdue == 31


def test_deadline_as_dict(policy):
    d = receipt(policy, SHANXI_COUNTY)["onto_projects"]
    data = d.as_dict()
    assert data["due"] is None and data["label_zh"] == "资金落实到项目时限" and data["rule_id"] == d.rule_id
