"""Unit tests for the registry's reference data: the shipped 精河县 file, CSV/JSON validation with
errors by line, and flags/names in force on a date."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services.registry.usecases.reference import (
    JINGHE_CSV,
    DivisionDataError,
    DivisionRecord,
    division_view,
    flags_on,
    name_on,
    parse_division_items,
    parse_divisions_csv,
)
from shared import divisions

HEADER = "code,name,level,parent,valid_from,valid_to,aliases,flags,rural_population,population_year,synthetic\n"
TOWNSHIPS = {  # DOMAIN §9 / seed 003 L191, with the project's codes
    "652722101000": "大河沿子镇",
    "652722102000": "托里镇",
    "652722103000": "托托镇",
    "652722201000": "茫丁乡",
    "652722400000": "八家户农场",
}
POOR_2014 = 4340  # seed 003 L191


def cell(value) -> str:
    """A CSV cell holding JSON."""
    return '"' + json.dumps(value, ensure_ascii=False).replace('"', '""') + '"'


def errors_of(text: str) -> list[dict]:
    with pytest.raises(DivisionDataError) as caught:
        parse_divisions_csv(text)
    assert isinstance(caught.value, ValueError)
    return caught.value.errors


# -- the shipped file ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped() -> list[DivisionRecord]:
    return parse_divisions_csv(JINGHE_CSV.read_text(encoding="utf-8"))


def test_shipped_csv_parses_and_every_code_validates(shipped):
    codes = [r.code for r in shipped]
    assert len(codes) == len(set(codes))
    for record in shipped:
        assert divisions.normalize(record.code) == record.code
        assert divisions.level(record.code).value == record.level
        assert record.parent == divisions.parent(record.code)
    by_code = {r.code: r for r in shipped}
    # every parent is in the file, except the province's (the national level)
    assert all(r.parent in by_code or r.parent == divisions.NATIONAL for r in shipped)
    assert by_code["650000000000"].name == "新疆维吾尔自治区"
    assert by_code["652700000000"].name == "博尔塔拉蒙古自治州"
    assert by_code["652722000000"].name == "精河县"
    for code, name in TOWNSHIPS.items():
        assert by_code[code].name == name and by_code[code].level == "township"


def test_shipped_csv_says_it_is_synthetic(shipped):
    text = JINGHE_CSV.read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert any("SYNTHETIC" in line for line in comments)
    assert any("seed 003 L191" in line for line in comments)
    villages = [r for r in shipped if r.level == "village"]
    assert villages and all(r.synthetic for r in villages)
    assert not any(r.synthetic for r in shipped if r.code in ("650000000000", "652700000000", "652722000000"))


def test_shipped_villages_give_a_realistic_headcount_ratio(shipped):
    villages = [r for r in shipped if r.level == "village"]
    for code in TOWNSHIPS:
        under = [v for v in villages if v.parent == code]
        assert 3 <= len(under) <= 4, code
        assert all(1000 <= v.rural_population <= 10000 and v.population_year == 2014 for v in under)
    rural = sum(v.rural_population for v in villages)
    assert 60_000 <= rural <= 80_000
    assert 0.03 < POOR_2014 / rural < 0.10


def test_shipped_file_has_no_unsourced_poverty_flags(shipped):
    county = next(r for r in shipped if r.code == "652722000000")
    assert county.flags == []  # no seed says 贫困县 / 摘帽 for 精河县
    assert not any(f["flag"] in ("poor_village", "exited", "poor_county", "key_county") for r in shipped for f in r.flags)


def test_the_toto_rename_is_an_alias(shipped):
    toto = next(r for r in shipped if r.code == "652722103000")
    assert toto.name == "托托镇"
    assert name_on(toto, date(2014, 12, 31)) == "托托乡"
    assert name_on(toto, date(2015, 12, 31)) == "托托乡"
    assert name_on(toto, date(2016, 1, 1)) == "托托镇"
    assert name_on(toto, date(2020, 6, 1)) == "托托镇"


# -- parse errors by line --------------------------------------------------------------------------

def test_comments_and_blank_lines_are_skipped_and_lines_counted():
    text = ("# a comment\n\n" + HEADER + "# another\n652722000000,精河县,county,,,,[],[],,,false\n"
            "6527220000X0,坏,county,,,,[],[],,,false\n")
    errors = errors_of(text)
    assert errors == [{"line": 6, "field": "code", "reason": errors[0]["reason"]}]


def test_every_bad_line_is_reported_by_number():
    text = (
        "# header comment\n"
        + HEADER
        + "652722000000,精河县,county,,,,[],[],,,false\n"        # line 3 ok
        + "65272200000,短码,county,,,,[],[],,,false\n"             # line 4 bad code (11 digits)
        + "652722101000,大河沿子镇,village,,,,[],[],,,false\n"      # line 5 level mismatch
        + f"652722101201,某村,village,,,,[],{cell([{'flag': 'rich_village'}])},100,2014,true\n"  # line 6 unknown flag
        + "652722101202,某村,village,,,,[{oops,[],100,2014,true\n"  # line 7 bad JSON
        + "652722101203,某村,village,,,,[],[],-5,2014,true\n"       # line 8 negative population
        + "652722101204,某村,village,652723000000,,,[],[],1,2014,true\n"  # line 9 parent not above
    )
    errors = errors_of(text)
    by_line = {}
    for e in errors:
        by_line.setdefault(e["line"], []).append(e["field"])
    assert by_line == {
        4: ["code"], 5: ["level"], 6: ["flags[0].flag"], 7: ["aliases"], 8: ["rural_population"], 9: ["parent"],
    }
    message = str(DivisionDataError(errors))
    assert "line 4" in message and "line 9" in message
    assert "unknown flag 'rich_village'" in next(e["reason"] for e in errors if e["line"] == 6)
    assert "invalid JSON" in next(e["reason"] for e in errors if e["line"] == 7)


def test_header_problems_and_duplicates():
    assert errors_of("code,name,colour\n")[0]["field"] == "header"
    assert errors_of("# only comments\n")[0]["field"] == "header"
    errors = errors_of(HEADER + "652722000000,精河县,county,,,,[],[],,,false\n652722,精河县,,,,,,,,,\n")
    assert errors == [{"line": 3, "field": "code", "reason": errors[0]["reason"]}]
    assert "line 2" in errors[0]["reason"]
    assert errors_of(HEADER + "652722000000,精河县,county\n")[0]["field"] == "row"


def test_flag_rules():
    def flags_error(flags, code="652722101201", level="village"):
        text = HEADER + f"{code},某,{level},,,,[],{cell(flags)},,,true\n"
        return [(e["field"], e["reason"]) for e in errors_of(text)]

    assert flags_error([{"flag": "poor_village"}])[0][0] == "flags[0].class"
    assert flags_error([{"flag": "poor_village", "class": "三类"}])[0][0] == "flags[0].class"
    assert flags_error([{"flag": "exited"}])[0][0] == "flags[0].year"
    assert flags_error([{"flag": "contiguous_area"}])[0][0] == "flags[0].area"
    assert flags_error([{"flag": "poor_county"}])[0][0] == "flags[0].flag"  # a county flag on a village
    assert flags_error([{"flag": "border", "from": "2016-13-01"}])[0][0] == "flags[0].from"
    assert flags_error([{"flag": "border", "from": "2017-01-01", "to": "2016-01-01"}])[0][0] == "flags[0]"
    assert flags_error([{"flag": "border", "colour": "red"}])[0][0] == "flags[0]"
    assert flags_error({"flag": "border"})[0][0] == "flags"


def test_valid_row_normalises_flags_levels_and_parent():
    flags = [{"flag": "贫困村", "class": "一类", "from": "2014-01-01"}, {"flag": "出列", "year": 2017, "to": None}]
    text = HEADER + f"652722101201,呼和哈夏北村,村,,,,[],{cell(flags)},5200,2014,yes\n"
    [record] = parse_divisions_csv(text)
    assert record.level == "village" and record.parent == "652722101000" and record.synthetic is True
    assert record.flags == [
        {"flag": "poor_village", "class": "一类", "from": "2014-01-01", "to": None},
        {"flag": "exited", "year": 2017, "from": None, "to": None},
    ]
    [county] = parse_divisions_csv("code,name\n652722,精河县\n")
    assert county.code == "652722000000" and county.level == "county" and county.parent == "652700000000"
    assert county.aliases == [] and county.flags == [] and county.synthetic is False


def test_population_needs_its_year_and_dates_are_checked():
    errors = errors_of(HEADER + "652722101201,某村,village,,,,[],[],5200,,true\n")
    assert [e["field"] for e in errors] == ["population_year"]
    errors = errors_of(HEADER + "652722101201,某村,village,,2016-01-01,2015-01-01,[],[],,,true\n")
    assert [e["field"] for e in errors] == ["valid_to"]
    errors = errors_of(HEADER + "652722101201,某村,village,,,,[],[],,,maybe\n")
    assert [e["field"] for e in errors] == ["synthetic"]
    errors = errors_of(HEADER + "000000000000,全国,,,,,[],[],,,false\n")
    assert [e["field"] for e in errors] == ["code"]


def test_json_items_are_validated_by_index():
    records = parse_division_items([{"code": "652722000000", "name": "精河县", "flags": [{"flag": "border"}]}])
    assert records[0].flags == [{"flag": "border", "from": None, "to": None}]
    with pytest.raises(DivisionDataError) as caught:
        parse_division_items([{"code": "652722000000", "name": "精河县"}, {"code": "x", "name": "y"}, "z",
                              {"code": "652722", "name": "精河县", "colour": 1}])
    assert [(e["item"], e["field"]) for e in caught.value.errors] == [(1, "code"), (2, "item"), (3, "item")]
    with pytest.raises(ValueError):
        parse_division_items({"code": "652722000000"})


# -- in force on a date ----------------------------------------------------------------------------

ROW = {
    "code": "652722101201", "name": "新村", "level": "village", "parent": "652722101000",
    "valid_from": None, "valid_to": date(2019, 12, 31),
    "aliases": [{"name": "旧村", "from": "2001-01-01", "to": "2015-06-30"}, {"name": "Xin Cun", "from": None, "to": None}],
    "flags": [
        {"flag": "poor_village", "class": "一类", "from": "2014-01-01", "to": "2017-12-31"},
        {"flag": "exited", "year": 2017, "from": None, "to": None},
        {"flag": "deep_poverty", "from": "2018-01-01", "to": None},
    ],
    "rural_population": 1200, "population_year": 2014, "synthetic": True,
}


def test_flags_on_by_date():
    names = lambda on: [f["flag"] for f in flags_on(ROW, on)]  # noqa: E731
    assert names(date(2013, 12, 31)) == []
    assert names(date(2014, 1, 1)) == ["poor_village"]
    assert names(date(2017, 6, 1)) == ["poor_village", "exited"]  # exited without from: from 1 Jan of its year
    assert names(date(2017, 12, 31)) == ["poor_village", "exited"]
    assert names(date(2018, 1, 1)) == ["exited", "deep_poverty"]


def test_name_on_by_date():
    assert name_on(ROW, date(2000, 12, 31)) == "新村"  # before the alias' period
    assert name_on(ROW, date(2001, 1, 1)) == "旧村"
    assert name_on(ROW, date(2015, 6, 30)) == "旧村"
    assert name_on(ROW, date(2015, 7, 1)) == "新村"  # the unbounded alias never replaces the name
    record = DivisionRecord(code="652722103000", name="托托镇", level="township", parent="652722000000",
                            aliases=[{"name": "托托乡", "from": None, "to": "2015-12-31"}])
    assert name_on(record, date(2010, 1, 1)) == "托托乡" and name_on(record, date(2016, 1, 1)) == "托托镇"


def test_division_view_as_of():
    view = division_view(ROW, date(2020, 1, 1))
    assert view["valid_to"] == "2019-12-31"
    assert view["as_of"] == {"date": "2020-01-01", "name": "新村", "flags": [ROW["flags"][1], ROW["flags"][2]],
                             "existed": False}
    assert "as_of" not in division_view(ROW)
