"""Beneficiary eligibility, asset ownership and income shares (exact fen), funding from postings,
the adjustment window, proposal consistency, the catalogue — and the seed lines the code cites."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.projects.domain import adjustment, assets, catalogue, eligibility, funding, proposal
from services.projects.domain.assets import COLLECTIVE, AssetError, Share
from services.registry.domain.workflow import STATUS_LABELS
from tests.seeds import seeds

PROJECT_VILLAGE = "652722102201"
OWNERS = {"public_good": ["village_collective"], "productive": ["village_collective", "households"]}


def judge(status, division=PROJECT_VILLAGE, project=PROJECT_VILLAGE):
    result = eligibility.judge("h", eligibility.Household("h", division, status), project)
    return result and result.code


def test_only_registered_not_removed_households_inside_the_division():
    assert judge("registered") is None and judge("exit_nominated") is None and judge("exited") is None
    for status in ("proposed", "appraised", "village_notice", "county_notice"):
        assert judge(status) == "not_registered"
    assert judge("removed") == "removed" and judge("rejected") == "removed"
    assert judge("registered", division="652701101201") == "outside_division"  # another county
    assert judge("registered", division="652722102202") == "outside_division"  # another village
    assert judge("registered", division="652722102202", project="652722102000") is None  # a township project
    assert eligibility.judge("x", None, PROJECT_VILLAGE).code == "unknown"
    assert eligibility.ELIGIBLE_STATUSES <= set(STATUS_LABELS)  # the registry's own status names


def test_split_is_exact_with_largest_remainders_in_listed_order():
    assert assets.split(100, [Share("a", 1), Share("b", 1), Share("c", 1)]) == [("a", 34), ("b", 33), ("c", 33)]
    assert assets.split(10001, [Share(COLLECTIVE, 4), Share("a", 2), Share("b", 2), Share("c", 2)]) == [
        (COLLECTIVE, 4001), ("a", 2000), ("b", 2000), ("c", 2000)]
    assert assets.split(0, [Share("a", 3)]) == [("a", 0)]
    with pytest.raises(AssetError):
        assets.split(-1, [Share("a", 1)])
    with pytest.raises(AssetError):
        assets.split(1, [Share("a", 1), Share("a", 2)])
    with pytest.raises(AssetError):
        assets.split(1, [Share("a", 0)])


@given(st.integers(0, 10**12), st.lists(st.integers(1, 10**6), min_size=1, max_size=30))
def test_split_adds_up_and_each_part_is_within_a_fen_of_its_quota(total, units):
    shares = [Share(f"h{i}", n) for i, n in enumerate(units)]
    parts = assets.split(total, shares)
    assert sum(amount for _, amount in parts) == total
    for (_, amount), share in zip(parts, shares):
        quota = Fraction(total * share.shares, sum(units))
        assert 0 <= amount - quota < 1 or -1 < amount - quota <= 0


def test_ratio_percent():
    shares = [Share("a", 1), Share("b", 2)]
    assert [assets.ratio_percent(s, shares) for s in shares] == ["33.33", "66.67"]


def test_ownership_rules():
    beneficiaries = {"h1", "h2"}
    assert assets.check_ownership("public_good", "village_collective", [], beneficiaries, OWNERS) == [Share(COLLECTIVE, 1)]
    with pytest.raises(AssetError) as error:
        assets.check_ownership("public_good", "households", [Share("h1", 1)], beneficiaries, OWNERS)
    assert error.value.field == "owner"
    with pytest.raises(AssetError):
        assets.check_ownership("productive", "households", [Share("h3", 1)], beneficiaries, OWNERS)
    with pytest.raises(AssetError):
        assets.check_ownership("productive", "households", [Share(COLLECTIVE, 1)], beneficiaries, OWNERS)
    mixed = [Share(COLLECTIVE, 2), Share("h1", 1)]
    assert assets.check_ownership("productive", "households", mixed, beneficiaries, OWNERS) == mixed
    with pytest.raises(AssetError):  # a deployment that allows only collective ownership
        assets.check_ownership("productive", "households", mixed, beneficiaries, {"productive": ["village_collective"]})


def test_funding_from_the_funds_contract():
    commit = {"operation": "commit", "to": {"kind": "committed"}, "reference": "P-1", "amount_fen": 1000}
    pay = {"operation": "disburse", "project_code": "P-1", "reference": "contractor:x", "amount_fen": 300}
    strand = {"operation": "strand", "project_code": "P-1", "amount_fen": 700}
    allocation = {"operation": "allocate", "reference": None, "amount_fen": 5}
    assert [funding.project_of(p) for p in (commit, pay, strand, allocation)] == ["P-1", "P-1", "P-1", None]
    total = funding.funding_of([commit, pay, strand])
    assert (total.committed_fen, total.paid_fen, total.stranded_fen, total.remaining_fen) == (1000, 300, 700, 0)
    assert total.as_dict() == {"committed": "10.00", "paid": "3.00", "stranded": "7.00", "remaining": "0.00"}
    assert total.active_fen == 300
    refused = {"operation": "payment_return", "project_code": "P-1", "amount_fen": 300}  # the bank refused the payment
    assert funding.project_of(refused) == "P-1"
    again = funding.funding_of([commit, pay, refused, {**pay, "amount_fen": 300}])  # re-issued to a corrected account
    assert (again.paid_fen, again.remaining_fen) == (300, 700)


def test_the_adjustment_is_in_the_fourth_quarter():
    rule = {"quarter": 4}
    assert adjustment.check_window(date(2018, 10, 1), rule, "DOMAIN.md §5") is None
    late = adjustment.check_window(date(2018, 9, 30), rule, "DOMAIN.md §5")
    assert late.code == "adjustment_window" and "第4季度" in late.label and "第3季度" in late.detail
    assert adjustment.check_item("add", "approved", lower_publicity_passed=False).code == "publicity_passed"
    assert adjustment.check_item("add", "in_publicity", lower_publicity_passed=True) is None
    assert adjustment.check_item("remove", "in_progress", True).code == "stage"
    assert adjustment.check_item("change", "in_progress", True) is None


def test_a_proposal_budget_is_its_sources():
    ok = dict(budget_fen=300, start=date(2018, 4, 1), end=date(2018, 5, 1), channels={"a", "b"})
    assert proposal.problems(sources=[{"channel": "a", "amount_fen": 100}, {"channel": "b", "amount_fen": 200}], **ok) == []
    found = proposal.problems(sources=[{"channel": "a", "amount_fen": 100}, {"channel": "a", "amount_fen": 100},
                                       {"channel": "z", "amount_fen": 50}], **{**ok, "end": date(2018, 3, 1)})
    assert [f["field"] for f in found] == ["schedule.end", "sources", "sources.1.channel", "sources.2.channel"]


def test_the_catalogue_names_every_type_of_domain_5_in_chinese():
    labels = {t.code: t.label for t in catalogue.TYPES.values()}
    for code in ("industry.planting", "industry.livestock", "industry.solar", "industry.tourism", "industry.ecommerce",
                 "employment.training", "relocation", "education", "health", "ecology", "infrastructure.road",
                 "infrastructure.drinking_water", "infrastructure.power", "infrastructure.broadband", "housing",
                 "environment", "work_relief", "interest_subsidy"):
        assert labels[code] and all(ord(c) > 0x2E80 or c in "()、" for c in labels[code]), code
    assert set(catalogue.MECHANISMS) >= {"order", "equity_dividend", "employment", "asset_income", "land_transfer"}
    assert set(catalogue.BENEFIT_KINDS) == {"wages", "dividend", "subsidy", "in_kind"}


CITED_IN_CODE = {  # seed lines the projects code cites in comments, and what they say
    ("002", 289): ["折股量化给建档立卡贫困村和贫困户", "保值增值", "收益分配机制"],
    ("002", 762): ["公益性项目", "生产性设施", "归村集体所有"],
    ("003", 245): ["资产收益扶贫", "折股量化给贫困户"],
    ("003", 481): ["攻坚期内国家原有扶贫政策保持不变"],
    ("004", 27): ["加强扶贫项目库建设"],
    ("004", 33): ["行政村公告公示", "县级公告公示"],
}


def test_the_seed_lines_cited_in_the_code_say_it():
    folder = seeds()
    for (number, line), phrases in CITED_IN_CODE.items():
        [path] = folder.glob(f"{number}_*.txt")
        text = path.read_text(encoding="utf-8").split("\n")[line - 1]
        for phrase in phrases:
            assert phrase in text, (number, line, phrase)
