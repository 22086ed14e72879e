"""Registry statistics on a hand-built data set (exact figures) and village/county exit checks."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from services.registry.domain import (
    HeadCount,
    HouseholdFacts,
    compute_statistics,
    county_exit_evaluation,
    percent_string,
    township_of,
    village_exit_evaluation,
)
from shared.policy import load_policy

A = "652722101001"  # township 652722101
B = "652722101002"  # township 652722101
C = "652722102001"  # township 652722102
OTHER = "652723101001"  # another county


def hh(number, division, persons, without, registered, **kw) -> HouseholdFacts:
    return HouseholdFacts(number, division, persons, without, registered, **kw)


HOUSEHOLDS = [
    hh("H01", A, 4, 0, 2014, exit_year=2015),
    hh("H02", A, 3, 3, 2014),  # without labour, remains poor
    hh("H03", A, 5, 1, 2014, exit_year=2016, returned_year=2017),  # 返贫
    hh("H04", B, 2, 2, 2015, has_helper=False),  # without labour, no helper
    hh("H05", B, 6, 2, 2014, exit_year=2017),
    hh("H06", B, 1, 0, 2016, removed=True),  # 清退: counts nowhere
    hh("H07", C, 3, 0, 2014, exit_year=2016, monitoring_category="unstable_exited"),
    hh("H08", C, 4, 1, 2017, measures=0),  # no measure
    hh("H09", C, 2, 0, 2018),  # registered after 2017
    hh("M01", C, 3, 0, None, monitoring_category="边缘易致贫户", status="monitored"),  # never registered
    hh("X01", OTHER, 5, 0, 2014),  # outside the prefix
    hh("H10", A, 2, 0, 2014, exit_year=2018),
]
POPULATION = {A: 1000, B: 500, C: 800, OTHER: 999}


def test_county_figures_2017():
    s = compute_statistics(HOUSEHOLDS, POPULATION, division="652722", year=2017)
    assert s.division == "652722" and s.year == 2017
    assert s.registered == HeadCount(8, 29)
    assert s.without_labour == HeadCount(2, 5)
    assert s.with_labour == HeadCount(6, 24)
    assert dict(s.exits) == {2015: HeadCount(1, 4), 2016: HeadCount(2, 8), 2017: HeadCount(1, 6)}
    assert s.exits_total == HeadCount(4, 18)
    assert s.returned == HeadCount(1, 5)
    assert s.remaining == HeadCount(5, 16)
    assert s.rural_population == 2300
    assert s.poverty_rate == Fraction(16, 2300) == Fraction(4, 575)
    assert s.poverty_rate_percent == "0.70"
    assert dict(s.monitored) == {"unstable_exited": 1, "marginal": 1, "sudden_hardship": 0}
    assert s.lacking_helper == ["H04"]
    assert s.lacking_measure == ["H08"]


def test_per_township_breakdown_2017():
    s = compute_statistics(HOUSEHOLDS, POPULATION, division="652722000000", year=2017)
    assert list(s.by_township) == ["652722101000", "652722102000"]
    t1, t2 = s.by_township["652722101000"], s.by_township["652722102000"]
    assert t1.division == "652722101" and not t1.by_township
    assert (t1.registered, t1.without_labour, t1.with_labour) == (HeadCount(6, 22), HeadCount(2, 5), HeadCount(4, 17))
    assert dict(t1.exits) == {2015: HeadCount(1, 4), 2016: HeadCount(1, 5), 2017: HeadCount(1, 6)}
    assert (t1.returned, t1.remaining) == (HeadCount(1, 5), HeadCount(4, 12))
    assert (t1.rural_population, t1.poverty_rate_percent) == (1500, "0.80")
    assert (t1.lacking_helper, t1.lacking_measure) == (["H04"], [])
    assert (t2.registered, t2.without_labour, t2.with_labour) == (HeadCount(2, 7), HeadCount(0, 0), HeadCount(2, 7))
    assert dict(t2.exits) == {2016: HeadCount(1, 3)}
    assert (t2.remaining, t2.poverty_rate, t2.poverty_rate_percent) == (HeadCount(1, 4), Fraction(1, 200), "0.50")
    assert dict(t2.monitored) == {"unstable_exited": 1, "marginal": 1, "sudden_hardship": 0}
    assert (t2.lacking_helper, t2.lacking_measure) == ([], ["H08"])
    # townships add up to the county
    assert t1.registered + t2.registered == s.registered
    assert t1.remaining + t2.remaining == s.remaining


def test_as_of_other_years():
    s2014 = compute_statistics(HOUSEHOLDS, POPULATION, division="652722", year=2014)
    assert s2014.registered == HeadCount(6, 23) and dict(s2014.exits) == {}
    assert s2014.remaining == HeadCount(6, 23) and s2014.returned == HeadCount()
    assert s2014.lacking_helper == []  # H04 registered only in 2015
    assert s2014.poverty_rate_percent == "1.00"
    s2018 = compute_statistics(HOUSEHOLDS, POPULATION, division="652722", year=2018)
    assert s2018.registered == HeadCount(9, 31)
    assert s2018.exits[2018] == HeadCount(1, 2)
    assert s2018.remaining == HeadCount(5, 16)
    s2013 = compute_statistics(HOUSEHOLDS, POPULATION, division="652722", year=2013)
    assert s2013.registered == HeadCount() and s2013.poverty_rate == 0
    assert dict(s2013.monitored)["marginal"] == 1


def test_invariant_registered_equals_remaining_plus_exits_minus_returned():
    for year in range(2013, 2020):
        s = compute_statistics(HOUSEHOLDS, POPULATION, division="65", year=year)
        assert s.registered.households == s.remaining.households + s.exits_total.households - s.returned.households
        assert s.registered.persons == s.remaining.persons + s.exits_total.persons - s.returned.persons
        assert s.registered == s.without_labour + s.with_labour


def test_prefix_scopes():
    village = compute_statistics(HOUSEHOLDS, POPULATION, division=A, year=2017)
    assert village.registered == HeadCount(4, 14) and village.remaining == HeadCount(3, 10)
    assert village.poverty_rate == Fraction(1, 100) and not village.by_township
    national = compute_statistics(HOUSEHOLDS, POPULATION, division="", year=2017)
    assert national.registered == HeadCount(9, 34)
    assert "652723101000" in national.by_township
    unknown = compute_statistics(HOUSEHOLDS, {}, division="652722", year=2017)
    assert unknown.poverty_rate is None and unknown.poverty_rate_percent is None


def test_as_dict_is_json_ready():
    s = compute_statistics(HOUSEHOLDS, POPULATION, division="652722", year=2017)
    d = json.loads(json.dumps(s.as_dict(), ensure_ascii=False))
    assert d["poverty_rate"] == "4/575" and d["poverty_rate_percent"] == "0.70"
    assert d["exits"]["2016"] == {"households": 2, "persons": 8}
    assert d["by_township"]["652722102000"]["lacking_measure"] == ["H08"]


def test_percent_string_exact_and_half_up():
    assert percent_string(Fraction(185, 10000)) == "1.85"
    assert percent_string(Fraction(80, 4340)) == "1.84"
    assert percent_string(Fraction(1, 8)) == "12.50"
    assert percent_string(Fraction(5, 100000)) == "0.01"  # 0.005% rounds half up
    assert percent_string(Fraction(4999, 100000000)) == "0.00"
    assert percent_string(Fraction(1)) == "100.00"


def test_household_facts_validation():
    assert township_of("652722101001") == "652722101000"
    with pytest.raises(ValueError):
        hh("Z", "652722", 1, 0, 2014)
    with pytest.raises(ValueError):
        hh("Z", A, 2, 3, 2014)
    with pytest.raises(ValueError):
        hh("Z", A, 0, 0, 2014)
    with pytest.raises(ValueError):
        hh("Z", A, 1, 0, 2014, returned_year=2016)
    with pytest.raises(ValueError):
        hh("Z", A, 1, 0, 2014, exit_year=2016, returned_year=2015)
    with pytest.raises(ValueError):
        hh("Z", A, 1, 0, 2014, monitoring_category="poorish")
    assert hh("Z", A, 1, 0, 2014, main_cause="因病").main_cause == "illness"


def test_village_exit_threshold_3_percent_in_the_west():
    policy = load_policy()
    stats = compute_statistics(HOUSEHOLDS, POPULATION, division=A, year=2017)
    result = village_exit_evaluation(policy, A, 2017, stats)
    eligible, rate, threshold, citation = result
    assert (eligible, rate, threshold) == (True, Fraction(1, 100), Fraction(3, 100))
    assert citation == "DOMAIN.md §3" and result.rate_percent == "1.00" and result.threshold_percent == "3.00"


def test_village_exit_strictly_below_2_percent_elsewhere():
    policy = load_policy()
    hebei_village = "130721100200"
    for remaining, expected in ((20, False), (19, True)):
        facts = [hh(f"HB{remaining}", hebei_village, remaining, 0, 2016)]
        stats = compute_statistics(facts, {hebei_village: 1000}, division=hebei_village, year=2017)
        result = village_exit_evaluation(policy, hebei_village, 2017, stats)
        assert result.eligible is expected
        assert result.threshold == Fraction(2, 100)


def test_county_exit_evaluation():
    policy = load_policy()
    stats = compute_statistics(HOUSEHOLDS, POPULATION, division="652722", year=2017)
    result = county_exit_evaluation(policy, "652722", 2017, stats)
    assert result.eligible and result.rate == Fraction(4, 575) and result.threshold == Fraction(3, 100)
    high = compute_statistics(HOUSEHOLDS, {A: 100, B: 100, C: 100}, division="652722", year=2017)
    assert county_exit_evaluation(policy, "652722000000", 2017, high).eligible is False


def test_area_exit_rejects_mismatched_input():
    policy = load_policy()
    county = compute_statistics(HOUSEHOLDS, POPULATION, division="652722", year=2017)
    with pytest.raises(ValueError):
        village_exit_evaluation(policy, "652722", 2017, county)  # not a village
    with pytest.raises(ValueError):
        village_exit_evaluation(policy, A, 2017, county)  # stats for another division
    with pytest.raises(ValueError):
        county_exit_evaluation(policy, "652722", 2018, county)  # another year
    with pytest.raises(ValueError):
        county_exit_evaluation(policy, "652722", 2017, compute_statistics(HOUSEHOLDS, {}, division="652722", year=2017))
