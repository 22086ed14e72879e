"""The 精河县 table of DOMAIN.md §9 (seed 003 L191–L193) reproduced exactly."""

from __future__ import annotations

from collections import Counter

import pytest

from services.registry.domain import (
    JINGHE_TOWNSHIP_CODES,
    HeadCount,
    compute_statistics,
    jinghe_households,
)

# DOMAIN.md §9, typed in again on purpose (not imported from the generator)
TOWNSHIPS = {
    "652722101000": HeadCount(633, 1401),  # 大河沿子镇
    "652722102000": HeadCount(369, 890),  # 托里镇
    "652722400000": HeadCount(315, 843),  # 八家户农场
    "652722201000": HeadCount(332, 925),  # 茫丁乡
    "652722103000": HeadCount(118, 281),  # 托托镇
}
EXITS = {2015: HeadCount(343, 1067), 2016: HeadCount(575, 1595), 2017: HeadCount(133, 366)}


@pytest.fixture(scope="module")
def households():
    return jinghe_households(JINGHE_TOWNSHIP_CODES)


def test_township_codes():
    assert JINGHE_TOWNSHIP_CODES == {
        "大河沿子镇": "652722101",
        "托里镇": "652722102",
        "八家户农场": "652722400",
        "茫丁乡": "652722201",
        "托托镇": "652722103",
    }


def test_registered_end_of_2014(households):
    s = compute_statistics(households, {}, division="652722", year=2014)
    assert s.registered == HeadCount(1767, 4340)
    assert s.without_labour == HeadCount(716, 1312)
    assert s.with_labour == HeadCount(1051, 3028)
    assert dict(s.exits) == {}
    assert {t: x.registered for t, x in s.by_township.items()} == TOWNSHIPS
    assert compute_statistics(households, {}, division="652722", year=2013).registered == HeadCount()


def test_exits_2015_to_2017(households):
    s = compute_statistics(households, {}, division="652722", year=2017)
    assert s.registered == HeadCount(1767, 4340)
    assert dict(s.exits) == EXITS
    assert s.remaining == HeadCount(716, 1312)  # the 兜底 group
    assert s.lacking_helper == [] and s.lacking_measure == []
    s2015 = compute_statistics(households, {}, division="652722", year=2015)
    assert dict(s2015.exits) == {2015: EXITS[2015]}
    assert s2015.remaining == HeadCount(1767 - 343, 4340 - 1067)
    s2016 = compute_statistics(households, {}, division="652722", year=2016)
    # seed: after 2015 剩余有劳动能力贫困户708户1961人, of whom 2016 exits 575/1,595
    assert s2016.remaining == HeadCount(708 - 575 + 716, 1961 - 1595 + 1312)


def test_townships_add_up_in_every_figure(households):
    s = compute_statistics(households, {}, division="652722", year=2017)
    totals = {"registered": HeadCount(), "without_labour": HeadCount(), "remaining": HeadCount()}
    exits: Counter = Counter()
    for t in s.by_township.values():
        for key in totals:
            totals[key] = totals[key] + getattr(t, key)
        for year, count in t.exits.items():
            exits[(year, "h")] += count.households
            exits[(year, "p")] += count.persons
    assert totals == {"registered": s.registered, "without_labour": s.without_labour, "remaining": s.remaining}
    for year, count in EXITS.items():
        assert (exits[(year, "h")], exits[(year, "p")]) == (count.households, count.persons)


def test_records_are_plausible(households):
    numbers = [h.household_number for h in households]
    assert len(numbers) == len(set(numbers)) == 1767
    villages = Counter(h.division for h in households)
    assert len(villages) == 15 and all(v[9:] in ("001", "002", "003") for v in villages)
    assert all(1 <= h.persons <= 8 for h in households)
    assert all(h.registered_year == 2014 and h.has_helper and h.measures >= 1 for h in households)
    assert all(h.without_labour == (h.exit_year is None) for h in households)
    assert jinghe_households(JINGHE_TOWNSHIP_CODES) == households  # deterministic


def test_headcount_ratio_exact(households):
    population = {f"{code}{k:03d}": 1000 for code in JINGHE_TOWNSHIP_CODES.values() for k in (1, 2, 3)}
    s = compute_statistics(households, population, division="652722", year=2017)
    assert s.rural_population == 15000
    assert s.poverty_rate_percent == "8.75"  # 1312 / 15000 = 8.7466…%


def test_accepts_12_digit_codes_and_rejects_bad_ones():
    twelve = {name: code + "000" for name, code in JINGHE_TOWNSHIP_CODES.items()}
    assert len(jinghe_households(twelve)) == 1767
    with pytest.raises(ValueError):
        jinghe_households({"大河沿子镇": "652722101"})
    with pytest.raises(ValueError):
        jinghe_households(dict(JINGHE_TOWNSHIP_CODES, 托里镇="652723102"))
