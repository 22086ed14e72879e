"""Routing rules (DOMAIN.md §3; seed 001 §48, seed 002 L189, seed 003 L193)."""

from __future__ import annotations

import pytest

from services.registry.domain import Cause, Pathway, Situation, propose_pathways


def pathways(**kw) -> list[Pathway]:
    return [p.pathway for p in propose_pathways(Situation(**kw))]


def test_labour_and_land_gives_industry():
    assert pathways(has_labour=True, has_land=True, local_resources=True) == [Pathway.INDUSTRY]


def test_labour_without_local_resources_gives_employment():
    assert pathways(has_labour=True, has_land=False, local_resources=False) == [Pathway.EMPLOYMENT]


def test_labour_land_but_no_local_resources_gives_both_in_order():
    assert pathways(has_labour=True, has_land=True, local_resources=False) == [Pathway.INDUSTRY, Pathway.EMPLOYMENT]


def test_no_labour_gives_neither_industry_nor_employment():
    assert pathways(has_land=True, local_resources=False) == []


def test_harsh_area_gives_relocation():
    assert pathways(harsh_area=True) == [Pathway.RELOCATION]
    assert pathways(harsh_area=True, movable=False) == [Pathway.RELOCATION]


def test_fragile_not_movable_gives_ecological_ranger_post_when_labour():
    props = propose_pathways(Situation(has_labour=True, local_resources=True, fragile_ecology=True, movable=False))
    assert [p.pathway for p in props] == [Pathway.INDUSTRY, Pathway.ECOLOGICAL]
    assert props[1].sub_measures == ("ranger_post",)
    assert "护林员" in props[1].reason_zh


def test_fragile_not_movable_without_labour_gets_compensation_only():
    props = propose_pathways(Situation(fragile_ecology=True, movable=False))
    assert [p.pathway for p in props] == [Pathway.ECOLOGICAL]
    assert props[0].sub_measures == ("ecological_compensation",)


def test_fragile_and_movable_is_relocation_not_ecological():
    assert pathways(fragile_ecology=True, movable=True) == [Pathway.RELOCATION]


def test_lost_labour_capacity_gives_dibao_without_tekun_unless_consent():
    props = propose_pathways(Situation(lost_labour_capacity=True))
    assert [p.pathway for p in props] == [Pathway.SOCIAL_SECURITY, Pathway.ASSET_INCOME]
    assert props[0].sub_measures == ("dibao",)
    assert "自愿" in props[0].reason_zh
    consenting = propose_pathways(Situation(lost_labour_capacity=True, consents_to_tekun_care=True))
    assert consenting[0].sub_measures == ("dibao", "tekun_care")
    assert props[1].citation == "seed 002 L189"


def test_illness_cause_or_major_illness_gives_health():
    assert pathways(main_cause=Cause.ILLNESS) == [Pathway.HEALTH]
    assert pathways(has_major_illness=True) == [Pathway.HEALTH]
    assert pathways(main_cause="因病", has_major_illness=True) == [Pathway.HEALTH]  # once


def test_schooling_cause_or_school_age_children_gives_education():
    assert pathways(main_cause=Cause.SCHOOLING) == [Pathway.EDUCATION]
    assert pathways(has_school_age_children=True) == [Pathway.EDUCATION]
    assert pathways(main_cause="schooling", has_school_age_children=True) == [Pathway.EDUCATION]


def test_other_causes_alone_propose_nothing():
    assert pathways(main_cause=Cause.LACK_FUNDS) == []


def test_everything_at_once_is_ordered_and_unique():
    s = Situation(
        has_labour=True,
        has_land=True,
        local_resources=False,
        harsh_area=True,
        fragile_ecology=True,
        movable=False,
        main_cause=Cause.ILLNESS,
        has_school_age_children=True,
        has_major_illness=True,
    )
    result = [p.pathway for p in propose_pathways(s)]
    assert result == [
        Pathway.INDUSTRY,
        Pathway.EMPLOYMENT,
        Pathway.RELOCATION,
        Pathway.ECOLOGICAL,
        Pathway.HEALTH,
        Pathway.EDUCATION,
    ]
    assert len(set(result)) == len(result)
    assert propose_pathways(s) == propose_pathways(s)


def test_every_proposal_cites_a_seed():
    s = Situation(lost_labour_capacity=True, harsh_area=True, main_cause="illness", has_school_age_children=True)
    for p in propose_pathways(s):
        assert p.citation.startswith("seed ")
        assert p.reason_zh


def test_inconsistent_labour_flags_and_bad_cause_rejected():
    with pytest.raises(ValueError):
        Situation(has_labour=True, lost_labour_capacity=True)
    with pytest.raises(ValueError):
        Situation(main_cause="flu")
